#!/usr/bin/env bash
#
# p2000-ingest.sh: ingest a large repository and many small ones.
#
# Builds (deterministically, with git fast-import) a repository of about
# 5,000 files and 50 MB of history, and measures, as whole processes, from
# a local path and over git:// (git daemon on loopback):
#
#   first      apphub ingest ID into a fresh state directory
#   reingest   apphub ingest ID after one new commit
#
# each beside the peer measured in the same run: `git clone --depth 1`
# (file:// for the local case, so that --depth applies) plus reading every
# file of the checkout.  Targets (reported, never failed on): reingest <=
# 0.5x and first <= 1.5x the peer.  Then a repository of 3,000 commits
# ingested from its path beside `git clone --mirror` of the same path
# (which hard-links the object files) and of its file:// URL (which packs
# them): target first <= 1.5x the file:// mirror.  Then 200 small
# repositories ingested with -j 2: repositories per second.
#
# Environment: APPHUB (default ../../apphub from this script), RUNS (5),
# SMALL (200), KEEP=1 keeps the work directory.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
APPHUB=${APPHUB:-$here/../../apphub}
RUNS=${RUNS:-5}
SMALL=${SMALL:-200}
[[ -x $APPHUB ]] || { echo "p2000-ingest: no apphub binary at $APPHUB" >&2; exit 1; }
APPHUB=$(cd "$(dirname "$APPHUB")" && pwd)/$(basename "$APPHUB")
[[ -x $(dirname "$APPHUB")/apphub-ingest ]] || { echo "p2000-ingest: apphub-ingest is not built" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/apphub-p2000.XXXXXX")
daemon=
cleanup() {
	[[ -n $daemon ]] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	if [[ ${KEEP:-} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
unset APPHUB_HOME XDG_STATE_HOME
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=perf GIT_AUTHOR_EMAIL=perf@example.com
export GIT_COMMITTER_NAME=perf GIT_COMMITTER_EMAIL=perf@example.com

# --- data ------------------------------------------------------------------
big=$work/repos/big.git
mkdir -p "$work/repos"
git init -q --bare -b main "$big"
python3 - <<'PY' | git -C "$big" fast-import --quiet
import random, sys
rnd = random.Random(2000)
out = sys.stdout.buffer
files = {}
def blob(data):
    out.write(b"data %d\n" % len(data)); out.write(data); out.write(b"\n")
def text(n):
    return bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz \n") for _ in range(n))
t = 1700000000
# first commit: 5,000 small files and a Dockerfile
out.write(b"commit refs/heads/main\ncommitter perf <perf@example.com> %d +0000\n" % t)
blob(b"initial")
out.write(b"M 100644 inline Dockerfile\n"); blob(b"FROM node:20\nCMD [\"node\", \"index.js\"]\n")
out.write(b"M 100644 inline package.json\n"); blob(b'{"name": "big", "dependencies": {"react": "18"}}\n')
for i in range(5000):
    out.write(b"M 100644 inline src/d%02d/f%04d.txt\n" % (i % 50, i)); blob(text(600))
# history: 40 commits rewriting 100 files with incompressible data (~50 MB)
for c in range(40):
    t += 60
    out.write(b"commit refs/heads/main\ncommitter perf <perf@example.com> %d +0000\n" % t)
    blob(b"change %d" % c)
    for _ in range(100):
        i = rnd.randrange(5000)
        out.write(b"M 100644 inline src/d%02d/f%04d.txt\n" % (i % 50, i))
        blob(rnd.randbytes(12000))
out.flush()
PY
git -C "$big" gc -q --aggressive 2>/dev/null || git -C "$big" gc -q
size=$(du -sm "$big" | cut -f1)
files=$(git -C "$big" ls-tree -r main | wc -l)
echo "repository: $files files, ${size} MB packed history"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
git daemon --reuseaddr --export-all --base-path="$work/repos" --listen=127.0.0.1 --port="$port" "$work/repos" >/dev/null 2>&1 &
daemon=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done

ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# commit_one: one new commit on the big repository
commit_one() {
	local tmp=$work/tmp-clone
	rm -rf "$tmp"
	git clone -q --depth 1 "file://$big" "$tmp" 2>/dev/null
	echo "change $RANDOM" >>"$tmp/src/d00/f0000.txt"
	git -C "$tmp" commit -qam "one more"
	git -C "$tmp" push -q origin main 2>/dev/null
	rm -rf "$tmp"
}

measure() {
	local label=$1 url=$2 peer_url=$3 r t0 first=() re=() peer=()
	for r in $(seq "$RUNS"); do
		local st=$work/state-$label-$r co=$work/co-$label-$r
		"$APPHUB" -C "$st" -q apps add "$url" --id big
		t0=$(ms); "$APPHUB" -C "$st" -q ingest big; first+=($(( $(ms) - t0 )))
		t0=$(ms)
		git clone -q --depth 1 "$peer_url" "$co" 2>/dev/null
		find "$co" -path "$co/.git" -prune -o -type f -print0 | xargs -0 cat >/dev/null
		peer+=($(( $(ms) - t0 )))
		commit_one
		t0=$(ms); "$APPHUB" -C "$st" -q ingest big; re+=($(( $(ms) - t0 )))
		rm -rf "$st" "$co"
	done
	local f p e
	f=$(printf '%s\n' "${first[@]}" | median)
	p=$(printf '%s\n' "${peer[@]}" | median)
	e=$(printf '%s\n' "${re[@]}" | median)
	printf '%-6s first ingest %6s ms   git clone --depth 1 + read %6s ms   ratio %.2f (target <= 1.5)\n' \
		"$label" "$f" "$p" "$(echo "$f / $p" | bc -l)"
	printf '%-6s re-ingest    %6s ms   git clone --depth 1 + read %6s ms   ratio %.2f (target <= 0.5)\n' \
		"$label" "$e" "$p" "$(echo "$e / $p" | bc -l)"
}

measure path "$big" "file://$big"
measure git "git://127.0.0.1:$port/big.git" "git://127.0.0.1:$port/big.git"

# --- a long history: first ingest beside git clone --mirror ----------------
hist=$work/repos/history.git
git init -q --bare -b main "$hist"
python3 - <<'PY' | git -C "$hist" fast-import --quiet
import random, sys
rnd = random.Random(2001)
out = sys.stdout.buffer
def blob(data):
    out.write(b"data %d\n" % len(data)); out.write(data); out.write(b"\n")
t = 1700000000
for c in range(3000):
    t += 60
    out.write(b"commit refs/heads/main\ncommitter perf <perf@example.com> %d +0000\n" % t)
    blob(b"change %d" % c)
    if c == 0:
        out.write(b"M 100644 inline Dockerfile\n"); blob(b"FROM node:20\n")
    for _ in range(3):
        i = rnd.randrange(1000)
        out.write(b"M 100644 inline src/f%04d.js\n" % i)
        blob(b"".join(b"export const v%d = %d;\n" % (j, rnd.randrange(10**6)) for j in range(40)))
out.flush()
PY
git -C "$hist" gc -q
echo "history: $(git -C "$hist" rev-list --count main) commits, $(du -sm "$hist" | cut -f1) MB"
first=() hard=() packed=()
for r in $(seq "$RUNS"); do
	st=$work/state-hist-$r
	"$APPHUB" -C "$st" -q apps add "$hist" --id hist
	t0=$(ms); "$APPHUB" -C "$st" -q ingest hist; first+=($(( $(ms) - t0 )))
	t0=$(ms); git clone -q --mirror "$hist" "$work/m1-$r"; hard+=($(( $(ms) - t0 )))
	t0=$(ms); git clone -q --mirror "file://$hist" "$work/m2-$r"; packed+=($(( $(ms) - t0 )))
	rm -rf "$st" "$work/m1-$r" "$work/m2-$r"
done
f=$(printf '%s\n' "${first[@]}" | median)
h=$(printf '%s\n' "${hard[@]}" | median)
p=$(printf '%s\n' "${packed[@]}" | median)
printf 'hist   first ingest %6s ms   git clone --mirror PATH %6s ms (ratio %.2f)   file:// %6s ms (ratio %.2f, target <= 1.5)\n' \
	"$f" "$h" "$(echo "$f / $h" | bc -l)" "$p" "$(echo "$f / $p" | bc -l)"

# --- 200 small repositories, -j 2 ------------------------------------------
st=$work/state-small
for i in $(seq "$SMALL"); do
	d=$work/small/s$i
	mkdir -p "$d"
	git -C "$d" init -q -b main
	printf 'FROM nginx\n' >"$d/Dockerfile"
	printf '{"name": "small-%d", "dependencies": {"vue": "3"}}\n' "$i" >"$d/package.json"
	printf '# small %d\n\nA small app.\n' "$i" >"$d/README.md"
	git -C "$d" add -A
	git -C "$d" commit -qm init
	echo "{\"repoUrl\": \"$d\", \"id\": \"small-$i\"}"
done | "$APPHUB" -C "$st" -q apps import -
t0=$(ms)
"$APPHUB" -C "$st" -q ingest -j 2
t=$(( $(ms) - t0 ))
ready=$("$APPHUB" -C "$st" apps ls --status ready --limit 1000 -q | wc -l)
printf 'small  %d repositories (%d ready) with -j 2 in %d ms: %.1f repositories/s\n' \
	"$SMALL" "$ready" "$t" "$(echo "$SMALL * 1000 / $t" | bc -l)"
