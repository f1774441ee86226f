#!/usr/bin/env bats
# apphub launch: what the sandbox keeps out, and each limit of the profile.

bats_require_minimum_version 1.5.0

load 'test_helper/launch'

setup_file() { launch_setup_file; }
setup() { launch_setup; }
teardown() {
	launch_teardown
	[ -z "${HOSTPID:-}" ] || kill "$HOSTPID" 2>/dev/null || true
}

# run_checks ID SCRIPT [launch options...]: runs SCRIPT in a launch, then
# serves; prints the launch's log.
run_checks() {
	local id=$1 script=$2
	shift 2
	apphub -q launch web --image test/shell --id "$id" --port 8080 "$@" \
		--command "$script; exec httpd -f -p 8080 -h /www" >/dev/null
	apphub launch logs "$id"
}

@test "isolation: no host files, writes stay in the launch, own pid/uts namespaces" {
	echo secret >"$T/host-secret"
	run -0 run_checks iso "cat $T/host-secret || echo NO-SECRET; ls /work /root/.ssh 2>&1 | head -2;
		echo x >/written-by-app && echo WROTE; hostname; echo PID1=\$(cat /proc/1/cmdline | tr '\\0' ' ');
		ls / | tr '\\n' ' '; echo; id -u"
	assert_output --partial NO-SECRET
	refute_output --partial 'secret'$'\n'
	assert_output --partial WROTE
	assert_output --partial apphub
	assert_line --partial 'PID1=bwrap'
	# The write went to the launch's own layer, not to the image or the host.
	[ ! -e /written-by-app ]
	! find "$APPHUB_HOME/launches/rootfs-cache" -name written-by-app | grep -q .
	# Its root is root only in its user namespace: on the host it is uid 100000.
	pid=$(apphub --json launch show iso | jq -r .sandboxPid)
	run -0 ps -o uid= -p "$pid"
	assert_output --regexp '100000'
}

@test "--network none and loopback reach no host loopback service" {
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	mkdir -p "$T/srv" && echo host-only >"$T/srv/index.html"
	python3 -m http.server "$port" --bind 127.0.0.1 --directory "$T/srv" >/dev/null 2>&1 &
	HOSTPID=$!
	for i in $(seq 50); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
	run -0 curl -sf "http://127.0.0.1:$port/"
	assert_output host-only
	run -0 run_checks net-none "wget -q -T 2 -O- http://127.0.0.1:$port/ || echo UNREACHABLE; ip link 2>/dev/null | grep -c '^[0-9]'" \
		--network none
	assert_output --partial UNREACHABLE
	refute_output --partial host-only
	run -0 apphub --json launch show net-none
	run -0 jq -r '.previewUrl, .hostPort, .status' <<<"$output"
	assert_output $'null\nnull\nrunning'
	run -0 run_checks net-lo "wget -q -T 2 -O- http://127.0.0.1:$port/ || echo UNREACHABLE"
	assert_output --partial UNREACHABLE
}

@test "memory: an allocation past --memory fails, the launch goes on" {
	run -0 run_checks mem "dd if=/dev/zero of=/dev/null bs=200M count=1 2>&1 || echo ALLOC-FAILED" \
		--memory 64M
	assert_output --partial ALLOC-FAILED
	run -0 apphub --json launch show mem
	run -0 jq -r '.limits.memory.value' <<<"$output"
	assert_output 67108864
}

@test "pids: a fork bomb is held at --pids" {
	run -0 run_checks bomb "(i=0; while [ \$i -lt 40 ]; do sleep 2 & i=\$((i+1)); done; echo RUNNING=\$(ls /proc | grep -c '^[0-9]')) 2>&1 | sort -u | tail -3; wait" \
		--pids 20
	assert_output --regexp "can't fork|Resource temporarily unavailable"
	run -0 curl -sf "$(apphub --json launch show bomb | jq -r .previewUrl)"
	assert_output --partial hello
}

@test "nofile: open files stop at --nofile" {
	run -0 run_checks files "echo NOFILE=\$(ulimit -n); (i=3; while [ \$i -lt 40 ]; do echo OPENED-UP-TO=\$i; eval \"exec \$i</dev/null\" || exit; i=\$((i+1)); done) 2>&1 | tail -2" \
		--nofile 20
	assert_output --partial NOFILE=20
	assert_output --partial OPENED-UP-TO=
	assert_output --partial OPENED-UP-TO=20
	refute_output --partial OPENED-UP-TO=21
}

@test "cpu time: a busy loop is killed at --cpu-time" {
	run -1 apphub launch web --image test/shell --id spin --cpu-time 1 \
		--command 'while :; do :; done'
	assert_output --regexp 'exited with status (152|137)'
	run -0 apphub --json launch show spin
	run -0 jq -r '.limits.cpuTime.enforcedBy[0]' <<<"$output"
	assert_output rlimit
}

@test "disk: filling the writable layer stops at --disk" {
	run -0 run_checks fill "dd if=/dev/zero of=/big bs=1M count=64 2>&1 | grep -i space; ls -la /big | awk '{print \"SIZE=\" \$5}'" \
		--disk 8M
	assert_output --partial 'No space left on device'
	n=$(sed -n 's/.*SIZE=\([0-9]*\).*/\1/p' <<<"$output")
	[ "$n" -le $((8 * 1024 * 1024)) ]
	run -0 apphub --json launch show fill
	run -0 jq -r '.limits.disk.enforcedBy[0]' <<<"$output"
	assert_output tmpfs
}
