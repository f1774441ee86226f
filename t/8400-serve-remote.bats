#!/usr/bin/env bats
# apphub --server URL: the commands against a remote serve.

bats_require_minimum_version 1.5.0
load test_helper/common
load test_helper/serve

setup() {
	common_setup
	unset APPHUB_TOKENS APPHUB_TOKENS_FILE APPHUB_SERVER APPHUB_TOKEN
	SERVER_HOME=$APPHUB_HOME
	# The client has a state directory of its own, which stays untouched.
	CLIENT_HOME="$BATS_TEST_TMPDIR/client"
}

# remote ARGS...: apphub against the server, from the client's side.
remote() {
	APPHUB_HOME=$CLIENT_HOME apphub --server "$SERVE_URL" "$@"
}

@test "--server: the apps commands give the same output as locally" {
	add_app alpha --tag framework:nextjs --name Alpha
	add_app bravo --tag framework:vue
	start_serve --workers 0
	local args
	for args in 'apps ls' 'apps ls --json' 'apps ls -q' 'apps search framework:vue' \
		'apps search alp --json' 'apps show alpha' 'apps show alpha --json' \
		'apps tags fr' 'apps tags framework: --json' 'apps history alpha' 'events' \
		'events --json --since 1 --limit 2' 'apps ls --status pending --sort name'; do
		# shellcheck disable=SC2086
		assert_equal "$(remote $args)" "$(apphub $args)"
	done
	[[ ! -e $CLIENT_HOME ]]
}

@test "--server: an import larger than the body cap goes in batches under it" {
	start_serve --workers 0
	# 3000 lines of about 450 bytes: 1.3 MB, over serve's 1 MiB cap.
	local pad
	pad=$(printf 'x%.0s' $(seq 1 300))
	seq 1 3000 | awk -v pad="$pad" '{ printf "{\"id\":\"bulk-%04d\",\"repoUrl\":\"https://example.com/b/%d.git\",\"description\":\"%s\",\"tags\":[\"batch:yes\"]}\n", $1, $1, pad }' >"$BATS_TEST_TMPDIR/bulk.jsonl"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/bulk.jsonl")" -gt 1048576 ]
	run -0 remote apps import "$BATS_TEST_TMPDIR/bulk.jsonl"
	assert_output 'imported 3000, failed 0'
	assert_equal "$(apphub --json apps search batch:yes --limit 1 | jq .total)" 3000
}

@test "--server: writes go to the server" {
	start_serve --workers 0
	run -0 remote apps add https://example.com/r/charlie.git --tag a:b
	assert_output charlie
	run -0 remote --json apps tag charlie add c:d
	assert_equal "$(jq -c '[.tags[] | .key]' <<<"$output")" '["a","c"]'
	assert_equal "$(apphub apps show charlie --json | jq -c '[.tags[] | .key]')" '["a","c"]'
	run -0 remote apps rm charlie
	run -2 apphub apps show charlie
	[[ ! -e $CLIENT_HOME ]]
}

@test "--server: exit statuses and messages are the local ones" {
	add_app alpha
	start_serve --workers 0
	run --separate-stderr -2 remote apps show nope
	assert_stderr "apphub: app 'nope' not found"
	run --separate-stderr -3 remote apps add https://example.com/alpha.git --id alpha
	assert_stderr "apphub: app 'alpha' already exists (use --update)"
	run --separate-stderr -1 remote apps tags --limit 99
	assert_stderr "$(apphub apps tags --limit 99 2>&1)"
	run --separate-stderr -3 remote apps retry alpha
	run --separate-stderr -128 apphub --server http://127.0.0.1:1 apps ls
	assert_stderr_partial "apphub: cannot reach server 'http://127.0.0.1:1/apps"
}

@test "--server: APPHUB_SERVER and APPHUB_TOKEN; 401 and 403 fail with status 1" {
	export APPHUB_TOKENS='[{"token":"remote-secret-1","subject":"ci","scopes":["apps:write"]}]'
	start_serve --workers 0
	export APPHUB_SERVER=$SERVE_URL
	run --separate-stderr -1 env APPHUB_HOME="$CLIENT_HOME" apphub apps add https://example.com/d/delta.git
	assert_stderr "apphub: authorization required: a bearer token with scope 'apps:write'"
	APPHUB_TOKEN=wrong-secret-1 run --separate-stderr -1 env APPHUB_HOME="$CLIENT_HOME" apphub apps add https://example.com/d/delta.git
	assert_stderr 'apphub: authorization: unknown token'
	APPHUB_TOKEN=remote-secret-1 run -0 env APPHUB_HOME="$CLIENT_HOME" apphub apps add https://example.com/d/delta.git
	assert_output delta
	run -0 env APPHUB_HOME="$CLIENT_HOME" apphub -q apps ls
	assert_output delta
	# --server on the command line wins over the environment.
	run -128 apphub --server http://127.0.0.1:1 apps ls
}

@test "--server: the light binary does not link libcurl" {
	run -0 ldd "$APPHUB_BIN"
	refute_output --partial libcurl
	refute_output --partial microhttpd
	run -0 ldd "$BATS_TEST_DIRNAME/../apphub-remote"
	assert_output --partial libcurl
}

@test "apphub-remote: status line then body; 128 when unreachable, 129 on misuse" {
	add_app alpha
	start_serve --workers 0
	local remote_bin=$BATS_TEST_DIRNAME/../apphub-remote
	run --separate-stderr -0 "$remote_bin" GET "$SERVE_URL/apps/alpha" </dev/null
	assert_line --index 0 200
	assert_equal "$(sed 1d <<<"$output" | jq -r .id)" alpha
	# an error answer is an answer: its status, its JSON
	run --separate-stderr -0 "$remote_bin" GET "$SERVE_URL/apps/nope" </dev/null
	assert_line --index 0 404
	assert_equal "$(sed 1d <<<"$output" | jq -r .error.code)" not_found
	# the body goes from stdin
	run --separate-stderr -0 "$remote_bin" POST "$SERVE_URL/apps" <<<'{"repoUrl": "https://example.com/b/bravo.git"}'
	assert_line --index 0 201
	assert_equal "$(apphub apps show bravo --json | jq -r .repoUrl)" https://example.com/b/bravo.git
	run --separate-stderr -128 "$remote_bin" GET http://127.0.0.1:1/apps </dev/null
	assert_stderr_partial "apphub: cannot reach server 'http://127.0.0.1:1/apps'"
	run --separate-stderr -129 "$remote_bin" GET
}
