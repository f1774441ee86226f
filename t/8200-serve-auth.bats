#!/usr/bin/env bats
# serve: bearer tokens, scopes, the audit log.

bats_require_minimum_version 1.5.0
load test_helper/common
load test_helper/serve

setup() {
	common_setup
	unset APPHUB_TOKENS_FILE APPHUB_SERVER APPHUB_TOKEN
	export APPHUB_TOKENS='[{"token":"writer-secret-1","subject":"ci","scopes":["apps:write"]},
		{"token":"reader-secret-1","subject":"bob","scopes":[]},
		{"token":"admin-secret-1","subject":"root","scopes":["admin"]}]'
}

audit() {
	sqlite3 "$(db_path)" "SELECT subject, op, method, path, status FROM audit ORDER BY id"
}

@test "auth: the matrix of credentials and scopes" {
	add_app alpha
	start_serve --workers 0
	local h code
	# Reads of the catalogue are open.
	for h in '' 'Authorization: Bearer reader-secret-1' 'Authorization: Bearer writer-secret-1'; do
		r=$(http GET /apps/alpha -H "$h")
		assert_equal "$(status_of "$r")" 200
		r=$(http GET '/tags/suggest?prefix=a' -H "$h")
		assert_equal "$(status_of "$r")" 200
	done
	# Writes: none -> 401, not bearer -> 401, unknown -> 403, no scope -> 403.
	while read -r code h; do
		r=$(http POST /apps/alpha/tags -d '{"add":["a:b"]}' -H "$h")
		assert_equal "$(status_of "$r")" "$code"
	done <<-'EOF2'
	401 X-None: 1
	401 Authorization: Basic d3JpdGVyOnNlY3JldA==
	403 Authorization: Bearer wrong-secret-1
	403 Authorization: Bearer writer-secret-
	403 Authorization: Bearer reader-secret-1
	200 Authorization: Bearer writer-secret-1
	200 Authorization: Bearer admin-secret-1
	EOF2
	r=$(http DELETE /apps/alpha)
	assert_equal "$(body_of "$r" | jq -c .error)" \
		'{"code":"unauthorized","message":"authorization required: a bearer token with scope '"'"'apps:write'"'"'"}'
	r=$(http DELETE /apps/alpha -H 'Authorization: Bearer reader-secret-1')
	assert_equal "$(body_of "$r" | jq -r .error.code)" forbidden
	assert_equal "$(body_of "$r" | jq -r .error.message)" "authorization: token of 'bob' lacks scope 'apps:write'"
	# Still there: nothing was written by a refused request.
	run -0 get /apps/alpha
	r=$(http DELETE /apps/alpha -H 'Authorization: Bearer writer-secret-1')
	assert_equal "$(status_of "$r")" 200
}

@test "auth: every write and every refusal is audited, reads are not" {
	add_app alpha
	start_serve --workers 0
	get /apps >/dev/null
	http POST /apps/alpha/tags -d '{"add":["a:b"]}' >/dev/null
	http POST /apps/alpha/tags -d '{"add":["a:b"]}' -H 'Authorization: Bearer reader-secret-1' >/dev/null
	http POST /apps/alpha/tags -d '{"add":["a:b"]}' -H 'Authorization: Bearer writer-secret-1' >/dev/null
	http DELETE /apps/nope -H 'Authorization: Bearer writer-secret-1' >/dev/null
	run -0 audit
	assert_output - <<-'EOF2'
	anonymous|apps.tag|POST|/apps/alpha/tags|401
	bob|apps.tag|POST|/apps/alpha/tags|403
	ci|apps.tag|POST|/apps/alpha/tags|200
	ci|apps.rm|DELETE|/apps/nope|404
	EOF2
	assert_equal "$(sqlite3 "$(db_path)" 'SELECT DISTINCT remote FROM audit')" 127.0.0.1
}

@test "auth: tokens from APPHUB_TOKENS_FILE, and with tokens any address may be used" {
	unset APPHUB_TOKENS
	echo '[{"token":"file-secret-1","subject":"f","scopes":["apps:write"]}]' >"$BATS_TEST_TMPDIR/tokens.json"
	export APPHUB_TOKENS_FILE="$BATS_TEST_TMPDIR/tokens.json"
	start_serve --workers 0
	run -1 grep -q 'no tokens configured' "$SERVE_ERR"
	r=$(http POST /apps -d '{"repoUrl":"https://example.com/filed.git"}' -H 'Authorization: Bearer file-secret-1')
	assert_equal "$(status_of "$r")" 201
	stop_serve
	# A non-loopback address is allowed once tokens are configured.
	SERVE_ERR="$BATS_TEST_TMPDIR/any.err"
	apphub serve --listen 0.0.0.0:0 --workers 0 3>&- 2>"$SERVE_ERR" &
	SERVE_PID=$!
	wait_until grep -q 'serving http://0.0.0.0:' "$SERVE_ERR"
	stop_serve
	assert_equal "$SERVE_STATUS" 0
}

@test "auth: invalid token configuration is refused at start" {
	APPHUB_TOKENS='{"token":1}' run --separate-stderr -1 apphub serve --listen 127.0.0.1:0
	assert_stderr_partial 'invalid APPHUB_TOKENS: must be a JSON array'
	APPHUB_TOKENS='[{"token":"short","subject":"x"}]' run --separate-stderr -1 apphub serve --listen 127.0.0.1:0
	assert_stderr_partial 'entry 1: token: must be a string of at least 8 characters'
	APPHUB_TOKENS='not json' run --separate-stderr -1 apphub serve --listen 127.0.0.1:0
	assert_stderr_partial 'invalid APPHUB_TOKENS:'
	unset APPHUB_TOKENS
	APPHUB_TOKENS_FILE=/nonexistent run --separate-stderr -1 apphub serve --listen 127.0.0.1:0
	assert_stderr_partial "invalid tokens file '/nonexistent'"
}
