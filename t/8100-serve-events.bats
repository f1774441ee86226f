#!/usr/bin/env bats
# serve: GET /events as Server-Sent Events.

bats_require_minimum_version 1.5.0
load test_helper/common
load test_helper/serve

setup() {
	common_setup
	unset APPHUB_TOKENS APPHUB_TOKENS_FILE APPHUB_SERVER APPHUB_TOKEN
	export APPHUB_SSE_HEARTBEAT_MS=300
	CURL_PIDS=()
}

extra_teardown() {
	local p
	for p in "${CURL_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# stream OUT [curl options...]: follows /events in the background into OUT.
stream() {
	local out=$1
	shift
	curl -sS -N -H 'Accept: text/event-stream' "$@" "$SERVE_URL/events" >"$out" 3>&- &
	CURL_PIDS+=($!)
}

has() {
	grep -Eq -- "$2" "$1" 2>/dev/null
}

@test "events: a stream sends new events with id, type and data" {
	add_app before
	start_serve --workers 0
	stream "$BATS_TEST_TMPDIR/s1"
	wait_until has "$BATS_TEST_TMPDIR/s1" '^retry: '
	add_app alpha
	wait_until has "$BATS_TEST_TMPDIR/s1" '^data: .*"subject":"alpha"'
	# A new client starts at the end: the earlier event is not sent.
	run grep -c '"subject":"before"' "$BATS_TEST_TMPDIR/s1"
	assert_output 0
	local id
	id=$(apphub --json events | jq '.data[-1].id')
	run grep -A2 "^id: $id\$" "$BATS_TEST_TMPDIR/s1"
	assert_line --index 1 'event: app.registered'
	assert_equal "$(sed -n 's/^data: //p' "$BATS_TEST_TMPDIR/s1" | jq -c .)" \
		"$(apphub --json events --since $((id - 1)) | jq -c '.data[0]')"
	# Text/event-stream headers.
	run curl -sS -m 1 -D - -o /dev/null -H 'Accept: text/event-stream' "$SERVE_URL/events"
	assert_output --partial 'Content-Type: text/event-stream'
}

@test "events: Last-Event-ID replays what a client missed after a disconnect" {
	start_serve --workers 0
	stream "$BATS_TEST_TMPDIR/s1"
	wait_until has "$BATS_TEST_TMPDIR/s1" '^retry: '
	add_app one
	wait_until has "$BATS_TEST_TMPDIR/s1" '"subject":"one"'
	local last
	last=$(sed -n 's/^id: //p' "$BATS_TEST_TMPDIR/s1" | tail -n 1)
	kill "${CURL_PIDS[0]}"
	# Missed while disconnected.
	add_app two
	add_app three
	stream "$BATS_TEST_TMPDIR/s2" -H "Last-Event-ID: $last"
	wait_until has "$BATS_TEST_TMPDIR/s2" '"subject":"three"'
	assert_equal "$(grep -o '"subject":"[a-z]*"' "$BATS_TEST_TMPDIR/s2" | tr '\n' ' ')" \
		'"subject":"two" "subject":"three" '
	# ids ascend with no gap from the last one seen.
	assert_equal "$(sed -n 's/^id: //p' "$BATS_TEST_TMPDIR/s2" | head -n 1)" $((last + 1))
	# ?since= does the same for clients that cannot set headers.
	stream "$BATS_TEST_TMPDIR/s3" -G -d "since=$last"
	wait_until has "$BATS_TEST_TMPDIR/s3" '"subject":"three"'
	r=$(http GET /events -m 2 -H 'Accept: text/event-stream' -H 'Last-Event-ID: x')
	assert_equal "$(status_of "$r")" 400
}

@test "events: heartbeats keep an idle stream open, ?type= filters" {
	start_serve --workers 0
	stream "$BATS_TEST_TMPDIR/s1"
	stream "$BATS_TEST_TMPDIR/s2" -G -d 'type=app.removed'
	wait_until has "$BATS_TEST_TMPDIR/s1" '^: heartbeat'
	add_app gone
	apphub apps rm gone
	wait_until has "$BATS_TEST_TMPDIR/s2" '^event: app.removed'
	wait_until has "$BATS_TEST_TMPDIR/s1" '^event: app.removed'
	run grep -c '^event: app.registered' "$BATS_TEST_TMPDIR/s2"
	assert_output 0
}

@test "events: without the stream header GET /events is the JSON list" {
	add_app alpha
	start_serve --workers 0
	assert_equal "$(get /events)" "$(apphub --json events)"
}

@test "events: a thousand idle streams do not stall the API" {
	command -v python3 >/dev/null || skip "python3 not installed"
	add_app alpha
	# From one address: more than the default per-address limit.
	start_serve --workers 0 --max-connections-per-ip 1100
	python3 - "${SERVE_URL##*:}" 1000 3>&- >"$BATS_TEST_TMPDIR/py.out" <<'PY' &
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n\r\n" % port)
    socks.append(s)
print("open", len(socks), flush=True)
time.sleep(30)
PY
	CURL_PIDS+=($!)
	wait_until has "$BATS_TEST_TMPDIR/py.out" '^open 1000$'
	wait_until bash -c "curl -sS '$SERVE_URL/metrics' | grep -qx 'apphub_sse_clients 1000'"
	# The API still answers at once.
	local t0 t1
	t0=$(date +%s%N)
	for i in $(seq 1 20); do
		get /apps >/dev/null
	done
	t1=$(date +%s%N)
	(( (t1 - t0) / 1000000 < 5000 )) || fail "20 requests took $(( (t1 - t0) / 1000000 )) ms"
	# And a live stream still sees events.
	stream "$BATS_TEST_TMPDIR/s1"
	wait_until has "$BATS_TEST_TMPDIR/s1" '^retry: '
	add_app bravo
	wait_until has "$BATS_TEST_TMPDIR/s1" '"subject":"bravo"'
	stop_serve
	assert_equal "$SERVE_STATUS" 0
}
