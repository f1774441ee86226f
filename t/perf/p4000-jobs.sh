#!/usr/bin/env bash
#
# p4000-jobs.sh: apphub jobs against the bare interpreter and tar, in the
# same run:
#
#   run       `apphub jobs run` of a trivial handler (node, python, exec),
#             whole processes, to its printed result, beside the same handler
#             run bare (target <= 1.3x: the sandbox and the bookkeeping cost
#             at most 30 % over the interpreter's own start)
#   drain     QUEUED queued runs of a trivial exec job drained by
#             `apphub jobs work -j 2`, beside `xargs -P 2` running the same
#             script as often (the floor), in runs per second
#   package   a FILES-file bundle packaged by `apphub jobs package`, beside
#             `tar czf` of the same tree (target <= 1.5x)
#
# Medians of RUNS runs (ms). Reported, never failed on.
# Environment: APPHUB (default ../../apphub from this script), RUNS (7),
# QUEUED (500), FILES (5000), KEEP=1 keeps the work directory.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
APPHUB=${APPHUB:-$here/../../apphub}
RUNS=${RUNS:-7}
FILES=${FILES:-5000}
[[ -x $APPHUB ]] || { echo "p4000-jobs: no apphub binary at $APPHUB" >&2; exit 1; }
APPHUB=$(cd "$(dirname "$APPHUB")" && pwd)/$(basename "$APPHUB")
command -v bwrap >/dev/null || { echo "p4000-jobs: bwrap is not installed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/apphub-p4000.XXXXXX")
cleanup() {
	if [[ ${KEEP:-} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
unset XDG_STATE_HOME
export APPHUB_HOME=$work/state PATH=$(dirname "$APPHUB"):$PATH

now() { date +%s%N; }
# median of numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
# Trivial handlers of each runtime, published, each run through apphub and bare.
mk_trivial() {
	local dir=$work/trivial-$1 entry=$2 body=$3
	mkdir -p "$dir/tests"
	printf '{"slug":"trivial-%s"}\n' "$1" >"$dir/apphub.bundle.json"
	printf '{"name":"trivial %s","version":"1.0.0","runtime":"%s","entry":"%s"}\n' "$1" "$1" \
		"$entry" >"$dir/manifest.json"
	printf '%s\n' "$body" >"$dir/$entry"
	chmod +x "$dir/$entry"
	echo '{"parameters":{}}' >"$dir/tests/sample-input.json"
	apphub -q jobs publish "$dir" >/dev/null
}
mk_trivial node index.mjs 'export default async function handler(context) { return { ok: true }; }'
mk_trivial python main.py 'def handler(context):
    return {"ok": True}'
mk_trivial exec run.sh '#!/bin/sh
echo "{\"ok\":true}"'

input='{"parameters":{},"run":{"id":"r-000000000000","attempt":1},"job":{"slug":"t","version":"1.0.0"}}'
bare_node() {
	node --input-type=module -e "import fs from 'fs'; const m = await import('$work/trivial-node/index.mjs');
		process.stdout.write(JSON.stringify(await m.default(JSON.parse(fs.readFileSync(0, 'utf8')))))" \
		<<<"$input" >/dev/null
}
bare_python() {
	python3 -c "import sys, json; sys.path.insert(0, '$work/trivial-python'); import main;
print(json.dumps(main.handler(json.load(sys.stdin))))" <<<"$input" >/dev/null
}
bare_exec() {
	"$work/trivial-exec/run.sh" <<<"$input" >/dev/null
}

# ms of one command
ms() {
	local t0
	t0=$(now)
	"$@" >/dev/null
	echo $((($(now) - t0) / 1000000))
}

echo
echo "one run of a trivial handler, whole processes (median of $RUNS, ms):"
printf '%-8s %10s %10s %8s\n' runtime apphub bare ratio
for rt in node python exec; do
	case $rt in node) bin=node ;; python) bin=python3 ;; *) bin=sh ;; esac
	command -v "$bin" >/dev/null || { echo "$rt: $bin is not installed"; continue; }
	apphub -q jobs run "trivial-$rt" >/dev/null	# warm the page cache
	a=$(for i in $(seq "$RUNS"); do ms apphub -q jobs run "trivial-$rt"; done | median)
	b=$(for i in $(seq "$RUNS"); do ms "bare_$rt"; done | median)
	printf '%-8s %10s %10s %7sx\n' "$rt" "$a" "$b" "$(ratio "$a" "$b")"
done

# QUEUED runs of the trivial exec job drained by jobs work -j 2, beside xargs -P 2
# running the same script as often.
QUEUED=${QUEUED:-500}
for i in $(seq "$QUEUED"); do apphub -q jobs run trivial-exec --detach; done >/dev/null
t0=$(now)
apphub -q jobs work -j 2 >/dev/null
drain=$((($(now) - t0) / 1000000))
t0=$(now)
seq "$QUEUED" | xargs -P 2 -I{} sh -c "'$work/trivial-exec/run.sh' </dev/null >/dev/null"
floor=$((($(now) - t0) / 1000000))
echo
echo "$QUEUED queued runs of a trivial exec job:"
printf '%-28s %8s ms %8s runs/s\n' "apphub jobs work -j 2" "$drain" \
	"$(awk -v n="$QUEUED" -v t="$drain" 'BEGIN { printf "%.0f", t ? n * 1000 / t : 0 }')"
printf '%-28s %8s ms %8s runs/s\n' "xargs -P 2 (the floor)" "$floor" \
	"$(awk -v n="$QUEUED" -v t="$floor" 'BEGIN { printf "%.0f", t ? n * 1000 / t : 0 }')"

# ---- package ----
big=$work/big
mkdir -p "$big/src"
printf '{"slug":"big","entry":"run.sh"}\n' >"$big/apphub.bundle.json"
printf '{"name":"big","version":"1.0.0","runtime":"exec","entry":"run.sh"}\n' >"$big/manifest.json"
printf '#!/bin/sh\necho "{}"\n' >"$big/run.sh"
chmod +x "$big/run.sh"
for i in $(seq "$FILES"); do
	d=$big/src/d$((i % 50))
	[[ -d $d ]] || mkdir -p "$d"
	head -c $((200 + i * 37 % 3000)) /dev/urandom | base64 >"$d/f$i.txt"
done
a=$(for i in $(seq "$RUNS"); do ms apphub -q jobs package "$big" --force --out "$work/pkg"; done | median)
b=$(for i in $(seq "$RUNS"); do ms tar czf "$work/big.tgz" -C "$big" .; done | median)
echo
echo "packaging a bundle of $FILES files (median of $RUNS, ms):"
printf '%-28s %8s\n' "apphub jobs package" "$a" "tar czf" "$b"
echo "ratio: $(ratio "$a" "$b")x (target <= 1.5x)"
