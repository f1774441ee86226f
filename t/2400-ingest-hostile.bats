#!/usr/bin/env bats
# Hostile repositories: a blob that inflates to hundreds of megabytes, tag
# files nested beyond any sense, failures that no retry mends, and a serve
# reachable from the network asked to fetch from its own host.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/ingest'
load 'test_helper/serve'

setup_file() {
	# One blob of 600 MB of one byte, about 600 KB in the object database:
	# made once, committed by id into each repository that needs it.
	BOMB_SRC=$BATS_FILE_TMPDIR/bomb-src
	git init -q -b main "$BOMB_SRC"
	BOMB=$(head -c 600M /dev/zero | tr '\0' a | git -C "$BOMB_SRC" hash-object -w --stdin)
	export BOMB_SRC BOMB
}

setup() {
	ingest_setup
	# Failures that a retry could mend are retried: these must not be.
	export APPHUB_INGEST_ATTEMPTS=3 APPHUB_INGEST_BACKOFF_MS=0
}

extra_teardown() {
	stop_servers
}

last_message() {
	apphub apps history "$1" --json | jq -r '.data[0].message'
}

# bomb_repo DIR PATH: a repository with a Dockerfile and the bomb at PATH.
bomb_repo() {
	commit_files "$1" Dockerfile 'FROM scratch'
	cp -R "$BOMB_SRC/.git/objects/." "$1/.git/objects/"
	git -C "$1" update-index --add --cacheinfo "100644,$BOMB,$2"
	git -C "$1" commit -q -m bomb
}

# peak_kb CMD...: runs CMD, its peak resident set in KiB in PEAK_KB, its
# exit status in PEAK_STATUS.
peak_kb() {
	local out=$BATS_TEST_TMPDIR/time.out
	PEAK_STATUS=0
	/usr/bin/time -v -o "$out" "$@" >/dev/null 2>"$BATS_TEST_TMPDIR/peak.err" || PEAK_STATUS=$?
	PEAK_KB=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out")
}

# failed_for_good ID: failed on its first attempt, and working through the
# queue (no backoff here) tries it no more.
failed_for_good() {
	assert_equal "$(app_field "$1" status)" failed
	assert_equal "$(app_field "$1" ingestAttempts)" 1
	run -0 apphub ingest
	assert_equal "$(app_field "$1" ingestAttempts)" 1
	assert_equal "$(app_field "$1" status)" failed
}

# ingest_small_fails ID MESSAGE: the ingest of ID fails with MESSAGE on its
# first attempt and for good, its peak resident set under 200 MB.
ingest_small_fails() {
	peak_kb apphub ingest "$1"
	assert_equal "$PEAK_STATUS" 1
	assert [ "$PEAK_KB" -lt 200000 ]
	assert_equal "$(last_message "$1")" "$2"
	failed_for_good "$1"
}

# serve_over_git SRC NAME ID: SRC served bare as git://.../NAME.git, registered as ID.
serve_over_git() {
	git clone -q --bare "$1" "$REPOS/served/$2.git"
	start_git_daemon "$REPOS/served"
	apphub -q apps add "git://127.0.0.1:$GIT_PORT/$2.git" --id "$3"
}

@test "a 600 MB README in a small local repository: refused before it is read" {
	[[ -x /usr/bin/time ]] || skip '/usr/bin/time is not installed'
	bomb_repo "$REPOS/bomb" README.md
	apphub -q apps add "$REPOS/bomb" --id bomb
	# its files are copied as they are (a small pack); the README is sized from its header
	ingest_small_fails bomb "file 'README.md' is larger than the 1 MiB limit"
	# nothing of it reached the mirror
	run -0 du -sk "$APPHUB_HOME/repos"
	assert [ "${output%%[[:space:]]*}" -lt 10000 ]
}

@test "a 600 MB README fetched over git://: never inflated, the ingest fails at once" {
	[[ -x /usr/bin/time ]] || skip '/usr/bin/time is not installed'
	bomb_repo "$REPOS/src" README.md
	serve_over_git "$REPOS/src" bomb bomb
	ingest_small_fails bomb "file 'README.md' is larger than the 1 MiB limit"
}

@test "a symlink whose blob is a bomb is sized before it is read" {
	[[ -x /usr/bin/time ]] || skip '/usr/bin/time is not installed'
	commit_files "$REPOS/src" Dockerfile 'FROM scratch'
	cp -R "$BOMB_SRC/.git/objects/." "$REPOS/src/.git/objects/"
	git -C "$REPOS/src" update-index --add --cacheinfo "120000,$BOMB,package.json"
	git -C "$REPOS/src" commit -q -m link-bomb
	serve_over_git "$REPOS/src" link link
	ingest_small_fails link "symlink 'package.json' has a target longer than 4096 bytes"
}

@test "a directory of 18 MB is sized before it is read" {
	git init -q -b main "$REPOS/wide"
	empty=$(git -C "$REPOS/wide" hash-object -w --stdin </dev/null)
	df=$(echo 'FROM scratch' | git -C "$REPOS/wide" hash-object -w --stdin)
	tree=$({
		printf '100644 blob %s\tDockerfile\n' "$df"
		python3 -c 'import sys
for i in range(500000): sys.stdout.write("100644 blob %s\tf%07d\n" % (sys.argv[1], i))' "$empty"
	} | git -C "$REPOS/wide" mktree)
	git -C "$REPOS/wide" update-ref refs/heads/main "$(git -C "$REPOS/wide" commit-tree "$tree" -m wide)"
	apphub -q apps add "$REPOS/wide" --id wide
	run --separate-stderr -1 apphub ingest wide
	assert_equal "$(last_message wide)" "directory '/' is larger than the 16 MiB limit"
	failed_for_good wide
}

@test "a YAML tag file nested 500,000 deep fails at once as too deeply nested" {
	python3 -c 'print("[" * 500000 + "]" * 500000)' >"$BATS_TEST_TMPDIR/deep.yaml"
	commit_files "$REPOS/deep" Dockerfile 'FROM scratch' .apphub/tags.yaml "$(cat "$BATS_TEST_TMPDIR/deep.yaml")"
	apphub -q apps add "$REPOS/deep" --id deep
	run --separate-stderr -1 apphub ingest deep
	assert_equal "$(last_message deep)" "invalid '.apphub/tags.yaml': line 1, column 65: too deeply nested (more than 64 levels)"
	failed_for_good deep
	# a mapping nested as deep, block style
	python3 -c '
for i in range(200):
    print(" " * i + "k:")' >"$BATS_TEST_TMPDIR/deep2.yaml"
	commit_files "$REPOS/deep2" Dockerfile 'FROM scratch' apphub.tags.yaml "$(cat "$BATS_TEST_TMPDIR/deep2.yaml")"
	apphub -q apps add "$REPOS/deep2" --id deep2
	run --separate-stderr -1 apphub ingest deep2
	assert_regex "$(last_message deep2)" "^invalid 'apphub.tags.yaml': line 6[0-9], column [0-9]+: too deeply nested \(more than 64 levels\)$"
}

@test "JSON tag files and package.json: jansson's depth limit, with a clear error" {
	python3 -c 'print("[" * 100000 + "]" * 100000)' >"$BATS_TEST_TMPDIR/deep.json"
	commit_files "$REPOS/deepjson" Dockerfile 'FROM scratch' apphub.tags.json "$(cat "$BATS_TEST_TMPDIR/deep.json")"
	apphub -q apps add "$REPOS/deepjson" --id deepjson
	run --separate-stderr -1 apphub ingest deepjson
	assert_equal "$(last_message deepjson)" "invalid 'apphub.tags.json': line 1: too deeply nested (more than 2048 levels)"
	failed_for_good deepjson
	commit_files "$REPOS/deeppkg" Dockerfile 'FROM scratch' package.json "{\"a\":$(cat "$BATS_TEST_TMPDIR/deep.json")}"
	apphub -q apps add "$REPOS/deeppkg" --id deeppkg
	run --separate-stderr -1 apphub ingest deeppkg
	assert_equal "$(last_message deeppkg)" "invalid 'package.json': line 1: too deeply nested (more than 2048 levels)"
}

@test "what no retry mends fails at once: no Dockerfile, a given one missing, a link out, a file over the limit" {
	commit_files "$REPOS/nodocker" README.md 'hello'
	apphub -q apps add "$REPOS/nodocker" --id nodocker
	run --separate-stderr -1 apphub ingest nodocker --json
	assert_equal "$(jq -c '.data[0] | [.status, .attempt, .retryAt, .permanent]' <<<"$output")" '["failed",1,null,true]'
	assert_equal "$(jq -r '.data[0].errorMessage' <<<"$output")" 'Dockerfile not found, unable to launch app'
	failed_for_good nodocker
	# the author's path, missing: no other Dockerfile is taken instead
	commit_files "$REPOS/given" Dockerfile 'FROM scratch'
	apphub -q apps add "$REPOS/given" --id given --dockerfile worker/Dockerfile.prod
	run --separate-stderr -1 apphub ingest given --json
	assert_equal "$(jq -c '.data[0] | [.status, .attempt, .retryAt, .permanent]' <<<"$output")" '["failed",1,null,true]'
	assert_equal "$(jq -r '.data[0].errorMessage' <<<"$output")" \
		"Dockerfile 'worker/Dockerfile.prod' not found in the repository"
	failed_for_good given
	mkdir -p "$REPOS/esc"
	git -C "$REPOS/esc" init -q -b main
	ln -s /etc/passwd "$REPOS/esc/Dockerfile"
	commit_files "$REPOS/esc"
	apphub -q apps add "$REPOS/esc" --id esc
	run --separate-stderr -1 apphub ingest esc
	failed_for_good esc
	commit_files "$REPOS/big" Dockerfile 'FROM scratch' package.json '{"name": "long enough, really"}'
	apphub -q apps add "$REPOS/big" --id big
	APPHUB_INGEST_MAX_FILE_BYTES=20 run --separate-stderr -1 apphub ingest big
	failed_for_good big
	# a repository that is not there yet may be later: that one is retried
	apphub -q apps add "$REPOS/later" --id later
	run --separate-stderr -1 apphub ingest later --json
	assert_equal "$(jq -c '.data[0] | [.status, .attempt, .permanent]' <<<"$output")" '["failed",1,false]'
	run -1 apphub ingest
	assert_equal "$(app_field later ingestAttempts)" 3
}

# start_public_serve [env...]: serve on all addresses (with a token), so
# beyond loopback; it is only ever sent requests on 127.0.0.1.
start_public_serve() {
	export APPHUB_TOKENS='[{"token":"writer-secret-1","subject":"ci","scopes":["apps:write"]}]'
	SERVE_ERR="$BATS_TEST_TMPDIR/serve.err"
	: >"$SERVE_ERR"
	env "$@" apphub serve --listen 0.0.0.0:0 --workers 0 3>&- 2>"$SERVE_ERR" &
	SERVE_PID=$!
	wait_until grep -q 'serving http://0.0.0.0:' "$SERVE_ERR"
	SERVE_URL="http://127.0.0.1:$(sed -n 's|.*serving http://0.0.0.0:\([0-9]*\).*|\1|p' "$SERVE_ERR")"
}

post_app() {
	http POST /apps -H 'Authorization: Bearer writer-secret-1' -H 'Content-Type: application/json' \
		-d "{\"repoUrl\":\"$1\",\"id\":\"$2\"}"
}

@test "serve beyond loopback refuses repositories on its own host or network" {
	commit_files "$REPOS/local" Dockerfile 'FROM scratch'
	start_http "$REPOS"
	start_public_serve
	for url in "http://127.0.0.1:$HTTP_PORT/local" "http://localhost:$HTTP_PORT/local" \
		"git://10.1.2.3/x.git" "https://192.168.0.1/x.git" "https://169.254.169.254/x.git" \
		"http://[::1]:$HTTP_PORT/local" "http://[::ffff:127.0.0.1]:$HTTP_PORT/local" \
		"ssh://git@100.64.0.1/x.git" "git@172.16.0.1:x.git" "http://0.0.0.0/x.git" \
		"$REPOS/local" "file://$REPOS/local"; do
		r=$(post_app "$url" refused)
		assert_equal "$url $(status_of "$r")" "$url 403"
		assert_regex "$(body_of "$r" | jq -r .error.message)" "^repository '.*': .*APPHUB_INGEST_ALLOW_PRIVATE=1 allows it\)$"
	done
	run -2 apphub apps show refused
	# an app registered before (from the command line) is refused at fetch
	apphub -q apps add "http://127.0.0.1:$HTTP_PORT/local" --id before
	r=$(http POST /apps/before/ingest -H 'Authorization: Bearer writer-secret-1' -H 'Content-Type: application/json' -d '{}')
	assert_equal "$(body_of "$r" | jq -c '[.status, .attempt, .permanent]')" '["failed",1,true]'
	assert_regex "$(last_message before)" "^repository 'http://127.0.0.1:$HTTP_PORT/local': '127.0.0.1' is a loopback"
	stop_serve
	# allowed when the operator says so
	start_public_serve APPHUB_INGEST_ALLOW_PRIVATE=1
	r=$(post_app "http://127.0.0.1:$HTTP_PORT/local" allowed)
	assert_equal "$(status_of "$r")" 201
	r=$(http POST /apps/allowed/ingest -H 'Authorization: Bearer writer-secret-1' -H 'Content-Type: application/json' -d '{}')
	assert_equal "$(body_of "$r" | jq -r .status)" ready
	stop_serve
}

@test "serve on loopback fetches from loopback as before" {
	commit_files "$REPOS/local" Dockerfile 'FROM scratch'
	start_http "$REPOS"
	start_serve --workers 0
	r=$(http POST /apps -H 'Content-Type: application/json' -d "{\"repoUrl\":\"http://127.0.0.1:$HTTP_PORT/local\",\"id\":\"loop\"}")
	assert_equal "$(status_of "$r")" 201
	stop_serve
}
