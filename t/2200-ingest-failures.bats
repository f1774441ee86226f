#!/usr/bin/env bats
# Ingest failures: bad input fails the app with a readable message in its
# history; attempts, backoff, limits, and workers killed mid-ingest.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/ingest'

setup() {
	ingest_setup
	export APPHUB_INGEST_ATTEMPTS=1
}

teardown() {
	stop_servers
}

# last_message ID: the newest history message
last_message() {
	apphub apps history "$1" --json | jq -r '.data[0].message'
}

# fails ID REPO [add options]: registers, ingests, expects failure (exit 1)
fails() {
	local id=$1 repo=$2
	shift 2
	apphub -q apps add "$repo" --id "$id" "$@"
	run --separate-stderr -1 apphub ingest "$id"
	assert_equal "$(app_field "$id" status)" failed
	assert_equal "$(app_field "$id" errorMessage)" "$(last_message "$id")"
	assert_stderr_partial "apphub: cannot ingest '$id'"
}

@test "unreachable URL" {
	port=$(free_port)
	fails unreach "git://127.0.0.1:$port/nothing.git"
	assert_regex "$(last_message unreach)" "^cannot reach repository 'git://127.0.0.1:$port/nothing.git': "
	run -0 apphub apps history unreach --json
	assert_equal "$(jq -c '[.data[0] | .status, .attempt]' <<<"$output")" '["failed",1]'
	assert_regex "$(jq -r '.data[0].durationMs' <<<"$output")" '^[0-9]+$'
	run -0 apphub events --type app.ingest.failed --json
	assert_equal "$(jq -r '.data[0].data.errorMessage' <<<"$output")" "$(last_message unreach)"
}

@test "missing repository (path and http)" {
	fails gone "$REPOS/not-there"
	assert_equal "$(last_message gone)" "no such repository: $REPOS/not-there"
	start_http "$REPOS"
	fails gone-http "http://127.0.0.1:$HTTP_PORT/not-there.git"
	assert_regex "$(last_message gone-http)" "^cannot reach repository 'http://127.0.0.1:$HTTP_PORT/not-there.git': "
}

@test "an empty repository has no default branch" {
	git init -q -b main "$REPOS/empty"
	fails empty "$REPOS/empty"
	assert_regex "$(last_message empty)" "has no default branch|cannot fetch"
}

@test "no Dockerfile" {
	commit_files "$REPOS/nodocker" README.md 'hello'
	fails nodocker "$REPOS/nodocker"
	assert_equal "$(last_message nodocker)" 'Dockerfile not found, unable to launch app'
}

@test "malformed package.json" {
	commit_files "$REPOS/badpkg" Dockerfile 'FROM scratch' package.json '{"name": "x",'
	fails badpkg "$REPOS/badpkg"
	assert_regex "$(last_message badpkg)" "^invalid 'package.json': line [0-9]+: "
	# not read at all in explicit mode
	ingest_app badpkg-explicit "$REPOS/badpkg" --explicit
	assert_equal "$(app_field badpkg-explicit status)" ready
}

@test "malformed YAML and JSON tag files" {
	commit_files "$REPOS/badyaml" Dockerfile 'FROM scratch' .apphub/tags.yaml $'a: [1, 2\nb: c'
	fails badyaml "$REPOS/badyaml"
	assert_regex "$(last_message badyaml)" "^invalid '.apphub/tags.yaml': line [0-9]+, column [0-9]+: "
	commit_files "$REPOS/badjson" Dockerfile 'FROM scratch' apphub.tags.json '{"a": }'
	fails badjson "$REPOS/badjson"
	assert_regex "$(last_message badjson)" "^invalid 'apphub.tags.json': line 1: "
	commit_files "$REPOS/scalar" Dockerfile 'FROM scratch' apphub.tags.yaml 'just a string'
	fails scalar "$REPOS/scalar"
	assert_equal "$(last_message scalar)" "invalid 'apphub.tags.yaml': must be a mapping of tag keys to values"
}

@test "a YAML alias bomb is refused, not expanded" {
	{
		echo 'a: &a ["x","x","x","x","x","x","x","x","x","x"]'
		prev=a
		for l in b c d e f g h i; do
			printf '%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n' $l $l $prev $prev $prev $prev $prev $prev $prev $prev $prev $prev
			prev=$l
		done
	} >"$BATS_TEST_TMPDIR/bomb.yaml"
	commit_files "$REPOS/bomb" Dockerfile 'FROM scratch' apphub.tags.yaml "$(cat "$BATS_TEST_TMPDIR/bomb.yaml")"
	fails bomb "$REPOS/bomb"
	assert_regex "$(last_message bomb)" "^invalid 'apphub.tags.yaml': line [0-9]+, column [0-9]+: aliases are not supported$"
}

@test "oversized files: Dockerfile and package.json over the per-file limit" {
	commit_files "$REPOS/huge" Dockerfile 'FROM scratch'
	head -c 1100000 /dev/zero | tr '\0' 'x' >>"$REPOS/huge/Dockerfile"
	commit_files "$REPOS/huge"
	fails huge "$REPOS/huge"
	assert_equal "$(last_message huge)" "file 'Dockerfile' is larger than the 1 MiB limit"
	commit_files "$REPOS/hugepkg" Dockerfile 'FROM scratch' package.json '{"name": "long enough, really"}'
	export APPHUB_INGEST_MAX_FILE_BYTES=20
	fails hugepkg "$REPOS/hugepkg"
	assert_equal "$(last_message hugepkg)" "file 'package.json' is larger than the 20 byte limit"
}

@test "symlinks leading outside the repository are refused" {
	mkdir -p "$REPOS/esc"
	git -C "$REPOS/esc" init -q -b main
	ln -s ../../../../../../etc/passwd "$REPOS/esc/Dockerfile"
	commit_files "$REPOS/esc"
	fails esc "$REPOS/esc"
	assert_equal "$(last_message esc)" "symlink 'Dockerfile' leads outside the repository (to '../../../../../../etc/passwd')"
	mkdir -p "$REPOS/abs"
	git -C "$REPOS/abs" init -q -b main
	commit_files "$REPOS/abs" Dockerfile 'FROM scratch'
	ln -s /etc "$REPOS/abs/conf"
	ln -s conf/hostname "$REPOS/abs/package.json"
	commit_files "$REPOS/abs"
	fails abs "$REPOS/abs"
	assert_equal "$(last_message abs)" "symlink 'conf' leads outside the repository (to '/etc')"
	# a loop
	mkdir -p "$REPOS/loop"
	git -C "$REPOS/loop" init -q -b main
	ln -s b "$REPOS/loop/a"
	ln -s a "$REPOS/loop/b"
	ln -s a "$REPOS/loop/Dockerfile"
	commit_files "$REPOS/loop"
	fails loop "$REPOS/loop"
	assert_regex "$(last_message loop)" "^symlink '.*' is part of a loop"
	# nothing was written outside the state directory
	run find "$BATS_TEST_TMPDIR" -newer "$REPOS/loop/.git/HEAD" -type f -not -path "$APPHUB_HOME/*" -not -path "$REPOS/*" -not -name 'separate-stderr*'
	assert_output ''
}

@test "non-UTF-8 file names: passed over by the search, no crash" {
	mkdir -p "$REPOS/latin1/$(printf 'd\xe9j\xe0')"
	printf 'FROM scratch\n' >"$REPOS/latin1/$(printf 'd\xe9j\xe0')/Dockerfile"
	git -C "$REPOS/latin1" init -q -b main
	commit_files "$REPOS/latin1" README.md 'x'
	fails latin1 "$REPOS/latin1"
	assert_equal "$(last_message latin1)" 'Dockerfile not found, unable to launch app'
	# beside a UTF-8 one, the good one is found
	printf 'FROM nginx\n' >"$REPOS/latin1/Dockerfile"
	commit_files "$REPOS/latin1"
	apphub -q ingest latin1
	assert_equal "$(app_field latin1 status)" ready
}

@test "size cap: APPHUB_INGEST_MAX_BYTES stops the fetch with a clear message" {
	commit_files "$REPOS/big" Dockerfile 'FROM scratch'
	head -c 300000 /dev/urandom >"$REPOS/big/blob.bin"
	commit_files "$REPOS/big"
	start_git_daemon "$REPOS"
	export APPHUB_INGEST_MAX_BYTES=100000
	fails big-git "git://127.0.0.1:$GIT_PORT/big"
	assert_equal "$(last_message big-git)" "cannot fetch 'git://127.0.0.1:$GIT_PORT/big': repository is larger than the limit of 100000 bytes (APPHUB_INGEST_MAX_BYTES)"
	fails big-path "$REPOS/big"
	assert_regex "$(last_message big-path)" "repository is larger than the limit of 100000 bytes"
}

@test "time limit: a slow server fails the ingest with a clear message" {
	commit_files "$REPOS/slow" Dockerfile 'FROM scratch'
	head -c 200000 /dev/urandom >"$REPOS/slow/blob.bin"
	commit_files "$REPOS/slow"
	start_http "$REPOS" 6
	export APPHUB_INGEST_TIMEOUT_MS=1000
	SECONDS=0
	fails slow "http://127.0.0.1:$HTTP_PORT/slow"
	assert [ "$SECONDS" -lt 5 ]
	assert_regex "$(last_message slow)" "took longer than the limit of 1 s \\(APPHUB_INGEST_TIMEOUT_MS\\)"
}

@test "limits in the environment take units: 1s, 1k, 1h" {
	commit_files "$REPOS/slow" Dockerfile 'FROM scratch'
	head -c 200000 /dev/urandom >"$REPOS/slow/blob.bin"
	commit_files "$REPOS/slow"
	start_http "$REPOS" 6
	export APPHUB_INGEST_TIMEOUT_MS=1s
	fails slow "http://127.0.0.1:$HTTP_PORT/slow"
	assert_regex "$(last_message slow)" "took longer than the limit of 1 s \\(APPHUB_INGEST_TIMEOUT_MS\\)"
	unset APPHUB_INGEST_TIMEOUT_MS
	commit_files "$REPOS/pkg" Dockerfile 'FROM scratch' package.json "{\"name\": \"$(printf '%02000d' 0)\"}"
	export APPHUB_INGEST_MAX_FILE_BYTES=1k
	fails pkg "$REPOS/pkg"
	assert_equal "$(last_message pkg)" "file 'package.json' is larger than the 1 KiB limit"
	# the next attempt an hour on, not a millisecond
	export APPHUB_INGEST_ATTEMPTS=3 APPHUB_INGEST_BACKOFF_MS=1h
	apphub -q apps add "$REPOS/not-yet" --id not-yet
	run --separate-stderr -1 apphub ingest not-yet --json
	retry=$(jq -r '.data[0].retryAt' <<<"$output")
	delay=$(($(date -d "$retry" +%s) - $(date +%s)))
	assert [ "$delay" -gt 3000 ]
	assert [ "$delay" -le 3600 ]
}

@test "attempts and exponential backoff: 3 attempts, then failed for good" {
	export APPHUB_INGEST_ATTEMPTS=3 APPHUB_INGEST_BACKOFF_MS=300
	apphub -q apps add "$REPOS/never" --id never
	SECONDS=0
	start=$(date +%s%N)
	run --separate-stderr -1 apphub ingest
	elapsed=$((($(date +%s%N) - start) / 1000000))
	# 300 ms then 600 ms between the attempts
	assert [ "$elapsed" -ge 900 ]
	run -0 apphub apps history never --json
	assert_equal "$(jq -c '[.data[] | [.status, .attempt]]' <<<"$output")" \
		'[["failed",3],["processing",3],["failed",2],["processing",2],["failed",1],["processing",1],["pending",null]]'
	assert_equal "$(app_field never ingestAttempts)" 3
	assert_equal "$(sqlite3 "$(db_path)" "SELECT count(*) FROM work WHERE kind = 'ingest'")" 0
	run -0 apphub events --type app.ingest.failed --json
	assert_equal "$(jq -c '[.data[] | .data.retryAt != null]' <<<"$output")" '[true,true,false]'
}

@test "a retry after backoff succeeds once the repository is there" {
	export APPHUB_INGEST_ATTEMPTS=3 APPHUB_INGEST_BACKOFF_MS=1500
	apphub -q apps add "$REPOS/later" --id later
	apphub ingest >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	pid=$!
	for i in $(seq 50); do
		[[ $(app_field later status) == failed ]] && break
		sleep 0.1
	done
	assert_equal "$(app_field later status)" failed
	commit_files "$REPOS/later" Dockerfile 'FROM scratch'
	wait "$pid"
	assert_equal "$(app_field later status)" ready
	assert_equal "$(app_field later ingestAttempts)" 2
	assert_equal "$(app_field later errorMessage)" null
}

@test "kill -9 of a worker mid-ingest: the attempt fails, the retry succeeds" {
	commit_files "$REPOS/victim" Dockerfile 'FROM scratch'
	head -c 100000 /dev/urandom >"$REPOS/victim/blob.bin"
	commit_files "$REPOS/victim"
	start_http "$REPOS" 2
	export APPHUB_INGEST_ATTEMPTS=3 APPHUB_INGEST_BACKOFF_MS=100
	apphub -q apps add "http://127.0.0.1:$HTTP_PORT/victim" --id victim
	apphub ingest >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	pid=$!
	wait_app_status victim processing
	sleep 0.3
	child=$(pgrep -P "$pid")
	assert [ -n "$child" ]
	kill -9 "$child"
	wait "$pid"
	assert_equal "$(app_field victim status)" ready
	run -0 apphub apps history victim --json
	assert_equal "$(jq -c '[.data[] | [.status, .attempt]]' <<<"$output")" \
		'[["ready",2],["processing",2],["failed",1],["processing",1],["pending",null]]'
	assert_equal "$(jq -r '.data[2].message' <<<"$output")" 'the ingest worker was killed by signal 9'
}

@test "kill -9 of the whole ingest: the lease runs out, the next run takes it, attempt counted" {
	commit_files "$REPOS/orphan" Dockerfile 'FROM scratch'
	head -c 100000 /dev/urandom >"$REPOS/orphan/blob.bin"
	commit_files "$REPOS/orphan"
	start_http "$REPOS" 2
	export APPHUB_INGEST_ATTEMPTS=3 APPHUB_INGEST_LEASE_MS=1000
	apphub -q apps add "http://127.0.0.1:$HTTP_PORT/orphan" --id orphan
	apphub ingest >/dev/null 2>&1 3>&- &
	pid=$!
	wait_app_status orphan processing
	sleep 0.3
	kill -9 "$pid"
	wait "$pid" || true
	sleep 0.2
	# the worker went with it
	run pgrep -f "apphub-ingest"
	refute_output "$pid"
	assert_equal "$(app_field orphan status)" processing
	# a live lease is not taken: the item waits for it
	run -0 apphub ingest
	assert_equal "$(app_field orphan status)" ready
	assert_equal "$(app_field orphan ingestAttempts)" 2
	run -0 apphub apps history orphan --json
	assert_equal "$(jq -c '[.data[] | [.status, .attempt]]' <<<"$output")" \
		'[["ready",2],["processing",2],["processing",1],["pending",null]]'
	assert_equal "$(jq -r '.data[1].message' <<<"$output")" 'Ingestion started (the previous worker went away)'
}

@test "kill -9 on the last attempt: the next run fails it for good" {
	commit_files "$REPOS/lastgo" Dockerfile 'FROM scratch'
	head -c 100000 /dev/urandom >"$REPOS/lastgo/blob.bin"
	commit_files "$REPOS/lastgo"
	start_http "$REPOS" 2
	export APPHUB_INGEST_ATTEMPTS=1 APPHUB_INGEST_LEASE_MS=500
	apphub -q apps add "http://127.0.0.1:$HTTP_PORT/lastgo" --id lastgo
	apphub ingest >/dev/null 2>&1 3>&- &
	pid=$!
	wait_app_status lastgo processing
	kill -9 "$pid"
	wait "$pid" || true
	sleep 0.6
	run -0 apphub ingest
	assert_equal "$(app_field lastgo status)" failed
	assert_equal "$(last_message lastgo)" 'the ingest worker stopped during attempt 1 of 1 (its lease ran out)'
}
