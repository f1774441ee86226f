#!/usr/bin/env bats
# serve: POST /hooks/git, the workers inside serve, SIGTERM with work in flight.

bats_require_minimum_version 1.5.0
load test_helper/common
load test_helper/serve

setup() {
	common_setup
	unset APPHUB_TOKENS APPHUB_TOKENS_FILE APPHUB_SERVER APPHUB_TOKEN APPHUB_HOOK_BRANCHES
	REPOS=$(cd "$BATS_TEST_TMPDIR" && pwd -P)/repos
	mkdir -p "$REPOS"
	SLOW_PID=
}

extra_teardown() {
	if [[ -n $SLOW_PID ]]; then
		kill "$SLOW_PID" 2>/dev/null || true
		wait "$SLOW_PID" 2>/dev/null || true
	fi
}

status_is() {
	[[ $(apphub --json apps show "$1" | jq -r .status) == "$2" ]]
}

event_seen() {
	apphub --json events --limit 1000 | jq -e --arg t "$1" --arg s "$2" \
		'[.data[] | select(.type == $t and .subject == $s)] | length > 0' >/dev/null
}

commit() {
	printf '%s\n' "$3" >"$1/$2"
	git -C "$1" add "$2"
	git -C "$1" commit -q -m "change $2"
}

@test "hooks: webhook -> ingest in serve's workers -> events" {
	make_repo "$REPOS/web" 'FROM nginx'
	apphub -q apps add "$REPOS/web" --id web
	# Ingested once, so that the hook below brings a new commit.
	start_serve --workers 1
	wait_until status_is web ready
	local sha
	commit "$REPOS/web" index.html hi
	sha=$(git -C "$REPOS/web" rev-parse HEAD)
	r=$(http POST /hooks/git -d '{"repoUrl":"'"$REPOS/web"'","ref":"refs/heads/main","commit":"'"$sha"'"}')
	assert_equal "$(status_of "$r")" 202
	assert_equal "$(body_of "$r" | jq -c '[.queued, .items[0].id, .items[0].kind, .items[0].commitSha, .items[0].queued]')" \
		"[true,\"web\",\"ingest\",\"$sha\",true]"
	wait_until bash -c "[[ \$(apphub --json apps show web | jq -r .commitSha) == $sha ]]"
	wait_until status_is web ready
	event_seen app.hook web
	event_seen app.ingest.succeeded web
	run -0 get /metrics
	assert_line --regexp '^apphub_ingest_events_total\{outcome="succeeded"\} [1-9]'
}

@test "hooks: duplicate commits and other branches queue nothing" {
	make_repo "$REPOS/dup" 'FROM scratch'
	apphub -q apps add "$REPOS/dup" --id dup
	start_serve --workers 1
	wait_until status_is dup ready
	local sha
	sha=$(git -C "$REPOS/dup" rev-parse HEAD)
	r=$(http POST /hooks/git -d '{"id":"dup","ref":"refs/heads/main","commit":"'"$sha"'"}')
	assert_equal "$(status_of "$r")" 200
	assert_equal "$(body_of "$r" | jq -c '[.queued, .items[0].reason]')" '[false,"already ingested at this commit"]'
	r=$(http POST /hooks/git -d '{"id":"dup","ref":"refs/heads/feature","commit":"'"$sha"'"}')
	assert_equal "$(status_of "$r")" 200
	assert_equal "$(body_of "$r" | jq -c '[.queued, .reason]')" '[false,"ref is not a watched branch"]'
	r=$(http POST /hooks/git -d '{"id":"dup","ref":"refs/tags/v1"}')
	assert_equal "$(body_of "$r" | jq .queued)" false
	# Two hooks for one new commit while the first waits: queued once.
	stop_serve
	start_serve --workers 0
	commit "$REPOS/dup" a.txt a
	sha=$(git -C "$REPOS/dup" rev-parse HEAD)
	r=$(http POST /hooks/git -d '{"id":"dup","ref":"main","commit":"'"$sha"'"}')
	assert_equal "$(status_of "$r")" 202
	r=$(http POST /hooks/git -d '{"id":"dup","ref":"main","commit":"'"$sha"'"}')
	assert_equal "$(status_of "$r")" 200
	assert_equal "$(body_of "$r" | jq -r '.items[0].reason')" 'already queued for this commit'
}

@test "hooks: --hook-branch chooses the branches; bad hooks are 400 and 404" {
	make_repo "$REPOS/branchy" 'FROM scratch'
	apphub -q apps add "$REPOS/branchy" --id branchy
	start_serve --workers 0 --hook-branch 'release/*'
	r=$(http POST /hooks/git -d '{"id":"branchy","ref":"refs/heads/main"}')
	assert_equal "$(body_of "$r" | jq .queued)" false
	r=$(http POST /hooks/git -d '{"id":"branchy","ref":"refs/heads/release/2"}')
	assert_equal "$(status_of "$r")" 202
	r=$(http POST /hooks/git -d '{"ref":"main"}')
	assert_equal "$(status_of "$r")" 400
	assert_equal "$(body_of "$r" | jq -r .error.message)" 'invalid hook: needs id or repoUrl'
	r=$(http POST /hooks/git -d '{"id":"branchy","commit":"not-hex"}')
	assert_equal "$(status_of "$r")" 400
	r=$(http POST /hooks/git -d '{"repoUrl":"https://example.com/none.git"}')
	assert_equal "$(status_of "$r")" 404
	r=$(http POST /hooks/git -d '{"id":"nope"}')
	assert_equal "$(status_of "$r")" 404
}

@test "hooks: need apps:write when tokens are configured" {
	make_repo "$REPOS/tok" 'FROM scratch'
	apphub -q apps add "$REPOS/tok" --id tok
	export APPHUB_TOKENS='[{"token":"hook-secret-1","subject":"git","scopes":["apps:write"]}]'
	start_serve --workers 0
	r=$(http POST /hooks/git -d '{"id":"tok"}')
	assert_equal "$(status_of "$r")" 401
	r=$(http POST /hooks/git -d '{"id":"tok"}' -H 'Authorization: Bearer hook-secret-1')
	assert_equal "$(status_of "$r")" 202
	assert_equal "$(sqlite3 "$(db_path)" "SELECT group_concat(status) FROM audit WHERE op = 'hooks.git'")" 401,202
}

@test "workers: SIGTERM lets the ingest in flight finish, and nothing is lost" {
	command -v python3 >/dev/null || skip "python3 not installed"
	# A git server that answers after two seconds.
	python3 - >"$BATS_TEST_TMPDIR/slow.port" 3>&- <<'PY' &
import http.server, socketserver, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(2)
        self.send_response(404)
        self.end_headers()
    def log_message(self, *a):
        pass
s = socketserver.TCPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
	SLOW_PID=$!
	wait_until test -s "$BATS_TEST_TMPDIR/slow.port"
	apphub -q apps add "http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/slow.port")/slow.git" --id slow
	add_app waiting
	start_serve --workers 1
	wait_until event_seen app.ingest.started slow
	assert_equal "$(apphub --json apps show slow | jq -r .status)" processing
	stop_serve
	assert_equal "$SERVE_STATUS" 0
	grep -q 'stopping, letting the work in flight finish' "$SERVE_ERR"
	# The attempt was recorded, the app is not left processing, its item waits
	# for a retry unclaimed.
	run -0 apphub --json apps show slow
	[[ $(jq -r .status <<<"$output") != processing ]]
	event_seen app.ingest.failed slow
	assert_equal "$(sqlite3 "$(db_path)" "SELECT count(*), count(claimed_by) FROM work WHERE subject = 'slow'")" '1|0'
	# No new work was taken after the signal... unless it was claimed before.
	assert_equal "$(sqlite3 "$(db_path)" "SELECT count(*) FROM work WHERE claimed_by IS NOT NULL")" 0
}
