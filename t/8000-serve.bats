#!/usr/bin/env bats
# serve: every route over HTTP, the same JSON as the CLI, bad input.

bats_require_minimum_version 1.5.0
load test_helper/common
load test_helper/serve

setup() {
	common_setup
	unset APPHUB_TOKENS APPHUB_TOKENS_FILE APPHUB_SERVER APPHUB_TOKEN
}

@test "serve: help and usage errors" {
	run -0 apphub serve -h
	assert_output --partial 'usage: apphub serve'
	run -129 apphub serve --workers 99
	run -129 apphub serve extra
	run -1 apphub serve --listen nope
	assert_output --partial "invalid listen address 'nope'"
}

@test "serve: without tokens it says so and refuses a non-loopback address" {
	run --separate-stderr -1 apphub serve --listen 0.0.0.0:0
	assert_stderr_partial "refusing to listen on '0.0.0.0:0': no tokens configured"
	start_serve --workers 0
	grep -q 'no tokens configured .*: serving loopback only' "$SERVE_ERR"
	stop_serve
	assert_equal "$SERVE_STATUS" 0
}

@test "serve: SIGTERM stops it with status 0" {
	start_serve --workers 1
	run -0 get /healthz
	stop_serve
	assert_equal "$SERVE_STATUS" 0
	grep -q 'apphub: stopped' "$SERVE_ERR"
	run curl -sS "$SERVE_URL/healthz"
	assert_failure
}

@test "serve: every catalogue route answers" {
	add_app alpha --tag framework:nextjs --description 'a first app'
	start_serve --workers 0
	run -0 get /apps
	assert_equal "$(jq -r '.data[].id' <<<"$output")" alpha
	r=$(http POST /apps -d '{"repoUrl":"https://example.com/b.git","id":"bravo","tags":["framework:vue"]}')
	assert_equal "$(status_of "$r")" 201
	assert_equal "$(body_of "$r" | jq -r .id)" bravo
	run -0 get /apps/bravo
	assert_equal "$(jq -r .repoUrl <<<"$output")" https://example.com/b.git
	r=$(http POST /apps/bravo/tags -d '{"add":["owner:ops"]}')
	assert_equal "$(status_of "$r")" 200
	assert_equal "$(body_of "$r" | jq -c '[.tags[] | .key + ":" + .value]')" '["framework:vue","owner:ops"]'
	run -0 get '/apps?tags=owner:ops'
	assert_equal "$(jq -r '.data[].id' <<<"$output")" bravo
	run -0 get '/apps?q=first'
	assert_equal "$(jq -r '.data[].id' <<<"$output")" alpha
	run -0 get '/tags/suggest?prefix=fram'
	assert_equal "$(jq -c . <<<"$output")" '{"data":[{"type":"key","value":"framework","label":"framework"}]}'
	run -0 get '/tags/suggest?prefix=framework:n'
	assert_equal "$(jq -r '.data[].value' <<<"$output")" framework:nextjs
	run -0 get /apps/alpha/history
	jq -e '.data | type == "array"' <<<"$output"
	r=$(http POST /apps/alpha/retry)
	assert_equal "$(status_of "$r")" 409
	assert_equal "$(body_of "$r" | jq -r .error.code)" conflict
	run -0 get '/events?limit=2'
	assert_equal "$(jq '.data | length' <<<"$output")" 2
	run -0 get /ingest/queue
	r=$(http POST /apps/import -d '{"items":[{"repoUrl":"https://example.com/charlie.git"}]}')
	assert_equal "$(status_of "$r")" 200
	assert_equal "$(body_of "$r" | jq -c '[.imported, .failed]')" '[1,0]'
	r=$(http DELETE /apps/bravo)
	assert_equal "$(status_of "$r")" 200
	r=$(http GET /apps/bravo)
	assert_equal "$(status_of "$r")" 404
	assert_equal "$(body_of "$r" | jq -c .)" '{"error":{"code":"not_found","message":"app '"'"'bravo'"'"' not found"}}'
}

@test "serve: the CLI --json and the HTTP body are the same" {
	add_app alpha --tag framework:nextjs
	add_app bravo --tag framework:vue --tag owner:ops
	start_serve --workers 0
	assert_equal "$(get /apps/alpha)" "$(apphub --json apps show alpha)"
	assert_equal "$(get '/apps?tags=framework:vue')" "$(apphub --json apps search framework:vue)"
	assert_equal "$(get '/apps?q=alp&limit=5')" "$(apphub --json apps search alp --limit 5)"
	assert_equal "$(get '/tags/suggest?prefix=f')" "$(apphub --json apps tags f)"
	assert_equal "$(get '/events?since=1')" "$(apphub --json events --since 1)"
	assert_equal "$(get '/apps?status=pending&sort=name')" "$(apphub --json apps ls --status pending --sort name)"
}

@test "serve: the same validation messages as the CLI, as 400" {
	start_serve --workers 0
	r=$(http GET '/tags/suggest?limit=99')
	assert_equal "$(status_of "$r")" 400
	run --separate-stderr -1 apphub apps tags --limit 99
	assert_equal "$(body_of "$r" | jq -r .error.message)" "${stderr#apphub: }"
	r=$(http POST /apps -d '{"repoUrl":"https://example.com/x.git","id":"Ab"}')
	assert_equal "$(status_of "$r")" 400
	assert_equal "$(body_of "$r" | jq -r .error.code)" invalid
	assert_equal "$(body_of "$r" | jq -r .error.message)" "invalid id 'Ab': must match ^[a-z][a-z0-9-]{2,63}\$"
	add_app dupe
	r=$(http POST /apps -d '{"repoUrl":"https://example.com/dupe.git","id":"dupe"}')
	assert_equal "$(status_of "$r")" 409
}

@test "serve: unknown routes are 404 JSON, wrong methods 405" {
	start_serve --workers 0
	r=$(http GET /nope)
	assert_equal "$(status_of "$r")" 404
	assert_equal "$(body_of "$r" | jq -c .)" '{"error":{"code":"not_found","message":"no route for '"'"'GET /nope'"'"'"}}'
	r=$(http GET /apps/a/b/c)
	assert_equal "$(status_of "$r")" 404
	r=$(http PUT /apps)
	assert_equal "$(status_of "$r")" 405
	assert_equal "$(body_of "$r" | jq -r .error.code)" method_not_allowed
	run curl -sS -D - -o /dev/null "$SERVE_URL/nope"
	assert_output --partial 'Content-Type: application/json'
}

@test "serve: malformed JSON is 400 naming the problem" {
	start_serve --workers 0
	r=$(http POST /apps -d '{"repoUrl": ')
	assert_equal "$(status_of "$r")" 400
	assert_equal "$(body_of "$r" | jq -r .error.code)" invalid
	assert_regex "$(body_of "$r" | jq -r .error.message)" '^invalid JSON body: .* at line 1 column [0-9]+$'
	r=$(http POST /apps -d '[1, 2]')
	assert_equal "$(status_of "$r")" 400
	assert_equal "$(body_of "$r" | jq -r .error.message)" 'invalid JSON body: must be an object'
	r=$(http POST /apps -d '{"repoUrl": 5}')
	assert_equal "$(status_of "$r")" 400
}

@test "serve: a body over 1 MiB is 413, declared or chunked" {
	start_serve --workers 0
	head -c 1100000 /dev/zero | tr '\0' ' ' >"$BATS_TEST_TMPDIR/big"
	r=$(http POST /apps --data-binary @"$BATS_TEST_TMPDIR/big")
	assert_equal "$(status_of "$r")" 413
	assert_equal "$(body_of "$r" | jq -r .error.code)" too_large
	r=$(http POST /apps -H 'Transfer-Encoding: chunked' --data-binary @"$BATS_TEST_TMPDIR/big")
	assert_equal "$(status_of "$r")" 413
	# Just under the cap is read (and then judged on its content).
	head -c 1000000 /dev/zero | tr '\0' ' ' >"$BATS_TEST_TMPDIR/ok"
	r=$(http POST /apps --data-binary @"$BATS_TEST_TMPDIR/ok")
	assert_equal "$(status_of "$r")" 400
	run -0 get /healthz
}

@test "serve: a slow client is timed out" {
	start_serve --workers 0 --timeout 1
	exec 5<>/dev/tcp/127.0.0.1/"${SERVE_URL##*:}"
	printf 'GET /apps HTTP/1.1\r\nHost: x\r\n' >&5
	# Never finished: the server closes the connection.
	run timeout 5 cat <&5
	assert_success
	exec 5<&-
	run -0 get /healthz
}

@test "serve: the routes that create a record answer 201 Created, as POST /apps did" {
	start_serve --workers 0
	run -0 get /openapi.json
	assert_equal "$(jq -r '[.paths[][] | select(.responses["201"]) | .operationId] | sort | join(" ")' <<<"$output")" \
		'apps.add builds.create builds.retry builds.run jobs.publish jobs.trust launch.start metastore.create metastore.index metastore.put timestore.ingest workflows.add workflows.schedule-add'
	assert_equal "$(jq -r '[.paths[][] | select(.responses["201"] and .responses["200"])] | length' <<<"$output")" 0
	r=$(http POST /apps -d '{"repoUrl":"https://example.com/c.git","id":"charlie"}')
	assert_equal "$(status_of "$r")" 201
	assert_equal "$(body_of "$r" | jq -r .id)" charlie
	# a refusal is no creation
	r=$(http POST /apps -d '{"repoUrl":"https://example.com/c.git","id":"charlie"}')
	assert_equal "$(status_of "$r")" 409
	stop_serve
}

@test "serve: /openapi.json lists every operation" {
	start_serve --workers 0
	run -0 get /openapi.json
	assert_equal "$(jq -r .openapi <<<"$output")" 3.0.3
	local ids
	ids=$(jq -r '[.paths[][] | .operationId] | sort | join(" ")' <<<"$output")
	for op in apps.add apps.history apps.import apps.retry apps.rm apps.search apps.show \
		apps.tag events.list hooks.git tags.suggest; do
		[[ " $ids " == *" $op "* ]] || fail "openapi lacks $op: $ids"
	done
	assert_equal "$(jq -r '.paths["/apps/{id}"].delete.operationId' <<<"$output")" apps.rm
	assert_equal "$(jq -c '.paths["/apps/{id}"].delete.security' <<<"$output")" '[{"bearer":["apps:write"]}]'
	assert_equal "$(jq -r '.paths["/apps/{id}"].get.parameters[0].name' <<<"$output")" id
}

@test "serve: /healthz, /readyz and /metrics" {
	add_app alpha
	start_serve --workers 0
	assert_equal "$(get /healthz)" '{"status":"ok"}'
	assert_equal "$(get /readyz)" '{"status":"ready"}'
	get /apps >/dev/null
	get /apps >/dev/null
	http GET /nope >/dev/null
	run -0 get /metrics
	assert_line 'apphub_http_requests_total{method="GET",route="/apps",status="200"} 2'
	assert_line 'apphub_http_requests_total{method="GET",route="(unknown)",status="404"} 1'
	assert_line --regexp '^apphub_http_request_duration_seconds_bucket\{method="GET",route="/apps",status="200",le="\+Inf"\} 2$'
	assert_line --regexp '^apphub_http_request_duration_seconds_sum\{method="GET",route="/apps",status="200"\} [0-9.]+$'
	assert_line 'apphub_queue_depth{kind="ingest"} 1'
	assert_line 'apphub_sse_clients 0'
	assert_line '# TYPE apphub_ingest_events_total counter'
}

@test "serve: the state directory must be usable" {
	mkdir -p "$BATS_TEST_TMPDIR/ro"
	echo 'not a database' >"$BATS_TEST_TMPDIR/ro/apphub.db"
	run --separate-stderr -128 apphub -C "$BATS_TEST_TMPDIR/ro" serve --listen 127.0.0.1:0
	assert_stderr_partial 'corrupt or not an apphub database'
}
