#!/usr/bin/env bats
# apphub ingest: the queue, the transports, the mirror, history and retry.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/ingest'

setup() {
	ingest_setup
}

teardown() {
	stop_servers
}

@test "ingest -h prints usage, exit 0; bad -j is a usage error" {
	run -0 apphub ingest -h
	assert_output --partial 'usage: apphub ingest'
	run -129 apphub ingest -j 0
	run -129 apphub ingest -j 65
	run -129 apphub ingest --watch some-app
}

@test "queue: a registered app goes pending -> processing -> ready" {
	commit_files "$REPOS/plain" Dockerfile 'FROM scratch'
	apphub -q apps add "$REPOS/plain"
	assert_equal "$(app_field plain status)" pending
	run --separate-stderr -0 apphub ingest
	sha=$(git -C "$REPOS/plain" rev-parse HEAD)
	assert_output --regexp "^plain ready $sha \\([0-9]+ ms\\)$"
	assert_equal "$(app_field plain status)" ready
	assert_equal "$(app_field plain commitSha)" "$sha"
	assert_equal "$(app_field plain ingestAttempts)" 1
	assert_equal "$(app_field plain errorMessage)" null
	assert_regex "$(app_field plain lastIngestedAt)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z$'
	# the queue is empty now: a second run does nothing
	run -0 apphub ingest
	assert_output ''
}

@test "apps rm removes the app's mirror too; the id can ingest anew" {
	commit_files "$REPOS/gone" Dockerfile 'FROM scratch'
	apphub -q apps add "$REPOS/gone"
	run -0 apphub ingest
	[ -d "$APPHUB_HOME/repos/gone.git" ]
	run -0 apphub apps rm gone
	assert_output ''
	[ ! -e "$APPHUB_HOME/repos/gone.git" ]
	apphub -q apps add "$REPOS/gone"
	run -0 apphub ingest gone
	assert_equal "$(app_field gone status)" ready
}

@test "apps show --json carries the ingest fields, null before the first ingest" {
	commit_files "$REPOS/fresh" Dockerfile 'FROM scratch'
	apphub -q apps add "$REPOS/fresh"
	run -0 apphub apps show fresh --json
	assert_equal "$(jq -c '[.commitSha, .readme, .lastIngestedAt, .errorMessage, .ingestAttempts]' <<<"$output")" \
		'[null,null,null,null,0]'
}

@test "history: newest first, attempt filled, 25 by default, --limit" {
	commit_files "$REPOS/hist" Dockerfile 'FROM scratch'
	apphub -q apps add "$REPOS/hist"
	apphub -q ingest
	sha=$(git -C "$REPOS/hist" rev-parse HEAD)
	run -0 apphub apps history hist --json
	assert_equal "$(jq -c '[.data[] | [.status, .message, .attempt]]' <<<"$output")" \
		'[["ready","Ingestion succeeded",1],["processing","Ingestion started",1],["pending","Queued for ingestion",null]]'
	assert_equal "$(jq -r '.data[0].commitSha' <<<"$output")" "$sha"
	assert_regex "$(jq -r '.data[0].durationMs' <<<"$output")" '^[0-9]+$'
	assert_equal "$(jq -c '.data[0] | keys_unsorted' <<<"$output")" \
		'["status","message","attempt","commitSha","durationMs","createdAt"]'
	for i in $(seq 12); do
		apphub -q apps retry hist
		apphub -q ingest hist
	done
	run -0 apphub apps history hist --json
	assert_equal "$(jq '.data | length' <<<"$output")" 25
	run -0 apphub apps history hist --limit 2 --json
	assert_equal "$(jq '.data | length' <<<"$output")" 2
	run -0 apphub apps history hist --limit 2
	assert_line --index 0 --regexp '^[0-9T:.Z-]+  ready +#1 +Ingestion succeeded \([0-9a-f]{12}, [0-9]+ ms\)$'
	run -2 apphub apps history nope
	run -1 apphub apps history hist --limit 0
}

@test "retry: unknown 404 (exit 2), pending or processing 409 (exit 3), else queued" {
	commit_files "$REPOS/again" Dockerfile 'FROM scratch'
	run -2 apphub apps retry nope
	apphub -q apps add "$REPOS/again"
	run --separate-stderr -3 apphub apps retry again
	assert_stderr "apphub: app 'again' is already queued for ingestion"
	sqlite3 "$(db_path)" "UPDATE apps SET status = 'processing' WHERE id = 'again'"
	run --separate-stderr -3 apphub apps retry again
	assert_stderr "apphub: app 'again' is already being ingested"
	sqlite3 "$(db_path)" "UPDATE apps SET status = 'pending' WHERE id = 'again'"
	apphub -q ingest
	run -0 apphub apps retry again --json
	assert_equal "$(jq -r .status <<<"$output")" pending
	run -0 apphub events --type 'app.ingest.queued' --json
	assert_equal "$(jq '.data | length' <<<"$output")" 1
	apphub -q ingest
	assert_equal "$(app_field again status)" ready
}

@test "events: app.ingest.started and succeeded; success queues a build item" {
	commit_files "$REPOS/evented" Dockerfile 'FROM scratch'
	apphub -q apps add "$REPOS/evented"
	apphub -q ingest
	run -0 apphub events --type 'app.ingest.*' --json
	assert_equal "$(jq -c '[.data[] | .type]' <<<"$output")" '["app.ingest.started","app.ingest.succeeded"]'
	assert_equal "$(jq -r '.data[1].data.commitSha' <<<"$output")" "$(git -C "$REPOS/evented" rev-parse HEAD)"
	assert_equal "$(sqlite3 "$(db_path)" "SELECT kind || ':' || subject FROM work")" 'build:evented'
}

@test "the mirror is a bare repository under repos/, nothing checked out" {
	commit_files "$REPOS/mirrored" Dockerfile 'FROM scratch' src/app.js 'x'
	apphub -q apps add "$REPOS/mirrored"
	apphub -q ingest
	m=$APPHUB_HOME/repos/mirrored.git
	assert [ -f "$m/HEAD" ]
	assert_equal "$(git -C "$m" rev-parse --is-bare-repository)" true
	assert_equal "$(git -C "$m" rev-parse refs/heads/main)" "$(git -C "$REPOS/mirrored" rev-parse HEAD)"
	assert [ ! -e "$m/Dockerfile" ]
	assert [ ! -e "$m/src" ]
	run find "$APPHUB_HOME" -name Dockerfile
	assert_output ''
}

@test "re-ingest after a new commit fetches only the new objects and records the new SHA" {
	commit_files "$REPOS/grow" Dockerfile 'FROM scratch'
	for i in $(seq 20); do commit_files "$REPOS/grow" "f$i.txt" "file $i"; done
	apphub -q apps add "$REPOS/grow"
	run -0 apphub --json ingest grow
	first=$(jq '.data[0].receivedObjects' <<<"$output")
	assert [ "$first" -ge 60 ]
	commit_files "$REPOS/grow" new.txt 'new'
	run -0 apphub --json ingest grow
	# a commit, a tree and a blob
	assert_equal "$(jq '.data[0].receivedObjects' <<<"$output")" 3
	assert_equal "$(app_field grow commitSha)" "$(git -C "$REPOS/grow" rev-parse HEAD)"
	# nothing new: nothing fetched, same SHA
	run -0 apphub --json ingest grow
	assert_equal "$(jq '.data[0].receivedObjects' <<<"$output")" 0
}

@test "transports: plain path, file://, git:// and http://" {
	commit_files "$REPOS/served.git" Dockerfile 'FROM nginx'
	sha=$(git -C "$REPOS/served.git" rev-parse HEAD)
	start_git_daemon "$REPOS"
	start_http "$REPOS"
	apphub -q apps add "$REPOS/served.git" --id by-path
	apphub -q apps add "file://$REPOS/served.git" --id by-file
	apphub -q apps add "git://127.0.0.1:$GIT_PORT/served.git" --id by-git
	apphub -q apps add "http://127.0.0.1:$HTTP_PORT/served.git" --id by-http
	run --separate-stderr -0 apphub ingest -j 4
	assert_equal "${#lines[@]}" 4
	for id in by-path by-file by-git by-http; do
		assert_equal "$(app_field $id status)" ready
		assert_equal "$(app_field $id commitSha)" "$sha"
		assert_equal "$(app_tags $id)" 'runtime:nginx(ingestion:dockerfile)'
	done
	# incremental over the network too
	commit_files "$REPOS/served.git" more.txt more
	run -0 apphub --json ingest by-git by-http
	assert_equal "$(jq -c '[.data[].receivedObjects]' <<<"$output")" '[3,3]'
}

@test "a bare repository as the source" {
	commit_files "$REPOS/work" Dockerfile 'FROM scratch'
	git clone -q --bare "$REPOS/work" "$REPOS/bare.git"
	apphub -q apps add "$REPOS/bare.git"
	run -0 apphub ingest bare
	assert_equal "$(app_field bare status)" ready
}

@test "the default branch is the remote HEAD, not just main" {
	mkdir -p "$REPOS/trunk"
	git -C "$REPOS/trunk" init -q -b trunk
	commit_files "$REPOS/trunk" Dockerfile 'FROM scratch'
	git -C "$REPOS/trunk" checkout -q -b other
	commit_files "$REPOS/trunk" other.txt x
	git -C "$REPOS/trunk" checkout -q trunk
	apphub -q apps add "$REPOS/trunk"
	apphub -q ingest
	assert_equal "$(app_field trunk commitSha)" "$(git -C "$REPOS/trunk" rev-parse trunk)"
}

@test "-j 2 over many apps, all ready, each once" {
	for i in $(seq 8); do
		commit_files "$REPOS/many-$i" Dockerfile 'FROM scratch'
		apphub -q apps add "$REPOS/many-$i"
	done
	run --separate-stderr -0 apphub ingest -j 3
	assert_equal "${#lines[@]}" 8
	run -0 apphub apps ls --status ready -q
	assert_equal "${#lines[@]}" 8
	assert_equal "$(sqlite3 "$(db_path)" "SELECT count(*) FROM ingestion_events WHERE status = 'processing'")" 8
}

@test "ingest ID: not found exit 2, others still ingested" {
	commit_files "$REPOS/known" Dockerfile 'FROM scratch'
	apphub -q apps add "$REPOS/known"
	run --separate-stderr -2 apphub ingest nope known
	assert_stderr "apphub: app 'nope' not found"
	assert_equal "$(app_field known status)" ready
}

@test "ingest ID of a ready app queues it again and ingests it" {
	commit_files "$REPOS/twice" Dockerfile 'FROM scratch'
	apphub -q apps add "$REPOS/twice"
	apphub -q ingest
	apphub -q ingest twice
	run -0 apphub apps history twice --json
	assert_equal "$(jq -c '[.data[] | .status]' <<<"$output")" \
		'["ready","processing","pending","ready","processing","pending"]'
}

@test "--json result of ingest" {
	commit_files "$REPOS/jsn" Dockerfile 'FROM scratch'
	apphub -q apps add "$REPOS/jsn"
	run --separate-stderr -0 apphub ingest --json
	assert_equal "$(jq -r '.data[0] | [.id, .status, .attempt, .dockerfilePath] | join(" ")' <<<"$output")" 'jsn ready 1 Dockerfile'
	assert_equal "$(jq -c '.data[0] | [has("errorMessage"), .errorMessage, has("error")]' <<<"$output")" '[true,null,false]'
}

@test "ingest --repo finds the app by its path in any spelling" {
	commit_files "$REPOS/spelled" Dockerfile 'FROM scratch'
	apphub -q apps add "file://$REPOS/spelled/" --id spelled
	run -0 apphub ingest --repo "$REPOS/spelled/.git"
	assert_equal "$(app_field spelled status)" ready
	run --separate-stderr -2 apphub ingest --repo /nowhere
	assert_stderr "apphub: no app is registered with repository '/nowhere'"
}

@test "--watch ingests apps registered while it waits" {
	commit_files "$REPOS/late" Dockerfile 'FROM scratch'
	apphub ingest --watch >"$BATS_TEST_TMPDIR/watch.out" 2>&1 3>&- &
	pid=$!
	sleep 0.5
	apphub -q apps add "$REPOS/late"
	for i in $(seq 50); do
		[[ $(app_field late status) == ready ]] && break
		sleep 0.1
	done
	kill "$pid"
	wait "$pid" || true
	assert_equal "$(app_field late status)" ready
	run cat "$BATS_TEST_TMPDIR/watch.out"
	assert_output --regexp '^late ready [0-9a-f]{40}'
}
