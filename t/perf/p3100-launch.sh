#!/usr/bin/env bash
#
# p3100-launch.sh: how fast a launch answers, and what an idle launch costs.
#
#   launch    `apphub launch` of a busybox httpd image to its first HTTP 200
#             through the preview URL (median ms over RUNS, cold rootfs cache
#             excluded: one warm-up launch first); beside it, the same with
#             --no-wait and `launch show` polled for the preview URL
#   podman    `podman run -d -p 127.0.0.1:PORT:8080` of the same image (exported
#             from the store, loaded) to its first 200, in the same run, when
#             podman can run containers here; ratio = launch / podman (target
#             <= 0.2)
#   memory    PSS of what apphub adds to an idle launch (the supervisor, bwrap
#             and bwrap's init in the sandbox), beyond the app's own process
#
# Environment: APPHUB (default ../../apphub from here), RUNS (default 20),
# KEEP=1 keeps the work dir.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
APPHUB=${APPHUB:-$here/../../apphub}
RUNS=${RUNS:-20}
[[ -x $APPHUB ]] || { echo "p3100-launch: no apphub binary at $APPHUB (run make)" >&2; exit 1; }
work=$(mktemp -d)
cleanup() {
	local id
	for id in $("$APPHUB" -q launch ls --status running 2>/dev/null); do
		"$APPHUB" -q launch stop "$id" >/dev/null 2>&1 || true
	done
	[[ -n ${pod:-} ]] && podman rm -f -t 0 "$pod" >/dev/null 2>&1 || true
	[[ ${KEEP:-} = 1 ]] || rm -rf "$work"
}
trap cleanup EXIT
export APPHUB_HOME=$work/state
export PATH="$(dirname "$APPHUB"):$PATH"

APPHUB=$APPHUB sh "$here/../../contrib/base-images/busybox.sh" >/dev/null
"$APPHUB" image unpack apphub/busybox "$work/root" >/dev/null
mkdir -p "$work/root/www" && echo '<h1>perf</h1>' >"$work/root/www/index.html"
"$APPHUB" image import "$work/root" perf/httpd --env PORT=8080 \
	--cmd '["httpd", "-f", "-p", "8080", "-h", "/www"]' >/dev/null
"$APPHUB" -q apps add https://example.com/perf.git --id perf

now_ns() { date +%s%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
first_200() {
	local url=$1 i
	for ((i = 0; i < 20000; i++)); do
		[[ $(curl -s -o /dev/null -w '%{http_code}' "$url" 2>/dev/null) = 200 ]] && return 0
		sleep 0.005
	done
	return 1
}

# Warm-up: unpacks the rootfs cache once.
id=$("$APPHUB" -q launch perf --image perf/httpd) && "$APPHUB" -q launch stop "$id" >/dev/null

: >"$work/launch.ms"
: >"$work/nowait.ms"
json_field() { [[ $1 =~ \"$2\":\"?([^\",}]*) ]] && echo "${BASH_REMATCH[1]}"; }
for ((r = 0; r < RUNS; r++)); do
	# As a user or a script does: launch (it returns once the app answers), then fetch.
	t0=$(now_ns)
	out=$("$APPHUB" --json launch perf --image perf/httpd)
	first_200 "$(json_field "$out" previewUrl)"
	echo $(( ($(now_ns) - t0) / 1000000 )) >>"$work/launch.ms"
	"$APPHUB" -q launch stop "$(json_field "$out" id)" >/dev/null
	# --no-wait, then `launch show` until there is a preview URL, then fetch.
	t0=$(now_ns)
	out=$("$APPHUB" --json launch perf --image perf/httpd --no-wait)
	id=$(json_field "$out" id)
	url=
	while [[ -z $url || $url = null ]]; do
		url=$(json_field "$("$APPHUB" --json launch show "$id")" previewUrl)
	done
	first_200 "$url"
	echo $(( ($(now_ns) - t0) / 1000000 )) >>"$work/nowait.ms"
	"$APPHUB" -q launch stop "$id" >/dev/null
done
launch_ms=$(median <"$work/launch.ms")
printf 'launch: apphub launch -> first 200: median %s ms over %d runs (--no-wait, polling launch show: %s ms)\n' \
	"$launch_ms" "$RUNS" "$(median <"$work/nowait.ms")"

# Memory of an idle launch beyond the app's own.
out=$("$APPHUB" --json launch perf --image perf/httpd)
sup=$(jq -r .pid <<<"$out")
sb=$(jq -r .sandboxPid <<<"$out")
pss() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
init=$(pgrep -P "$sb" | head -1)
app=$(pgrep -P "$init" | head -1)
added=$(( $(pss "$sup") + $(pss "$sb") + $(pss "$init") ))
printf 'memory: an idle launch adds %d kB PSS (supervisor %d, bwrap %d, init %d) beside the app'"'"'s %d kB\n' \
	"$added" "$(pss "$sup")" "$(pss "$sb")" "$(pss "$init")" "$(pss "$app")"

# The peer: podman, when it can run a container here; as apphub's podman
# engine runs it (cgroupfs, runc when installed, explicit ulimits).
podman_run=(--cgroup-manager=cgroupfs run --ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
command -v runc >/dev/null && podman_run+=(--runtime runc)
if command -v podman >/dev/null &&
   { "$APPHUB" image export perf/httpd "$work/perf.tar" >/dev/null &&
     podman load -q -i "$work/perf.tar" >/dev/null 2>&1 &&
     podman "${podman_run[@]}" --rm localhost/perf/httpd:latest true >/dev/null 2>"$work/podman.err"; }; then
	: >"$work/podman.ms"
	for ((r = 0; r < RUNS; r++)); do
		port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		t0=$(now_ns)
		pod=$(podman "${podman_run[@]}" -d -p "127.0.0.1:$port:8080" localhost/perf/httpd:latest)
		first_200 "http://127.0.0.1:$port/"
		echo $(( ($(now_ns) - t0) / 1000000 )) >>"$work/podman.ms"
		podman rm -f -t 0 "$pod" >/dev/null
		pod=
	done
	podman_ms=$(median <"$work/podman.ms")
	printf 'podman: podman run -> first 200: median %s ms; ratio launch/podman %.2f (target <= 0.2)\n' \
		"$podman_ms" "$(echo "$launch_ms / $podman_ms" | bc -l)"
else
	printf 'podman: cannot run a container here (%s): no ratio\n' \
		"$(head -c 200 "$work/podman.err" 2>/dev/null | tr '\n' ' ')"
fi
