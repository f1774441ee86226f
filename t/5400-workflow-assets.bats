#!/usr/bin/env bats
# Workflow assets: a step's produces and consumes, autoMaterialize: a chain
# A -> B -> C driven by `apphub workflow work`; never two auto runs of one
# workflow at once; `workflow assets`; freshness lapsing under `tick --now`;
# backoff after a failed auto run.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

setup_file() {
	[[ -x $BATS_TEST_DIRNAME/../apphub-workflow ]] || skip 'apphub-workflow is not built'
	command -v bwrap >/dev/null || skip 'bwrap is not installed'
}

setup() {
	common_setup
	export APPHUB_JOB_BACKOFF_MS=0
	B=$BATS_TEST_TMPDIR/bundles
	publish ok 1.0.0 'cat >/dev/null; echo "{\"ok\":true}"'
	publish bad 1.0.0 'cat >/dev/null; echo failing >&2; exit 1'
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

# wf SLUG JOB [CONSUMES [PRODUCES-JSON [AUTO]]]
wf() {
	jq -n --arg s "$1" --arg j "$2" --arg c "${3:-}" --argjson p "${4:-[]}" --arg auto "${5:-}" \
		'{slug: $s, steps: [{id: "s", jobSlug: $j, retryPolicy: {maxAttempts: 1},
		  consumes: (if $c == "" then [] else [$c] end), produces: $p}]}
		 + (if $auto == "" then {} else {autoMaterialize: {onUpstreamUpdate: true}} end)' |
		apphub -q workflow add - >/dev/null
}

chain() {
	wf a ok '' '[{"assetId":"asset.a","freshness":{"ttlMs":600000}}]'
	wf b "${1:-ok}" asset.a '[{"assetId":"asset.b"}]' auto
	wf c ok asset.b '[]' auto
}

# runs SLUG: "status trigger-type asset" a line, oldest first
runs() {
	apphub workflow runs "$1" --limit 100 --json |
		jq -r '.data | reverse | .[] | "\(.status) \(.trigger.type) \(.trigger.assetId // "-")"'
}

in_future() {
	date -u -d "@$(($(date +%s) + $1))" +%FT%TZ
}

@test "an auto-materialize chain A -> B -> C: A's asset queues B, work drives B then C" {
	chain
	run --separate-stderr -0 apphub workflow run a
	# B is queued, not run, by A's producing step
	assert_equal "$(runs b)" "pending auto-materialize asset.a"
	assert_equal "$(runs c)" ""
	run -0 apphub workflow work
	assert_equal "$(runs b)" "succeeded auto-materialize asset.a"
	assert_equal "$(runs c)" "succeeded auto-materialize asset.b"
	# C produces nothing: nothing more
	assert_equal "$(runs a)" "succeeded manual -"
	# events: asset.produced for each, in order
	run -0 apphub events --json
	assert_equal "$(jq -c '[.data[] | select(.type == "asset.produced") | .data.assetId]' <<<"$output")" '["asset.a","asset.b"]'
	# a workflow that consumes without autoMaterialize is not queued
	wf d ok asset.a
	apphub -q workflow run a >/dev/null
	assert_equal "$(runs d)" ""
}

@test "workflow assets: the producing run, fresh or not, consumers" {
	chain
	apphub -q workflow run a >/dev/null
	run -0 apphub workflow assets --json
	a_run=$(apphub workflow runs a -q --limit 1)
	assert_equal "$(jq -c '[.data[] | [.assetId, .workflowSlug, .runId, .stepId, .fresh, .ttlMs, .consumers]]' <<<"$output")" \
		'[["asset.a","a","'"$a_run"'","s",true,600000,["b"]],["asset.b",null,null,null,false,null,["c"]]]'
	[[ $(jq -r '.data[0].producedAt' <<<"$output") =~ ^20[0-9-]+T[0-9:.]+Z$ ]]
	run -0 apphub workflow assets
	assert_line --index 0 --regexp '^ASSET +FRESH +PRODUCED BY +RUN +PRODUCED$'
	assert_line --index 1 --regexp "^asset\.a +yes +a +$a_run +20"
	assert_line --index 2 --regexp '^asset\.b +no +- +- +-$'
	run -0 apphub workflow assets asset.a --json
	assert_equal "$(jq -r .runId <<<"$output")" "$a_run"
	run --separate-stderr -2 apphub workflow assets nope
	assert_stderr_partial "asset 'nope' not found"
	apphub -q workflow work >/dev/null
	run -0 apphub workflow assets asset.b --json
	assert_equal "$(jq -c '[.workflowSlug, .runId, .fresh]' <<<"$output")" \
		'["b","'"$(apphub workflow runs b -q --limit 1)"'",true]'
	# a short freshness lapses by the clock
	wf e ok '' '[{"assetId":"asset.e","freshness":{"ttlMs":300}}]'
	apphub -q workflow run e >/dev/null
	sleep 0.4
	run -0 apphub workflow assets asset.e --json
	assert_equal "$(jq -c .fresh <<<"$output")" false
}

@test "never two auto runs of one workflow at once: a second update waits for the first run's end" {
	chain
	apphub -q workflow run a >/dev/null
	apphub -q workflow run a >/dev/null
	apphub -q workflow run a >/dev/null
	# one B pending; the updates meanwhile wait
	assert_equal "$(runs b)" "pending auto-materialize asset.a"
	run -0 apphub workflow work -j 4
	# the waiting update made one more B once the first ended; never two at once
	assert_equal "$(runs b)" "succeeded auto-materialize asset.a
succeeded auto-materialize asset.a"
	run -0 apphub workflow runs b --limit 100 --json
	b1_end=$(jq -r '.data[1].completedAt' <<<"$output")
	b2_start=$(jq -r '.data[0].createdAt' <<<"$output")
	[[ ! $b2_start < $b1_end ]]
	# C likewise: at most one at a time, none left pending
	[[ $(apphub workflow runs c --status pending --json | jq '.data | length') == 0 ]]
	[[ $(runs c | wc -l) -ge 1 && $(runs c | wc -l) -le 2 ]]
}

@test "a lapsed freshness: tick --now records asset.expired once and queues the consumers" {
	chain
	apphub -q workflow run a >/dev/null
	apphub -q workflow work >/dev/null
	assert_equal "$(runs b | wc -l)" 1
	# not yet: 10 minutes of freshness
	run -0 apphub workflow tick --now "$(in_future 60)" --json
	assert_equal "$(jq -c .expired <<<"$output")" '[]'
	run -0 apphub workflow tick --now "$(in_future 700)" --json
	assert_equal "$(jq -c .expired <<<"$output")" '["asset.a"]'
	run -0 apphub workflow tick --now "$(in_future 800)"
	refute_output --partial 'expired'
	run -0 apphub events --json
	assert_equal "$(jq -c '[.data[] | select(.type == "asset.expired") | .data.assetId]' <<<"$output")" '["asset.a"]'
	assert_equal "$(runs b | tail -n 1)" "pending auto-materialize asset.a"
	assert_equal "$(runs b | wc -l)" 2
	# produced again: fresh again, and it may expire again
	apphub -q workflow run a >/dev/null
	run -0 apphub workflow tick --now "$(in_future 1400)" --json
	assert_equal "$(jq -c .expired <<<"$output")" '["asset.a"]'
}

@test "a failing auto run backs its workflow off: the next update waits for the backoff and a tick" {
	chain bad
	apphub -q workflow run a >/dev/null
	# work exits 1 when a run it drove failed
	run -1 apphub workflow work
	assert_equal "$(runs b)" "failed auto-materialize asset.a"
	assert_equal "$(runs c)" ""
	# an update right away waits (backoff 1 s after one failure)
	apphub -q workflow run a >/dev/null
	assert_equal "$(runs b | wc -l)" 1
	# a tick before the backoff ends: still waiting
	run -0 apphub workflow tick --now "$(in_future 0)"
	assert_equal "$(runs b | wc -l)" 1
	# a tick after it: queued
	run -0 apphub workflow tick --now "$(in_future 3)"
	assert_equal "$(runs b | tail -n 1)" "pending auto-materialize asset.a"
	run -1 apphub workflow work
	assert_equal "$(runs b | wc -l)" 2
	# a second failure doubles the backoff: 2 s; a tick 1.5 s on does not queue
	apphub -q workflow run a >/dev/null
	run -0 apphub workflow tick --now "$(in_future 1)"
	assert_equal "$(runs b | wc -l)" 2
	run -0 apphub workflow tick --now "$(in_future 4)"
	assert_equal "$(runs b | wc -l)" 3
	run -1 apphub workflow work
	assert_equal "$(runs b | tail -n 1)" "failed auto-materialize asset.a"
	# a success resets it: fixed, the update after the backoff succeeds, the next is queued at once
	wf b ok asset.a '[{"assetId":"asset.b"}]' auto
	apphub -q workflow run a >/dev/null
	assert_equal "$(runs b | wc -l)" 3
	apphub -q workflow tick --now "$(in_future 10)" >/dev/null
	run -0 apphub workflow work
	assert_equal "$(runs b | tail -n 1)" "succeeded auto-materialize asset.a"
	apphub -q workflow run a >/dev/null
	assert_equal "$(runs b | tail -n 1)" "pending auto-materialize asset.a"
}
