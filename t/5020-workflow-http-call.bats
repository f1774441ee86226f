#!/usr/bin/env bats
# A service step's request (lib/http-call.c) through test-tool http-call,
# against a real HTTP server on a loopback port: JSON parsed, a body sent
# as JSON, a non-2xx status an error with the response, the body cap
# (APPHUB_WORKFLOW_MAX_RESPONSE lowers it), redirects, timeouts, and only
# http and https.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

TOOL="$BATS_TEST_DIRNAME/helper/test-tool"

setup() {
	common_setup
	python3 "$BATS_TEST_DIRNAME/test_helper/http-call-server.py" "$BATS_TEST_TMPDIR/port" 3>&- &
	echo $! >"$BATS_TEST_TMPDIR/server.pid"
	for _ in $(seq 100); do
		[ -s "$BATS_TEST_TMPDIR/port" ] && break
		sleep 0.05
	done
	BASE="http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")"
}

teardown() {
	kill "$(cat "$BATS_TEST_TMPDIR/server.pid")" 2>/dev/null || true
}

call() {
	"$TOOL" http-call "$1"
}

@test "GET: the JSON body parsed, the status, the headers with lowercased names" {
	run -0 --separate-stderr call "{\"url\":\"$BASE/json\"}"
	assert_equal "$(jq -c '[.status, .body]' <<<"$output")" '[200,{"items":[1,2,3],"ok":true}]'
	assert_equal "$(jq -r '.headers["x-trace"]' <<<"$output")" t1
	assert_equal "$(jq -r '.headers["content-type"]' <<<"$output")" application/json
	# a body that is not JSON is its text
	run -0 --separate-stderr call "{\"url\":\"$BASE/text\"}"
	assert_equal "$(jq -c .body <<<"$output")" '"hello, world"'
}

@test "POST: a JSON body sent as JSON with its Content-Type, a string as it is, headers sent" {
	run -0 --separate-stderr call "{\"url\":\"$BASE/echo\",\"method\":\"POST\",\"body\":{\"a\":[1,2]},\"headers\":{\"X-Token\":\"s3\"}}"
	assert_equal "$(jq -c '.body | [.method, .body, .contentType, .token]' <<<"$output")" '["POST","{\"a\":[1,2]}","application/json","s3"]'
	run -0 --separate-stderr call "{\"url\":\"$BASE/echo\",\"method\":\"PUT\",\"body\":\"plain words\",\"headers\":{\"Content-Type\":\"text/plain\"}}"
	assert_equal "$(jq -c '.body | [.method, .body, .contentType]' <<<"$output")" '["PUT","plain words","text/plain"]'
}

@test "a non-2xx status is an error 502 with the status, the response still given" {
	run -1 --separate-stderr call "{\"url\":\"$BASE/fail\"}"
	assert_stderr "error 502 bad_gateway: GET $BASE/fail: HTTP 500"
	assert_equal "$(jq -c '[.status, .body]' <<<"$output")" '[500,{"error":"boom"}]'
}

@test "a response over the cap is refused while it is read (413)" {
	APPHUB_WORKFLOW_MAX_RESPONSE=64k run -1 --separate-stderr call "{\"url\":\"$BASE/big?n=1048576\"}"
	assert_stderr "error 413 too_large: GET $BASE/big?n=1048576: response body over 65536 bytes"
	assert_equal "$output" ""
	APPHUB_WORKFLOW_MAX_RESPONSE=64k run -0 --separate-stderr call "{\"url\":\"$BASE/big?n=32768\"}"
	assert_equal "$(jq -r '.body | length' <<<"$output")" 32768
}

@test "redirects are followed up to 5, only to http and https" {
	run -0 --separate-stderr call "{\"url\":\"$BASE/redirect\"}"
	assert_equal "$(jq -c '[.status, .body.ok]' <<<"$output")" '[200,true]'
	run -1 --separate-stderr call "{\"url\":\"$BASE/loop\"}"
	assert_stderr_regex "^error 502 bad_gateway: GET $BASE/loop: Maximum \(5\) redirects followed"
	run -1 --separate-stderr call "{\"url\":\"$BASE/to-file\"}"
	assert_stderr_regex "^error 502 bad_gateway: GET $BASE/to-file: .*(not supported|disabled)"
}

@test "a request that takes longer than timeoutMs ends at once with 504" {
	start=$(date +%s%N)
	run -1 --separate-stderr call "{\"url\":\"$BASE/slow\",\"timeoutMs\":300}"
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	assert_stderr "error 504 timeout: GET $BASE/slow: no response within 300 ms"
	[ "$elapsed" -lt 2500 ]
}

@test "file:// and other schemes, CR or LF in headers, a bad method are refused before sending" {
	run -1 --separate-stderr call '{"url":"file:///etc/passwd"}'
	assert_stderr "error 400 invalid: url 'file:///etc/passwd': only http and https"
	run -1 --separate-stderr call '{"url":"gopher://127.0.0.1/"}'
	assert_stderr "error 400 invalid: url 'gopher://127.0.0.1/': only http and https"
	run -1 --separate-stderr call "{\"url\":\"$BASE/echo\",\"headers\":{\"X-A\":\"v\\r\\nX-Injected: 1\"}}"
	assert_stderr "error 400 invalid: header 'X-A': CR, LF, ':' or space where they cannot be"
	run -1 --separate-stderr call "{\"url\":\"$BASE/echo\",\"method\":\"GET /x\"}"
	assert_stderr "error 400 invalid: method 'GET /x': not an HTTP method"
}

@test "a refused connection is 502 with curl's message" {
	port=$(cat "$BATS_TEST_TMPDIR/port")
	kill "$(cat "$BATS_TEST_TMPDIR/server.pid")"
	sleep 0.2
	run -1 --separate-stderr call "{\"url\":\"http://127.0.0.1:$port/json\"}"
	assert_stderr_regex "^error 502 bad_gateway: GET http://127.0.0.1:$port/json: .*[Cc]onnect"
}
