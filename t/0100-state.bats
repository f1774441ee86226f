#!/usr/bin/env bats
# The state directory: its modes, and apphub gc reclaiming what crashed
# builds and imports left in it (never what a live process uses).

bats_require_minimum_version 1.5.0

load 'test_helper/common'

setup() {
	common_setup
	T=$(cd "$BATS_TEST_TMPDIR" && pwd -P)
	MK="python3 $BATS_TEST_DIRNAME/test_helper/image.py"
}

teardown() {
	local p
	for p in ${KILL_PIDS:-}; do
		kill -9 "$p" 2>/dev/null
	done
	[[ -n ${MARK:-} ]] && pkill -9 -f "$MARK"
	return 0
}

# mode PATH: its permission bits in octal.
mode() {
	stat -c %a "$1"
}

# loose_files: files and directories of the state that group or others may
# read, write or enter, but those of image contents (unpacked layers,
# launches' root file systems), which keep the modes the image gives them.
loose_files() {
	find "$APPHUB_HOME" \( -path "$APPHUB_HOME/images/unpacked/*" -o -path "$APPHUB_HOME/launches/*/rootfs" -o -path "$APPHUB_HOME/launches/*/rw" \
		\) -prune -o \
		-type f -perm /077 -print
}

# fifo_closed PID: PID has no descriptor open on $T/fifo.
fifo_closed() {
	! ls -l "/proc/$1/fd" 2>/dev/null | grep -q -- "-> $T/fifo"
}

# wait_for CMD...: until CMD succeeds (the test's own timeout bounds it).
wait_for() {
	until "$@"; do
		sleep 0.1
	done
}

@test "a fresh state directory is 0700 and its database 0600" {
	[ ! -e "$APPHUB_HOME" ]
	apphub apps add --id app-a https://example.com/a.git >/dev/null
	assert_equal "$(mode "$APPHUB_HOME")" 700
	assert_equal "$(mode "$APPHUB_HOME/apphub.db")" 600
	for f in "$APPHUB_HOME"/apphub.db-*; do
		[ -e "$f" ] || continue
		assert_equal "$(mode "$f")" 600
	done
	run -0 loose_files
	assert_output ''
}

@test "a state directory with looser modes is tightened when opened" {
	apphub apps add --id app-a https://example.com/a.git >/dev/null
	chmod 755 "$APPHUB_HOME"
	chmod 644 "$APPHUB_HOME/apphub.db"
	run -0 apphub apps ls
	assert_equal "$(mode "$APPHUB_HOME")" 700
	assert_equal "$(mode "$APPHUB_HOME/apphub.db")" 600
}

@test "image files are 0600: blobs, index, locks" {
	[[ -x $BATS_TEST_DIRNAME/../apphub-image ]] || skip 'apphub-image is not built'
	$MK rootfs "$T/rootfs.tar"
	apphub image import "$T/rootfs.tar" m/x >/dev/null
	apphub image unpack m/x "$T/root"
	run -0 loose_files
	assert_output ''
}

@test "gc -h, usage errors, nothing to do" {
	run -0 apphub gc -h
	assert_output --partial 'usage: apphub gc [-n | --dry-run]'
	run -129 apphub gc extra
	run -0 apphub gc
	assert_output 'freed 0 bytes'
	run -0 apphub gc --json
	assert_equal "$(jq -c . <<<"$output")" '{"removed":[],"bytes":0,"dryRun":false}'
}

@test "gc removes what a killed import left, never a live import's file" {
	[[ -x $BATS_TEST_DIRNAME/../apphub-image ]] || skip 'apphub-image is not built'
	$MK rootfs "$T/rootfs.tar"
	apphub image ls >/dev/null
	# the import reads the tar twice from a fifo; the second time it stalls midway
	mkfifo "$T/fifo"
	apphub image import "$T/fifo" stall/x 3>&- &
	local pid=$!
	KILL_PIDS=$pid
	cat "$T/rootfs.tar" >"$T/fifo"
	# the first read is over once the importer holds the fifo no more
	wait_for fifo_closed "$pid"
	{ head -c 2048 "$T/rootfs.tar"; exec sleep 600; } >"$T/fifo" 3>&- &
	KILL_PIDS="$KILL_PIDS $!"
	wait_for compgen -G "$APPHUB_HOME/images/tmp/blob-*"
	local left
	left=$(compgen -G "$APPHUB_HOME/images/tmp/blob-*")
	# alive: gc leaves it, and so does another image command
	run -0 apphub gc --json
	assert_equal "$(jq -c .removed <<<"$output")" '[]'
	apphub image ls >/dev/null
	[ -e "$left" ]
	kill -9 "$pid"
	wait "$pid" || true
	[ -e "$left" ]
	run -0 apphub gc -n
	assert_line --regexp "^would remove images/tmp/${left##*/} \\([0-9]+ bytes\\)$"
	[ -e "$left" ]
	run -0 apphub gc
	assert_line --regexp "^removed images/tmp/${left##*/} \\([0-9]+ bytes\\)$"
	assert_line --regexp '^freed [0-9]+ bytes$'
	[ ! -e "$left" ]
}

@test "a killed build's directories are reclaimed by the next build, never a running one's" {
	[[ -x $BATS_TEST_DIRNAME/../apphub-image ]] || skip 'apphub-image is not built'
	command -v bwrap >/dev/null || skip 'bwrap is not installed'
	PATH="$BATS_TEST_DIRNAME/..:$PATH" "$BATS_TEST_DIRNAME/../contrib/base-images/busybox.sh" >/dev/null
	MARK=gc-sleep-$$-$RANDOM
	mkdir -p "$T/ctx"
	printf 'FROM apphub/busybox:latest\nRUN echo %s >/big; sleep 600\n' "$MARK" >"$T/ctx/Dockerfile"
	apphub -q image build -t sleepy:1 "$T/ctx" 3>&- &
	local pid=$!
	KILL_PIDS=$pid
	wait_for pgrep -f "$MARK"
	local left
	left=$(compgen -G "$APPHUB_HOME/build-tmp/*")
	[ -d "$left" ]
	# a second build while the first runs leaves it alone
	printf 'FROM scratch\nCOPY Dockerfile /\n' >"$T/ctx/Dockerfile.small"
	run -0 apphub -q image build -t small:1 -f "$T/ctx/Dockerfile.small" "$T/ctx"
	[ -d "$left" ]
	run -0 apphub gc --json
	assert_equal "$(jq -c .removed <<<"$output")" '[]'
	# the RUN's cgroups, named after the build's pid
	local cgroups
	cgroups=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "apphub-run-$pid-*")
	kill -9 "$pid"
	wait "$pid" || true
	pkill -9 -f "$MARK" || true
	[ -d "$left" ]
	if [[ -n $cgroups ]]; then
		run -0 apphub gc -n
		assert_line --partial "would remove ${cgroups%%$'\n'*}"
		[ -d "${cgroups%%$'\n'*}" ]
	fi
	# the next build reclaims it, and the cgroups
	run -0 apphub -q image build -t small:2 -f "$T/ctx/Dockerfile.small" "$T/ctx"
	[ ! -e "$left" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -type d -name "apphub-run-$pid-*")" ]
	run -0 find "$APPHUB_HOME/build-tmp" -mindepth 1
	assert_output ''
	run -0 loose_files
	assert_output ''
}

@test "the next ingest reclaims what a dead process left, as the next build does" {
	load 'test_helper/ingest'
	# an entry no process holds a lock on is a dead owner's
	mkdir -p "$APPHUB_HOME/build-tmp/ctx-dead" "$APPHUB_HOME/images/tmp"
	echo leftover >"$APPHUB_HOME/build-tmp/ctx-dead/file"
	echo leftover >"$APPHUB_HOME/images/tmp/blob-dead"
	commit_files "$T/repo" Dockerfile "FROM scratch"
	run -0 apphub apps add "$T/repo" --id leftover-app
	run -0 apphub ingest leftover-app
	[ ! -e "$APPHUB_HOME/build-tmp/ctx-dead" ]
	[ ! -e "$APPHUB_HOME/images/tmp/blob-dead" ]
}
