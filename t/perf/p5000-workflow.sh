#!/usr/bin/env bash
#
# p5000-workflow.sh: what apphub workflow adds on top of the jobs it runs,
# beside the same jobs run without it, in the same run:
#
#   fan-out   a FANOUT-child fan-out (1,000) of a trivial exec job (its
#             handler is `echo '{}'`) by `apphub workflow run`, maxParallel,
#             maxConcurrency and APPHUB_WORKFLOW_CONCURRENCY all PAR.
#             The floor, the jobs' own time: the run's own job runs, each
#             the handler in apphub's sandbox (bwrap, seccomp, limits, its
#             result read back), timed by their records (durationMs, from
#             the claim to the result stored), summed and divided by PAR;
#             orchestration overhead per step = (wall - that) / FANOUT.
#             Beside it, the same FANOUT jobs under `xargs -P PAR`: in the
#             same sandbox, a process each (`test-tool job-stop`, which is
#             ah_job_exec and no records; it pays a launch and the
#             sandbox's per-process setup a job, which the driver pays once,
#             so it is a peer to beat rather than a floor), and bare
#             `run.sh` (no sandbox at all), for scale. JOBSRUN=1 adds FANOUT
#             `apphub jobs run` under xargs -P PAR (what one would do
#             without workflows; records and a process each).
#   chain     a CHAIN-step chain (50; each step depends on the one before)
#             of the same job: hop latency = (wall - the CHAIN jobs' own
#             time, their records' durationMs summed) / CHAIN, the wall
#             being the whole `apphub workflow run` process (target <= 5 ms
#             a step); beside it, in the run's record, the mean gap from a
#             step's completedAt to the next one's startedAt, and the
#             sandboxed job alone as a process (test-tool job-stop, less
#             test-tool's own launch), for scale
#   start     from invoking `apphub workflow run` (a one-step workflow) to
#             its step starting: the step's startedAt in the record (target
#             <= 20 ms), and to its handler running (the handler's own clock,
#             `date +%s%3N` as its first act: includes the sandbox's setup)
#
# For context only: Dagster and Airflow users report waiting seconds
# between steps and for a run to start (a scheduler loop that polls, a
# process or pod per step); they are not measured here and no figures of
# theirs are printed.
#
# Medians of RUNS runs (ms), FANRUNS for the fan-out (each run is FANOUT
# jobs). Reported, never failed on. Environment: APPHUB (default
# ../../apphub from this script), TEST_TOOL (../helper/test-tool), PAR
# (nproc, at least 2), FANOUT (1000), FANRUNS (3), CHAIN (50), RUNS (7),
# JOBSRUN=1, KEEP=1 keeps the work directory.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
APPHUB=${APPHUB:-$here/../../apphub}
TEST_TOOL=${TEST_TOOL:-$here/../helper/test-tool}
RUNS=${RUNS:-7}
FANRUNS=${FANRUNS:-3}
FANOUT=${FANOUT:-1000}
CHAIN=${CHAIN:-50}
PAR=${PAR:-$(nproc)}
((PAR >= 2)) || PAR=2
[[ -x $APPHUB ]] || { echo "p5000-workflow: no apphub binary at $APPHUB" >&2; exit 1; }
[[ -x $TEST_TOOL ]] || { echo "p5000-workflow: no test-tool at $TEST_TOOL (make t/helper/test-tool)" >&2; exit 1; }
APPHUB=$(cd "$(dirname "$APPHUB")" && pwd)/$(basename "$APPHUB")
TEST_TOOL=$(cd "$(dirname "$TEST_TOOL")" && pwd)/$(basename "$TEST_TOOL")
command -v bwrap >/dev/null || { echo "p5000-workflow: bwrap is not installed" >&2; exit 1; }
command -v jq >/dev/null || { echo "p5000-workflow: jq is not installed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/apphub-p5000.XXXXXX")
cleanup() {
	if [[ ${KEEP:-} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
unset XDG_STATE_HOME
export APPHUB_HOME=$work/state PATH=$(dirname "$APPHUB"):$PATH
export APPHUB_WORKFLOW_CONCURRENCY=$PAR

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# median of numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
per() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
# ISO times of the records ("2026-12-04T20:49:26.803Z") as unix ms, in jq
jq_ms='def ms: (.[0:19] + "Z" | fromdateiso8601) * 1000 + (.[20:23] | tonumber);'

# A published exec job whose handler is the script body $2.
mk_job() {
	local dir=$work/job-$1
	mkdir -p "$dir/tests"
	printf '{"slug":"%s"}\n' "$1" >"$dir/apphub.bundle.json"
	printf '{"name":"%s","version":"1.0.0","runtime":"exec","entry":"run.sh"}\n' "$1" \
		>"$dir/manifest.json"
	printf '#!/bin/sh\n%s\n' "$2" >"$dir/run.sh"
	chmod +x "$dir/run.sh"
	echo '{"parameters":{}}' >"$dir/tests/sample-input.json"
	apphub -q jobs publish "$dir" >/dev/null
}
mk_job trivial "echo '{}'"
mk_job stamp 'echo "{\"t\":$(date +%s%3N)}"'
mkdir -p "$work/wd"

# The trivial handler in apphub's sandbox, a process of its own, no records.
sandboxed() { "$TEST_TOOL" job-stop "$work/job-trivial" "$work/wd" 600000 >/dev/null; }

# ---- definitions ----
jq -n --argjson n "$FANOUT" --argjson p "$PAR" '{slug: "fan", maxParallel: $p, steps: [
	{id: "fan", type: "fanout", collection: [range(1; $n + 1)], maxItems: $n,
	 maxConcurrency: $p, template: {id: "t", type: "job", jobSlug: "trivial"}}]}' \
	>"$work/fan.json"
jq -n --argjson n "$CHAIN" '{slug: "chain", maxParallel: 1, steps: [range(1; $n + 1) as $i |
	{id: "s\($i)", jobSlug: "trivial"} + (if $i > 1 then {dependsOn: ["s\($i - 1)"]} else {} end)]}' \
	>"$work/chain.json"
echo '{"slug":"one","steps":[{"id":"a","jobSlug":"stamp"}]}' >"$work/one.json"
for f in fan chain one; do apphub -q workflow add "$work/$f.json" >/dev/null; done

# `apphub workflow run SLUG --json` into $work/out.json; prints its wall ms
run_wf() {
	local t0
	t0=$(now_ms)
	apphub workflow run "$1" --json >"$work/out.json"
	echo $(($(now_ms) - t0))
}
# the sum of the durationMs of workflow run $1's job runs (at most $2 of them)
own_ms() {
	apphub jobs runs trivial --limit "$2" --json | jq --arg id "$1" \
		'[.data[] | select(.trigger.workflowRunId == $id) | .durationMs] | add'
}
check_ok() {
	local s
	s=$(jq -r .status "$work/out.json")
	[[ $s == succeeded ]] || { echo "p5000-workflow: run of $1 $s" >&2; exit 1; }
}

# ---- one job, sandboxed ----
# ms of one run of the trivial job in the sandbox as a process of its own,
# test-tool's launch taken off (a median of 3 each)
one_job() {
	local i t0 a b
	a=$(for i in 1 2 3; do t0=$(now_ms); sandboxed; echo $(($(now_ms) - t0)); done | median)
	b=$(for i in 1 2 3; do
		t0=$(now_ms); "$TEST_TOOL" semver 1.0.0 >/dev/null; echo $(($(now_ms) - t0))
	done | median)
	echo $((a - b))
}
sandboxed	# warm the page cache

# ---- fan-out ----
fan_wall=() peer_wall=() bare_wall=() own=()
for r in $(seq "$FANRUNS"); do
	fan_wall+=("$(run_wf fan)")
	check_ok fan
	id=$(jq -r .id "$work/out.json")
	own+=($(($(own_ms "$id" "$FANOUT") / PAR)))
	t0=$(now_ms)
	seq "$FANOUT" | xargs -P "$PAR" -I{} "$TEST_TOOL" job-stop "$work/job-trivial" "$work/wd" 600000 \
		>/dev/null
	peer_wall+=($(($(now_ms) - t0)))
	t0=$(now_ms)
	seq "$FANOUT" | xargs -P "$PAR" -I{} "$work/job-trivial/run.sh" >/dev/null
	bare_wall+=($(($(now_ms) - t0)))
done
fw=$(printf '%s\n' "${fan_wall[@]}" | median)
pw=$(printf '%s\n' "${peer_wall[@]}" | median)
bw=$(printf '%s\n' "${bare_wall[@]}" | median)
ow=$(printf '%s\n' "${own[@]}" | median)
echo
echo "a $FANOUT-child fan-out of the trivial job, $PAR at once (median of $FANRUNS, ms):"
printf '%-44s %8s ms %8s steps/s\n' "apphub workflow run" "$fw" \
	"$(awk -v n="$FANOUT" -v t="$fw" 'BEGIN { printf "%.0f", t ? n * 1000 / t : 0 }')"
printf '%-44s %8s ms\n' "  its jobs' own time (records, sum / $PAR)" "$ow"
printf '%-44s %8s ms %8s steps/s\n' "xargs -P $PAR test-tool job-stop (sandboxed)" "$pw" \
	"$(awk -v n="$FANOUT" -v t="$pw" 'BEGIN { printf "%.0f", t ? n * 1000 / t : 0 }')"
printf '%-44s %8s ms %8s steps/s\n' "xargs -P $PAR, bare run.sh (no sandbox)" "$bw" \
	"$(awk -v n="$FANOUT" -v t="$bw" 'BEGIN { printf "%.0f", t ? n * 1000 / t : 0 }')"
if [[ ${JOBSRUN:-} == 1 ]]; then
	t0=$(now_ms)
	seq "$FANOUT" | xargs -P "$PAR" -I{} apphub -q jobs run trivial >/dev/null
	jr=$(($(now_ms) - t0))
	printf '%-44s %8s ms %8s steps/s\n' "xargs -P $PAR apphub jobs run (once)" "$jr" \
		"$(awk -v n="$FANOUT" -v t="$jr" 'BEGIN { printf "%.0f", t ? n * 1000 / t : 0 }')"
fi
echo "orchestration overhead per step: $(per $((fw - ow)) "$FANOUT") ms ((wall - jobs' own time)" \
	"/ $FANOUT); wall over the jobs' own time $(ratio "$fw" "$ow")x, over xargs -P $PAR" \
	"test-tool $(ratio "$fw" "$pw")x"

# ---- chain ----
chain_wall=() chain_job=() chain_hop=() chain_gap=() chain_step=()
for r in $(seq "$RUNS"); do
	w=$(run_wf chain)
	check_ok chain
	jobs_ms=$(own_ms "$(jq -r .id "$work/out.json")" "$CHAIN")
	chain_wall+=("$w") chain_job+=("$(per "$jobs_ms" "$CHAIN")")
	chain_hop+=("$(per $((w - jobs_ms)) "$CHAIN")")
	# in the record: the gaps between a step's end and the next one's start,
	# and the steps' own times
	chain_gap+=("$(jq -r "$jq_ms"' [.steps[] | {s: (.startedAt | ms), e: (.completedAt | ms)}]
		| [range(1; length) as $i | .[$i].s - .[$i - 1].e] | add / length * 100 | round / 100' \
		"$work/out.json")")
	chain_step+=("$(jq -r "$jq_ms"' [.steps[] | (.completedAt | ms) - (.startedAt | ms)]
		| add / length * 100 | round / 100' "$work/out.json")")
done
echo
echo "a $CHAIN-step chain of the trivial job (median of $RUNS, ms):"
printf '%-44s %8s ms\n' "apphub workflow run" "$(printf '%s\n' "${chain_wall[@]}" | median)" \
	"  a job's own time (records, mean)" "$(printf '%s\n' "${chain_job[@]}" | median)" \
	"  one sandboxed job as a process of its own" "$(one_job)"
echo "hop latency: $(printf '%s\n' "${chain_hop[@]}" | median) ms a step ((wall - the jobs' own time)" \
	"/ $CHAIN; target <= 5 ms)"
echo "in the record: a step's end to the next one's start $(printf '%s\n' "${chain_gap[@]}" | median) ms" \
	"(mean over the chain), a step's own time $(printf '%s\n' "${chain_step[@]}" | median) ms"

# ---- start ----
rec=() hand=()
for r in $(seq "$RUNS"); do
	t0=$(now_ms)
	apphub workflow run one --json >"$work/out.json"
	check_ok one
	rec+=($(($(jq -r "$jq_ms"' .steps[0].startedAt | ms' "$work/out.json") - t0)))
	hand+=($(($(jq -r '.output.a.t' "$work/out.json") - t0)))
done
echo
echo "from invoking apphub workflow run to its first step (median of $RUNS, ms):"
printf '%-44s %8s ms (target <= 20 ms)\n' "the step started (its startedAt)" \
	"$(printf '%s\n' "${rec[@]}" | median)"
printf '%-44s %8s ms (the sandbox set up)\n' "its handler running (the handler's clock)" \
	"$(printf '%s\n' "${hand[@]}" | median)"
