#!/usr/bin/env bats
#
# The manual pages: lint-clean under mandoc, and one page per command.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
	PATH="$BATS_TEST_DIRNAME/..:$PATH"
	export PATH
	MAN="$BATS_TEST_DIRNAME/../man"
	export APPHUB_HOME="$BATS_TEST_TMPDIR/state"
	unset XDG_STATE_HOME APPHUB_EXEC_PATH
	export LC_ALL=C
}

# render PAGE: plain text, without the overstrike of -Tascii.
render() {
	mandoc -Tascii "$1" | sed 's/.\x08//g'
}

need_mandoc() {
	command -v mandoc >/dev/null || skip "mandoc is not installed (make deps)"
}

@test "man: every page is clean under mandoc -Tlint -Wwarning" {
	need_mandoc
	local f n=0
	for f in "$MAN"/*.1; do
		run mandoc -Tlint -Wwarning "$f"
		assert_success
		assert_output ''
		n=$((n + 1))
	done
	[ "$n" -ge 1 ]
}

@test "man: every page renders, with NAME, SYNOPSIS and DESCRIPTION" {
	need_mandoc
	local f
	for f in "$MAN"/*.1; do
		run render "$f"
		assert_success
		assert_output --partial 'NAME'
		assert_output --partial 'SYNOPSIS'
		assert_output --partial 'DESCRIPTION'
	done
}

@test "man: each command of apphub --list-cmds has man/apphub-<cmd>.1" {
	run apphub --list-cmds
	assert_success
	[ -n "$output" ]
	local cmd missing=
	for cmd in $output; do
		[ "$cmd" = help ] && continue
		[ -f "$MAN/apphub-$cmd.1" ] || missing="$missing $cmd"
	done
	[ -z "$missing" ] || fail "no man page for:$missing"
}

@test "man: apphub(1) documents the exit statuses, files and environment" {
	need_mandoc
	run render "$MAN/apphub.1"
	assert_success
	local s
	for s in 'EXIT STATUS' FILES ENVIRONMENT APPHUB_HOME XDG_STATE_HOME \
		APPHUB_EXEC_PATH apphub.db; do
		assert_output --partial "$s"
	done
	local section
	section=$(printf '%s\n' "$output" | sed -n '/^EXIT STATUS/,/^[A-Z]/p')
	for s in 0 1 2 3 128 129; do
		printf '%s\n' "$section" | grep -Eq "^ +$s +[A-Z]" ||
			fail "exit status $s is not documented"
	done
}

@test "man: apphub-apps(1) covers every verb and option" {
	need_mandoc
	run render "$MAN/apphub-apps.1"
	assert_success
	local s
	for s in ls add import show rm search tags tag \
		--id --name --description --dockerfile --tag --explicit --update \
		--status --sort --limit --offset --weights --json \
		'SEARCH SYNTAX' SUGGESTIONS relevance updated \
		pending processing ready failed; do
		assert_output --partial "$s"
	done
}

@test "man: apphub-jobs(1) covers every verb, option and rule" {
	need_mandoc
	run render "$MAN/apphub-jobs.1"
	assert_success
	local s
	for s in ls init package keygen trust test publish show rm run runs logs cancel work \
		--runtime --slug --force --out --key --name --input-json --input --param \
		--detach --timeout --status --limit --follow --watch \
		apphub.bundle.json manifest.json manifestPath artifactDir sampleInputPath \
		parametersSchema timeoutMs capabilities limits \
		pending running succeeded failed canceled timeout \
		'file descriptor 3' /bundle /work network \
		APPHUB_JOB_BUNDLE_MAX_SIZE APPHUB_JOB_ATTEMPTS \
		'POST /job-bundles' 'GET /job-bundles/:slug/:version/download' \
		'POST /jobs/:slug/run' 'GET /job-runs/:id/logs' 'POST /job-runs/:id/cancel' \
		'signature does not verify' 'EXIT STATUS' 'SEE ALSO'; do
		assert_output --partial "$s"
	done
}

@test "man: apphub-workflow(1) covers every verb, option and rule" {
	need_mandoc
	run render "$MAN/apphub-workflow.1"
	assert_success
	local s
	for s in ls add show rm run runs cancel schedule tick assets work \
		pause resume --version --dot --param --parameters-json --run-key --detach \
		--follow --status --limit --now --cron --timezone --start --end --catch-up \
		--watch parametersSchema defaultParameters maxParallel autoMaterialize \
		onUpstreamUpdate dependsOn jobSlug storeResultAs storeResponseAs storeResultsAs \
		collection maxItems maxConcurrency '<parent>:<template id>:<n>' \
		'{stepId, index, status, output}' duplicate_step missing_dependency \
		cycle_detected maxAttempts exponential initialDelayMs maxDelayMs \
		pending running succeeded failed canceled skipped heartbeat-timeout \
		startWindow endWindow catchUp @daily Europe/Berlin produces consumes ttlMs \
		asset.produced asset.expired auto-materialize \
		APPHUB_WORKFLOW_CONCURRENCY APPHUB_WORKFLOW_HEARTBEAT_TIMEOUT \
		APPHUB_WORKFLOW_LEASE_MS 'POST /workflows/:slug/run' 'GET /workflow-runs/:id' \
		'POST /workflow-runs/:id/cancel' 'POST /workflows/tick' 'GET /assets' \
		workflows:write workflows:run apphub-workflow-tick.timer 'EXIT STATUS' \
		EXAMPLES 'SEE ALSO'; do
		assert_output --partial "$s"
	done
}

@test "man: apphub(1) lists apphub-workflow(1)" {
	need_mandoc
	run render "$MAN/apphub.1"
	assert_success
	assert_output --partial 'apphub-workflow(1)'
	assert_output --partial workflowSlug
}
