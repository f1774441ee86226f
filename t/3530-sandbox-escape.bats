#!/usr/bin/env bats
# What a Dockerfile's RUN and a launched app cannot reach, even with
# apphub running as root (issue 10, finding 1): the host's disk and
# devices, host root's ids and capabilities, the kernel's namespaces and
# mounts (seccomp), and past the build limits (processes, memory, /tmp).

bats_require_minimum_version 1.5.0

load 'test_helper/launch'

setup_file() {
	command -v bwrap >/dev/null || skip 'bwrap is not installed'
	launch_setup_file
}
setup() {
	launch_setup
	C=$T/ctx
	mkdir -p "$C"
}
teardown() {
	launch_teardown
	[ -z "${BUILD_PID:-}" ] || kill "$BUILD_PID" 2>/dev/null || true
}

# dockerfile LINES...: the context's Dockerfile, FROM apphub/busybox.
dockerfile() {
	printf '%s\n' 'FROM apphub/busybox' "$@" >"$C/Dockerfile"
}

@test "RUN cannot make the host disk's device node and mount it, even as root" {
	[ "$(id -u)" = 0 ] || skip 'the hole is apphub running as root'
	# The host's root device and file system, as the attack of the issue used them.
	dev=$(stat -c '%Hd %Ld' /)
	fstype=$(stat -f -c %T / | sed 's/ext2\/ext3/ext4/')
	marker=$T/escaped
	dockerfile "RUN mkdir -p /mnt/d /mnt/h && mount -t tmpfs none /mnt/d && mknod /mnt/d/disk b $dev && mount -t $fstype /mnt/d/disk /mnt/h && id >/mnt/h$marker"
	run -1 apphub image build -t escape:1 "$C"
	refute [ -e "$marker" ]
	assert_output --regexp 'not permitted|permission denied'
	# Without the tmpfs: a device node on the root file system is refused too.
	dockerfile "RUN mknod /disk b $dev && mkdir -p /mnt/h && mount /disk /mnt/h && id >/mnt/h$marker"
	run -1 apphub image build -t escape:2 "$C"
	refute [ -e "$marker" ]
	assert_output --regexp 'not permitted|permission denied'
}

@test "RUN holds no file its caller had open: only its stdio reaches the sandbox" {
	# A descriptor apphub inherited without close-on-exec (here fd 9, open
	# for writing on a host file) must not pass through bwrap to RUN.
	: >"$T/host-file"
	dockerfile 'RUN { echo escaped >&9; } 2>/dev/null; ls /proc/self/fd | tr "\n" " " >/fds'
	run -0 apphub -q image build -t fds:1 "$C" 9>>"$T/host-file"
	run -0 cat "$T/host-file"
	refute_output --partial escaped
	apphub image unpack fds:1 "$T/root" >/dev/null
	# ls's own descriptors: stdin, stdout, stderr and the directory it reads
	run -0 cat "$T/root/fds"
	assert_output '0 1 2 3 '
}

@test "RUN's root is 0 inside, an unprivileged uid on the host; its files are 0 in the layer" {
	[ "$(id -u)" = 0 ] || skip 'the mapping is for apphub running as root'
	dockerfile 'RUN id -u >/inside-uid && echo x >/root-file && mkdir /owned && chown 1234:1234 /owned' \
		'RUN sleep 4321 & wait'
	apphub -q image build -t ids:1 "$C" >"$T/build.log" 2>&1 &
	BUILD_PID=$!
	pid=
	for i in $(seq 300); do
		pid=$(pgrep -f '^sleep 4321$' | head -1) && [ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ]
	# The kernel's own word: the sleep's real, effective, saved and fs uids on the host.
	run -0 awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status"
	assert_output '200000 200000 200000 200000'
	kill "$pid"
	wait "$BUILD_PID" || true
	BUILD_PID=
	# The first step's layer records what root wrote as owned by 0, as in an image.
	dockerfile 'RUN id -u >/inside-uid && echo x >/root-file && mkdir /owned && chown 1234:1234 /owned'
	run -0 apphub -q image build -t ids:2 "$C"
	apphub image unpack ids:2 "$T/root" >/dev/null
	run -0 cat "$T/root/inside-uid"
	assert_output 0
	run -0 stat -c '%u:%g' "$T/root/root-file" "$T/root/owned"
	assert_output $'0:0\n1234:1234'
}

# The bomb is bounded (500 processes) and the builds have a timeout, so
# that a tree without the limits is not harmed by its own test.
@test "a fork bomb in RUN ends the step with the process limit, and the host is unharmed" {
	dockerfile 'RUN i=0; while [ $i -lt 500 ]; do sleep 1001 & i=$((i + 1)); done; wait'
	APPHUB_BUILD_PIDS=64 run -1 apphub image build --timeout 60s -t bomb:1 "$C"
	assert_output --partial 'RUN reached its process limit (64 processes)'
	# Nothing of it is left running on the host.
	run -1 pgrep -f '^sleep 1001$'
}

@test "a memory hog in RUN ends the step with the memory limit" {
	dockerfile 'RUN dd if=/dev/zero of=/dev/null bs=300M count=1; sleep 1002'
	APPHUB_BUILD_MEMORY=64M run -1 apphub image build --timeout 60s -t hog:1 "$C"
	assert_output --partial 'RUN ran out of memory (limit 64 MiB)'
	run -1 pgrep -f '^sleep 1002$'
	APPHUB_BUILD_MEMORY=lots run -1 apphub image build -t hog:2 "$C"
	assert_output --partial "invalid APPHUB_BUILD_MEMORY 'lots'"
}

@test "a write to RUN's /tmp stops at the tmpfs size" {
	dockerfile 'RUN dd if=/dev/zero of=/tmp/big bs=1024 count=8192'
	APPHUB_BUILD_TMP_SIZE=$((1 << 20)) run -1 apphub image build -t tmp:1 "$C"
	assert_output --partial 'No space left on device'
	# the default is larger than a small file
	dockerfile 'RUN dd if=/dev/zero of=/tmp/big bs=1024 count=8192'
	run -0 apphub image build -t tmp:2 "$C"
}

@test "a RUN's writes to its layer stop at the writable layer's limit" {
	# many small files (no one file reaches RLIMIT_FSIZE), written slowly enough to be seen
	dockerfile 'RUN i=0; while [ $i -lt 400 ]; do dd if=/dev/zero of=/f$i bs=64k count=1 2>/dev/null; i=$((i+1)); done; sleep 1003'
	APPHUB_BUILD_DISK=4M run -1 apphub image build --timeout 60s -t disk:1 "$C"
	assert_output --partial "RUN wrote more than its writable layer's limit (4 MiB)"
	run -1 pgrep -f '^sleep 1003$'
	# one sparse file of a logical size past the limit: the layer would hold it whole
	dockerfile 'RUN truncate -s 1G /sparse'
	APPHUB_BUILD_DISK=16M run -1 apphub image build -t disk:2 "$C"
	assert_output --partial "RUN wrote more than its writable layer's limit (16 MiB)"
	# what fits goes through
	dockerfile 'RUN dd if=/dev/zero of=/small bs=64k count=4'
	APPHUB_BUILD_DISK=4M run -0 apphub image build -t disk:3 "$C"
}

@test "RUN: no namespaces, mounts or capabilities past the profile (seccomp)" {
	dockerfile 'RUN grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; unshare -U true || echo UNSHARE-DENIED; unshare -m true || echo UNSHARE-M-DENIED; mount -t tmpfs none /mnt || echo MOUNT-DENIED; nsenter -t 1 -m true || echo NSENTER-DENIED'
	run -0 apphub image build -t sc:1 "$C"
	assert_line --regexp '^Seccomp:[[:space:]]+2$'
	assert_line --regexp '^NoNewPrivs:[[:space:]]+1$'
	assert_output --partial UNSHARE-DENIED
	assert_output --partial UNSHARE-M-DENIED
	assert_output --partial MOUNT-DENIED
	assert_output --partial NSENTER-DENIED
	# Forks still work: clone3 is refused with ENOSYS, and libc falls back to clone.
	dockerfile 'RUN sh -c "true" && (true) && echo FORKED'
	run -0 apphub image build -t sc:2 "$C"
	assert_output --partial FORKED
}

@test "a launched app has the same profile: seccomp, no mounts, no device nodes" {
	[ "$(id -u)" = 0 ] || skip 'the mapping is for apphub running as root'
	dev=$(stat -c '%Hd %Ld' /)
	apphub -q launch web --image test/shell --id prof --port 8080 --command \
		"grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; mount -t tmpfs none /mnt || echo MOUNT-DENIED; mknod /tmp/disk b $dev || echo MKNOD-DENIED; unshare -U true || echo UNSHARE-DENIED; exec httpd -f -p 8080 -h /www" >/dev/null
	run -0 apphub launch logs prof
	assert_line --regexp '^Seccomp:[[:space:]]+2$'
	assert_line --regexp '^NoNewPrivs:[[:space:]]+1$'
	assert_output --partial MOUNT-DENIED
	assert_output --partial MKNOD-DENIED
	assert_output --partial UNSHARE-DENIED
}
