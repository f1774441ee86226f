#!/usr/bin/env bats
# The examples of contrib/examples end to end: each registers, ingests and
# builds FROM the base images of contrib/base-images, launches, and its page
# answers through the preview URL; stopped, nothing of it is left running.
#
# One state directory for the whole file: the base images are made once
# (debootstrap of Debian bookworm takes a minute or more) and the tests run
# in order, each on what the one before it made.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

EXAMPLES=(static-site node-hello python-notes)

setup_file() {
	[[ -x $BATS_TEST_DIRNAME/../apphub-build ]] || skip 'apphub-build is not built'
	[[ -x $BATS_TEST_DIRNAME/../apphub-launch ]] || skip 'apphub-launch is not built'
	command -v bwrap >/dev/null || skip 'bwrap is not installed'
	PATH="$BATS_TEST_DIRNAME/..:$PATH"
	export PATH
	export APPHUB_HOME="$BATS_FILE_TMPDIR/state"
	export EXAMPLES_HOME=$APPHUB_HOME
	unset XDG_STATE_HOME APPHUB_EXEC_PATH
	local base=$BATS_TEST_DIRNAME/../contrib/base-images
	APPHUB=apphub sh "$base/busybox.sh" >/dev/null
	# apphub/debian:bookworm, for node-hello and python-notes. Without root,
	# debootstrap or the mirror those two are skipped; any other failure of
	# debian.sh is a failure of the file.
	local mirror=${MIRROR:-http://deb.debian.org/debian}
	NO_DEBIAN=$BATS_FILE_TMPDIR/no-debian
	export NO_DEBIAN
	if [[ $(id -u) != 0 ]]; then
		echo 'apphub/debian:bookworm needs root for debootstrap' >"$NO_DEBIAN"
	elif ! command -v debootstrap >/dev/null && [[ ! -x /usr/sbin/debootstrap ]]; then
		echo 'apphub/debian:bookworm needs debootstrap (apt-get install debootstrap)' >"$NO_DEBIAN"
	elif ! APPHUB=apphub sh "$base/debian.sh" >/dev/null 2>"$BATS_FILE_TMPDIR/debian.err"; then
		if curl -sfI --max-time 20 "$mirror/dists/bookworm/Release" >/dev/null; then
			cat "$BATS_FILE_TMPDIR/debian.err" >&2
			echo "contrib/base-images/debian.sh failed with $mirror reachable" >&2
			return 1
		fi
		echo "apphub/debian:bookworm: the Debian mirror $mirror is unreachable" >"$NO_DEBIAN"
	fi
	REPOS=$BATS_FILE_TMPDIR/repos
	export REPOS
	sh "$BATS_TEST_DIRNAME/../contrib/examples/make-repos.sh" "$REPOS" >/dev/null
}

setup() {
	common_setup
	# The state of the file, not one per test.
	export APPHUB_HOME=$EXAMPLES_HOME
	T=$BATS_TEST_TMPDIR
}

teardown_file() {
	local id
	export APPHUB_HOME=${EXAMPLES_HOME:-$BATS_FILE_TMPDIR/state}
	[[ -d $APPHUB_HOME ]] || return 0
	for id in $(apphub launch ls -q 2>/dev/null); do
		apphub -q launch stop "$id" >/dev/null 2>&1 || true
	done
}

# needs_debian: skips a test of an example FROM apphub/debian:bookworm when
# setup_file could not make it.
needs_debian() {
	if [[ -s $NO_DEBIAN ]]; then
		skip "$(cat "$NO_DEBIAN")"
	fi
}

# build_example ID: `apphub build ID` succeeds with the tag apphub/ID:<sha12>
# of the repository's commit, and the image is in the store.
build_example() {
	local id=$1 sha rec tag
	sha=$(git -C "$REPOS/$id" rev-parse HEAD)
	run --separate-stderr -0 apphub build "$id" --json
	rec=$output
	assert_equal "$(jq -r .status <<<"$rec")" succeeded
	assert_equal "$(jq -r .commitSha <<<"$rec")" "$sha"
	tag=$(jq -r .imageTag <<<"$rec")
	assert_equal "$tag" "apphub/$id:${sha:0:12}"
	run -0 apphub build ls "$id"
	assert_output --partial succeeded
	run -0 apphub image inspect "$tag" --json
	echo "$output" >"$T/image.json"
}

# launch_example ID PORT: launches ID's latest build; sets L (the launch id)
# and URL (its preview URL), and keeps the sandbox's pid for the last test.
launch_example() {
	local id=$1 port=$2
	run -0 apphub --json launch "$id"
	echo "$output" >"$T/launch.json"
	run -0 jq -r '[.repositoryId, .status, .port, .network] | join(" ")' "$T/launch.json"
	assert_output "$id running $port loopback"
	L=$(jq -r .id "$T/launch.json")
	URL=$(jq -r .previewUrl "$T/launch.json")
	assert_regex "$URL" '^http://127\.0\.0\.1:[0-9]+/$'
	assert_equal "$URL" "http://127.0.0.1:$(jq -r .hostPort "$T/launch.json")/"
	jq -r '.pid, .sandboxPid' "$T/launch.json" >>"$BATS_FILE_TMPDIR/pids"
}

# stop_example: stops $L; its preview URL answers no more.
stop_example() {
	run -0 apphub launch stop "$L"
	assert_output "$L stopped"
	run -0 apphub --json launch show "$L"
	run -0 jq -r .status <<<"$output"
	assert_output stopped
	run -7 curl -s --max-time 5 "$URL"
}

@test "the three examples register and ingest at their commits" {
	for id in "${EXAMPLES[@]}"; do
		run -0 apphub -q apps add "$REPOS/$id"
	done
	run -0 apphub apps ls --json
	run -0 jq -r '[.data[].id] | sort | join(" ")' <<<"$output"
	assert_output 'node-hello python-notes static-site'
	run -0 apphub ingest
	for id in "${EXAMPLES[@]}"; do
		run -0 apphub apps show "$id" --json
		run -0 jq -r '[.status, .commitSha, .dockerfilePath] | join(" ")' <<<"$output"
		assert_output "ready $(git -C "$REPOS/$id" rev-parse HEAD) Dockerfile"
	done
}

@test "static-site builds FROM apphub/busybox" {
	build_example static-site
	run -0 jq -c '[.config.Cmd, .config.ExposedPorts]' "$T/image.json"
	assert_output '[["httpd","-f","-p","8080","-h","/www"],{"8080/tcp":{}}]'
}

@test "node-hello builds FROM apphub/debian" {
	needs_debian
	build_example node-hello
	run -0 jq -c '[.config.Cmd, .config.WorkingDir, (.config.Env | index("PORT=3000") != null)]' "$T/image.json"
	assert_output '[["node","server.js"],"/app",true]'
}

@test "python-notes builds FROM apphub/debian" {
	needs_debian
	build_example python-notes
	run -0 jq -c '[.config.Cmd, .config.WorkingDir, (.config.Env | index("PORT=8000") != null)]' "$T/image.json"
	assert_output '[["python3","app.py"],"/app",true]'
}

@test "static-site launches and serves its page and stylesheet through the preview URL" {
	launch_example static-site 8080
	src=$BATS_TEST_DIRNAME/../contrib/examples/static-site/www
	curl -sf --max-time 10 "$URL" -o "$T/index.html"
	cmp "$src/index.html" "$T/index.html"
	grep -q '<h1>Static site</h1>' "$T/index.html"
	curl -sf --max-time 10 "${URL}style.css" -o "$T/style.css"
	cmp "$src/style.css" "$T/style.css"
	run -0 curl -s --max-time 10 -o /dev/null -w '%{http_code}' "${URL}nosuch.html"
	assert_output 404
	stop_example
}

@test "node-hello launches and answers JSON through the preview URL" {
	needs_debian
	launch_example node-hello 3000
	run -0 curl -sf --max-time 10 -D "$T/headers" "$URL"
	run -0 jq -r '.message, (.node | startswith("v"))' <<<"$output"
	assert_output $'hello, world\ntrue'
	grep -qi '^content-type: application/json' "$T/headers"
	run -0 curl -sf --max-time 10 "${URL}?name=apphub"
	run -0 jq -r .message <<<"$output"
	assert_output 'hello, apphub'
	run -0 curl -sf --max-time 10 "${URL}healthz"
	assert_output ok
	run -0 apphub launch logs "$L"
	assert_output --partial 'node-hello listening on http://0.0.0.0:3000'
	stop_example
}

@test "python-notes launches, serves its notes page and keeps a note through the preview URL" {
	needs_debian
	launch_example python-notes 8000
	run -0 curl -sf --max-time 10 "$URL"
	assert_output --partial '<title>Notes</title>'
	assert_output --partial '<h1>Notes</h1>'
	assert_output --partial '<form method="post" action="/notes">'
	run -0 curl -sf --max-time 10 -H 'Content-Type: application/json' \
		-d '{"text": "written <through> the preview"}' "${URL}notes"
	run -0 jq -r .text <<<"$output"
	assert_output 'written <through> the preview'
	run -0 curl -sf --max-time 10 "${URL}notes"
	run -0 jq -c .notes <<<"$output"
	assert_output '["written <through> the preview"]'
	run -0 curl -sf --max-time 10 "$URL"
	assert_output --partial '<li>written &lt;through&gt; the preview</li>'
	run -0 apphub launch logs "$L"
	assert_output --partial 'python-notes listening on port 8000'
	stop_example
}

@test "after stopping, no supervisor or sandbox of this state directory remains" {
	[[ -s $BATS_FILE_TMPDIR/pids ]] || skip 'no example was launched'
	run -0 apphub --json launch ls
	run -0 jq -r '[.data[].status] | unique | join(" ")' <<<"$output"
	assert_output stopped
	# The supervisors (apphub-launch supervise STATE ID) name the state
	# directory on their command line; the sandboxes (bwrap and the app) are
	# known by the pids the launches recorded.
	run -0 ps -eo stat=,pid=,args=
	procs=$(awk -v dir="$APPHUB_HOME" '$1 !~ /^Z/ && index($0, dir) && !/awk/' <<<"$output")
	assert_equal "$procs" ''
	while read -r pid; do
		[[ $pid =~ ^[0-9]+$ ]] || continue
		# Alive, not a zombie, and still ours (not a reused pid).
		if ps -o stat=,args= -p "$pid" | grep -E '^[^Z].*(apphub-launch|bwrap)'; then
			echo "pid $pid of a stopped launch is still running" >&2
			false
		fi
	done <"$BATS_FILE_TMPDIR/pids"
}
