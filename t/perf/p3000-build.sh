#!/usr/bin/env bash
#
# p3000-build.sh: one Dockerfile (FROM the busybox base, a RUN, a COPY of
# a few hundred files, a RUN after it) built by apphub's native engine and
# by podman in the same run:
#
#   cold      no cache (native: an empty build cache; podman: --no-cache)
#   cached    an unchanged rebuild
#   onefile   a rebuild after one copied file changed
#
# Median wall-clock times of RUNS runs each, and native/podman ratios;
# "native" keeps its root file systems in STATE/build-tmp (the default),
# "native-shm" in /dev/shm (APPHUB_BUILD_TMPDIR), when that is a tmpfs.
# Target (reported, never failed on): <= 0.3x podman in each case.
# podman runs with --cgroup-manager=cgroupfs --isolation=chroot, as
# `apphub image build --engine podman` runs it here; the base image is
# loaded into podman first, outside the timings.
#
# Environment: APPHUB (default ../../apphub from this script), RUNS (5),
# FILES (300), KEEP=1 keeps the work directory.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
APPHUB=${APPHUB:-$here/../../apphub}
RUNS=${RUNS:-5}
FILES=${FILES:-300}
[[ -x $APPHUB ]] || { echo "p3000-build: no apphub binary at $APPHUB" >&2; exit 1; }
APPHUB=$(cd "$(dirname "$APPHUB")" && pwd)/$(basename "$APPHUB")
command -v bwrap >/dev/null || { echo "p3000-build: bwrap is not installed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/apphub-p3000.XXXXXX")
podman_ok=
cleanup() {
	[[ -n $podman_ok ]] && podman --cgroup-manager=cgroupfs rmi -f p3000:latest >/dev/null 2>&1
	if [[ ${KEEP:-} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
unset XDG_STATE_HOME APPHUB_BUILD_ENGINE
export APPHUB_HOME=$work/state PATH=$(dirname "$APPHUB"):$PATH

"$here/../../contrib/base-images/busybox.sh" >/dev/null
ctx=$work/ctx
mkdir -p "$ctx/files"
for i in $(seq "$FILES"); do
	head -c $((500 + i * 37 % 4000)) /dev/zero | tr '\0' "$(printf '\\%03o' $((97 + i % 26)))" \
		>"$ctx/files/f$i.txt"
done
cat >"$ctx/Dockerfile" <<'DF'
FROM apphub/busybox:latest
RUN mkdir -p /srv/app && echo prepared >/srv/app/prepared
COPY files/ /srv/app/files/
RUN ls /srv/app/files | wc -l >/srv/app/count
CMD ["sh"]
DF

now() { date +%s%N; }
# median of numbers on stdin (ms)
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

native() {
	local t0
	t0=$(now)
	APPHUB_BUILD_TMPDIR=$tmpdir apphub -q image build -t p3000:latest "$ctx" >/dev/null
	echo $((($(now) - t0) / 1000000))
}
podman_build() {
	local t0
	t0=$(now)
	podman --cgroup-manager=cgroupfs build -q --isolation=chroot -t p3000:latest "$@" "$ctx" >/dev/null
	echo $((($(now) - t0) / 1000000))
}

if command -v podman >/dev/null && podman --cgroup-manager=cgroupfs info >/dev/null 2>&1; then
	apphub image export apphub/busybox:latest "$work/base.tar"
	podman --cgroup-manager=cgroupfs load -q -i "$work/base.tar" >/dev/null
	podman_ok=1
fi

shm=
[[ $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs && -w /dev/shm ]] && shm=1
declare -A res
for mode in native native-shm podman; do
	[[ $mode == podman && -z $podman_ok ]] && continue
	[[ $mode == native-shm && -z $shm ]] && continue
	tmpdir=
	[[ $mode == native-shm ]] && tmpdir=/dev/shm
	cold=() cached=() onefile=()
	for r in $(seq "$RUNS"); do
		if [[ $mode == native* ]]; then
			rm -rf "$APPHUB_HOME/build-cache"
			cold+=("$(native)")
			cached+=("$(native)")
			echo "run $r" >"$ctx/files/f1.txt"
			onefile+=("$(native)")
		else
			cold+=("$(podman_build --no-cache)")
			cached+=("$(podman_build)")
			echo "run $r podman" >"$ctx/files/f1.txt"
			onefile+=("$(podman_build)")
		fi
	done
	res[$mode,cold]=$(printf '%s\n' "${cold[@]}" | median)
	res[$mode,cached]=$(printf '%s\n' "${cached[@]}" | median)
	res[$mode,onefile]=$(printf '%s\n' "${onefile[@]}" | median)
done

printf 'p3000-build: %s files, %s runs, medians in ms\n' "$FILES" "$RUNS"
ratio() { [[ -n $podman_ok && -n $1 ]] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", b ? a / b : 0 }' || echo -; }
printf '%-10s %10s %10s %10s %8s %8s\n' case native native-shm podman ratio ratio-shm
for c in cold cached onefile; do
	printf '%-10s %10s %10s %10s %8s %8s\n' "$c" "${res[native,$c]}" "${res[native-shm,$c]:--}" \
		"${res[podman,$c]:--}" "$(ratio "${res[native,$c]}" "${res[podman,$c]:-}")" \
		"$(ratio "${res[native-shm,$c]:-}" "${res[podman,$c]:-}")"
done
echo "target: <= 0.30x podman in each case"
