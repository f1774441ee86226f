#!/usr/bin/env bats
# apphub build: ingested apps built from their mirrors; build records, logs,
# retry, events, the build queue, worker recovery, serve's routes, --check.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/ingest'
load 'test_helper/serve'

setup_file() {
	[[ -x $BATS_TEST_DIRNAME/../apphub-build ]] || skip 'apphub-build is not built'
	command -v bwrap >/dev/null || skip 'bwrap is not installed'
	# The busybox base, made once and copied into each test's state.
	BASE_STATE=$BATS_FILE_TMPDIR/base
	export BASE_STATE
	PATH="$BATS_TEST_DIRNAME/..:$PATH" APPHUB_HOME=$BASE_STATE \
		"$BATS_TEST_DIRNAME/../contrib/base-images/busybox.sh" >/dev/null
}

setup() {
	ingest_setup
	mkdir -p "$APPHUB_HOME"
	cp -R "$BASE_STATE/images" "$APPHUB_HOME/images"
	export APPHUB_BUILD_BACKOFF_MS=0
}

extra_teardown() {
	[[ -n ${BUILD_PID:-} ]] && kill -KILL "$BUILD_PID" 2>/dev/null
	return 0
}

GOOD=$'FROM apphub/busybox:latest\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt && echo built-ok\nCMD ["cat", "/hello.txt"]'

# good_app ID: an ingested app whose Dockerfile builds FROM the busybox base.
good_app() {
	commit_files "$REPOS/$1" Dockerfile "$GOOD" hello.txt "hello from $1"
	ingest_app "$1" "$REPOS/$1"
}

# field BUILD KEY: one field of the record.
field() {
	apphub build show "$1" --json | jq -r ".$2"
}

@test "build -h prints usage; usage errors exit 129" {
	run -0 apphub build -h
	assert_output --partial 'usage: apphub build'
	assert_output --partial 'apphub build logs <build> [-f]'
	run -129 apphub build -j 0
	run -129 apphub build --watch some-app
	run -129 apphub build --ref main
	run -129 apphub build show
	run -129 apphub build ls a b
	run -129 apphub build --check
}

@test "build --check: ok with the stage and instruction count, or file:line and exit 1" {
	printf 'FROM scratch AS a\nCOPY x /x\nFROM a\nRUN true\nCMD ["x"]\n' >"$BATS_TEST_TMPDIR/Dockerfile"
	run -0 apphub build --check "$BATS_TEST_TMPDIR/Dockerfile"
	assert_output "$BATS_TEST_TMPDIR/Dockerfile: ok, 2 stages, 5 instructions"
	run -0 apphub build --check "$BATS_TEST_TMPDIR/Dockerfile" --json
	assert_equal "$(jq -c '[.ok, .stages, .instructions]' <<<"$output")" '[true,2,5]'
	printf 'FROM scratch\n\nFORM x\n' >"$BATS_TEST_TMPDIR/bad"
	run --separate-stderr -1 apphub build --check "$BATS_TEST_TMPDIR/bad"
	assert_stdout_empty
	assert_stderr_regex "^apphub: $BATS_TEST_TMPDIR/bad:3: "
	run -2 apphub build --check "$BATS_TEST_TMPDIR/missing"
}

@test "build ID: a succeeded record with the image tag apphub/<id>:<sha12>" {
	good_app hello
	sha=$(git -C "$REPOS/hello" rev-parse HEAD)
	run --separate-stderr -0 apphub build hello --json
	rec=$output
	assert_equal "$(jq -c 'keys_unsorted[:14]' <<<"$rec")" \
		'["id","repositoryId","status","imageTag","errorMessage","commitSha","gitBranch","gitRef","startedAt","completedAt","durationMs","logsPreview","logsTruncated","logsSize"]'
	assert_regex "$(jq -r .id <<<"$rec")" '^b-[0-9a-f]{12}$'
	assert_equal "$(jq -r .repositoryId <<<"$rec")" hello
	assert_equal "$(jq -r .status <<<"$rec")" succeeded
	assert_equal "$(jq -r .imageTag <<<"$rec")" "apphub/hello:${sha:0:12}"
	assert_equal "$(jq -r .commitSha <<<"$rec")" "$sha"
	assert_equal "$(jq -r .gitBranch <<<"$rec")" main
	assert_equal "$(jq -c '[.errorMessage, .gitRef, .attempt, .logsTruncated]' <<<"$rec")" '[null,null,1,false]'
	assert_regex "$(jq -r .durationMs <<<"$rec")" '^[0-9]+$'
	assert_regex "$(jq -r .startedAt <<<"$rec")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T'
	assert_regex "$(jq -r .completedAt <<<"$rec")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T'
	[[ $(jq -r .logsPreview <<<"$rec") == *built-ok* ]]
	id=$(jq -r .id <<<"$rec")
	# the image is in the store, and runs what the Dockerfile says
	run -0 apphub image ls -q
	assert_line "apphub/hello:${sha:0:12}"
	run -0 apphub image inspect "apphub/hello:${sha:0:12}" --json
	assert_equal "$(jq -c .config.Cmd <<<"$output")" '["cat","/hello.txt"]'
	# text output: the record
	run -0 apphub build show "$id"
	assert_line "id:         $id"
	assert_line 'status:     succeeded'
	assert_line "image:      apphub/hello:${sha:0:12}"
	# the context was a temporary directory, gone now
	run -0 find "$APPHUB_HOME/builds" -mindepth 2 -maxdepth 2
	assert_output ''
	[ -f "$APPHUB_HOME/builds/$id.log" ]
}

@test "build ls/show: newest first, --json, -q; unknown ids exit 2" {
	good_app lister
	id1=$(apphub -q build lister)
	id2=$(apphub -q build lister)
	run -0 apphub build ls lister -q
	assert_output "$id2"$'\n'"$id1"
	run -0 apphub build ls lister --json
	assert_equal "$(jq -c '[.repositoryId, .total, [.data[].id]]' <<<"$output")" "[\"lister\",2,[\"$id2\",\"$id1\"]]"
	run -0 apphub build ls lister --limit 1 --offset 1 --json
	assert_equal "$(jq -r '.data[0].id' <<<"$output")" "$id1"
	run -0 apphub build ls lister
	assert_line --index 0 --regexp '^BUILD +STATUS +COMMIT +CREATED +IMAGE$'
	run --separate-stderr -2 apphub build show b-000000000000
	assert_stderr "apphub: build 'b-000000000000' not found"
	run -2 apphub build show nonsense
	run -2 apphub build logs b-000000000000
	run -2 apphub build retry b-000000000000
	run -2 apphub build ls no-such-app
	run --separate-stderr -2 apphub build no-such-app
	assert_stderr "apphub: app 'no-such-app' not found"
}

@test "build of an app never ingested is a conflict" {
	commit_files "$REPOS/fresh" Dockerfile "$GOOD"
	apphub -q apps add "$REPOS/fresh"
	run --separate-stderr -3 apphub build fresh
	assert_stderr_partial "app 'fresh' has not been ingested yet"
}

@test "logs: the full log on disk, the last 4000 characters in the record" {
	commit_files "$REPOS/chatty" Dockerfile \
		$'FROM apphub/busybox:latest\nRUN i=0; while [ $i -lt 300 ]; do echo "line $i of a long build log"; i=$((i+1)); done'
	ingest_app chatty "$REPOS/chatty"
	id=$(apphub -q build chatty)
	rec=$(apphub build show "$id" --json)
	assert_equal "$(jq -r .logsTruncated <<<"$rec")" true
	size=$(jq -r .logsSize <<<"$rec")
	[ "$size" -gt 4000 ]
	[ "$(jq -r '.logsPreview | length' <<<"$rec")" -le 4000 ]
	[ "$(jq -r '.logsPreview | length' <<<"$rec")" -gt 3900 ]
	[[ $(jq -r .logsPreview <<<"$rec") == *"line 299 of a long build log"* ]]
	[[ $(jq -r .logsPreview <<<"$rec") != *"line 0 of a long build log"* ]]
	run -0 apphub build logs "$id"
	assert_line 'line 0 of a long build log'
	assert_line 'line 299 of a long build log'
	assert_equal "$(apphub build logs "$id" | wc -c)" "$size"
	cmp <(apphub build logs "$id") "$APPHUB_HOME/builds/$id.log"
	run -0 apphub build logs "$id" --json
	assert_equal "$(jq -r .size <<<"$output")" "$size"
	assert_equal "$(jq -r .status <<<"$output")" succeeded
	# -f on a finished build prints it all and ends
	run -0 timeout 10 apphub build logs -f "$id"
	assert_line 'line 299 of a long build log'
}

@test "a failing RUN: a failed record naming the line, the log tail on stderr, exit 1" {
	commit_files "$REPOS/broken" Dockerfile \
		$'FROM apphub/busybox:latest\n# a comment\nRUN echo about-to-fail && exit 3\nCMD ["true"]'
	ingest_app broken "$REPOS/broken"
	run --separate-stderr -1 apphub build broken --json
	rec=$output
	assert_equal "$(jq -r .status <<<"$rec")" failed
	assert_equal "$(jq -r .imageTag <<<"$rec")" null
	[[ $(jq -r .errorMessage <<<"$rec") == *Dockerfile:3* ]]
	assert_stderr_regex "apphub: build 'b-[0-9a-f]{12}' of 'broken' failed: .*Dockerfile:3"
	assert_stderr_partial 'about-to-fail'
	id=$(jq -r .id <<<"$rec")
	run -0 apphub build logs "$id"
	assert_output --partial 'about-to-fail'
	# retry: a new pending record of the same commit, queued
	run -0 apphub build retry "$id" --json
	new=$(jq -r .id <<<"$output")
	assert_equal "$(jq -c '[.status, .retryOf, .commitSha]' <<<"$output")" \
		"[\"pending\",\"$id\",\"$(git -C "$REPOS/broken" rev-parse HEAD)\"]"
	# a build waits already: retrying again, or building now, is a conflict
	run -3 apphub build retry "$id"
	run -3 apphub build retry "$new"
	run -3 apphub build broken
	# the queue builds it (and it fails again)
	run --separate-stderr -1 apphub build
	assert_equal "$(field "$new" status)" failed
	assert_equal "$(field "$new" attempt)" 1
}

@test "retry of a succeeded build is a conflict" {
	good_app fine
	id=$(apphub -q build fine)
	run --separate-stderr -3 apphub build retry "$id"
	assert_stderr "apphub: build '$id' succeeded: only a failed build can be retried"
}

@test "--ref builds a branch or a commit of the mirror" {
	good_app reffy
	first=$(git -C "$REPOS/reffy" rev-parse HEAD)
	commit_files "$REPOS/reffy" hello.txt 'second'
	apphub -q ingest reffy
	second=$(git -C "$REPOS/reffy" rev-parse HEAD)
	run -0 apphub build reffy --ref "${first:0:10}" --json
	assert_equal "$(jq -c '[.status, .commitSha, .gitRef, .imageTag]' <<<"$output")" \
		"[\"succeeded\",\"$first\",\"${first:0:10}\",\"apphub/reffy:${first:0:12}\"]"
	run -0 apphub build reffy --ref main --json
	assert_equal "$(jq -c '[.commitSha, .gitBranch, .gitRef]' <<<"$output")" "[\"$second\",\"main\",\"main\"]"
	run --separate-stderr -1 apphub build reffy --ref no-such-branch --json
	assert_equal "$(jq -r .status <<<"$output")" failed
	assert_stderr_partial "ref 'no-such-branch' is not a branch, tag or commit"
	run -1 apphub build reffy --ref '-x'
}

@test "events: build.queued, build.running, build.succeeded, build.failed" {
	good_app evented
	id=$(apphub -q build evented)
	run -0 apphub events --json
	assert_equal "$(jq -c '[.data[] | select(.type | startswith("build.")) | [.type, .subject, .data.buildId]]' <<<"$output")" \
		"[[\"build.queued\",\"evented\",\"$id\"],[\"build.running\",\"evented\",\"$id\"],[\"build.succeeded\",\"evented\",\"$id\"]]"
	commit_files "$REPOS/evented" Dockerfile $'FROM apphub/busybox:latest\nRUN false'
	apphub -q ingest evented
	run -1 apphub build
	run -0 apphub events --json
	assert_equal "$(jq -r '[.data[] | select(.type | startswith("build.")) | .type] | last' <<<"$output")" build.failed
	# the failed event names the error as the record does
	b=$(apphub build ls evented --json | jq -r '.data[0].id')
	assert_equal "$(jq -r '[.data[] | select(.type == "build.failed")] | last | .data.errorMessage' <<<"$output")" \
		"$(field "$b" errorMessage)"
}

@test "queue: a successful ingest queues a build; apphub build without arguments builds it" {
	commit_files "$REPOS/queued" Dockerfile "$GOOD" hello.txt 'queued'
	apphub -q apps add "$REPOS/queued"
	apphub -q ingest
	run -0 sqlite3 "$APPHUB_HOME/apphub.db" "SELECT kind, subject FROM work"
	assert_output 'build|queued'
	sha=$(git -C "$REPOS/queued" rev-parse HEAD)
	run --separate-stderr -0 apphub build
	assert_output --regexp "^queued succeeded apphub/queued:${sha:0:12} b-[0-9a-f]{12} \\([0-9]+ ms\\)$"
	run -0 sqlite3 "$APPHUB_HOME/apphub.db" "SELECT count(*) FROM work"
	assert_output 0
	run -0 apphub build ls queued --json
	assert_equal "$(jq -c '[.total, .data[0].status, .data[0].commitSha]' <<<"$output")" "[1,\"succeeded\",\"$sha\"]"
	# nothing waits now
	run -0 apphub build
	assert_output ''
}

# status_is BUILD|APP STATUS
latest_status_is() {
	[[ $(apphub build ls "$1" --json | jq -r '.data[0].status') == "$2" ]]
}

# The claim records "running" a moment before the worker is forked.
has_worker() {
	pgrep -P "$BUILD_PID" >/dev/null
}

@test "kill -9 of a build worker: the attempt is counted and the build recovers" {
	commit_files "$REPOS/slow" Dockerfile $'FROM apphub/busybox:latest\nRUN sleep 2 && echo slept'
	apphub -q apps add "$REPOS/slow"
	apphub -q ingest
	apphub build 3>&- >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	BUILD_PID=$!
	wait_until latest_status_is slow running
	wait_until has_worker
	worker=$(pgrep -P "$BUILD_PID" | head -1)
	[ -n "$worker" ]
	kill -KILL "$worker"
	wait "$BUILD_PID"
	BUILD_PID=
	rec=$(apphub build ls slow --json | jq '.data[0]')
	assert_equal "$(jq -c '[.status, .attempt]' <<<"$rec")" '["succeeded",2]'
	grep -q "killed by signal 9" "$BATS_TEST_TMPDIR/err"
	run -0 apphub events --json
	assert_equal "$(jq -c '[.data[] | select(.type | startswith("build.")) | [.type, .data.attempt]]' <<<"$output")" \
		'[["build.queued",null],["build.running",1],["build.queued",1],["build.running",2],["build.succeeded",2]]'
	[[ $(jq -r '[.data[] | select(.type == "build.queued")] | last | .data.errorMessage' <<<"$output") == *"killed by signal 9"* ]]
}

@test "kill -9 of the whole consumer: the lease runs out and the next one recovers" {
	export APPHUB_BUILD_LEASE_MS=300
	commit_files "$REPOS/orphan" Dockerfile $'FROM apphub/busybox:latest\nRUN sleep 2'
	apphub -q apps add "$REPOS/orphan"
	apphub -q ingest
	apphub build 3>&- >/dev/null 2>&1 &
	BUILD_PID=$!
	wait_until latest_status_is orphan running
	kill -KILL "$BUILD_PID"
	wait "$BUILD_PID" || true
	BUILD_PID=
	sleep 0.5
	run --separate-stderr -0 apphub build
	rec=$(apphub build ls orphan --json | jq '.data[0]')
	assert_equal "$(jq -c '[.status, .attempt]' <<<"$rec")" '["succeeded",2]'
	run -0 apphub events --json
	assert_equal "$(jq -c '[.data[] | select(.type == "build.running") | .data.recovered]' <<<"$output")" '[false,true]'
}

@test "the attempt limit: a worker dying every time fails the build" {
	export APPHUB_BUILD_ATTEMPTS=1
	commit_files "$REPOS/doomed" Dockerfile $'FROM apphub/busybox:latest\nRUN sleep 2'
	apphub -q apps add "$REPOS/doomed"
	apphub -q ingest
	apphub build 3>&- >/dev/null 2>"$BATS_TEST_TMPDIR/err" &
	BUILD_PID=$!
	wait_until latest_status_is doomed running
	wait_until has_worker
	kill -KILL "$(pgrep -P "$BUILD_PID" | head -1)"
	# not "run wait": run's subshell cannot wait for this shell's child
	code=0
	wait "$BUILD_PID" || code=$?
	BUILD_PID=
	rec=$(apphub build ls doomed --json | jq '.data[0]')
	cat "$BATS_TEST_TMPDIR/err"
	assert_equal "$code" 1
	assert_equal "$(jq -r .status <<<"$rec")" failed
	[[ $(jq -r .errorMessage <<<"$rec") == *"killed by signal 9 (attempt 1 of 1)"* ]]
}

@test "serve: the build routes, and its workers build what is queued" {
	good_app served
	# the build the ingest queued, out of the way
	apphub -q build
	start_serve --workers 1
	r=$(http POST /apps/served/builds)
	assert_equal "$(status_of "$r")" 201
	id=$(body_of "$r" | jq -r .id)
	assert_equal "$(body_of "$r" | jq -r .status)" pending
	build_done() { [[ $(get "/builds/$id" | jq -r .status) == succeeded ]]; }
	wait_until build_done
	run -0 get /apps/served/builds
	assert_equal "$(jq -r '.data[0].id' <<<"$output")" "$id"
	run -0 get "/builds/$id/logs"
	[[ $(jq -r .data <<<"$output") == *built-ok* ]]
	assert_equal "$(jq -r .status <<<"$output")" succeeded
	r=$(http POST "/builds/$id/retry")
	assert_equal "$(status_of "$r")" 409
	r=$(http GET /builds/b-000000000000)
	assert_equal "$(status_of "$r")" 404
	r=$(http GET /apps/nope/builds)
	assert_equal "$(status_of "$r")" 404
	# a build now, over the synchronous route
	r=$(http POST /apps/served/build)
	assert_equal "$(status_of "$r")" 201
	assert_equal "$(body_of "$r" | jq -r .status)" succeeded
	stop_serve
	assert_equal "$SERVE_STATUS" 0
}
