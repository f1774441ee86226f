# Starting and stopping a real `apphub serve` on a free loopback port.
#
#   load test_helper/serve
#   start_serve [serve options...]     sets SERVE_URL and SERVE_PID
#   stop_serve                         SIGTERM, wait; sets SERVE_STATUS
#
# serve's stderr goes to $BATS_TEST_TMPDIR/serve.err. fd 3 is closed for
# serve, so bats does not wait for it.

start_serve() {
	local k
	SERVE_ERR="$BATS_TEST_TMPDIR/serve.err"
	: >"$SERVE_ERR"
	apphub serve --listen 127.0.0.1:0 "$@" 3>&- 2>"$SERVE_ERR" &
	SERVE_PID=$!
	for k in $(seq 1 200); do
		SERVE_URL=$(sed -n 's/^apphub: serving \(http:[^ ]*\) .*/\1/p' "$SERVE_ERR")
		[[ -n $SERVE_URL ]] && return 0
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "serve did not start:" >&2
	cat "$SERVE_ERR" >&2
	return 1
}

stop_serve() {
	SERVE_STATUS=
	[[ -n ${SERVE_PID:-} ]] || return 0
	kill -TERM "$SERVE_PID" 2>/dev/null || true
	SERVE_STATUS=0
	wait "$SERVE_PID" 2>/dev/null || SERVE_STATUS=$?
	SERVE_PID=
}

teardown() {
	if [[ -n ${SERVE_PID:-} ]]; then
		kill -KILL "$SERVE_PID" 2>/dev/null || true
		wait "$SERVE_PID" 2>/dev/null || true
	fi
	if declare -F extra_teardown >/dev/null; then
		extra_teardown
	fi
}

# http METHOD PATH [curl options...]: prints the body, then a last line with
# the status; `status_of` and `body_of` split them. A body (-d) is sent as
# application/json, as serve requires, unless a Content-Type is given.
http() {
	local method=$1 path=$2 a body= type=
	shift 2
	for a in "$@"; do
		case $a in
		-d | --data*) body=1 ;;
		[Cc]ontent-[Tt]ype:*) type=1 ;;
		esac
	done
	if [[ -n $body && -z $type ]]; then
		set -- -H 'Content-Type: application/json' "$@"
	fi
	curl -sS -X "$method" -w '\n%{http_code}' "$@" "$SERVE_URL$path"
}

# get PATH: the body of a GET that must answer 200.
get() {
	curl -sS -f "$SERVE_URL$1"
}

status_of() {
	tail -n 1 <<<"$1"
}

body_of() {
	sed '$d' <<<"$1"
}

# wait_until CMD...: up to ~10 s for CMD to succeed.
wait_until() {
	local k
	for k in $(seq 1 200); do
		"$@" && return 0
		sleep 0.05
	done
	echo "timed out waiting for: $*" >&2
	return 1
}
