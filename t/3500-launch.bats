#!/usr/bin/env bats
# apphub launch: a built image in a sandbox, reached through its preview URL.

bats_require_minimum_version 1.5.0

load 'test_helper/launch'

setup_file() { launch_setup_file; }
setup() { launch_setup; }
teardown() { launch_teardown; }

@test "launch -h prints usage; no succeeded build is a conflict; bad requests" {
	run -0 apphub launch -h
	assert_output --partial 'usage: apphub launch [start] <app>'
	run -129 apphub launch start
	run -3 apphub launch web
	assert_output --partial "app 'web' has no succeeded build to launch"
	run -2 apphub launch nosuch --image test/httpd
	run -1 apphub launch web --image test/httpd --network host
	assert_output --partial 'must be none or loopback'
	run -1 apphub launch web --image test/httpd --id '../x'
	run -1 apphub launch web --image test/httpd --memory lots
	run -1 apphub launch web --image test/httpd --env '1BAD=x'
	run -0 apphub launch ls
	assert_output ''
	run -2 apphub launch show nosuch
	run -2 apphub launch stop nosuch
}

@test "the latest succeeded build runs and its page answers through the preview URL" {
	add_build web test/httpd:latest b-1
	run -0 apphub --json launch web --id first
	echo "$output" >"$T/l.json"
	run -0 jq -r '[.id, .repositoryId, .buildId, .status, .port, .network] | join(" ")' "$T/l.json"
	assert_output 'first web b-1 running 8080 loopback'
	url=$(jq -r .previewUrl "$T/l.json")
	port=$(jq -r .hostPort "$T/l.json")
	[ "$url" = "http://127.0.0.1:$port/" ]
	run -0 curl -sf "$url"
	assert_output '<h1>hello from apphub</h1>'
	# The relay serves many requests, one after another and at once.
	for i in 1 2 3 4 5 6 7 8; do curl -sf "$url" >"$T/out$i" & done
	wait
	for i in 1 2 3 4 5 6 7 8; do grep -q 'hello from apphub' "$T/out$i"; done
	run -0 apphub launch ls web
	assert_output --partial 'first'
	assert_output --partial 'running'
	run -0 apphub --json launch show first
	run -0 jq -r '.limits.memory.enforcedBy | index("rlimit") != null' <<<"$output"
	assert_output true
	run -0 apphub launch logs first
	assert_output --partial 'running: port 8080 answers'
	assert_output --partial 'response:200'
	# options after the id, as every other command takes them
	run -0 apphub launch show first --json
	assert_equal "$(jq -r .id <<<"$output")" first
	run -0 apphub launch logs first -q
	assert_output --partial 'response:200'
	# a page of the log has a build log's shape: where the next page starts
	run -0 apphub launch logs first --json
	assert_equal "$(jq -c keys <<<"$output")" '["data","id","nextOffset","offset","size","status"]'
	assert_equal "$(jq '.nextOffset == .offset + (.data | utf8bytelength)' <<<"$output")" true
	# An explicit build; a build of another app; a duplicate launch id.
	run -0 apphub -q launch web --build b-1 --id second
	assert_output second
	add_build other test/httpd:latest b-other
	run -1 apphub launch web --build b-other
	assert_output --partial "is a build of 'other'"
	run -3 apphub launch web --id first
	assert_output --partial "launch 'first' already exists"
	run -0 apphub launch stop first --json
	assert_equal "$(jq -r .status <<<"$output")" stopped
	run -0 apphub launch stop second
	assert_output 'second stopped'
	run -3 apphub launch stop first
	assert_output --partial 'is stopped already'
	run -7 curl -s "$url"
	run -0 sqlite3 "$APPHUB_HOME/apphub.db" \
		"SELECT type FROM events WHERE subject = 'first' ORDER BY id"
	assert_output $'launch.pending\nlaunch.starting\nlaunch.running\nlaunch.stopping\nlaunch.stopped'
	[ -z "$(launch_procs first)" ]
	[ ! -e "$APPHUB_HOME/launches/first/rootfs" ]
}

@test "two launches of one image with the same port run side by side" {
	run -0 apphub --json launch web --image test/httpd --id a
	url_a=$(jq -r .previewUrl <<<"$output")
	run -0 apphub --json launch web --image test/httpd --id b
	url_b=$(jq -r .previewUrl <<<"$output")
	[ "$url_a" != "$url_b" ]
	run -0 curl -sf "$url_a"
	assert_output --partial hello
	run -0 curl -sf "$url_b"
	assert_output --partial hello
	# Each has its own writable root: what one writes the other does not see.
	run -0 apphub launch ls
	assert_line --regexp '^a +web +running'
	assert_line --regexp '^b +web +running'
}

@test "one launch id in two state directories: stopping one leaves the other running" {
	local other=$T/other
	cp -a "$BATS_FILE_TMPDIR/template" "$other"
	run -0 apphub --json launch web --image test/httpd --id twin
	url_here=$(jq -r .previewUrl <<<"$output")
	run -0 env APPHUB_HOME="$other" apphub --json launch web --image test/httpd --id twin
	url_there=$(jq -r .previewUrl <<<"$output")
	# each has cgroups of its own
	[ "$(ls -d /sys/fs/cgroup/*/apphub-*-twin /sys/fs/cgroup/apphub-*-twin 2>/dev/null |
		sed 's|.*/||' | sort -u | wc -l)" -eq 2 ]
	run -0 apphub launch stop twin
	run -0 curl -sf "$url_there"
	assert_output --partial hello
	run -0 env APPHUB_HOME="$other" apphub --json launch show twin
	assert_equal "$(jq -r .status <<<"$output")" running
	run -0 env APPHUB_HOME="$other" apphub -q launch stop twin
	run -7 curl -sf "$url_here"
}

@test "the preview URL base comes from APPHUB_PREVIEW_BASE" {
	APPHUB_PREVIEW_BASE=http://preview.example run -0 apphub --json launch web --image test/httpd
	run -0 jq -r .previewUrl <<<"$output"
	assert_output --regexp '^http://preview\.example:[0-9]+/$'
}

@test "an app that exits, or never answers, fails with its log tail" {
	run -1 apphub launch web --image test/shell --id crash --command 'echo boom >&2; exit 3'
	assert_output --partial "launch 'crash' failed: the app exited with status 3"
	assert_output --partial boom
	run -0 apphub --json launch show crash
	run -0 jq -r '.status, .exitStatus' <<<"$output"
	assert_output $'failed\n3'
	export APPHUB_LAUNCH_START_TIMEOUT_MS=1500
	run -1 apphub launch web --image test/shell --id silent --command 'sleep 60'
	assert_output --partial 'did not answer on port 3000 within 1.5 s'
	[ -z "$(launch_procs silent)" ]
}

@test "--no-wait returns while starting; --port and env PORT choose the port" {
	run -0 apphub --json launch web --image test/shell --no-wait --env PORT=9090 \
		--command 'sleep 0.5; exec httpd -f -p $PORT -h /www'
	id=$(jq -r .id <<<"$output")
	run -0 jq -r .status <<<"$output"
	assert_output --regexp '^(pending|starting)$'
	wait_status "$id" running
	run -0 apphub --json launch show "$id"
	run -0 jq -r .port <<<"$output"
	assert_output 9090
	run -0 curl -sf "$(apphub --json launch show "$id" | jq -r .previewUrl)"
	assert_output --partial hello
	run -0 apphub --json launch web --image test/httpd --port 7000 \
		--command 'exec httpd -f -p 7000 -h /www'
	run -0 jq -r .port <<<"$output"
	assert_output 7000
}

@test "the TTL stops a launch" {
	run -0 apphub -q launch web --image test/httpd --ttl 1s --id brief
	run -0 apphub --json launch show brief
	run -0 jq -r '.ttlSeconds, (.expiresAt != null)' <<<"$output"
	assert_output $'1\ntrue'
	wait_status brief stopped 10
	run -0 apphub --json launch show brief
	run -0 jq -r .errorMessage <<<"$output"
	assert_output 'ttl expired'
	[ -z "$(launch_procs brief)" ]
}

@test "APPHUB_MAX_LAUNCHES refuses one launch too many" {
	export APPHUB_MAX_LAUNCHES=1
	run -0 apphub -q launch web --image test/httpd
	run -3 apphub launch web --image test/httpd
	assert_output --partial 'APPHUB_MAX_LAUNCHES'
}

@test "kill -9 of the supervisor: launch ls reconciles and nothing is left" {
	run -0 apphub --json launch web --image test/httpd --id doomed
	pid=$(jq -r .pid <<<"$output")
	[ -n "$(launch_procs doomed)" ]
	kill -9 "$pid"
	for i in $(seq 50); do [ -z "$(launch_procs doomed)" ] && break; sleep 0.1; done
	[ -z "$(launch_procs doomed)" ]
	run -0 apphub launch ls
	assert_line --regexp '^doomed +web +failed'
	run -0 apphub --json launch show doomed
	run -0 jq -r .errorMessage <<<"$output"
	assert_output --partial 'supervisor exited unexpectedly'
	! ls /sys/fs/cgroup/*/ /sys/fs/cgroup/*/*/ 2>/dev/null | grep -q 'apphub-[0-9a-f]*-doomed'
	run -3 apphub launch stop doomed
}

@test "kill -9 of the supervisor while the app starts: its cgroups and sandbox go too" {
	run -0 apphub -q launch web --image test/shell --id early --no-wait --command 'sleep 60'
	# The first starting record already names the cgroups and the sandbox.
	for i in $(seq 50); do
		[ "$(apphub --json launch show early | jq -r '.sandboxPid != null')" = true ] && break
		sleep 0.05
	done
	run -0 apphub --json launch show early
	pid=$(jq -r .pid <<<"$output")
	run -0 jq -r .status <<<"$output"
	assert_output starting
	kill -9 "$pid"
	for i in $(seq 50); do [ -z "$(launch_procs early)" ] && break; sleep 0.1; done
	[ -z "$(launch_procs early)" ]
	run -0 apphub launch ls
	assert_line --regexp '^early +web +failed'
	! ls /sys/fs/cgroup/*/ /sys/fs/cgroup/*/*/ 2>/dev/null | grep -q 'apphub-[0-9a-f]*-early'
	[ -z "$(pgrep -u 100000 -f 'sleep 60')" ]
}

@test "--engine podman launches the image through podman, relayed the same way" {
	command -v podman >/dev/null || skip "podman is not installed"
	command -v runc >/dev/null || skip "podman needs runc on this machine (crun cannot set RLIMIT_NOFILE)"
	add_build web test/httpd:latest b-1
	run -0 apphub --json launch web --engine podman --id pod
	echo "$output" >"$T/l.json"
	run -0 jq -r '[.status, .engine] | join(" ")' "$T/l.json"
	assert_output 'running podman'
	run -0 curl -sf "$(jq -r .previewUrl "$T/l.json")"
	assert_output '<h1>hello from apphub</h1>'
	run -0 apphub launch stop pod
	# The container went with the launch.
	[[ $(podman ps -a --format '{{.Names}}') != *apphub-pod* ]]
}

@test "logs: text that is not UTF-8 comes as U+FFFD, the rest as written" {
	run -0 apphub -q launch web --image test/shell --id bytes --port 8080 \
		--command 'printf "caf\303\251 \377 end\n"; exec httpd -f -p 8080 -h /www'
	run -0 apphub launch logs bytes --json
	run -0 jq -r .data <<<"$output"
	assert_output --partial $'caf\u00e9 \ufffd end'
}
