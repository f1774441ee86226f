#!/usr/bin/env bats
# contrib/hooks: post-receive, post-commit and post-merge call apphub ingest
# on real pushes, commits and merges.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/ingest'

setup() {
	ingest_setup
	HOOKS=$BATS_TEST_DIRNAME/../contrib/hooks
}

# server_repo NAME: a bare repository with the post-receive hook and a clone of it
server_repo() {
	git init -q --bare -b main "$REPOS/$1.git"
	cp "$HOOKS/post-receive" "$REPOS/$1.git/hooks/post-receive"
	git clone -q "$REPOS/$1.git" "$REPOS/$1-work" 2>/dev/null
	git -C "$REPOS/$1-work" checkout -q -b main 2>/dev/null || true
}

@test "post-receive: a real git push ingests the app registered with the server path" {
	server_repo site
	commit_files "$REPOS/site-work" Dockerfile 'FROM scratch'
	git -C "$REPOS/site-work" push -q origin main 2>/dev/null
	apphub -q apps add "$REPOS/site.git" --id site
	commit_files "$REPOS/site-work" Dockerfile 'FROM nginx'
	run -0 git -C "$REPOS/site-work" push origin main
	assert_output --partial 'site ready'
	assert_equal "$(app_field site status)" ready
	assert_equal "$(app_field site commitSha)" "$(git -C "$REPOS/site-work" rev-parse HEAD)"
	assert_equal "$(app_tags site)" 'runtime:nginx(ingestion:dockerfile)'
}

@test "post-receive: git config apphub.id names the app; apphub.branch filters" {
	server_repo named
	git -C "$REPOS/named.git" config apphub.id other-name
	git -C "$REPOS/named.git" config apphub.branch main
	commit_files "$REPOS/named-work" Dockerfile 'FROM scratch'
	apphub -q apps add "file://$REPOS/named.git" --id other-name
	git -C "$REPOS/named-work" push -q origin main 2>/dev/null
	assert_equal "$(app_field other-name status)" ready
	sha=$(app_field other-name commitSha)
	# a push to another branch does not ingest
	git -C "$REPOS/named-work" checkout -q -b feature
	commit_files "$REPOS/named-work" x.txt x
	git -C "$REPOS/named-work" push -q origin feature 2>/dev/null
	assert_equal "$(app_field other-name commitSha)" "$sha"
}

@test "post-receive: an unknown repository does not fail the push" {
	server_repo stray
	commit_files "$REPOS/stray-work" Dockerfile 'FROM scratch'
	run -0 git -C "$REPOS/stray-work" push origin main
	assert_output --partial "no app is registered with repository '$REPOS/stray.git'"
	run -0 git -C "$REPOS/stray.git" rev-parse main
}

@test "post-commit: a real git commit ingests the working repository's app" {
	commit_files "$REPOS/local" Dockerfile 'FROM scratch'
	cp "$HOOKS/post-commit" "$REPOS/local/.git/hooks/post-commit"
	apphub -q apps add "$REPOS/local" --id local-app
	commit_files "$REPOS/local" package.json '{"dependencies": {"react": "18"}}'
	assert_equal "$(app_field local-app status)" ready
	assert_equal "$(app_field local-app commitSha)" "$(git -C "$REPOS/local" rev-parse HEAD)"
	assert_equal "$(app_tags local-app)" 'language:javascript(ingestion:package) library:react(ingestion:package)'
}

@test "post-merge: git pull ingests the working repository's app" {
	commit_files "$REPOS/upstream" Dockerfile 'FROM scratch'
	git clone -q "$REPOS/upstream" "$REPOS/downstream"
	cp "$HOOKS/post-merge" "$REPOS/downstream/.git/hooks/post-merge"
	git -C "$REPOS/downstream" config apphub.id down
	apphub -q apps add "$REPOS/downstream" --id down
	commit_files "$REPOS/upstream" Dockerfile 'FROM python:3.12'
	git -C "$REPOS/downstream" pull -q --ff-only 2>/dev/null
	assert_equal "$(app_field down status)" ready
	assert_equal "$(app_field down commitSha)" "$(git -C "$REPOS/upstream" rev-parse HEAD)"
	assert_equal "$(app_tags down)" 'language:python(ingestion:dockerfile) runtime:python312(ingestion:dockerfile)'
}

@test "hooks are POSIX sh and executable" {
	for h in post-receive post-commit post-merge; do
		assert [ -x "$HOOKS/$h" ]
		run -0 sh -n "$HOOKS/$h"
	done
}
