#!/usr/bin/env bats
# apphub metastore: every verb of the CLI, its output and exit statuses, the
# original's cases, and bad input refused with nothing written.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

ms() {
	apphub metastore "$@"
}

# count_records: every row of metastore_records and metastore_audit, deleted or not
count_rows() {
	[[ -f $(db_path) ]] || { echo 0/0; return; }
	sqlite3 "$(db_path)" 'SELECT (SELECT count(*) FROM metastore_records) || "/" || (SELECT count(*) FROM metastore_audit)'
}

wait_until() {
	local k
	for k in $(seq 1 100); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# lines FILE N: FILE has at least N lines
lines() {
	[[ $(wc -l <"$1") -ge $2 ]]
}

teardown() {
	[[ -z ${WATCH_PID:-} ]] || kill "$WATCH_PID" 2>/dev/null || true
}

@test "create makes version 1; get shows it as text and JSON" {
	run --separate-stderr -0 ms create pipelines p1 --set latencyMs=120 --set build.status='"ok"' \
		--set build.steps=3 --tag pipelines --owner ops --schema-hash h1
	assert_line 'namespace:  pipelines'
	assert_line 'key:        p1'
	assert_line 'version:    1'
	assert_line 'owner:      ops'
	assert_line 'tags:       pipelines'
	assert_line 'metadata:   {'
	assert_line '  "latencyMs": 120,'
	run --separate-stderr -0 ms get pipelines p1 --json
	assert_equal "$(jq -c '[.namespace, .key, .version, .metadata, .tags, .owner, .schemaHash, .createdBy, .deletedAt]' <<<"$output")" \
		'["pipelines","p1",1,{"latencyMs":120,"build":{"status":"ok","steps":3}},["pipelines"],"ops","h1","cli",null]'
	run --separate-stderr -0 apphub -q metastore get pipelines p1
	assert_output '{"latencyMs":120,"build":{"status":"ok","steps":3}}'
	# create again: returned unchanged
	run --separate-stderr -0 ms create pipelines p1 --set latencyMs=999 --json
	assert_equal "$(jq -c '[.created, .record.version, .record.metadata.latencyMs]' <<<"$output")" '[false,1,120]'
}

@test "put makes version 2; the same put again is idempotent and keeps the version" {
	ms create pipelines p1 --set latencyMs=120 >/dev/null
	run --separate-stderr -0 ms put pipelines p1 --set latencyMs=150 --tag pipelines --json
	assert_equal "$(jq -c '[.record.version, .idempotent, .record.metadata]' <<<"$output")" '[2,false,{"latencyMs":150}]'
	run --separate-stderr -0 ms put pipelines p1 --set latencyMs=150 --tag pipelines --json
	assert_equal "$(jq -c '[.record.version, .idempotent]' <<<"$output")" '[2,true]'
	run --separate-stderr -0 ms put pipelines p1 --set latencyMs=150 --tag pipelines
	assert_line 'idempotent: true (nothing changed)'
	run --separate-stderr -0 apphub -q metastore put pipelines new --metadata-json '{"a":1}'
	assert_output 1
}

@test "--expected-version: a mismatch is a conflict (exit 3), a match writes" {
	ms create ns k --set n=1 >/dev/null
	run --separate-stderr -3 ms put ns k --set n=2 --expected-version 5
	assert_stderr_partial 'version'
	run --separate-stderr -3 ms patch ns k --set n=2 --expected-version 2
	run --separate-stderr -3 ms rm ns k --expected-version 7
	assert_equal "$(ms get ns k --json | jq -c '[.version, .metadata.n]')" '[1,1]'
	run --separate-stderr -0 ms put ns k --set n=2 --expected-version 1 --json
	assert_equal "$(jq .record.version <<<"$output")" 2
}

@test "patch: deep merge, --unset, tags add/remove/set: tags end as [\"patched\",\"pipelines\"]" {
	ms create pipelines p1 --metadata-json '{"a":{"b":1,"c":2},"d":3}' --tag pipelines >/dev/null
	run --separate-stderr -0 ms patch pipelines p1 --tags-add patched --json
	assert_equal "$(jq -c .record.tags <<<"$output")" '["patched","pipelines"]'
	run --separate-stderr -0 ms patch pipelines p1 --metadata-json '{"a":{"c":20,"e":5}}' --set f=true --unset d --json
	assert_equal "$(jq -c '[.record.metadata, .record.version]' <<<"$output")" '[{"a":{"b":1,"c":20,"e":5},"f":true},3]'
	run --separate-stderr -0 ms patch pipelines p1 --tags-remove patched --owner web --json
	assert_equal "$(jq -c '[.record.tags, .record.owner]' <<<"$output")" '[["pipelines"],"web"]'
	run --separate-stderr -0 ms patch pipelines p1 --tags-set x,y --json
	assert_equal "$(jq -c .record.tags <<<"$output")" '["x","y"]'
	run --separate-stderr -2 ms patch pipelines missing --set a=1
}

@test "search: latencyMs lt 200 is one hit, as a filter and as q; table, -q, sort, paging, projection" {
	ms create pipelines p1 --set latencyMs=120 --set status='in progress' --owner ops >/dev/null
	ms create pipelines p2 --set latencyMs=300 --set status=done >/dev/null
	ms create pipelines p3 --set latencyMs=250 --set status=done --owner ops >/dev/null
	ms create other p9 --set latencyMs=1 >/dev/null
	run --separate-stderr -0 ms search pipelines --filter-json '{"field":"metadata.latencyMs","operator":"lt","value":200}' --json
	assert_equal "$(jq -c '[[.records[].key], .pagination]' <<<"$output")" '[["p1"],{"total":1,"limit":50,"offset":0}]'
	run --separate-stderr -0 ms search pipelines -q 'latencyMs<200'
	assert_output "$(printf '%-40s  %-7s  %s\n' KEY VERSION UPDATED)
$(printf '%-40s  %-7s  ' p1 1)$(ms get pipelines p1 --json | jq -r .updatedAt)"
	run --separate-stderr -0 ms search pipelines -q 'status:"in progress"' --quiet
	assert_output p1
	run --separate-stderr -0 apphub -q metastore search pipelines -q 'owner=ops' --sort latencyMs:desc
	assert_output "$(printf 'p3\np1')"
	run --separate-stderr -0 apphub -q metastore search pipelines --sort key:asc --limit 2 --offset 1
	assert_output "$(printf 'p2\np3')"
	run --separate-stderr -0 ms search pipelines --sort key --limit 1 --json
	assert_equal "$(jq -c .pagination <<<"$output")" '{"total":3,"limit":1,"offset":0}'
	run --separate-stderr -0 ms search pipelines -q 'key:p2' --projection latencyMs,version --json
	assert_equal "$(jq -c '.records[0] | [.key, .version, .metadata, has("tags")]' <<<"$output")" '["p2",1,{"latencyMs":300},false]'
	run --separate-stderr -0 ms search pipelines --filter-json '{"type":"group","operator":"or","filters":[{"field":"latencyMs","operator":"gte","value":300},{"type":"not","filter":{"field":"owner","operator":"eq","value":"ops"}}]}' --quiet
	assert_output p2
	run --separate-stderr -0 ms search pipelines -q 'latencyMs>1000'
	assert_output ''
}

@test "rm is soft: 404 after, --include-deleted sees it, create conflicts, put restores" {
	ms create ns k --set a=1 >/dev/null
	run --separate-stderr -0 ms rm ns k
	assert_output 'deleted ns/k at version 2'
	run --separate-stderr -2 ms get ns k
	assert_stderr_partial 'not found'
	run --separate-stderr -0 ms get ns k --include-deleted --json
	[[ $(jq -r .deletedAt <<<"$output") != null ]]
	assert_equal "$(apphub -q metastore search ns)" ''
	assert_equal "$(apphub -q metastore search ns --include-deleted)" k
	# ls counts it as deleted, and as a record again once put back
	assert_equal "$(ms ls --json | jq -c '.namespaces[] | [.namespace, .records, .deleted]')" \
		'["ns",0,1]'
	run --separate-stderr -3 ms create ns k --set a=2
	run --separate-stderr -0 ms put ns k --set a=3 --json
	assert_equal "$(jq -c '[.record.version, .record.deletedAt, .record.metadata.a]' <<<"$output")" '[3,null,3]'
	assert_equal "$(ms ls --json | jq -c '.namespaces[] | [.namespace, .records, .deleted]')" \
		'["ns",1,0]'
	run --separate-stderr -2 ms rm ns nothing
}

@test "purge is hard: get answers 404 and nothing is left of the record" {
	ms create pipelines p1 --set a=1 >/dev/null
	ms put pipelines p1 --set a=2 >/dev/null
	run --separate-stderr -0 ms purge pipelines p1
	assert_output purged
	# the namespace's last record gone, the namespace is too
	assert_equal "$(ms ls --json | jq -c .namespaces)" '[]'
	run --separate-stderr -2 ms get pipelines p1
	run --separate-stderr -2 ms get pipelines p1 --include-deleted
	run --separate-stderr -2 ms purge pipelines p1
	assert_equal "$(sqlite3 "$(db_path)" 'SELECT count(*) FROM metastore_records')" 0
}

@test "restore from a version and from an audit entry, as new versions; audit lists them" {
	ms create ns k --set a=1 >/dev/null
	ms put ns k --set a=2 >/dev/null
	ms put ns k --set a=3 >/dev/null
	run --separate-stderr -0 ms restore ns k --version 1 --json
	assert_equal "$(jq -c '[.record.version, .record.metadata]' <<<"$output")" '[4,{"a":1}]'
	id=$(ms audit ns k --json | jq '.entries[] | select(.version == 2) | .id')
	run --separate-stderr -0 ms restore ns k --audit "$id" --json
	assert_equal "$(jq -c '[.record.version, .record.metadata]' <<<"$output")" '[5,{"a":2}]'
	run --separate-stderr -0 ms get ns k --version 3 --json
	assert_equal "$(jq -c '[.version, .metadata]' <<<"$output")" '[3,{"a":3}]'
	run --separate-stderr -0 ms audit ns k --json
	assert_equal "$(jq -c '[.entries[].action]' <<<"$output")" \
		'["restored","restored","updated","updated","created"]'
	run --separate-stderr -0 ms audit ns k
	assert_line --index 0 --regexp '^ID +ACTION +VERSION +ACTOR +TIME$'
	assert_equal "${#lines[@]}" 6
	run --separate-stderr -0 apphub -q metastore audit ns k --limit 2
	assert_equal "${#lines[@]}" 2
	run --separate-stderr -129 ms restore ns k
	assert_stderr_partial 'give one of --version and --audit'
	run --separate-stderr -129 ms restore ns k --version 1 --audit 2
	run --separate-stderr -2 ms restore ns k --version 99
	run --separate-stderr -2 ms audit ns nothing
}

@test "ls: namespaces with their record counts; -q one per line" {
	run --separate-stderr -0 ms ls
	assert_output ''
	ms create b k1 >/dev/null
	ms create b k2 >/dev/null
	ms create a k1 >/dev/null
	run --separate-stderr -0 ms ls
	assert_output "$(printf '%-40s  %s\n%-40s  %s\n%-40s  %s' NAMESPACE RECORDS a 1 b 2)"
	run --separate-stderr -0 apphub -q metastore ls
	assert_output "$(printf 'a\nb')"
	run --separate-stderr -0 ms ls --json
	assert_equal "$(jq -c '[.namespaces[] | [.namespace, .records]]' <<<"$output")" '[["a",1],["b",2]]'
}

@test "bulk: atomic by default, rolled back whole on an error; from a file or stdin" {
	cat >"$BATS_TEST_TMPDIR/ok.json" <<-'EOF'
		{"operations": [
		 {"type": "create", "namespace": "b", "key": "one", "metadata": {"n": 1}},
		 {"type": "put", "namespace": "b", "key": "two", "metadata": {"n": 2}},
		 {"type": "patch", "namespace": "b", "key": "one", "metadata": {"m": 1}}]}
	EOF
	run --separate-stderr -0 ms bulk "$BATS_TEST_TMPDIR/ok.json"
	assert_output "$(printf '1 ok create b/one v1\n2 ok put b/two v1\n3 ok patch b/one v2')"
	before=$(count_rows)
	# the first error is the error: a missing key, 404
	run --separate-stderr -2 ms bulk - <<-'EOF'
		{"operations": [
		 {"type": "put", "namespace": "b", "key": "three", "metadata": {"n": 3}},
		 {"type": "delete", "namespace": "b", "key": "two"},
		 {"type": "patch", "namespace": "b", "key": "missing", "metadata": {"n": 4}}]}
	EOF
	assert_stderr_partial 'not found'
	assert_equal "$(count_rows)" "$before"
	run --separate-stderr -2 ms get b three
	assert_equal "$(ms get b two --json | jq .version)" 1
	# bad input late in the list: exit 1, nothing written
	run --separate-stderr -1 ms bulk - <<-'EOF'
		{"operations": [
		 {"type": "put", "namespace": "b", "key": "three", "metadata": {"n": 3}},
		 {"type": "create", "namespace": "b", "key": "four", "tags": ["ok"]},
		 {"type": "put", "namespace": "b", "key": "five", "metadata": [1]}]}
	EOF
	assert_stderr_partial 'metadata'
	assert_equal "$(count_rows)" "$before"
}

@test "bulk of many documents: each a transaction, made ready while the one before is written; stops at a refused one" {
	# 40 documents of 100 creates, JSON Lines; the 25th refuses its 50th
	# operation, one with continueOnError refuses its 2nd alone, and one
	# holds a string of 300,000 bytes
	jq -nc 'range(40) as $d | {operations: [range(100) as $i |
		{type: "create", namespace: "many", key: "d\($d)-\($i)",
		 metadata: (if $d == 24 and $i == 49 then [1] else {d: $d, i: $i, s: "x\u00e9\"y"} end),
		 tags: ["t\($i % 3)", "t0"]}]} |
		if $d == 10 then .continueOnError = true | .operations[1].tags = "no" else . end |
		if $d == 12 then .operations[7].metadata.big = ("b" * 300000) else . end' \
		>"$BATS_TEST_TMPDIR/many.json"
	run --separate-stderr -1 ms bulk "$BATS_TEST_TMPDIR/many.json"
	assert_stderr_partial 'operation 49 (create): invalid metadata: must be a JSON object'
	assert_equal "$(grep -c ' ok create ' <<<"$output")" 2399
	assert_equal "$(grep -c '^[0-9]* error create: invalid: invalid tags' <<<"$output")" 1
	# written as one document at a time writes them, texts and all
	assert_equal "$(ms ls --json | jq '.namespaces[] | select(.namespace == "many") | .records')" 2399
	assert_equal "$(ms get many d23-99 --json | jq -c '[.metadata, .tags, .version]')" \
		'[{"d":23,"i":99,"s":"xé\"y"},["t0"],1]'
	assert_equal "$(ms get many d7-4 --json | jq -c .tags)" '["t0","t1"]'
	# a value larger than the reader's chunks of memory
	assert_equal "$(ms get many d12-7 --json | jq '.metadata.big | length')" 300000
	run --separate-stderr -2 ms get many d10-1
	run --separate-stderr -2 ms get many d24-0
	# the same document again, alone: the same refusal
	sed -n 25p "$BATS_TEST_TMPDIR/many.json" >"$BATS_TEST_TMPDIR/one.json"
	run --separate-stderr -1 ms bulk "$BATS_TEST_TMPDIR/one.json"
	assert_stderr_partial 'operation 49 (create): invalid metadata: must be a JSON object'
}

@test "bulk from a pipe: documents read as they come, each committed before the next arrives; brief replies" {
	# the first document split inside a value, then a pause: it is
	# written (another process reads it) before the second is sent
	{
		printf '{"operations": [{"type": "create", "namespace": "p", "key": "one", "metadata": {"ok": tr'
		sleep 0.3
		printf 'ue}}]}\n'
		sleep 1
		apphub -q metastore get p one --json | jq -c .metadata >"$BATS_TEST_TMPDIR/seen"
		printf '{"operations": [{"type": "create", "namespace": "p", "key": "two"}]}'
	} | ms bulk - >"$BATS_TEST_TMPDIR/out"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/seen")" '{"ok":true}'
	assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "$(printf '1 ok create p/one v1\n2 ok create p/two v1')"
	# brief: a create's record is its namespace, key and version; else whole
	run --separate-stderr ms bulk --json - <<<'{"brief": true, "operations": [{"type": "create", "namespace": "p", "key": "three", "metadata": {"a": 1}}]}'
	assert_success
	assert_equal "$(jq -c '.operations[0] | [.status, .record]' <<<"$output")" '["ok",{"namespace":"p","key":"three","version":1}]'
	run --separate-stderr ms bulk --json - <<<'{"operations": [{"type": "create", "namespace": "p", "key": "four", "metadata": {"a": 1}}]}'
	assert_equal "$(jq -c '.operations[0].record | [.metadata, .createdAt != null]' <<<"$output")" '[{"a":1},true]'
	run --separate-stderr -1 ms bulk - <<<'{"brief": "yes", "operations": [{"type": "create", "namespace": "p", "key": "five"}]}'
	assert_stderr_partial 'brief'
}

@test "bulk killed mid-load: what it printed is written, whole documents, counts, audit and events agreeing" {
	jq -nc 'range(400) as $d | {operations: [range(100) as $i |
		{type: "create", namespace: "k", key: "d\($d)-\($i)", metadata: {i: $i}}]}' \
		>"$BATS_TEST_TMPDIR/load.json"
	# the process itself (ms would be a subshell around it)
	apphub metastore bulk "$BATS_TEST_TMPDIR/load.json" >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	local pid=$!
	wait_until test -s "$BATS_TEST_TMPDIR/out"
	kill -9 "$pid"
	wait "$pid" || true
	local printed records
	printed=$(grep -c ' ok create ' "$BATS_TEST_TMPDIR/out")
	records=$(sqlite3 "$(db_path)" 'SELECT count(*) FROM metastore_records')
	[[ $printed -ge 100 && $records -ge $printed && $((records % 100)) == 0 ]]
	assert_equal "$(count_rows)" "$records/$records"
	assert_equal "$(sqlite3 "$(db_path)" "SELECT count(*) FROM events WHERE type = 'metastore.record.created'")" "$records"
	assert_equal "$(sqlite3 "$(db_path)" "SELECT coalesce(sum(records), 0) FROM metastore_namespaces")" "$records"
	# the load again finishes it: what was written is there, the rest is created
	run --separate-stderr apphub -q metastore bulk "$BATS_TEST_TMPDIR/load.json"
	assert_success
	assert_equal "$(count_rows)" 40000/40000
}

@test "bulk with continueOnError: a missing key is not_found for that operation only" {
	run --separate-stderr -1 ms bulk --json - <<-'EOF'
		{"continueOnError": true, "operations": [
		 {"type": "create", "namespace": "c", "key": "one", "metadata": {"n": 1}},
		 {"type": "patch", "namespace": "c", "key": "missing", "metadata": {"n": 2}},
		 {"type": "put", "namespace": "c", "key": "two", "metadata": {"n": 3}}]}
	EOF
	assert_equal "$(jq -c '[.operations[] | [.status, .error.code // null, .error.statusCode // null]]' <<<"$output")" \
		'[["ok",null,null],["error","not_found",404],["ok",null,null]]'
	assert_stderr_partial '1 of 3 operations failed'
	assert_equal "$(apphub -q metastore search c --sort key)" "$(printf 'one\ntwo')"
}

@test "bulk refuses 0 and over 100 operations, and what is not JSON, writing nothing" {
	run --separate-stderr -1 ms bulk - <<<'{"operations": []}'
	jq -n '{operations: [range(101) | {type: "put", namespace: "n", key: "k\(.)"}]}' >"$BATS_TEST_TMPDIR/big.json"
	run --separate-stderr -1 ms bulk "$BATS_TEST_TMPDIR/big.json"
	assert_stderr_partial '100'
	run --separate-stderr -1 ms bulk - <<<'{"operations": '
	assert_stderr_partial 'invalid JSON'
	run --separate-stderr -1 ms bulk - <<<'[1]'
	run --separate-stderr -1 ms bulk "$BATS_TEST_TMPDIR/nonexistent"
	assert_stderr_partial 'cannot read'
	assert_equal "$(count_rows)" 0/0
}

@test "bad input is refused with exit 1 and nothing written" {
	long_ns=$(printf 'n%.0s' $(seq 1 129))
	long_key=$(printf 'k%.0s' $(seq 1 257))
	long_tag=$(printf 't%.0s' $(seq 1 65))
	many_tags=()
	for i in $(seq 1 129); do many_tags+=(--tag "t$i"); done
	run --separate-stderr -1 ms create 'bad ns' k
	assert_stderr_partial 'namespace'
	run --separate-stderr -1 ms create -- -leading k
	run --separate-stderr -1 ms create '.dot' k
	run --separate-stderr -1 ms create "$long_ns" k
	run --separate-stderr -1 ms create ns "$long_key"
	assert_stderr_partial 'key'
	run --separate-stderr -1 ms create ns "$(printf 'a\tb')"
	run --separate-stderr -1 ms create ns k --tag "$long_tag"
	assert_stderr_partial 'tag'
	run --separate-stderr -1 ms create ns k --tag ''
	run --separate-stderr -1 ms create ns k "${many_tags[@]}"
	run --separate-stderr -1 ms create ns k --metadata-json '[1, 2]'
	assert_stderr_partial 'metadata'
	run --separate-stderr -1 ms create ns k --metadata-json '"text"'
	run --separate-stderr -1 ms create ns k --metadata-json '{"a":'
	assert_stderr_partial 'invalid --metadata-json'
	# over APPHUB_METASTORE_MAX_RECORD: from a file (read no further) and inline
	head -c 3000 /dev/zero | tr '\0' a | jq -Rc '{a: .}' >"$BATS_TEST_TMPDIR/big.json"
	APPHUB_METASTORE_MAX_RECORD=2k run --separate-stderr -1 ms create ns k --metadata-file "$BATS_TEST_TMPDIR/big.json"
	assert_stderr_partial 'larger than 2048 bytes'
	APPHUB_METASTORE_MAX_RECORD=2k run --separate-stderr -1 ms create ns k --metadata-json "$(cat "$BATS_TEST_TMPDIR/big.json")"
	assert_stderr_partial 'APPHUB_METASTORE_MAX_RECORD'
	deep=$(jq -nc 'reduce range(40) as $i (1; {a: .})')
	run --separate-stderr -1 ms create ns k --metadata-json "$deep"
	assert_equal "$(count_rows)" 0/0
}

@test "bad filters and q terms are refused with exit 1, naming the problem" {
	ms create ns k --set a=1 >/dev/null
	deep='{"field":"a","operator":"eq","value":1}'
	for i in $(seq 1 8); do deep="{\"type\":\"not\",\"filter\":$deep}"; done
	run --separate-stderr -1 ms search ns --filter-json "$deep"
	assert_stderr_partial 'deeper than 8'
	run --separate-stderr -1 ms search ns --filter-json '{"field":"a","operator":"like","value":1}'
	assert_stderr_partial "unknown operator 'like'"
	run --separate-stderr -1 ms search ns --filter-json '{"field":"a","operator":"between","values":[1]}'
	assert_stderr_partial 'between'
	run --separate-stderr -1 ms search ns -q 'a>=1 %%%'
	assert_stderr_partial '%%%'
	run --separate-stderr -1 ms search ns -q 'namespace:ns'
	assert_stderr_partial 'namespace'
	run --separate-stderr -1 ms search ns --filter-json '{"field":'
	assert_stderr_partial 'invalid --filter-json'
	run --separate-stderr -1 ms search ns --limit 500
	assert_stderr_partial 'limit'
	run --separate-stderr -1 ms search ns --sort a --sort b --sort c --sort d --sort e --sort f
	run --separate-stderr -1 ms search 'bad ns'
}

@test "index: an expression index on a metadata field, listed, used by search --explain, dropped" {
	jq -nc '{operations: [range(100) | {type: "put", namespace: "ix", key: "k\(.)", metadata: {latencyMs: ., status: (if . % 2 == 0 then "even" else "odd" end)}}]}' >"$BATS_TEST_TMPDIR/ops.json"
	for i in 1 2 3; do
		jq -c --arg i "$i" '.operations[].key |= "\($i)-\(.)"' "$BATS_TEST_TMPDIR/ops.json" | ms bulk -q -
	done
	run --separate-stderr -0 ms search ix -q 'latencyMs=7' --explain --json
	name_before=$(jq -r '.indexes | join(" ")' <<<"$output")
	run --separate-stderr -0 ms index ix latencyMs
	assert_output --regexp '^index metastore_ix_[0-9a-f]{16} on metadata.latencyMs in ix created$'
	name=$(awk '{print $2}' <<<"$output")
	[[ $name_before != *"$name"* ]]
	run --separate-stderr -0 ms index ix metadata.latencyMs
	assert_output "index $name on metadata.latencyMs in ix exists"
	run --separate-stderr -0 ms index ix
	assert_line --index 1 --regexp "^metadata.latencyMs +$name +"
	run --separate-stderr -0 ms search ix -q 'latencyMs=7' --explain --json
	assert_equal "$(jq -r '.indexes[0]' <<<"$output")" "$name"
	run --separate-stderr -0 ms search ix -q 'latencyMs=7' --explain
	assert_line "indexes: $name"
	[[ $(sqlite3 "$(db_path)" "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = '$name'") == 1 ]]
	# the same search still finds the records
	assert_equal "$(apphub -q metastore search ix -q 'latencyMs=7' --sort key)" "$(printf '1-k7\n2-k7\n3-k7')"
	run --separate-stderr -0 ms index ix latencyMs --drop
	assert_output "dropped index $name on metadata.latencyMs in ix"
	[[ $(sqlite3 "$(db_path)" "SELECT count(*) FROM sqlite_master WHERE name = '$name'") == 0 ]]
	assert_equal "$(ms index ix)" ''
	run --separate-stderr -2 ms index ix latencyMs --drop
	run --separate-stderr -1 ms index ix namespace
	run --separate-stderr -1 ms index ix "a'b"
	run --separate-stderr -129 ms index ix --drop
}

@test "index on an array field: array_contains looks its elements up, and answers as the scan does through every change" {
	jq -nc '{operations: [range(60) | {type: "put", namespace: "arr", key: "k\(.)", metadata: {labels: ["l\(. % 7)", "l\(. % 5)"], n: [(. % 3), 1.5], flags: [true], mixed: ["x", null, {"o": 1}]}}]}' | ms bulk -q -
	# the scan's answers first, then the same asked through the index
	q() { apphub -q metastore search arr --sort key --limit 100 --filter-json "{\"field\": \"$1\", \"operator\": \"array_contains\", \"value\": $2}"; }
	declare -A before
	cases=('labels "l3"' 'labels "l4"' 'n 2' 'n 1.5' 'flags true' 'flags false' 'mixed "x"' 'mixed null' 'labels 3')
	for c in "${cases[@]}"; do before[$c]=$(q $c); done
	[[ -n ${before['labels "l3"']} && -n ${before['n 2']} && -n ${before['flags true']} && -n ${before['mixed null']} ]]
	[[ -z ${before['labels 3']} && -z ${before['flags false']} ]]
	run --separate-stderr -0 ms index arr labels
	ms index -q arr n >/dev/null
	ms index -q arr flags >/dev/null
	ms index -q arr mixed >/dev/null
	for c in "${cases[@]}"; do assert_equal "$(q $c)" "${before[$c]}"; done
	run --separate-stderr -0 ms search arr --explain --json --filter-json '{"field": "labels", "operator": "array_contains", "value": "l3"}'
	assert_output --partial 'metastore_elements'
	# changes keep the elements: patch, rm (still indexed, filtered as deleted), purge, restore
	ms patch -q arr k3 --metadata-json '{"labels": ["l4"]}'
	ms rm -q arr k10
	ms purge -q arr k17
	ms put -q arr new --metadata-json '{"labels": ["l3", "l3"]}'
	ms restore -q arr k3 --version 1
	declare -A after
	for c in "${cases[@]}"; do after[$c]=$(q $c); done
	[[ ${after['labels "l3"']} == *new* && ${after['labels "l3"']} == *k3* ]]
	[[ ${after['labels "l3"']} != *k10* && ${after['labels "l3"']} != *k17* ]]
	# a deleted record's elements leave the index; a search that includes it scans
	[[ $(sqlite3 "$(db_path)" "SELECT count(*) FROM metastore_elements e JOIN metastore_records r ON r.n = e.n WHERE r.deleted_at IS NOT NULL") == 0 ]]
	run --separate-stderr -0 apphub -q metastore search arr --include-deleted --limit 100 --filter-json '{"field": "labels", "operator": "array_contains", "value": "l3"}'
	assert_line k10
	run --separate-stderr -0 apphub --json metastore search arr --filter-json '{"field": "labels", "operator": "array_contains", "value": "l3"}'
	assert_equal "$(jq .pagination.total <<<"$output")" "$(grep -c . <<<"${after['labels "l3"']}")"
	# the table holds the indexed scalars only, and no element of a purged record
	[[ $(sqlite3 "$(db_path)" "SELECT count(*) FROM metastore_elements e WHERE NOT EXISTS (SELECT 1 FROM metastore_records r WHERE r.n = e.n)") == 0 ]]
	[[ $(sqlite3 "$(db_path)" "SELECT count(*) FROM metastore_elements WHERE type IN ('null', 'object', 'array')") == 0 ]]
	# kept by the writes, not by triggers the schema would carry into every process
	[[ $(sqlite3 "$(db_path)" "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'metastore_ix_%'") == 0 ]]
	[[ $(sqlite3 "$(db_path)" "SELECT count(*) FROM metastore_element_ids WHERE namespace = 'arr'") == 4 ]]
	# dropped, the scans answer the same
	for f in labels n flags mixed; do ms index -q arr $f --drop >/dev/null; done
	[[ $(sqlite3 "$(db_path)" "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'metastore_ix_%'") == 0 ]]
	[[ $(sqlite3 "$(db_path)" "SELECT count(*) FROM metastore_elements") == 0 ]]
	[[ $(sqlite3 "$(db_path)" "SELECT count(*) FROM metastore_element_ids") == 0 ]]
	for c in "${cases[@]}"; do assert_equal "$(q $c)" "${after[$c]}"; done
}

@test "watch: the changes after a revision, in order, one line each; from now by default" {
	ms create w a --set n=1 >/dev/null
	ms put w a --set n=2 >/dev/null
	ms create other x >/dev/null
	ms rm w a >/dev/null
	apphub metastore watch w --since 0 >"$BATS_TEST_TMPDIR/all" 3>&- &
	WATCH_PID=$!
	wait_until lines "$BATS_TEST_TMPDIR/all" 3
	kill "$WATCH_PID"
	run cat "$BATS_TEST_TMPDIR/all"
	assert_output "$(printf '1 created w/a v1\n2 updated w/a v2\n4 deleted w/a v3')"
	# from now: only what comes after; --json one object a line; a key's only
	apphub --json metastore watch w b >"$BATS_TEST_TMPDIR/new" 3>&- &
	WATCH_PID=$!
	sleep 0.5
	ms create w c >/dev/null
	ms create w b --set v=1 >/dev/null
	ms put w b --set v=2 >/dev/null
	wait_until lines "$BATS_TEST_TMPDIR/new" 2
	sleep 0.3
	kill "$WATCH_PID"
	run jq -c '[.revision, .type, .key, .version, .record.metadata]' "$BATS_TEST_TMPDIR/new"
	assert_output "$(printf '[6,"created","b",1,{"v":1}]\n[7,"updated","b",2,{"v":2}]')"
	# --prefix
	apphub metastore watch w --prefix c --since 0 >"$BATS_TEST_TMPDIR/prefix" 3>&- &
	WATCH_PID=$!
	wait_until lines "$BATS_TEST_TMPDIR/prefix" 1
	sleep 0.3
	kill "$WATCH_PID"
	run cat "$BATS_TEST_TMPDIR/prefix"
	assert_output '5 created w/c v1'
}

@test "usage errors exit 129" {
	run --separate-stderr -129 ms get ns
	assert_stderr_partial 'a namespace and a key are required'
	run --separate-stderr -129 ms frob
	assert_stderr_partial "'frob' is not an apphub metastore verb"
	run --separate-stderr -129 ms create ns k --set novalue
	assert_stderr_partial "invalid --set 'novalue'"
	run --separate-stderr -129 ms create ns k --set a..b=1
	run --separate-stderr -129 ms create ns k --metadata-json '{}' --metadata-file x
	run --separate-stderr -129 ms create ns k --expected-version 1
	run --separate-stderr -129 ms watch ns k --prefix p
	run --separate-stderr -129 ms ls extra
	run --separate-stderr -0 ms -h
	assert_output --partial 'apphub metastore watch'
	assert_equal "$(count_rows)" 0/0
}

@test "--metadata-file and --set: files, stdin, typed values, dotted paths" {
	echo '{"a":{"b":1}}' >"$BATS_TEST_TMPDIR/m.json"
	run --separate-stderr -0 ms create ns k --metadata-file "$BATS_TEST_TMPDIR/m.json" --set a.c=x --set n=null --set t=true --set f=1.5 --set s='"7"' --json
	assert_equal "$(jq -c .record.metadata <<<"$output")" '{"a":{"b":1,"c":"x"},"n":null,"t":true,"f":1.5,"s":"7"}'
	run --separate-stderr -0 ms put ns k --metadata-file - --json <<<'{"z":[1,2]}'
	assert_equal "$(jq -c .record.metadata <<<"$output")" '{"z":[1,2]}'
	run --separate-stderr -1 ms put ns k --metadata-file "$BATS_TEST_TMPDIR/none"
	run --separate-stderr -0 ms create ns i --idempotency-key key-1 --set a=1 --json
	v1=$(jq -c .record <<<"$output")
	run --separate-stderr -0 ms create ns i --idempotency-key key-1 --set a=1 --json
	assert_equal "$(jq -c .record <<<"$output")" "$v1"
	run --separate-stderr -3 ms create ns j --idempotency-key key-1 --set a=2
}
