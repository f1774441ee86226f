#!/usr/bin/env bats
# Workflows through serve: every route of lib/ops-workflows.c, raw and
# through `apphub --server URL workflow ...`, with tokens having and lacking
# workflows:read, workflows:write and workflows:run; serve's workers drive
# runs; serve's ticker makes scheduled runs.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/serve'

setup_file() {
	[[ -x $BATS_TEST_DIRNAME/../apphub-workflow ]] || skip 'apphub-workflow is not built'
	command -v bwrap >/dev/null || skip 'bwrap is not installed'
}

setup() {
	common_setup
	export APPHUB_JOB_BACKOFF_MS=0
	B=$BATS_TEST_TMPDIR/bundles
	publish ok 1.0.0 'in=$(cat); echo "$in" | jq -c "{n: (.parameters.n // 0)}"'
	publish slow 1.0.0 'cat >/dev/null; sleep 30'
	export APPHUB_TOKENS='[{"token":"reader-token-1","subject":"ro","scopes":["workflows:read"]},
		{"token":"writer-token-1","subject":"wr","scopes":["workflows:write"]},
		{"token":"runner-token-1","subject":"ci","scopes":["workflows:run","workflows:read"]},
		{"token":"jobs-token-1","subject":"jobs","scopes":["jobs:run","jobs:read"]}]'
}

# publish SLUG VERSION SCRIPT: an exec job whose handler is SCRIPT (as t/4300).
publish() {
	local dir=$B/$1-$2
	mkdir -p "$dir/tests"
	jq -n --arg s "$1" '{slug: $s, entry: "run.sh"}' >"$dir/apphub.bundle.json"
	jq -n --arg v "$2" '{name: "test job", version: $v, runtime: "exec", entry: "run.sh",
		description: "a test"}' >"$dir/manifest.json"
	printf '#!/bin/sh\n%s\n' "$3" >"$dir/run.sh"
	chmod +x "$dir/run.sh"
	echo '{}' >"$dir/tests/sample-input.json"
	apphub -q jobs publish "$dir" >/dev/null
}

DEF='{"slug":"pipe","steps":[{"id":"one","jobSlug":"ok","parameters":{"n":"{{ parameters.n }}"},"produces":[{"assetId":"pipe.out"}]},
	{"id":"two","jobSlug":"ok","dependsOn":["one"],"parameters":{"n":"{{ steps.one.result.n }}"}}],
	"parametersSchema":{"type":"object","properties":{"n":{"type":"integer"}}}}'

R='Authorization: Bearer reader-token-1'
W='Authorization: Bearer writer-token-1'
X='Authorization: Bearer runner-token-1'
J='Authorization: Bearer jobs-token-1'

# expect STATUS METHOD PATH [curl options]: the route answers STATUS; its body in $body
expect() {
	local want=$1 r
	shift
	r=$(http "$@")
	body=$(body_of "$r")
	[[ $(status_of "$r") == "$want" ]] || fail "$1 $2: expected $want, got $(status_of "$r"): ${body:0:300}"
}

run_status() {
	curl -sf -H "$R" "$SERVE_URL/workflow-runs/$1" | jq -r .status
}

@test "every workflow route answers 401 without a token and 403 without its scope" {
	start_serve
	# route, method, the scope's token, a token lacking it (write and run imply read)
	while read -r method path good bad; do
		expect 401 "$method" "$path" -d '{}'
		expect 403 "$method" "$path" -H "Authorization: Bearer $bad" -d '{}'
		# with the scope: not refused for it (404 and 400 are the route's own answers)
		r=$(http "$method" "$path" -H "Authorization: Bearer $good" -d '{}')
		[[ $(status_of "$r") != 40[13] ]] || fail "$method $path with $good: $(status_of "$r")"
	done <<-'EOF'
		POST /workflows writer-token-1 runner-token-1
		GET /workflows reader-token-1 jobs-token-1
		GET /workflows/pipe writer-token-1 jobs-token-1
		DELETE /workflows/pipe writer-token-1 reader-token-1
		DELETE /workflows/pipe writer-token-1 runner-token-1
		POST /workflows/pipe/run runner-token-1 writer-token-1
		POST /workflows/pipe/run runner-token-1 reader-token-1
		GET /workflows/pipe/runs runner-token-1 jobs-token-1
		GET /workflow-runs reader-token-1 jobs-token-1
		GET /workflow-runs/w-000000000000 reader-token-1 jobs-token-1
		POST /workflow-runs/w-000000000000/cancel runner-token-1 reader-token-1
		POST /workflow-runs/w-000000000000/cancel runner-token-1 writer-token-1
		GET /workflows/pipe/schedules reader-token-1 jobs-token-1
		POST /workflows/pipe/schedules writer-token-1 runner-token-1
		POST /workflows/pipe/schedules/s/pause writer-token-1 reader-token-1
		POST /workflows/pipe/schedules/s/resume writer-token-1 runner-token-1
		DELETE /workflows/pipe/schedules/s writer-token-1 reader-token-1
		POST /workflows/tick runner-token-1 writer-token-1
		POST /workflows/tick runner-token-1 reader-token-1
		GET /assets reader-token-1 jobs-token-1
		GET /assets/pipe.out writer-token-1 jobs-token-1
	EOF
	stop_serve
}

@test "definitions over HTTP: POST, GET, the list, errors as 400, DELETE" {
	start_serve
	expect 201 POST /workflows -H "$W" -d "$DEF"
	assert_equal "$(jq -c '[.slug, .version, .created]' <<<"$body")" '["pipe",1,true]'
	expect 200 POST /workflows -H "$W" -d "$DEF"
	assert_equal "$(jq -c '[.version, .changed]' <<<"$body")" '[1,false]'
	expect 200 GET /workflows -H "$R"
	assert_equal "$(jq -c '[.data[] | [.slug, .steps]]' <<<"$body")" '[["pipe",2]]'
	expect 200 GET /workflows/pipe -H "$R"
	assert_equal "$(jq -c '.dag.order' <<<"$body")" '["one","two"]'
	expect 404 GET /workflows/nope -H "$R"
	expect 400 POST /workflows -H "$W" -d '{"slug":"cyc","steps":[{"id":"a","jobSlug":"ok","dependsOn":["b"]},{"id":"b","jobSlug":"ok","dependsOn":["a"]}]}'
	assert_equal "$(jq -r .error.code <<<"$body")" cycle_detected
	expect 400 POST /workflows -H "$W" -d '{"slug":"s","steps":[{"id":"a","jobSlug":"ok"}],"schedules":[{"name":"n","cron":"61 * * * *"}]}'
	[[ $(jq -r .error.message <<<"$body") == *"bad minute field '61'"* ]]
	expect 404 GET /workflows/s -H "$R"
	# through --server: add, ls, show, rm
	printf '%s' '{"slug":"other","steps":[{"id":"a","jobSlug":"ok"}]}' >"$BATS_TEST_TMPDIR/o.json"
	run --separate-stderr -0 env APPHUB_TOKEN=writer-token-1 apphub --server "$SERVE_URL" workflow add "$BATS_TEST_TMPDIR/o.json"
	assert_output 'other added as version 1'
	run --separate-stderr -0 env APPHUB_TOKEN=reader-token-1 apphub --server "$SERVE_URL" workflow ls -q
	assert_output "$(printf 'other\npipe')"
	run --separate-stderr -0 env APPHUB_TOKEN=reader-token-1 apphub --server "$SERVE_URL" workflow show pipe --dot
	assert_output --partial '"one" -> "two";'
	run --separate-stderr -0 env APPHUB_TOKEN=writer-token-1 apphub --server "$SERVE_URL" workflow rm other
	run --separate-stderr -2 env APPHUB_TOKEN=reader-token-1 apphub --server "$SERVE_URL" workflow show other
	# a token without the scope through the CLI: refused, nothing changed
	run --separate-stderr env APPHUB_TOKEN=reader-token-1 apphub --server "$SERVE_URL" workflow rm pipe
	[[ $status != 0 ]]
	expect 200 GET /workflows/pipe -H "$R"
	expect 200 DELETE /workflows/pipe -H "$W"
	expect 404 GET /workflows/pipe -H "$R"
	stop_serve
}

@test "POST /workflows/:slug/run answers 202 and serve's workers drive it to succeeded; runs, show, 422" {
	start_serve
	expect 201 POST /workflows -H "$W" -d "$DEF"
	expect 202 POST /workflows/pipe/run -H "$X" -d '{"parameters":{"n":7}}'
	id=$(jq -r .id <<<"$body")
	[[ $id =~ ^w-[0-9a-f]{12}$ ]]
	assert_equal "$(jq -r .status <<<"$body")" pending
	wait_until eval '[[ $(run_status '"$id"') == succeeded ]]'
	expect 200 GET "/workflow-runs/$id" -H "$R"
	assert_equal "$(jq -c '[.status, .output.two.n, .metrics, .trigger.type, ([.steps[].status])]' <<<"$body")" \
		'["succeeded",7,{"totalSteps":2,"completedSteps":2},"manual",["succeeded","succeeded"]]'
	expect 200 GET /workflows/pipe/runs -H "$R"
	assert_equal "$(jq -r '.data[0].id' <<<"$body")" "$id"
	expect 200 GET /workflow-runs -H "$R"
	assert_equal "$(jq -r '.data[0].id' <<<"$body")" "$id"
	expect 200 GET "/workflow-runs?status=succeeded" -H "$R"
	# the schema: 422 naming the path, nothing queued
	expect 422 POST /workflows/pipe/run -H "$X" -d '{"parameters":{"n":"x"}}'
	[[ $(jq -r .error.message <<<"$body") == *"parameters.n"* ]]
	expect 404 POST /workflows/nope/run -H "$X" -d '{}'
	expect 404 GET /workflow-runs/w-000000000000 -H "$R"
	# a run key already active: 409 with the existing run
	expect 201 POST /workflows -H "$W" -d '{"slug":"sleepy","steps":[{"id":"z","jobSlug":"slow","retryPolicy":{"maxAttempts":1}}]}'
	expect 202 POST /workflows/sleepy/run -H "$X" -d '{"runKey":"k1"}'
	sid=$(jq -r .id <<<"$body")
	expect 409 POST /workflows/sleepy/run -H "$X" -d '{"runKey":"k1"}'
	# cancel
	wait_until eval '[[ $(run_status '"$sid"') == running ]]'
	expect 200 POST "/workflow-runs/$sid/cancel" -H "$X"
	wait_until eval '[[ $(run_status '"$sid"') == canceled ]]'
	expect 200 GET /assets -H "$R"
	assert_equal "$(jq -c '[.data[] | [.assetId, .runId]]' <<<"$body")" '[["pipe.out","'"$id"'"]]'
	expect 200 GET /assets/pipe.out -H "$R"
	assert_equal "$(jq -r .workflowSlug <<<"$body")" pipe
	expect 404 GET /assets/nope -H "$R"
	stop_serve
}

@test "workflow run through --server: the hub drives it, the CLI follows it to its end" {
	start_serve
	expect 201 POST /workflows -H "$W" -d "$DEF"
	run --separate-stderr -0 env APPHUB_TOKEN=runner-token-1 apphub --server "$SERVE_URL" workflow run pipe --param n=3 --follow
	assert_line --index 0 --regexp '^w-[0-9a-f]{12} succeeded in '
	assert_equal "$(sed 1d <<<"$output" | jq -c .two)" '{"n":3}'
	assert_stderr_regex 'one +running'
	assert_stderr_regex 'two +succeeded'
	run --separate-stderr -0 env APPHUB_TOKEN=runner-token-1 apphub --server "$SERVE_URL" workflow run pipe --param n=4 --json
	assert_equal "$(jq -c '[.status, .output.two.n]' <<<"$output")" '["succeeded",4]'
	run --separate-stderr -0 env APPHUB_TOKEN=runner-token-1 apphub --server "$SERVE_URL" workflow run pipe --param n=5 --detach -q
	id=$output
	wait_until eval '[[ $(run_status '"$id"') == succeeded ]]'
	run --separate-stderr -0 env APPHUB_TOKEN=reader-token-1 apphub --server "$SERVE_URL" workflow show "$id" --json
	assert_equal "$(jq -r .status <<<"$output")" succeeded
	run --separate-stderr -0 env APPHUB_TOKEN=reader-token-1 apphub --server "$SERVE_URL" workflow runs pipe -q
	assert_equal "$(wc -l <<<"$output")" 3
	# the schema through the CLI: exit 1 naming the path
	run --separate-stderr -1 env APPHUB_TOKEN=runner-token-1 apphub --server "$SERVE_URL" workflow run pipe --parameters-json '{"n":"x"}'
	assert_stderr_partial 'parameters.n'
	# a token without workflows:run
	run --separate-stderr env APPHUB_TOKEN=reader-token-1 apphub --server "$SERVE_URL" workflow run pipe
	[[ $status != 0 ]]
	assert_equal "$(curl -sf -H "$R" "$SERVE_URL/workflows/pipe/runs" | jq '.data | length')" 3
	stop_serve
}

@test "schedules over HTTP and through --server; POST /workflows/tick with {now}" {
	start_serve
	expect 201 POST /workflows -H "$W" -d '{"slug":"w","steps":[{"id":"a","jobSlug":"ok"}]}'
	expect 201 POST /workflows/w/schedules -H "$W" -d '{"name":"h","cron":"0 * * * *","startWindow":"2031-01-01T00:30:00Z","catchUp":true}'
	assert_equal "$(jq -c '[.name, .source, .nextRunAt]' <<<"$body")" '["h","api","2031-01-01T01:00:00.000Z"]'
	expect 400 POST /workflows/w/schedules -H "$W" -d '{"name":"b","cron":"* * * * 9"}'
	[[ $(jq -r .error.message <<<"$body") == *"bad day-of-week field '9'"* ]]
	expect 400 POST /workflows/w/schedules -H "$W" -d '{"name":"b","cron":"@daily","timezone":"../etc/passwd"}'
	expect 409 POST /workflows/w/schedules -H "$W" -d '{"name":"h","cron":"@daily"}'
	expect 200 GET /workflows/w/schedules -H "$R"
	assert_equal "$(jq -c '[.data[].name]' <<<"$body")" '["h"]'
	expect 200 GET "/workflows/w/schedules?now=2031-01-01T03:10:00Z" -H "$R"
	assert_equal "$(jq -r '.data[0].nextRunAt' <<<"$body")" 2031-01-01T04:00:00.000Z
	expect 200 POST /workflows/w/schedules/h/pause -H "$W"
	assert_equal "$(jq -c .paused <<<"$body")" true
	expect 200 POST /workflows/tick -H "$X" -d '{"now":"2031-01-01T03:10:00Z"}'
	assert_equal "$(jq -c .runs <<<"$body")" '[]'
	expect 200 POST /workflows/w/schedules/h/resume -H "$W"
	expect 200 POST /workflows/tick -H "$X" -d '{"now":"2031-01-01T03:10:00Z"}'
	assert_equal "$(jq -c '[.runs[].window.end]' <<<"$body")" '["2031-01-01T01:00:00.000Z","2031-01-01T02:00:00.000Z","2031-01-01T03:00:00.000Z"]'
	expect 400 POST /workflows/tick -H "$X" -d '{"now":"soon"}'
	# serve's workers drive the runs the tick made
	expect 200 GET /workflows/w/runs -H "$R"
	for id in $(jq -r '.data[].id' <<<"$body"); do
		wait_until eval '[[ $(run_status '"$id"') == succeeded ]]'
	done
	# the same through --server
	run --separate-stderr -0 env APPHUB_TOKEN=writer-token-1 apphub --server "$SERVE_URL" workflow schedule w add d --cron '30 2 * * *' --timezone Europe/Berlin
	run --separate-stderr -0 env APPHUB_TOKEN=reader-token-1 apphub --server "$SERVE_URL" workflow schedule w --now 2031-03-29T12:00:00Z --json
	assert_equal "$(jq -c '[.data[] | [.name, .nextRunAt]]' <<<"$output")" '[["d","2031-03-30T01:00:00.000Z"],["h","2031-03-29T13:00:00.000Z"]]'
	run --separate-stderr -0 env APPHUB_TOKEN=runner-token-1 apphub --server "$SERVE_URL" workflow tick --now 2031-01-01T04:10:00Z --json
	# d, new and without catch-up: its latest window (02:30 CET); h: the one after 03:00
	assert_equal "$(jq -c '[.runs[] | [.scheduleName, .window.end]]' <<<"$output")" \
		'[["d","2031-01-01T01:30:00.000Z"],["h","2031-01-01T04:00:00.000Z"]]'
	run --separate-stderr -0 env APPHUB_TOKEN=writer-token-1 apphub --server "$SERVE_URL" workflow schedule w pause d
	run --separate-stderr env APPHUB_TOKEN=reader-token-1 apphub --server "$SERVE_URL" workflow tick
	[[ $status != 0 ]]
	stop_serve
}

@test "DELETE /workflows/:slug/schedules/:name and schedule rm through --server remove the schedule" {
	start_serve
	expect 201 POST /workflows -H "$W" -d '{"slug":"w","steps":[{"id":"a","jobSlug":"ok"}]}'
	expect 201 POST /workflows/w/schedules -H "$W" -d '{"name":"h","cron":"@daily"}'
	expect 201 POST /workflows/w/schedules -H "$W" -d '{"name":"d","cron":"@daily"}'
	run --separate-stderr -0 env APPHUB_TOKEN=writer-token-1 apphub --server "$SERVE_URL" workflow schedule w rm d
	expect 200 DELETE /workflows/w/schedules/h -H "$W"
	expect 404 DELETE /workflows/w/schedules/h -H "$W"
	expect 200 GET /workflows/w/schedules -H "$R"
	assert_equal "$(jq -c .data <<<"$body")" '[]'
	expect 200 GET /workflows/w -H "$R"
	stop_serve
}

@test "serve's own ticker makes a scheduled run and its workers drive it" {
	# every minute since two minutes ago, with catch-up: due at once
	start=$(date -u -d "@$(($(date +%s) - 150))" +%FT%TZ)
	jq -n --arg s "$start" '{slug: "tic", steps: [{id: "a", jobSlug: "ok"}],
		schedules: [{name: "m", cron: "* * * * *", startWindow: $s, catchUp: true}]}' |
		apphub -q workflow add -
	start_serve
	wait_until eval '[[ $(curl -sf -H "$R" "$SERVE_URL/workflows/tic/runs" | jq "[.data[] | select(.status == \"succeeded\")] | length") -ge 2 ]]'
	run -0 curl -sf -H "$R" "$SERVE_URL/workflows/tic/runs"
	assert_equal "$(jq -c '[.data[].trigger | [.type, .scheduleName]] | unique' <<<"$output")" '[["schedule","m"]]'
	# one run per window
	assert_equal "$(jq '[.data[].runKey] | unique | length' <<<"$output")" "$(jq '.data | length' <<<"$output")"
	stop_serve
}
