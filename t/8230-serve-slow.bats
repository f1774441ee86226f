#!/usr/bin/env bats
# serve closes connections that hold it: idle ones (--timeout), and ones
# whose request trickles in a byte at a time (--request-timeout bounds the
# whole request, headers and body); it limits connections per address.
# The event stream, long by design, keeps streaming.

bats_require_minimum_version 1.5.0
load test_helper/common
load test_helper/serve

setup() {
	common_setup
	unset APPHUB_TOKENS APPHUB_TOKENS_FILE APPHUB_SERVER APPHUB_TOKEN
	command -v python3 >/dev/null || skip "python3 not installed"
}

# client MODE: a raw connection to serve that sends MODE's bytes, one a
# second (none for idle); prints "closed" when serve ends the connection,
# "open" if it is still open after 60 s of it, and what it received.
client() {
	python3 - "${SERVE_URL##*:}" "$1" 3>&- <<'PY'
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
host = b"127.0.0.1:%d" % port
data = {
    "idle": b"",
    "headers": b"GET /apps HTTP/1.1\r\nHost: " + host + b"\r\nX-Slow: " + b"a" * 200,
    "body": b"POST /apps HTTP/1.1\r\nHost: " + host +
            b"\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n",
}[mode]
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(1)
got, deadline, i = b"", time.monotonic() + 60, 0
if mode == "body":
    s.sendall(data)	# the headers at once, then the body byte by byte
    data, i = b"{" + b" " * 198, 0
while time.monotonic() < deadline:
    try:
        chunk = s.recv(4096)
        if not chunk:
            print("closed")
            break
        got += chunk
    except socket.timeout:
        pass
    except OSError:
        print("closed")
        break
    if i < len(data):
        try:
            s.send(data[i:i + 1])
        except OSError:
            print("closed")
            break
        i += 1
else:
    print("open")
print(got.decode(errors="replace").split("\r\n")[0])
PY
}

@test "slow: a request whose headers trickle in is cut off" {
	start_serve --workers 0 --request-timeout 2 --timeout 30
	run -0 client headers
	assert_line --index 0 closed
	# Never answered: it was cut, not served.
	refute_output --partial 'HTTP/1.1 200'
	# serve still answers others.
	run -0 get /apps
}

@test "slow: a request whose body trickles in is cut off" {
	start_serve --workers 0 --request-timeout 2 --timeout 30
	run -0 client body
	assert_line --index 0 closed
	refute_output --partial 'HTTP/1.1 200'
	run -0 app_total
	assert_output 0
}

@test "slow: an idle connection is closed" {
	start_serve --workers 0 --timeout 1
	run -0 client idle
	assert_line --index 0 closed
}

@test "slow: the event stream outlives the request bound and keeps streaming" {
	export APPHUB_SSE_HEARTBEAT_MS=200
	start_serve --workers 0 --request-timeout 1
	curl -sS -N -H 'Accept: text/event-stream' "$SERVE_URL/events" >"$BATS_TEST_TMPDIR/s" 3>&- &
	local pid=$!
	# Ten heartbeats: well past the bound of 1 s.
	wait_until bash -c "[ \$(grep -c '^: heartbeat' '$BATS_TEST_TMPDIR/s') -ge 10 ]"
	add_app bravo
	wait_until grep -q '"subject":"bravo"' "$BATS_TEST_TMPDIR/s"
	kill "$pid"
	wait "$pid" || true
}

@test "slow: connections are limited per address" {
	start_serve --workers 0 --max-connections-per-ip 2
	python3 - "${SERVE_URL##*:}" 3>&- >"$BATS_TEST_TMPDIR/py.out" <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
print("held", flush=True)
time.sleep(60)
PY
	local pid=$!
	wait_until grep -q held "$BATS_TEST_TMPDIR/py.out"
	# A third is closed without an answer.
	run curl -sS -o /dev/null -w '%{http_code}' "$SERVE_URL/apps"
	refute_output 200
	kill "$pid"
	wait "$pid" || true
	wait_until curl -sS -f -o /dev/null "$SERVE_URL/apps"
}
