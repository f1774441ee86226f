#!/usr/bin/env bats
# Durable runs: the driver (apphub workflow work) killed with SIGKILL at
# random moments, ten times, and the next driver resumes the run: it ends
# succeeded and no step executed more often than its attempts allow (each
# execution logs a line at a loopback server). A driver that stops (SIGSTOP)
# is taken over once its lease lapses, its silent step failed with
# heartbeat-timeout and retried.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/serve'
load 'test_helper/workflow'

setup_file() {
	[[ -x $BATS_TEST_DIRNAME/../apphub-workflow ]] || skip 'apphub-workflow is not built'
	command -v bwrap >/dev/null || skip 'bwrap is not installed'
	command -v setsid >/dev/null || skip 'setsid is not installed'
}

setup() {
	wf_setup
	T=$BATS_TEST_TMPDIR
}

# driver [ENV=VALUE...]: `apphub workflow work --watch` in a new session (its
# own process group, WF_GROUPS), its output in $T/driver.N.
driver() {
	local n=${#WF_GROUPS[@]}
	env "$@" setsid apphub workflow work --watch 3>&- >"$T/driver.$n.out" 2>"$T/driver.$n.err" &
	DRIVER=$!
	WF_GROUPS+=("$DRIVER")
}

# kill_group PID: SIGKILL to the process group PID leads, and reaped.
kill_group() {
	kill -KILL -- "-$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

@test "kill -9 of the driver at ten random moments: the run completes, no step runs more often than its attempts allow" {
	export APPHUB_WORKFLOW_LEASE_MS=500 APPHUB_JOB_LEASE_MS=500
	wf_server
	wf_job hit "$WF_HIT" "$WF_NET"
	retry='"retryPolicy":{"maxAttempts":20,"initialDelayMs":100}'
	p="\"port\":$WF_PORT,\"sleep\":0.6"
	wf_add "{\"slug\":\"tough\",\"steps\":[
		{\"id\":\"a\",\"jobSlug\":\"hit\",\"parameters\":{$p,\"key\":\"a\"},$retry},
		{\"id\":\"b\",\"jobSlug\":\"hit\",\"dependsOn\":[\"a\"],\"parameters\":{$p,\"key\":\"b\"},$retry},
		{\"id\":\"c\",\"jobSlug\":\"hit\",\"dependsOn\":[\"b\"],\"parameters\":{$p,\"key\":\"c\"},$retry},
		{\"id\":\"d\",\"jobSlug\":\"hit\",\"dependsOn\":[\"c\"],\"parameters\":{$p,\"key\":\"d\"},$retry},
		{\"id\":\"f\",\"type\":\"fanout\",\"dependsOn\":[\"a\"],\"collection\":[1,2,3,4],\"maxConcurrency\":2,
		 \"template\":{\"id\":\"t\",\"jobSlug\":\"hit\",\"parameters\":{$p,\"key\":\"f:t:{{ fanout.index }}\"},$retry}},
		{\"id\":\"join\",\"jobSlug\":\"hit\",\"dependsOn\":[\"d\",\"f\"],\"parameters\":{$p,\"key\":\"join\"},$retry}]}"
	id=$(apphub -q workflow run tough --detach)
	kills=0
	for k in 1 2 3 4 5 6 7 8 9 10; do
		driver
		sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.1 + 1.4 * r / 32767 }')"
		[[ $(wf_run_status "$id") == running ]] && kills=$((kills + 1))
		kill_group "$DRIVER"
	done
	# the last driver finishes it
	run --separate-stderr -0 timeout 60 apphub workflow work
	run -0 apphub workflow show "$id" --json
	r=$output
	assert_equal "$(jq -r .status <<<"$r")" succeeded
	assert_equal "$(jq -c '[.steps[] | select(.status != "succeeded") | .stepId]' <<<"$r")" '[]'
	assert_equal "$(jq -c '[.steps[].stepId]' <<<"$r")" '["a","b","c","d","f","join","f:t:1","f:t:2","f:t:3","f:t:4"]'
	assert_equal "$(jq -c .metrics <<<"$r")" '{"totalSteps":10,"completedSteps":10}'
	runs=$(job_runs_of "$id")
	for step in a b c d join f:t:1 f:t:2 f:t:3 f:t:4; do
		attempts=$(jq --arg s "$step" '.steps[] | select(.stepId == $s) | .attempt' <<<"$r")
		made=$(jq --arg s "$step" '[.[] | select(.trigger.stepId == $s)] | length' <<<"$runs")
		ran=$(wf_hits "$step")
		echo "# $step: attempts $attempts, job runs $made, executions $ran" >&3
		[[ $made -eq $attempts ]] || fail "step $step: $made job runs for $attempts attempts"
		[[ $attempts -le 20 ]] || fail "step $step: $attempts attempts, more than maxAttempts 20"
		[[ $ran -ge 1 && $ran -le $attempts ]] || fail "step $step: executed $ran times in $attempts attempts"
		# exactly one of its job runs succeeded, the last
		assert_equal "$(jq -c --arg s "$step" '[.[] | select(.trigger.stepId == $s) | .status] | .[-1], (map(select(. == "succeeded")) | length)' <<<"$runs" | paste -sd' ')" '"succeeded" 1'
	done
	# the drivers were killed while the run was running, more than once
	echo "# kills while running: $kills" >&3
	[[ $kills -ge 2 ]]
	run -0 apphub -q workflow runs --status running
	assert_output ''
}

@test "heartbeat timeout: a stopped driver's run is taken over, its silent step fails with heartbeat-timeout and is retried" {
	wf_server
	# the first execution sleeps 30 s; the retry answers at once
	wf_job slowfirst 'in=$(cat); p() { echo "$in" | jq -r ".parameters.$1 // empty"; }
n=$(curl -sf "http://127.0.0.1:$(p port)/hit/$(p key)" | jq .n) || exit 5
[ "$n" -eq 1 ] && sleep 30
echo "{\"n\": $n}"' "$WF_NET"
	wf_job echo "$WF_ECHO"
	wf_add "{\"slug\":\"beat\",\"steps\":[
		{\"id\":\"slow\",\"jobSlug\":\"slowfirst\",\"parameters\":{\"port\":$WF_PORT,\"key\":\"slow\"},
		 \"retryPolicy\":{\"maxAttempts\":3,\"initialDelayMs\":100}},
		{\"id\":\"after\",\"jobSlug\":\"echo\",\"dependsOn\":[\"slow\"]}]}"
	id=$(apphub -q workflow run beat --detach)
	driver APPHUB_WORKFLOW_LEASE_MS=2000 APPHUB_JOB_LEASE_MS=500
	first=$DRIVER
	wait_until eval '[[ $(wf_hits slow) -ge 1 ]]'
	assert_equal "$(step_json "$id" slow '[.status, .attempt]')" '["running",1]'
	kill -STOP -- "-$first"
	start=$(date +%s%3N)
	run --separate-stderr -0 env APPHUB_WORKFLOW_HEARTBEAT_TIMEOUT=1s APPHUB_WORKFLOW_LEASE_MS=2000 \
		APPHUB_JOB_LEASE_MS=500 timeout 60 apphub workflow work
	took=$(( $(date +%s%3N) - start ))
	assert_line "$id beat succeeded"
	run -0 apphub workflow show "$id" --json
	assert_equal "$(jq -c '[.status, [.steps[] | [.stepId, .status, .attempt]]]' <<<"$output")" \
		'["succeeded",[["slow","succeeded",2],["after","succeeded",1]]]'
	assert_equal "$(jq -c .output.after.p <<<"$output")" '{}'
	run -0 apphub events --type 'workflow.step.retrying' --json
	assert_equal "$(jq -c '[.data[] | [.data.stepId, .data.attempt, .data.errorMessage]]' <<<"$output")" \
		'[["slow",1,"heartbeat-timeout"]]'
	# the first attempt's job run was ended, not left running
	run -0 job_runs_of "$id" slow
	assert_equal "$(jq -c '[.[].status]' <<<"$output")" '["canceled","succeeded"]'
	assert_equal "$(wf_hits slow)" 2
	# taken over once the stopped driver's lease lapsed, well before the 30 s sleep ended
	[[ $took -lt 15000 ]] || fail "took $took ms"
	# the stopped driver, continued, finds the run taken and leaves it alone
	kill -CONT -- "-$first"
	sleep 0.5
	kill_group "$first"
	assert_equal "$(wf_run_status "$id")" succeeded
	assert_equal "$(wf_hits slow)" 2
}
