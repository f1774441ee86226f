#!/usr/bin/env bats
# The work runner's front: apphub ingest with --server goes to the server,
# and never works around it on a local state directory.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/ingest'
load 'test_helper/serve'

setup() {
	ingest_setup
	unset APPHUB_TOKENS APPHUB_TOKENS_FILE APPHUB_SERVER APPHUB_TOKEN
	CLIENT_HOME="$BATS_TEST_TMPDIR/client"
}

extra_teardown() {
	stop_servers
}

@test "--server: ingest with no server fails with the connection error, writes nothing" {
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr -128 env APPHUB_HOME="$CLIENT_HOME" \
		apphub --server http://127.0.0.1:9 ingest
	assert_stderr_partial "apphub: cannot reach server 'http://127.0.0.1:9/"
	run --separate-stderr -128 env APPHUB_HOME="$CLIENT_HOME" \
		apphub --server http://127.0.0.1:9 ingest some-app
	assert_stderr_partial "apphub: cannot reach server 'http://127.0.0.1:9/"
	[[ ! -e $CLIENT_HOME ]]
	[[ ! -e $BATS_TEST_TMPDIR/apphub.db ]]
	run -1 env APPHUB_HOME="$CLIENT_HOME" apphub --server http://127.0.0.1:9 ingest --watch
	[[ ! -e $CLIENT_HOME ]]
}

@test "--server: ingest works the server's queue and ids, the client untouched" {
	commit_files "$REPOS/plain" Dockerfile 'FROM scratch'
	commit_files "$REPOS/other" Dockerfile 'FROM scratch'
	apphub -q apps add "$REPOS/plain"
	apphub -q apps add "$REPOS/other"
	start_serve --workers 0
	run --separate-stderr -0 env APPHUB_HOME="$CLIENT_HOME" \
		apphub --server "$SERVE_URL" ingest plain
	assert_output --regexp "^plain ready $(git -C "$REPOS/plain" rev-parse HEAD) \\([0-9]+ ms\\)$"
	run --separate-stderr -0 env APPHUB_HOME="$CLIENT_HOME" \
		apphub --server "$SERVE_URL" --json ingest
	assert_equal "$(jq -r '.data[].id' <<<"$output")" other
	assert_equal "$(app_field plain status)" ready
	assert_equal "$(app_field other status)" ready
	run --separate-stderr -2 env APPHUB_HOME="$CLIENT_HOME" \
		apphub --server "$SERVE_URL" ingest nope
	[[ ! -e $CLIENT_HOME ]]
}

# An app served slowly over HTTP (its pack sent in 50 pieces over 3 s: ten
# times its lease of 300 ms), registered as "slow".
slow_app() {
	commit_files "$REPOS/slow" Dockerfile 'FROM scratch'
	head -c 100000 /dev/urandom >"$REPOS/slow/blob.bin"
	commit_files "$REPOS/slow"
	start_http "$REPOS" 3
	export APPHUB_INGEST_LEASE_MS=300
	apphub -q apps add "http://127.0.0.1:$HTTP_PORT/slow" --id slow
}

# App $1 was ingested on its first attempt, by one worker.
ingested_once() {
	assert_equal "$(app_field "$1" ingestAttempts)" 1
	run -0 apphub apps history "$1" --json
	assert_equal "$(jq -c '[.data[] | [.status, .attempt]]' <<<"$output")" \
		'[["ready",1],["processing",1],["pending",null]]'
}

@test "serve's worker keeps its lease: an ingest longer than the lease is taken once" {
	slow_app
	start_serve --workers 1
	wait_app_status slow processing
	# past the lease: a lease not renewed would let this worker take it too
	sleep 0.8
	run -0 apphub ingest
	wait_app_status slow ready
	ingested_once slow
}

@test "two apphub ingest processes: an ingest longer than its lease is taken once" {
	slow_app
	apphub ingest --json >"$BATS_TEST_TMPDIR/first" 2>&1 3>&- &
	local first=$!
	wait_app_status slow processing
	# past the lease: a lease the first process did not renew would be taken here
	sleep 0.8
	run -0 apphub ingest --json
	assert_output '{"data":[]}'
	wait "$first"
	assert_equal "$(jq -r '.data[0].status' "$BATS_TEST_TMPDIR/first")" ready
	ingested_once slow
}
