# Shared pieces of the workflow tests (t/52xx): jobs published from small
# exec bundles, definitions added from text, a loopback HTTP server that
# counts calls, and background processes ended at teardown.
#
#   load test_helper/common
#   load test_helper/serve        (wait_until, teardown calling extra_teardown)
#   load test_helper/workflow
#   setup() { wf_setup; }

wf_setup() {
	common_setup
	export APPHUB_JOB_BACKOFF_MS=0
	B=$BATS_TEST_TMPDIR/bundles
	WF_PIDS=()
	WF_GROUPS=()
}

# Background processes (WF_PIDS) and process groups (WF_GROUPS, started
# with setsid) this test started: killed, and stopped ones continued first.
extra_teardown() {
	local p
	for p in "${WF_GROUPS[@]}"; do
		kill -CONT -- "-$p" 2>/dev/null
		kill -KILL -- "-$p" 2>/dev/null
	done
	for p in "${WF_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	return 0
}

# wf_bundle SLUG SCRIPT [MANIFEST-EXTRA-JSON]: an exec bundle in $B/SLUG whose
# handler is the shell script SCRIPT (its input JSON on stdin).
wf_bundle() {
	local dir=$B/$1
	mkdir -p "$dir/tests"
	jq -n --arg s "$1" '{slug: $s, entry: "run.sh"}' >"$dir/apphub.bundle.json"
	jq -n --argjson extra "${3:-{\}}" \
		'{name: "test job", version: "1.0.0", runtime: "exec", entry: "run.sh",
		  description: "a test"} + $extra' >"$dir/manifest.json"
	printf '#!/bin/sh\n%s\n' "$2" >"$dir/run.sh"
	chmod +x "$dir/run.sh"
	echo '{}' >"$dir/tests/sample-input.json"
	echo "$dir"
}

# wf_job SLUG SCRIPT [MANIFEST-EXTRA-JSON]: the bundle published as job SLUG.
wf_job() {
	apphub -q jobs publish "$(wf_bundle "$@")" >/dev/null
}

# A handler answering {p: its parameters}.
WF_ECHO='jq -c "{p: .parameters}"'
# A handler answering {p, start, end} around a sleep of parameters.sleep seconds
# (nanoseconds since the epoch, as numbers).
WF_TIMED='in=$(cat); s=$(date +%s%N); sleep "$(echo "$in" | jq -r ".parameters.sleep // 0")"; e=$(date +%s%N)
echo "$in" | jq -c --argjson s "$s" --argjson e "$e" "{p: .parameters, start: \$s, end: \$e}"'
# A handler failing with a message on stderr.
WF_FAIL='echo "deliberate failure" >&2; exit 4'
# A handler calling the test server's /hit/<parameters.key> (a line in its
# log per execution) and failing until it has been called parameters.okAt
# times (never when okAt is absent or 0: always succeeding), after sleeping
# parameters.sleep seconds.
WF_HIT='in=$(cat); p() { echo "$in" | jq -r ".parameters.$1 // empty"; }
n=$(curl -sf "http://127.0.0.1:$(p port)/hit/$(p key)" | jq .n) || { echo "server unreachable" >&2; exit 5; }
sleep "$(p sleep)" 2>/dev/null
ok=$(p okAt); if [ -n "$ok" ] && [ "$n" -lt "$ok" ]; then echo "call $n of $ok: failing" >&2; exit 6; fi
echo "{\"n\": $n}"'
WF_NET='{"capabilities": ["network"]}'

# wf_add TEXT: adds the definition TEXT (YAML or JSON); fails the test on error.
wf_add() {
	apphub -q workflow add - <<<"$1" >/dev/null
}

# wf_server: the test server (t/test_helper/wf-server.py) on a free loopback
# port: WF_PORT, its call log WF_LOG.
wf_server() {
	local k
	WF_LOG=$BATS_TEST_TMPDIR/hits.log
	: >"$WF_LOG"
	rm -f "$BATS_TEST_TMPDIR/port"
	python3 "$BATS_TEST_DIRNAME/test_helper/wf-server.py" "$BATS_TEST_TMPDIR/port" "$WF_LOG" \
		3>&- >/dev/null 2>"$BATS_TEST_TMPDIR/server.err" &
	WF_PIDS+=($!)
	for k in $(seq 1 100); do
		[[ -s $BATS_TEST_TMPDIR/port ]] && break
		sleep 0.05
	done
	WF_PORT=$(cat "$BATS_TEST_TMPDIR/port") || return 1
	WF_URL=http://127.0.0.1:$WF_PORT
}

# wf_hits KEY: how many times the server was called with KEY.
wf_hits() {
	grep -cx -- "$1" "$WF_LOG" || true
}

# run_json ID [JQ]: the run's record (workflow show RUN --json) through JQ.
run_json() {
	apphub workflow show "$1" --json | jq -c "${2:-.}"
}

# run_status ID: the run's status.
wf_run_status() {
	apphub workflow show "$1" --json | jq -r .status
}

# step_json ID STEP [JQ]: one step of run ID (from its steps list) through JQ.
step_json() {
	apphub workflow show "$1" --json | jq -c --arg s "$2" ".steps[] | select(.stepId == \$s) | ${3:-.}"
}

# job_runs_of RUN [STEP]: the job runs made for workflow run RUN (and its
# step STEP), oldest first, as a JSON array.
job_runs_of() {
	apphub jobs runs --limit 1000 --json |
		jq -c --arg r "$1" --arg s "${2:-}" '[.data[] | select(.trigger.workflowRunId == $r
			and ($s == "" or .trigger.stepId == $s))] | sort_by(.createdAt)'
}

# ms ISO-TIME: milliseconds since the epoch.
ms() {
	local s
	s=$(date -d "$1" +%s%3N)
	echo "$s"
}
