#!/usr/bin/env bats
# serve refuses what a page of another site can make a browser send: a
# Host that is not serve's (DNS rebinding), a write whose Origin or
# Sec-Fetch-Site is another site's, a write body that is not JSON, and a
# browser's write without the page's cookie. Clients that are not browsers
# (curl, apphub --server, git hooks) work as before. The browser itself is
# t/8500-web.bats ("a page of another site").

bats_require_minimum_version 1.5.0
load test_helper/common
load test_helper/serve

setup() {
	common_setup
	unset APPHUB_TOKENS APPHUB_TOKENS_FILE APPHUB_SERVER APPHUB_TOKEN \
		APPHUB_SERVE_HOSTS APPHUB_SERVE_CORS_ORIGINS
	JAR=$BATS_TEST_TMPDIR/cookies
}

# registered ID: whether apphub itself lists app ID.
registered() {
	apphub --json apps ls | jq -e --arg id "$1" 'any(.data[]; .id == $id)' >/dev/null
}

# post_app ID [curl options...]: POST /apps for a repository named ID, with
# only the headers given; prints the status.
post_app() {
	local id=$1
	shift
	curl -sS -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' -X POST "$@" \
		--data '{"repoUrl":"https://example.com/repos/'"$id"'.git","id":"'"$id"'"}' \
		"$SERVE_URL/apps"
}

error_code() {
	jq -r .error.code "$BATS_TEST_TMPDIR/body"
}

@test "csrf: the attack of the issue is refused and registers nothing" {
	start_serve --workers 0
	# Exactly what a page of evil.example, resolved to 127.0.0.1, sends.
	run -0 post_app evil -H 'Content-Type: text/plain' -H 'Origin: http://evil.example' \
		-H 'Host: evil.example'
	assert_output 421
	assert_equal "$(error_code)" misdirected
	# The same from a page on another site, reaching serve by its address.
	run -0 post_app evil -H 'Content-Type: text/plain' -H 'Origin: http://evil.example'
	assert_output 403
	assert_equal "$(jq -r .error.message "$BATS_TEST_TMPDIR/body")" \
		"cross-origin request refused: origin 'http://evil.example' is not this server's"
	run -0 apphub apps ls
	refute_output --partial evil
	run -0 app_total
	assert_output 0
	# The refusal is audited.
	run -0 sqlite3 "$(db_path)" "SELECT method, path, status FROM audit"
	assert_output --partial 'POST|/apps|403'
}

@test "csrf: Host must be serve's, for reads too" {
	add_app alpha
	start_serve --workers 0
	local port=${SERVE_URL##*:}
	r=$(http GET /apps/alpha -H 'Host: evil.example')
	assert_equal "$(status_of "$r")" 421
	assert_equal "$(body_of "$r" | jq -r .error.message)" \
		"host 'evil.example' is not this server's: allow a name with --allow-host"
	for h in evil.example:$port rebind.example 127.0.0.1:1 localhost:1 10.0.0.1:$port ''; do
		r=$(http GET /apps/alpha -H "Host: $h")
		assert_equal "$(status_of "$r") $h" "421 $h"
	done
	# The page, its files and the event stream too.
	run -0 curl -sS -o /dev/null -w '%{http_code}' -H 'Host: evil.example' "$SERVE_URL/"
	assert_output 421
	run -0 curl -sS -o /dev/null -w '%{http_code}' -H 'Host: evil.example' \
		-H 'Accept: text/event-stream' "$SERVE_URL/events"
	assert_output 421
	# A loopback listen answers to its loopback names and addresses.
	for h in 127.0.0.1:$port localhost:$port LOCALHOST:$port 127.0.0.2:$port "[::1]:$port"; do
		r=$(http GET /apps/alpha -H "Host: $h")
		assert_equal "$(status_of "$r") $h" "200 $h"
	done
	stop_serve
	# Other names only when given.
	APPHUB_SERVE_HOSTS=hub.example start_serve --workers 0 --allow-host ci.example:8080
	r=$(http GET /apps/alpha -H 'Host: hub.example')
	assert_equal "$(status_of "$r")" 200
	r=$(http GET /apps/alpha -H 'Host: ci.example:8080')
	assert_equal "$(status_of "$r")" 200
	r=$(http GET /apps/alpha -H 'Host: ci.example:8081')
	assert_equal "$(status_of "$r")" 421
	r=$(http GET /apps/alpha -H 'Host: evil.example')
	assert_equal "$(status_of "$r")" 421
}

@test "csrf: a write from another origin is refused, even as JSON" {
	start_serve --workers 0
	curl -sS -c "$JAR" -o /dev/null "$SERVE_URL/"
	run -0 post_app cross -H 'Content-Type: application/json' -H 'Origin: http://evil.example' \
		-b "$JAR"
	assert_output 403
	assert_equal "$(error_code)" cross_origin
	# Another port of the same host is another origin (though the same site).
	run -0 post_app cross -H 'Content-Type: application/json' -b "$JAR" \
		-H "Origin: http://127.0.0.1:1"
	assert_output 403
	run -0 post_app cross -H 'Content-Type: application/json' -H 'Origin: null' -b "$JAR"
	assert_output 403
	# Sec-Fetch-Site says so even without an Origin.
	for site in cross-site same-site; do
		run -0 post_app cross -H 'Content-Type: application/json' -b "$JAR" \
			-H "Sec-Fetch-Site: $site"
		assert_output 403
	done
	r=$(http DELETE /apps/cross -H 'Origin: http://evil.example')
	assert_equal "$(status_of "$r")" 403
	run -1 registered cross
}

@test "csrf: a write body must be JSON" {
	start_serve --workers 0
	for type in text/plain application/x-www-form-urlencoded 'multipart/form-data; boundary=x' \
		application/jsonp 'text/plain; a=application/json'; do
		run -0 post_app plain -H "Content-Type: $type"
		assert_equal "$output $type" "415 $type"
		assert_equal "$(error_code)" unsupported_media_type
	done
	run -0 post_app plain -H 'Content-Type:'
	assert_output 415
	assert_equal "$(jq -r .error.message "$BATS_TEST_TMPDIR/body")" \
		'request body: Content-Type must be application/json'
	run -0 curl -sS -o /dev/null -w '%{http_code}' -F 'repoUrl=https://example.com/repos/plain.git' \
		-F id=plain "$SERVE_URL/apps"
	assert_output 415
	run -1 registered plain
	# JSON, with or without parameters, and writes without a body.
	run -0 post_app json1 -H 'Content-Type: application/json'
	assert_output 201
	run -0 post_app json2 -H 'Content-Type: Application/JSON; charset=utf-8'
	assert_output 201
	r=$(http DELETE /apps/json2)
	assert_equal "$(status_of "$r")" 200
	registered json1
	run -1 registered json2
}

@test "csrf: a browser's write needs the page's cookie; the page sets it" {
	start_serve --workers 0
	local browser=(-H 'Content-Type: application/json' -H "Origin: $SERVE_URL"
		-H 'Sec-Fetch-Site: same-origin' -H 'Sec-Fetch-Mode: cors')
	run -0 post_app nocookie "${browser[@]}"
	assert_output 403
	assert_equal "$(jq -r .error.message "$BATS_TEST_TMPDIR/body")" \
		"cross-origin request refused: a write from a browser needs the page's cookie (reload the page) or a token"
	run -0 post_app nocookie "${browser[@]}" -H 'Sec-Fetch-Site: same-origin' \
		-H "Cookie: apphub-page-${SERVE_URL##*:}=0000000000000000000000000000000000000000000000000000000000000000"
	assert_output 403
	# Without tokens a bearer header stands for nothing.
	run -0 post_app nocookie "${browser[@]}" -H 'Authorization: Bearer anything-at-all'
	assert_output 403
	run -1 registered nocookie
	# The page hands out the cookie: HttpOnly, SameSite=Strict, for the whole site.
	run -0 curl -sS -D - -o /dev/null -c "$JAR" "$SERVE_URL/"
	assert_output --regexp "Set-Cookie: apphub-page-${SERVE_URL##*:}=[0-9a-f]{64}; Path=/; HttpOnly; SameSite=Strict"
	run -0 post_app withcookie "${browser[@]}" -b "$JAR"
	assert_output 201
	registered withcookie
	# A non-browser client needs none of it.
	run -0 post_app plaincurl -H 'Content-Type: application/json'
	assert_output 201
	registered plaincurl
	# One secret per state directory, 0600, kept across restarts.
	run -0 stat -c %a "$APPHUB_HOME/serve-secret"
	assert_output 600
	local before
	before=$(cat "$APPHUB_HOME/serve-secret")
	stop_serve
	start_serve --workers 0
	assert_equal "$(cat "$APPHUB_HOME/serve-secret")" "$before"
	run -0 grep -c "$before" "$JAR"
}

@test "csrf: no CORS headers unless an origin is allowed" {
	add_app alpha
	start_serve --workers 0
	run -0 curl -sS -D - -o /dev/null -H 'Origin: http://evil.example' "$SERVE_URL/apps/alpha"
	refute_output --partial -i 'access-control-'
	run -0 curl -sS -D - -o /dev/null -X OPTIONS -H 'Origin: http://evil.example' \
		-H 'Access-Control-Request-Method: POST' "$SERVE_URL/apps"
	refute_output --partial -i 'access-control-'
	stop_serve
	export APPHUB_TOKENS='[{"token":"writer-secret-1","subject":"ci","scopes":["apps:write"]}]'
	start_serve --workers 0 --cors-origin https://ci.example
	run -0 curl -sS -D - -o /dev/null -H 'Origin: https://ci.example' "$SERVE_URL/apps/alpha"
	assert_output --partial 'Access-Control-Allow-Origin: https://ci.example'
	run -0 curl -sS -D - -o /dev/null -H 'Origin: http://evil.example' "$SERVE_URL/apps/alpha"
	refute_output --partial -i 'access-control-allow-origin'
	run -0 curl -sS -D - -o /dev/null -X OPTIONS -H 'Origin: https://ci.example' \
		-H 'Access-Control-Request-Method: POST' "$SERVE_URL/apps"
	assert_output --partial '204'
	assert_output --partial 'Access-Control-Allow-Headers: Authorization, Content-Type'
	# The allowed origin writes with its token (it has no cookie of serve's).
	run -0 post_app fromci -H 'Content-Type: application/json' -H 'Origin: https://ci.example' \
		-H 'Sec-Fetch-Site: cross-site'
	assert_output 403
	run -0 post_app fromci -H 'Content-Type: application/json' -H 'Origin: https://ci.example' \
		-H 'Sec-Fetch-Site: cross-site' -H 'Authorization: Bearer writer-secret-1'
	assert_output 201
	registered fromci
}

@test "csrf: apphub --server and the git hook endpoint work as before" {
	start_serve --workers 0
	run -0 apphub --server "$SERVE_URL" -q apps add https://example.com/repos/remote.git --id remote
	registered remote
	run -0 apphub --server "$SERVE_URL" apps tag remote add team:x
	r=$(http POST /hooks/git -d '{"id":"remote","ref":"refs/heads/main"}')
	assert_equal "$(status_of "$r")" 202
}

@test "csrf: a wildcard listen answers to the address each client came in at" {
	export APPHUB_TOKENS='[{"token":"writer-secret-1","subject":"ci","scopes":["apps:write"]}]'
	add_app alpha
	start_serve --workers 0 --listen 0.0.0.0:0
	local port=${SERVE_URL##*:} ip
	r=$(curl -sS -w '\n%{http_code}' "http://127.0.0.1:$port/apps/alpha")
	assert_equal "$(status_of "$r")" 200
	r=$(curl -sS -w '\n%{http_code}' -H 'Host: evil.example' "http://127.0.0.1:$port/apps/alpha")
	assert_equal "$(status_of "$r")" 421
	ip=$(ip -4 -o addr show scope global | awk '{ sub("/.*", "", $4); print $4; exit }')
	[[ -n $ip ]] || skip "no global IPv4 address"
	r=$(curl -sS -w '\n%{http_code}' "http://$ip:$port/apps/alpha")
	assert_equal "$(status_of "$r")" 200
	# Another of the machine's addresses is not the one this client came in at.
	r=$(curl -sS -w '\n%{http_code}' -H "Host: $ip:$port" "http://127.0.0.1:$port/apps/alpha")
	assert_equal "$(status_of "$r")" 421
}
