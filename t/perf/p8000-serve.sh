#!/usr/bin/env bash
#
# p8000-serve.sh: apphub serve at 100,000 apps, beside nginx.
#
# Imports N apps (six tags each, deterministic) into a fresh state
# directory, starts `apphub serve` on a free loopback port and nginx
# serving the very same JSON bodies as static files, and measures with wrk
# in the same run:
#
#   suggest   GET /tags/suggest?prefix=fram
#   search    GET /apps?tags=framework:nextjs
#
# requests/s and p99 latency of each, serve's rate as a fraction of nginx's
# (target for suggest: >= 0.5), and serve's resident memory before and
# after. Targets are reported, never failed on.
#
# Environment: APPHUB (default ../../apphub, which runs apphub-serve), N (100000),
# DURATION (wrk seconds, 10), CONNECTIONS (64), THREADS (wrk threads, 4),
# KEEP=1 keeps the work directory.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
APPHUB=${APPHUB:-$here/../../apphub}
N=${N:-100000}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-4}

for tool in wrk nginx curl python3; do
	command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || {
		echo "p8000-serve: $tool is needed (make deps installs it)" >&2
		exit 1
	}
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $APPHUB ]] || { echo "p8000-serve: no apphub at $APPHUB (run make)" >&2; exit 1; }
APPHUB=$(cd "$(dirname "$APPHUB")" && pwd)/$(basename "$APPHUB")

work=$(mktemp -d "${TMPDIR:-/tmp}/apphub-p8000.XXXXXX")
# nginx workers run as another user when started by root.
chmod 755 "$work"
serve_pid= nginx_started=
cleanup() {
	[[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
	[[ -n $nginx_started ]] && "$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" -s stop 2>/dev/null
	if [[ ${KEEP:-} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
unset APPHUB_HOME XDG_STATE_HOME APPHUB_TOKENS APPHUB_TOKENS_FILE
state=$work/state

# --- data --------------------------------------------------------------------
python3 - "$N" "$work/apps.jsonl" <<'PY'
import json, random, sys
n, path = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(8000)
fw = ["nextjs", "astro", "remix", "vue", "svelte", "nuxt", "angular", "solid",
      "qwik", "gatsby", "fastapi", "flask", "django", "express", "streamlit", "rails"]
lang = ["typescript", "javascript", "python", "ruby", "go", "rust", "java", "php"]
rt = ["node18", "node20", "node22", "python311", "python312", "deno", "bun", "nginx"]
cat = ["dashboard", "analytics", "blog", "shop", "docs", "chat", "game", "admin"]
lib = ["react", "preact", "htmx", "tailwind", "bootstrap", "d3", "threejs", "redux"]
owners = ["team-%02d" % i for i in range(60)] + ["user-%03d" % i for i in range(200)]
words = ["quick", "dash", "tiny", "open", "smart", "board", "tracker", "studio",
         "notes", "wiki", "store", "portal", "monitor", "gallery", "ledger"]
with open(path, "w") as f:
    for i in range(n):
        a, b = rnd.choice(words), rnd.choice(words)
        f.write(json.dumps({
            "id": "%s-%s-%06d" % (a, b, i),
            "name": "%s %s %d" % (a, b, i),
            "description": "A %s %s for %s" % (rnd.choice(words), rnd.choice(words),
                                             rnd.choice(["teams", "shops", "clubs"])),
            "repoUrl": "https://git.example.com/%s/%s-%s-%06d.git" % (rnd.choice(owners), a, b, i),
            "tags": ["framework:" + rnd.choice(fw), "language:" + rnd.choice(lang),
                     "runtime:" + rnd.choice(rt), "category:" + rnd.choice(cat),
                     "owner:" + rnd.choice(owners), "library:" + rnd.choice(lib)],
        }, separators=(",", ":")) + "\n")
PY
"$APPHUB" -C "$state" apps import "$work/apps.jsonl" >/dev/null

# --- servers -----------------------------------------------------------------
# apphub execs its helper apphub-serve: the pid is serve's.
"$APPHUB" -C "$state" serve --listen 127.0.0.1:0 --workers 0 2>"$work/serve.err" 3>&- &
serve_pid=$!
for _ in $(seq 1 100); do
	url=$(sed -n 's/^apphub: serving \(http:[^ ]*\) .*/\1/p' "$work/serve.err")
	[[ -n $url ]] && break
	sleep 0.05
done
[[ -n ${url:-} ]] || { cat "$work/serve.err" >&2; exit 1; }

mkdir -p "$work/nginx/root/tags" "$work/nginx/logs"
curl -sf "$url/tags/suggest?prefix=fram" >"$work/nginx/root/tags/suggest"
curl -sf "$url/apps?tags=framework:nextjs" >"$work/nginx/root/apps"
nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	default_type application/json;
	server {
		listen 127.0.0.1:$nport;
		root $work/nginx/root;
		location / { try_files \$uri =404; }
	}
}
CONF
"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf"
nginx_started=1
nurl=http://127.0.0.1:$nport
for _ in $(seq 1 50); do curl -sf "$nurl/apps" >/dev/null && break; sleep 0.1; done
cmp -s <(curl -sf "$nurl/tags/suggest?prefix=fram") <(curl -sf "$url/tags/suggest?prefix=fram") ||
	{ echo "p8000-serve: nginx and serve bodies differ" >&2; exit 1; }

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$serve_pid/status"; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$serve_pid/status"; }
rss0=$(rss_kb)

# bench URL: "requests/s p99-ms"
bench() {
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$1" 2>&1 | awk '
		/Requests\/sec/ { rps = $2 }
		$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
			ms = u == "us" ? v / 1000 : u == "s" ? v * 1000 : v; p99 = ms }
		/Non-2xx/ { bad = $NF }
		END { if (bad) { print "non-2xx answers: " bad > "/dev/stderr"; exit 1 }
		      printf "%.0f %.2f\n", rps, p99 }'
}

printf 'p8000-serve: %d apps, wrk -t%d -c%d -d%ds, %d CPUs\n' "$N" "$THREADS" "$CONNECTIONS" \
	"$DURATION" "$(nproc)"
printf '%-9s %12s %10s %12s %10s %8s\n' case 'serve req/s' 'p99 ms' 'nginx req/s' 'p99 ms' ratio
for case in suggest search; do
	if [[ $case == suggest ]]; then path='/tags/suggest?prefix=fram'; npath=/tags/suggest
	else path='/apps?tags=framework:nextjs'; npath=/apps; fi
	read -r srps sp99 < <(bench "$url$path")
	read -r nrps np99 < <(bench "$nurl$npath")
	ratio=$(awk -v a="$srps" -v b="$nrps" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
	printf '%-9s %12s %10s %12s %10s %8s\n' "$case" "$srps" "$sp99" "$nrps" "$np99" "$ratio"
	[[ $case == suggest ]] && suggest_ratio=$ratio
done
printf 'serve resident memory: %d KiB at start, %d KiB now, %d KiB peak\n' "$rss0" "$(rss_kb)" "$(hwm_kb)"
awk -v r="$suggest_ratio" 'BEGIN { exit !(r >= 0.5) }' &&
	echo "target met: suggest at ${suggest_ratio}x nginx (>= 0.5)" ||
	echo "target missed: suggest at ${suggest_ratio}x nginx (< 0.5)"
