#!/usr/bin/env bats
# The metastore through serve: every route with and without its scope,
# tokens limited to namespaces, watch as Server-Sent Events with
# Last-Event-ID, counters in /metrics, and the CLI through --server.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/serve'

setup() {
	common_setup
	export APPHUB_TOKENS='[{"token":"reader-token-1","subject":"ro","scopes":["metastore:read"]},
		{"token":"writer-token-1","subject":"wr","scopes":["metastore:write"]},
		{"token":"delete-token-1","subject":"del","scopes":["metastore:delete"]},
		{"token":"admin-token-1","subject":"adm","scopes":["metastore:admin"]},
		{"token":"jobs-token-1","subject":"jobs","scopes":["jobs:read"]},
		{"token":"team-token-1","subject":"team","scopes":["metastore:write","metastore:delete"],"namespaces":["Team-A","shared"]}]'
}

R='Authorization: Bearer reader-token-1'
W='Authorization: Bearer writer-token-1'
D='Authorization: Bearer delete-token-1'
A='Authorization: Bearer admin-token-1'
T='Authorization: Bearer team-token-1'

expect() {
	local want=$1 r
	shift
	r=$(http "$@")
	body=$(body_of "$r")
	[[ $(status_of "$r") == "$want" ]] || fail "$1 $2: expected $want, got $(status_of "$r"): ${body:0:300}"
}

@test "every metastore route answers 401 without a token and 403 without its scope" {
	start_serve
	while read -r method path good bad; do
		expect 401 "$method" "$path" -d '{"namespace":"ns","key":"k"}'
		expect 403 "$method" "$path" -H "Authorization: Bearer $bad" -d '{"namespace":"ns","key":"k"}'
		r=$(http "$method" "$path" -H "Authorization: Bearer $good" -d '{"namespace":"ns","key":"k"}')
		[[ $(status_of "$r") != 40[13] ]] || fail "$method $path with $good: $(status_of "$r")"
	done <<-'EOF'
		POST /records writer-token-1 reader-token-1
		GET /records/ns/k reader-token-1 jobs-token-1
		PUT /records/ns/k writer-token-1 reader-token-1
		PATCH /records/ns/k writer-token-1 delete-token-1
		DELETE /records/ns/k delete-token-1 writer-token-1
		DELETE /records/ns/k/purge admin-token-1 delete-token-1
		POST /records/ns/k/restore writer-token-1 reader-token-1
		POST /records/search reader-token-1 jobs-token-1
		POST /records/bulk writer-token-1 reader-token-1
		GET /records/ns/k/audit reader-token-1 jobs-token-1
		GET /namespaces reader-token-1 jobs-token-1
		GET /records/ns/indexes admin-token-1 reader-token-1
		POST /records/ns/indexes/latencyMs admin-token-1 writer-token-1
		DELETE /records/ns/indexes/latencyMs admin-token-1 writer-token-1
		GET /records/ns/watch reader-token-1 jobs-token-1
	EOF
	stop_serve
}

@test "records over HTTP: create 201, get, put, patch, delete, restore, audit, search, bulk, purge 404" {
	start_serve
	expect 201 POST /records -H "$W" -d '{"namespace":"pipelines","key":"p1","metadata":{"latencyMs":120},"tags":["pipelines"]}'
	assert_equal "$(jq -c '[.created, .record.version, .record.createdBy]' <<<"$body")" '[true,1,"wr"]'
	expect 200 POST /records -H "$W" -d '{"namespace":"pipelines","key":"p1","metadata":{"latencyMs":1}}'
	assert_equal "$(jq -c '[.created, .record.version]' <<<"$body")" '[false,1]'
	expect 200 GET /records/pipelines/p1 -H "$R"
	assert_equal "$(jq -c '[.key, .version, .metadata]' <<<"$body")" '["p1",1,{"latencyMs":120}]'
	expect 200 PUT /records/pipelines/p1 -H "$W" -d '{"metadata":{"latencyMs":150},"tags":["pipelines"]}'
	assert_equal "$(jq -c '[.record.version, .idempotent]' <<<"$body")" '[2,false]'
	expect 200 PUT /records/pipelines/p1 -H "$W" -d '{"metadata":{"latencyMs":150},"tags":["pipelines"]}'
	assert_equal "$(jq -c '[.record.version, .idempotent]' <<<"$body")" '[2,true]'
	expect 409 PUT /records/pipelines/p1 -H "$W" -d '{"metadata":{},"expectedVersion":1}'
	assert_equal "$(jq -r .error.code <<<"$body")" version_conflict
	expect 201 PUT /records/pipelines/p2 -H "$W" -d '{"metadata":{"latencyMs":300}}'
	expect 200 PATCH /records/pipelines/p1 -H "$W" -d '{"tags":{"add":["patched"]}}'
	assert_equal "$(jq -c .record.tags <<<"$body")" '["patched","pipelines"]'
	expect 200 POST /records/search -H "$R" -d '{"namespace":"pipelines","filter":{"field":"metadata.latencyMs","operator":"lt","value":200}}'
	assert_equal "$(jq -c '[[.records[].key], .pagination.total]' <<<"$body")" '[["p1"],1]'
	expect 200 POST /records/search -H "$R" -d '{"namespace":"pipelines","q":"latencyMs>=200","projection":["key"]}'
	assert_equal "$(jq -c '[.records[] | keys]' <<<"$body")" '[["key","namespace"]]'
	expect 400 POST /records/search -H "$R" -d '{"namespace":"pipelines","filter":{"field":"a","operator":"nope","value":1}}'
	expect 400 POST /records -H "$W" -d '{"namespace":"bad ns","key":"k"}'
	expect 200 DELETE /records/pipelines/p2 -H "$D"
	expect 404 GET /records/pipelines/p2 -H "$R"
	expect 200 POST /records/pipelines/p2/restore -H "$W" -d '{"version":1}'
	assert_equal "$(jq -c '[.record.version, .record.deletedAt, .record.metadata]' <<<"$body")" '[3,null,{"latencyMs":300}]'
	expect 200 GET /records/pipelines/p1/audit -H "$R"
	assert_equal "$(jq -c '[.entries[].version]' <<<"$body")" '[3,2,1]'
	expect 200 GET '/records/pipelines/p1?version=1' -H "$R"
	assert_equal "$(jq .metadata.latencyMs <<<"$body")" 120
	expect 200 POST /records/bulk -H "$W" -d '{"continueOnError":true,"operations":[{"type":"put","namespace":"pipelines","key":"p3"},{"type":"patch","namespace":"pipelines","key":"missing","metadata":{"a":1}}]}'
	assert_equal "$(jq -c '[.operations[] | [.status, .error.code // null]]' <<<"$body")" '[["ok",null],["error","not_found"]]'
	expect 404 POST /records/bulk -H "$W" -d '{"operations":[{"type":"put","namespace":"pipelines","key":"p4"},{"type":"patch","namespace":"pipelines","key":"missing","metadata":{"a":1}}]}'
	expect 404 GET /records/pipelines/p4 -H "$R"
	expect 200 GET /namespaces -H "$R"
	assert_equal "$(jq -c '[.namespaces[] | [.namespace, .records]]' <<<"$body")" '[["pipelines",3]]'
	expect 201 POST /records/pipelines/indexes/latencyMs -H "$A"
	name=$(jq -r .name <<<"$body")
	expect 200 POST /records/pipelines/indexes/latencyMs -H "$A"
	expect 200 GET /records/pipelines/indexes -H "$A"
	assert_equal "$(jq -c '[.indexes[] | [.field, .name]]' <<<"$body")" "[[\"metadata.latencyMs\",\"$name\"]]"
	expect 200 DELETE /records/pipelines/indexes/latencyMs -H "$A"
	expect 404 DELETE /records/pipelines/indexes/latencyMs -H "$A"
	expect 200 DELETE /records/pipelines/p1/purge -H "$A"
	expect 404 GET /records/pipelines/p1 -H "$R"
	expect 200 GET '/records/pipelines/watch?since=0' -H "$R"
	assert_equal "$(jq -c '[.changes[] | select(.key == "p1") | .type] | last' <<<"$body")" '"purged"'
	stop_serve
}

@test "a token limited to namespaces touches those only (case aside): 403 elsewhere, /namespaces cut" {
	start_serve
	expect 201 POST /records -H "$W" -d '{"namespace":"other","key":"k"}'
	expect 201 POST /records -H "$T" -d '{"namespace":"team-a","key":"k"}'
	expect 201 PUT /records/SHARED/k -H "$T" -d '{"metadata":{"a":1}}'
	expect 403 POST /records -H "$T" -d '{"namespace":"other","key":"k2"}'
	assert_equal "$(jq -r .error.message <<<"$body")" "authorization: token of 'team' may not touch namespace 'other'"
	expect 403 PUT /records/other/k -H "$T" -d '{"metadata":{}}'
	expect 403 PATCH /records/other/k -H "$T" -d '{"metadata":{}}'
	expect 403 DELETE /records/other/k -H "$T"
	expect 403 POST /records/other/k/restore -H "$T" -d '{"version":1}'
	expect 403 GET /records/other/k -H "$T"
	expect 403 GET /records/other/k/audit -H "$T"
	expect 403 POST /records/search -H "$T" -d '{"namespace":"other"}'
	expect 403 POST /records/search -H "$T" -d '{}'
	expect 200 POST /records/search -H "$T" -d '{"namespace":"team-a"}'
	assert_equal "$(jq -c '[.records[].key]' <<<"$body")" '["k"]'
	# one operation of a bulk in another namespace refuses the whole bulk; nothing is written
	expect 403 POST /records/bulk -H "$T" -d '{"operations":[{"type":"put","namespace":"team-a","key":"b1"},{"type":"put","namespace":"other","key":"b2"}]}'
	assert_equal "$(jq -r .error.message <<<"$body")" "authorization: token of 'team' may not touch namespace 'other' (operation 2)"
	expect 404 GET /records/team-a/b1 -H "$R"
	expect 200 POST /records/bulk -H "$T" -d '{"operations":[{"type":"put","namespace":"team-a","key":"b1"},{"type":"put","namespace":"shared","key":"b2"}]}'
	expect 200 GET /namespaces -H "$T"
	assert_equal "$(jq -c '[.namespaces[].namespace]' <<<"$body")" '["SHARED","shared","team-a"]'
	expect 200 GET /namespaces -H "$R"
	assert_equal "$(jq -c '[.namespaces[].namespace]' <<<"$body")" '["SHARED","other","shared","team-a"]'
	expect 403 GET /records/other/watch -H "$T" -H 'Accept: text/event-stream' -m 2
	expect 200 GET '/records/team-a/watch?since=0' -H "$T"
	# the CLI with such a token
	run --separate-stderr -1 env APPHUB_TOKEN=team-token-1 apphub --server "$SERVE_URL" metastore put other x
	assert_stderr_partial "may not touch namespace 'other'"
	stop_serve
}

# sse_ids FILE: the ids of the events in FILE, one a line
sse_ids() {
	sed -n 's/^id: //p' "$1"
}

count_events() {
	[[ $(grep -c '^id: ' "$1") -ge $2 ]]
}

@test "watch over SSE: every change once and in order, id = revision; Last-Event-ID resumes" {
	start_serve
	apphub metastore create w a --set n=0 >/dev/null
	curl -sS -N -H 'Accept: text/event-stream' -H "$R" "$SERVE_URL/records/w/watch" \
		>"$BATS_TEST_TMPDIR/live" 3>&- &
	curl_pid=$!
	curl -sS -N -H 'Accept: text/event-stream' -H "$R" "$SERVE_URL/records/w/watch?prefix=b" \
		>"$BATS_TEST_TMPDIR/prefixed" 3>&- &
	curl2_pid=$!
	sleep 0.5
	for i in $(seq 1 30); do
		apphub -q metastore put w a --set n=$i >/dev/null
		apphub -q metastore put other x --set n=$i >/dev/null
	done
	apphub -q metastore create w b1 >/dev/null
	apphub -q metastore rm w a >/dev/null
	wait_until count_events "$BATS_TEST_TMPDIR/live" 32
	wait_until count_events "$BATS_TEST_TMPDIR/prefixed" 1
	sleep 0.3
	kill "$curl_pid" "$curl2_pid"
	# the revisions of w's changes after the first, from the store itself
	want=$(apphub --json metastore watch w --since 1 & p=$!; sleep 0.5; kill $p)
	assert_equal "$(sse_ids "$BATS_TEST_TMPDIR/live")" "$(jq -r .revision <<<"$want")"
	assert_equal "$(grep -c '^id: ' "$BATS_TEST_TMPDIR/live")" 32
	assert_equal "$(sed -n 's/^event: //p' "$BATS_TEST_TMPDIR/live" | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd' ')" \
		'created=1 deleted=1 updated=30'
	assert_equal "$(sed -n 's/^data: //p' "$BATS_TEST_TMPDIR/live" | jq -c '[.namespace, .key, .version]' | sed -n '30p')" '["w","a",31]'
	assert_equal "$(sed -n 's/^data: //p' "$BATS_TEST_TMPDIR/prefixed" | jq -r .key)" b1
	# resume after the 10th event: the 22 after it, in order, none again
	tenth=$(sse_ids "$BATS_TEST_TMPDIR/live" | sed -n 10p)
	curl -sS -N -m 2 -H 'Accept: text/event-stream' -H "$R" -H "Last-Event-ID: $tenth" \
		"$SERVE_URL/records/w/watch" >"$BATS_TEST_TMPDIR/resumed" || true
	assert_equal "$(sse_ids "$BATS_TEST_TMPDIR/resumed")" "$(sse_ids "$BATS_TEST_TMPDIR/live" | sed -n '11,$p')"
	# ?since= does the same; a bad Last-Event-ID is a 400
	curl -sS -N -m 1 -H 'Accept: text/event-stream' -H "$R" "$SERVE_URL/records/w/watch?since=$tenth&key=b1" \
		>"$BATS_TEST_TMPDIR/since" || true
	assert_equal "$(sed -n 's/^data: //p' "$BATS_TEST_TMPDIR/since" | jq -r .key)" b1
	expect 400 GET /records/w/watch -H "$R" -H 'Accept: text/event-stream' -H 'Last-Event-ID: x' -m 2
	expect 400 GET '/records/bad%20ns/watch' -H "$R" -H 'Accept: text/event-stream' -m 2
	# GET /events goes on as before
	run curl -sS -m 1 -N -H 'Accept: text/event-stream' "$SERVE_URL/events?since=0&type=metastore.record.deleted"
	assert_output --partial 'event: metastore.record.deleted'
	stop_serve
}

@test "the CLI through --server: every verb, watch by polling" {
	start_serve
	S=(apphub --server "$SERVE_URL" metastore)
	export APPHUB_TOKEN=admin-token-1
	APPHUB_TOKEN=writer-token-1 run --separate-stderr -0 "${S[@]}" create pipelines p1 --set latencyMs=120 --tag pipelines
	assert_line 'version:    1'
	APPHUB_TOKEN=writer-token-1 run --separate-stderr -0 apphub -q --server "$SERVE_URL" metastore put pipelines p1 --set latencyMs=150 --tag pipelines
	assert_output 2
	APPHUB_TOKEN=writer-token-1 run --separate-stderr -0 "${S[@]}" put pipelines p1 --set latencyMs=150 --tag pipelines --json
	assert_equal "$(jq -c '[.record.version, .idempotent]' <<<"$output")" '[2,true]'
	APPHUB_TOKEN=writer-token-1 run --separate-stderr -3 "${S[@]}" put pipelines p1 --set latencyMs=1 --expected-version 1
	APPHUB_TOKEN=writer-token-1 run --separate-stderr -0 "${S[@]}" patch pipelines p1 --tags-add patched --json
	assert_equal "$(jq -c .record.tags <<<"$output")" '["patched","pipelines"]'
	APPHUB_TOKEN=reader-token-1 run --separate-stderr -0 "${S[@]}" get pipelines p1 --json
	assert_equal "$(jq .version <<<"$output")" 3
	APPHUB_TOKEN=reader-token-1 run --separate-stderr -0 apphub -q --server "$SERVE_URL" metastore search pipelines -q 'latencyMs<200'
	assert_output p1
	APPHUB_TOKEN=reader-token-1 run --separate-stderr -1 "${S[@]}" search pipelines -q 'a >'
	APPHUB_TOKEN=reader-token-1 run --separate-stderr -0 "${S[@]}" audit pipelines p1 -q
	assert_equal "${#lines[@]}" 3
	APPHUB_TOKEN=reader-token-1 run --separate-stderr -0 "${S[@]}" ls
	assert_line --regexp '^pipelines +1$'
	APPHUB_TOKEN=writer-token-1 run --separate-stderr -0 "${S[@]}" bulk - <<<'{"operations":[{"type":"put","namespace":"pipelines","key":"p2","metadata":{"latencyMs":9}}]}'
	assert_output '1 ok put pipelines/p2 v1'
	run --separate-stderr -0 "${S[@]}" index pipelines latencyMs
	assert_output --regexp '^index metastore_ix_[0-9a-f]{16} on metadata.latencyMs in pipelines created$'
	run --separate-stderr -0 apphub -q --server "$SERVE_URL" metastore index pipelines
	assert_output metadata.latencyMs
	run --separate-stderr -0 "${S[@]}" index pipelines latencyMs --drop
	APPHUB_TOKEN=delete-token-1 run --separate-stderr -0 "${S[@]}" rm pipelines p2
	APPHUB_TOKEN=reader-token-1 run --separate-stderr -2 "${S[@]}" get pipelines p2
	APPHUB_TOKEN=writer-token-1 run --separate-stderr -0 "${S[@]}" restore pipelines p2 --version 1 -q
	assert_output 3
	APPHUB_TOKEN=writer-token-1 run --separate-stderr -1 "${S[@]}" purge pipelines p2
	assert_stderr_partial "lacks scope 'metastore:admin'"
	run --separate-stderr -0 "${S[@]}" purge pipelines p2
	APPHUB_TOKEN=reader-token-1 run --separate-stderr -2 "${S[@]}" get pipelines p2
	# watch through --server: polls GET /records/:namespace/watch
	APPHUB_TOKEN=reader-token-1 apphub --server "$SERVE_URL" metastore watch pipelines --since 0 \
		>"$BATS_TEST_TMPDIR/watch" 3>&- &
	wpid=$!
	sleep 1
	apphub -q metastore put pipelines p9 >/dev/null
	wait_until grep -q 'created pipelines/p9 v1' "$BATS_TEST_TMPDIR/watch"
	kill "$wpid"
	# a purge takes the record's history with it: its "purged" change stays
	run cut -d' ' -f2,3 "$BATS_TEST_TMPDIR/watch"
	assert_output "$(printf 'created pipelines/p1\nupdated pipelines/p1\nupdated pipelines/p1\npurged pipelines/p2\ncreated pipelines/p9')"
	stop_serve
}

@test "/metrics counts the metastore's records written and read" {
	start_serve
	expect 201 POST /records -H "$W" -d '{"namespace":"m","key":"a"}'
	expect 200 PUT /records/m/a -H "$W" -d '{"metadata":{"x":1}}'
	expect 200 PUT /records/m/a -H "$W" -d '{"metadata":{"x":1}}'
	expect 200 POST /records/bulk -H "$W" -d '{"operations":[{"type":"put","namespace":"m","key":"b"},{"type":"put","namespace":"m","key":"c"}]}'
	expect 200 GET /records/m/a -H "$R"
	expect 200 POST /records/search -H "$R" -d '{"namespace":"m"}'
	run curl -sS "$SERVE_URL/metrics"
	assert_line 'apphub_metastore_records_written_total 4'
	assert_line 'apphub_metastore_records_read_total 4'
	stop_serve
}

@test "idempotencyKey null is no key; metadata over the limit is 400 naming it, nothing written" {
	APPHUB_METASTORE_MAX_RECORD=2k start_serve
	expect 201 POST /records -H "$W" -d '{"namespace":"ns","key":"a","metadata":{"x":1},"idempotencyKey":null}'
	[[ $(jq -r .record.version <<<"$body") == 1 ]]
	expect 200 PUT /records/ns/a -H "$W" -d '{"metadata":{"x":2},"idempotencyKey":null}'
	[[ $(jq -r .record.version <<<"$body") == 2 ]]
	expect 400 POST /records -H "$W" -d '{"namespace":"ns","key":"b","idempotencyKey":7}'
	big=$(jq -nc '{namespace: "ns", key: "big", metadata: {s: ("x" * 3000)}}')
	expect 400 POST /records -H "$W" -d "$big"
	[[ $(jq -r .error.code <<<"$body") == invalid ]]
	[[ $(jq -r .error.message <<<"$body") == *APPHUB_METASTORE_MAX_RECORD* ]]
	expect 404 GET /records/ns/big -H "$R"
	[[ $(sqlite3 "$(db_path)" "SELECT count(*) FROM metastore_idempotency") == 0 ]]
}
