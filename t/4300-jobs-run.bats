#!/usr/bin/env bats
# apphub jobs run, runs, show RUN, logs, cancel, work: published bundles run
# in the sandbox as work items with a lease; parameters checked against the
# schema; outputs, metrics and logs recorded; events; worker recovery; the
# same through serve with and without the scopes.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/serve'

setup_file() {
	[[ -x $BATS_TEST_DIRNAME/../apphub-jobs ]] || skip 'apphub-jobs is not built'
	command -v bwrap >/dev/null || skip 'bwrap is not installed'
}

setup() {
	common_setup
	export APPHUB_JOB_BACKOFF_MS=0
	B=$BATS_TEST_TMPDIR/bundles
}

extra_teardown() {
	[[ -n ${WORK_PID:-} ]] && kill -KILL "$WORK_PID" 2>/dev/null
	return 0
}

# make_bundle SLUG VERSION SCRIPT [SCHEMA-JSON [MANIFEST-EXTRA-JSON]]: an exec
# bundle in $B/SLUG-VERSION whose handler is the shell script SCRIPT.
make_bundle() {
	local dir=$B/$1-$2
	mkdir -p "$dir/tests"
	jq -n --arg s "$1" '{slug: $s, entry: "run.sh"}' >"$dir/apphub.bundle.json"
	jq -n --arg v "$2" --argjson schema "${4:-null}" --argjson extra "${5:-{\}}" \
		'{name: "test job", version: $v, runtime: "exec", entry: "run.sh",
		  description: "a test"} + (if $schema then {parametersSchema: $schema} else {} end)
		  + $extra' >"$dir/manifest.json"
	printf '#!/bin/sh\n%s\n' "$3" >"$dir/run.sh"
	chmod +x "$dir/run.sh"
	echo '{}' >"$dir/tests/sample-input.json"
	echo "$dir"
}

# publish SLUG VERSION SCRIPT [SCHEMA [EXTRA]]
publish() {
	apphub -q jobs publish "$(make_bundle "$@")" >/dev/null
}

# A handler echoing what it was given: its input and its parameters' sum.
ECHO='in=$(cat); echo "$in" | jq -c "{input: ., sum: ((.parameters.a // 0) + (.parameters.b // 0))}"'

run_status() {
	[[ $(apphub jobs show "$1" --json | jq -r .status) == "$2" ]]
}

@test "jobs run: the handler gets parameters, run and job, and its result is printed" {
	publish echo 1.0.0 "$ECHO"
	run --separate-stderr -0 apphub jobs run echo --input-json '{"a": 2, "b": 3}'
	assert_equal "$(jq -c .sum <<<"$output")" 5
	assert_equal "$(jq -c '.input.parameters' <<<"$output")" '{"a":2,"b":3}'
	assert_equal "$(jq -c '.input.job' <<<"$output")" '{"slug":"echo","version":"1.0.0"}'
	assert_equal "$(jq -c '.input.run.attempt' <<<"$output")" 1
	id=$(jq -r .input.run.id <<<"$output")
	[[ $id =~ ^r-[0-9a-f]{12}$ ]]
	run -0 apphub jobs show "$id" --json
	assert_equal "$(jq -c '[.status, .jobSlug, .version, .attempt, .trigger.type, .result.sum]' <<<"$output")" \
		'["succeeded","echo","1.0.0",1,"manual",5]'
	[[ $(jq -r .durationMs <<<"$output") -ge 0 ]]
	assert_equal "$(jq -c '[.outputs[].type]' <<<"$output")" '["result","stderr"]'
	run -0 apphub events --json
	assert_equal "$(jq -c '[.data[] | select(.type | startswith("job.run.")) | .type]' <<<"$output")" \
		'["job.run.queued","job.run.running","job.run.succeeded"]'
}

@test "jobs run --json prints the whole record; -q and --param typed as the schema says" {
	publish typed 1.0.0 "$ECHO" '{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"number"},"s":{"type":"string"}}}'
	run --separate-stderr -0 apphub jobs run typed --param a=2 --param b=0.5 --param s=007 --json
	assert_equal "$(jq -c '.parameters' <<<"$output")" '{"a":2,"b":0.5,"s":"007"}'
	assert_equal "$(jq -c '.result.sum' <<<"$output")" 2.5
}

@test "parameters not matching the schema: 422 naming the path, nothing queued" {
	publish strict 1.0.0 "$ECHO" '{"type":"object","required":["n"],"properties":{"n":{"type":"integer","minimum":1},"mode":{"enum":["fast","slow"]}}}'
	run --separate-stderr -1 apphub jobs run strict
	assert_stderr_partial "parameters.n: is required"
	run --separate-stderr -1 apphub jobs run strict --param n=x
	assert_stderr_partial "parameters.n: 'x' is not an integer"
	run --separate-stderr -1 apphub jobs run strict --input-json '{"n": 0}'
	assert_stderr_partial "parameters.n: must be at least 1"
	run --separate-stderr -1 apphub jobs run strict --input-json '{"n": 1, "mode": "warp"}'
	assert_stderr_partial 'parameters.mode: must be one of "fast", "slow"'
	run -0 apphub jobs runs strict -q
	assert_output ''
	run --separate-stderr -0 apphub jobs run strict --param n=3 --param mode=fast
}

@test "a failing handler: exit 1, its stderr is the log, the record says why" {
	publish fails 1.0.0 'echo "about to fail" >&2; exit 3'
	run --separate-stderr -1 apphub jobs run fails
	assert_stderr_partial "about to fail"
	assert_stderr_regex "apphub: jobs run: r-[0-9a-f]{12} failed: .*status 3"
	id=$(apphub -q jobs runs fails)
	run -0 apphub jobs logs "$id"
	assert_output --partial "about to fail"
	run -0 apphub jobs show "$id" --json
	assert_equal "$(jq -r .status <<<"$output")" failed
	[[ $(jq -r .errorMessage <<<"$output") == *"status 3"* ]]
	assert_equal "$(jq -c '[.outputs[].type]' <<<"$output")" '["stderr","error"]'
	run -0 apphub events --json
	assert_equal "$(jq -r '[.data[] | select(.type == "job.run.failed")] | length' <<<"$output")" 1
}

@test "a handler printing something that is not JSON fails saying so" {
	publish notjson 1.0.0 'echo hello'
	run --separate-stderr -1 apphub jobs run notjson
	assert_stderr_partial "not JSON"
}

@test "files left in the work directory and fd-3 metrics are the run's outputs" {
	publish outs 1.0.0 'echo report > report.txt; mkdir -p sub; echo x > sub/y.csv
echo "{\"type\":\"metric\",\"name\":\"rows\",\"value\":42}" >&3
echo "{\"ok\":true}"'
	run --separate-stderr -0 apphub jobs run outs --json
	id=$(jq -r .id <<<"$output")
	assert_equal "$(jq -c .metrics <<<"$output")" '{"rows":42}'
	assert_equal "$(jq -c '[.outputs[] | select(.type == "file") | .name] | sort' <<<"$output")" '["report.txt","sub/y.csv"]'
	path=$(jq -r '.outputs[] | select(.name == "report.txt") | .path' <<<"$output")
	assert_equal "$(cat "$APPHUB_HOME/$path")" report
	assert_equal "$(jq -c '.outputs[] | select(.type == "metric") | [.name, .data]' <<<"$output")" '["rows",42]'
	run -0 apphub jobs show "$id"
	assert_output --partial "report.txt"
}

@test "versions: the newest is the default, slug@version picks one, unknown ones are 404" {
	publish ver 1.2.0 'echo "{\"v\":\"1.2.0\"}"'
	publish ver 1.10.0 'echo "{\"v\":\"1.10.0\"}"'
	run -0 apphub jobs run ver
	assert_equal "$(jq -r .v <<<"$output")" 1.10.0
	run -0 apphub jobs run ver@1.2.0
	assert_equal "$(jq -r .v <<<"$output")" 1.2.0
	run --separate-stderr -2 apphub jobs run ver@9.9.9
	run --separate-stderr -2 apphub jobs run nosuchjob
	run --separate-stderr -2 apphub jobs show r-000000000000
	run --separate-stderr -2 apphub jobs logs r-zzz
}

@test "--detach queues; jobs work runs the queue; runs lists by job and status" {
	publish q 1.0.0 "$ECHO"
	run -0 apphub -q jobs run q --detach --param a=1
	id=$output
	[[ $id =~ ^r-[0-9a-f]{12}$ ]]
	run_status "$id" pending
	run -0 apphub jobs runs --status pending -q
	assert_output "$id"
	run --separate-stderr -0 apphub jobs work
	assert_output --partial "$id q@1.0.0 succeeded"
	run_status "$id" succeeded
	run -0 apphub jobs runs q --status succeeded -q
	assert_output "$id"
	run --separate-stderr -1 apphub jobs runs --status bogus
	assert_stderr_partial "invalid status 'bogus'"
}

@test "cancel: a pending run is never run, a running one's tree is ended, an ended one is a conflict" {
	publish slow 1.0.0 'sleep 1000 & sleep 1000; echo "{}"'
	id=$(apphub -q jobs run slow --detach)
	run -0 apphub jobs cancel "$id"
	assert_output "$id canceled"
	run -0 apphub jobs work --json
	assert_equal "$(jq '.data | length' <<<"$output")" 0
	run_status "$id" canceled

	apphub jobs run slow 3>&- >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	WORK_PID=$!
	wait_until eval '[[ -n $(apphub -q jobs runs slow --status running) ]]'
	id=$(apphub -q jobs runs slow --status running)
	wait_until pgrep -f 'sleep 1000'
	run -0 apphub jobs cancel "$id"
	code=0
	wait "$WORK_PID" || code=$?
	WORK_PID=
	assert_equal "$code" 1
	run_status "$id" canceled
	run pgrep -f 'sleep 1000'
	assert_failure
	run --separate-stderr -3 apphub jobs cancel "$id"
	assert_stderr_partial "has ended (canceled)"
	run -0 apphub events --json
	assert_equal "$(jq -r '[.data[] | select(.type == "job.run.canceled")] | length' <<<"$output")" 2
}

@test "--timeout ends the run and its grandchildren: status timeout, exit 1" {
	publish sleepy 1.0.0 'sh -c "sleep 1001" & sleep 1001'
	run --separate-stderr -1 apphub jobs run sleepy --timeout 1s
	assert_stderr_partial "timed out"
	id=$(apphub -q jobs runs sleepy)
	run_status "$id" timeout
	run pgrep -f 'sleep 1001'
	assert_failure
}

has_worker() {
	pgrep -P "$WORK_PID" >/dev/null
}

@test "kill -9 of a job worker mid-run: the run is retried and its attempt counted" {
	publish once 1.0.0 'if [ "$(jq .run.attempt)" = 1 ]; then sleep 1000; fi; echo "{\"done\":true}"'
	id=$(apphub -q jobs run once --detach)
	apphub jobs work 3>&- >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	WORK_PID=$!
	wait_until run_status "$id" running
	wait_until has_worker
	kill -KILL "$(pgrep -P "$WORK_PID" | head -1)"
	wait "$WORK_PID"
	WORK_PID=
	run -0 apphub jobs show "$id" --json
	assert_equal "$(jq -c '[.status, .attempt, .result.done]' <<<"$output")" '["succeeded",2,true]'
	grep -q "killed by signal 9" "$BATS_TEST_TMPDIR/err"
	run -0 apphub events --json
	assert_equal "$(jq -c '[.data[] | select(.type | startswith("job.run.")) | [.type, .data.attempt]]' <<<"$output")" \
		'[["job.run.queued",null],["job.run.running",1],["job.run.queued",1],["job.run.running",2],["job.run.succeeded",2]]'
}

@test "the attempt limit: a worker dying every time fails the run" {
	export APPHUB_JOB_ATTEMPTS=1
	publish doomed 1.0.0 'sleep 1000'
	id=$(apphub -q jobs run doomed --detach)
	apphub jobs work 3>&- >/dev/null 2>&1 &
	WORK_PID=$!
	wait_until run_status "$id" running
	wait_until has_worker
	kill -KILL "$(pgrep -P "$WORK_PID" | head -1)"
	code=0
	wait "$WORK_PID" || code=$?
	WORK_PID=
	assert_equal "$code" 1
	run -0 apphub jobs show "$id" --json
	assert_equal "$(jq -r .status <<<"$output")" failed
	[[ $(jq -r .errorMessage <<<"$output") == *"killed by signal 9 (attempt 1 of 1)"* ]]
}

@test "kill -9 of the whole consumer on the last attempt: the next one fails the run, saying why" {
	export APPHUB_JOB_ATTEMPTS=1 APPHUB_JOB_LEASE_MS=300
	publish orphan 1.0.0 'sleep 1000'
	id=$(apphub -q jobs run orphan --detach)
	apphub jobs work 3>&- >/dev/null 2>&1 &
	WORK_PID=$!
	wait_until run_status "$id" running
	kill -KILL "$WORK_PID"
	wait "$WORK_PID" || true
	WORK_PID=
	pkill -KILL -f 'sleep 1000' || true
	sleep 0.5
	run --separate-stderr -0 apphub jobs work --json
	assert_equal "$(jq '.data | length' <<<"$output")" 0
	run -0 apphub jobs show "$id" --json
	assert_equal "$(jq -r .status <<<"$output")" failed
	assert_equal "$(jq -r .errorMessage <<<"$output")" 'the job worker stopped during attempt 1 of 1 (its lease ran out)'
}

@test "eight concurrent jobs run: eight runs, each its own result" {
	publish par 1.0.0 "$ECHO"
	for i in 1 2 3 4 5 6 7 8; do
		apphub jobs run par --param a="$i" --param b=0 3>&- >"$BATS_TEST_TMPDIR/out.$i" 2>&1 &
	done
	wait
	for i in 1 2 3 4 5 6 7 8; do
		assert_equal "$(jq -c .sum "$BATS_TEST_TMPDIR/out.$i")" "$i"
	done
	run -0 apphub jobs runs par --status succeeded --json
	assert_equal "$(jq '.total' <<<"$output")" 8
	assert_equal "$(jq '[.data[].id] | unique | length' <<<"$output")" 8
}

@test "through serve: POST /jobs/:slug/run answers 202 and serve's workers run it; scopes hold" {
	publish remote 1.0.0 "$ECHO"
	export APPHUB_TOKENS='[{"token":"runner-token-1","subject":"ci","scopes":["jobs:run"]},
		{"token":"reader-token-1","subject":"ro","scopes":["jobs:read"]}]'
	start_serve
	r=$(http POST /jobs/remote/run -H 'Authorization: Bearer runner-token-1' -d '{"parameters":{"a":4,"b":1}}')
	assert_equal "$(status_of "$r")" 202
	id=$(body_of "$r" | jq -r .id)
	wait_until eval '[[ $(curl -sf -H "Authorization: Bearer reader-token-1" "$SERVE_URL/job-runs/'"$id"'" | jq -r .status) == succeeded ]]'
	run -0 curl -sf -H 'Authorization: Bearer reader-token-1' "$SERVE_URL/job-runs/$id"
	assert_equal "$(jq -c .result.sum <<<"$output")" 5
	r=$(http POST /jobs/remote/run -H 'Authorization: Bearer reader-token-1' -d '{}')
	assert_equal "$(status_of "$r")" 403
	r=$(http POST /jobs/remote/run -d '{}')
	assert_equal "$(status_of "$r")" 401
	r=$(http GET "/job-runs/$id/logs" -H 'Authorization: Bearer reader-token-1')
	assert_equal "$(status_of "$r")" 200
	r=$(http GET /jobs/remote/runs -H 'Authorization: Bearer reader-token-1')
	assert_equal "$(body_of "$r" | jq -r '.data[0].id')" "$id"
	# the CLI through --server: the hub's workers run it, the CLI waits for the result
	run --separate-stderr -0 env APPHUB_TOKEN=runner-token-1 apphub --server "$SERVE_URL" jobs run remote --param a=1 --param b=1
	assert_equal "$(jq -c .sum <<<"$output")" 2
	stop_serve
}

@test "the schema is checked through serve too: 422 naming the path" {
	publish guarded 1.0.0 "$ECHO" '{"type":"object","properties":{"a":{"type":"integer"}}}'
	start_serve
	r=$(http POST /jobs/guarded/run -d '{"parameters":{"a":"x"}}')
	assert_equal "$(status_of "$r")" 422
	[[ $(body_of "$r" | jq -r .error.message) == *"parameters.a: must be an integer"* ]]
	stop_serve
}
