#!/usr/bin/env bats
# Every <command> <verb> that makes sense remotely, run locally and through
# --server against a serve on loopback over a copy of the same state: the
# same exit status, the same JSON (times and generated values left out) and
# the same messages. What cannot run remotely is refused and writes nothing
# locally.

bats_require_minimum_version 1.5.0
load test_helper/common
load test_helper/ingest
load test_helper/serve
load test_helper/registry

# A state with two ingested apps (real git repositories), a build and an
# image, made once; each test serves one copy of it and runs locally on
# another.
setup_file() {
	common_setup
	local t=$BATS_FILE_TMPDIR
	export APPHUB_HOME=$t/template
	commit_files "$t/repos/alpha" Dockerfile $'FROM scratch\nCOPY README.md /\n' \
		README.md $'# Alpha\n\nThe first app, with express.' \
		package.json '{"name":"alpha","dependencies":{"express":"4"}}'
	commit_files "$t/repos/bravo" Dockerfile 'FROM scratch' README.md 'Bravo, a second app.'
	apphub -q apps add "$t/repos/alpha" --id alpha --tag team:web
	apphub -q apps add "$t/repos/bravo" --id bravo
	apphub -q ingest alpha bravo
	apphub -q build alpha
	mkdir -p "$t/rootfs/etc"
	echo tiny >"$t/rootfs/etc/tiny"
	apphub -q image import "$t/rootfs" test/tiny --cmd '["/bin/sh"]'
	apphub -q image import "$t/rootfs" test/spare
	# test/httpd: busybox httpd on port 8080, for a launch
	APPHUB=apphub sh "$BATS_TEST_DIRNAME/../contrib/base-images/busybox.sh" >/dev/null
	apphub image unpack apphub/busybox "$t/busybox" >/dev/null
	mkdir -p "$t/busybox/www"
	echo '<h1>remote</h1>' >"$t/busybox/www/index.html"
	apphub image import "$t/busybox" test/httpd --env PORT=8080 \
		--cmd '["httpd", "-f", "-p", "8080", "-h", "/www"]' >/dev/null
}

setup() {
	common_setup
	unset APPHUB_TOKENS APPHUB_TOKENS_FILE APPHUB_SERVER APPHUB_TOKEN
	T=$BATS_TEST_TMPDIR
	LOCAL=$T/local
	CLIENT=$T/client
	cp -a "$BATS_FILE_TMPDIR/template" "$LOCAL"
	cp -a "$BATS_FILE_TMPDIR/template" "$T/served"
	# the same times in both images, so the same digests
	export SOURCE_DATE_EPOCH=1700000000
	export APPHUB_HOME=$T/served
	start_serve --workers 0
	unset APPHUB_HOME
	BUILD=$(apphub -C "$LOCAL" -q build ls alpha | head -n 1)
}

extra_teardown() {
	local dir id
	stop_registry 2>/dev/null || true
	for dir in "$LOCAL" "$T/served"; do
		for id in $(apphub -C "$dir" launch ls -q 2>/dev/null); do
			apphub -C "$dir" -q launch stop "$id" >/dev/null 2>&1 || true
		done
	done
}

# The JSON without what differs between two runs of the same thing: times,
# durations, process ids, ports and the ids a run makes up, in fields and
# in the text of logs.
norm() {
	local s
	s=$(cat)
	jq -S 'walk(if type == "object" then with_entries(select(.key |
		test("(At|^time|^created|Ms|^pid|^sandboxPid|^hostPort|^previewUrl|^logsSize|^size|^nextOffset)$") | not))
		elif type == "string" then gsub("\\b(?<k>[bl])-[0-9a-f]{12}\\b"; "\(.k)-ID") |
			gsub("\\[apphub [^]]*\\]"; "[apphub]") | gsub("\\b[0-9]+ ms\\b"; "N ms") |
			gsub("\\(pid [0-9]+\\)"; "(pid N)") | gsub("127\\.0\\.0\\.1:[0-9]+"; "127.0.0.1:PORT")
		else . end)' <<<"$s" 2>/dev/null || printf '%s\n' "$s"
}

# sides: the names a row gave each side (see same) made one again.
sides() {
	sed -E 's/-(local|remote)\>/-@side/g'
}

# same ARGS...: ARGS run locally and through --server give the same exit
# status, JSON and messages; the client writes no state of its own. "@side"
# in an argument is "local" on one side and "remote" on the other, for the
# names that must differ on one machine (a launch's id names its cgroups).
same() {
	local lrc=0 rrc=0 lout rout a
	local -a largs=() rargs=()
	for a in "$@"; do
		largs+=("${a//@side/local}")
		rargs+=("${a//@side/remote}")
	done
	lout=$(apphub -C "$LOCAL" --json "${largs[@]}" 2>"$T/lerr") || lrc=$?
	rout=$(APPHUB_HOME=$CLIENT apphub --server "$SERVE_URL" --json "${rargs[@]}" 2>"$T/rerr") ||
		rrc=$?
	if [[ $lrc != "$rrc" ]]; then
		echo "apphub $*: exit $lrc locally, $rrc through --server" >&2
		cat "$T/lerr" "$T/rerr" >&2
		return 1
	fi
	assert_equal "$(sides <<<"$rout" | norm)" "$(sides <<<"$lout" | norm)"
	assert_equal "$(sides <"$T/rerr" | sed -E 's/\<([bl])-[0-9a-f]{12}\>/\1-ID/g')" \
		"$(sides <"$T/lerr" | sed -E 's/\<([bl])-[0-9a-f]{12}\>/\1-ID/g')"
	if [[ -e $CLIENT ]]; then
		echo "apphub --server $*: wrote $CLIENT" >&2
		return 1
	fi
}

# table ROW...: each row a command line for same(); rows run in order, so
# writes leave both states alike for the rows after them.
table() {
	local row
	for row in "$@"; do
		eval "same $row"
	done
}

@test "remote: apps, every verb" {
	printf '%s\n' '{"id":"imp-1","repoUrl":"https://example.com/i/1.git","tags":["batch:yes"]}' \
		'not json' >"$T/apps.jsonl"
	table 'apps' 'apps ls' 'apps ls --status ready --sort name' 'apps search express' \
		'apps search --tag team:web' 'apps search nothing-matches' 'apps show alpha' \
		'apps show nope' 'apps tags' 'apps tags fr --limit 3' 'apps tags --limit 99' \
		'apps history alpha' 'apps history alpha --limit 1' 'apps history nope' \
		'apps add https://example.com/r/charlie.git --id charlie --tag a:b' \
		'apps add https://example.com/r/charlie.git --id charlie' \
		'apps add https://example.com/r/charlie.git --id charlie --update --name Charlie' \
		'apps tag charlie add c:d' 'apps tag charlie rm a:b' 'apps tag nope add c:d' \
		'apps retry charlie' 'apps retry alpha' \
		"apps import $T/apps.jsonl" "apps import $T/apps.jsonl --update" \
		'apps rm charlie' 'apps rm charlie' 'apps ls'
}

@test "remote: events and gc" {
	table 'events' 'events --since 2 --limit 3' 'events --type "app.*"' 'events --type "build.*"' \
		'gc --dry-run' 'gc' 'events --limit 1000'
}

@test "remote: image, every verb but those that use local paths" {
	table 'image' 'image ls' 'image inspect test/tiny' 'image inspect nope' \
		'image rm test/spare' 'image rm test/spare' 'image ls'
	command -v docker-registry >/dev/null || skip "docker-registry is not installed"
	start_registry
	# pushed from both sides to one registry: the second finds the blobs there
	table "image push test/tiny $REGISTRY/remote/tiny:1" \
		"image pull $REGISTRY/remote/tiny:1 --name pulled/tiny:1" 'image inspect pulled/tiny:1' \
		"image pull $REGISTRY/remote/nope:1"
}

@test "remote: launch start, ls, show, logs, stop, and the failures of start" {
	# started by serve on its machine (here the same one), stopped the same way
	table 'launch alpha --image test/httpd --id web-@side' 'launch show web-@side' \
		'launch ls alpha' 'launch ls --status running' 'launch stop web-@side' \
		'launch show web-@side' 'launch stop web-@side'
	table 'launch' 'launch ls' 'launch ls alpha' 'launch ls --status running' \
		'launch show nope' 'launch logs nope' 'launch stop nope' \
		'launch bravo --no-wait' 'launch nope' 'launch alpha --ttl soon' \
		'launch alpha --memory lots' 'launch alpha --image no/such-image --id no-image' \
		'launch show no-image' 'launch logs no-image' 'launch ls alpha' 'launch stop no-image'
}

@test "remote: build ls, show, logs, retry, --check, and a build" {
	printf 'FROM scratch AS a\nCOPY x /x\nFROM a\n' >"$T/Dockerfile"
	# not UTF-8: the bytes reach the server's parser as they are
	printf 'FROM scratch\nLABEL x=\xff\n' >"$T/latin1"
	table "build ls alpha" "build ls bravo" "build show $BUILD" "build logs $BUILD" \
		'build show nope' 'build logs nope' "build retry $BUILD" 'build bravo' \
		'build ls bravo' "build --check $T/Dockerfile" "build --check $T/latin1" \
		"build --check $T/missing"
}

@test "remote: ingest and build, by id and through the queue" {
	table 'ingest bravo' 'ingest nope' 'ingest nope bravo' 'apps history bravo' 'ingest' \
		'build' 'build' 'build ls bravo'
}

@test "remote: what cannot run with --server is refused, and nothing is written here" {
	local row cmd
	mkdir -p "$T/ctx"
	echo 'FROM scratch' >"$T/ctx/Dockerfile"
	# command line : why
	for row in \
		"serve --listen 127.0.0.1:0|serve: cannot run with --server: it serves this machine's state directory; run it on the server" \
		"image build -t x:1 $T/ctx|image build: cannot run with --server: the build context is a directory of this machine" \
		"image export test/tiny $T/out.tar|image export: cannot run with --server: the file would be written on the server's machine" \
		"image import $T/ctx x:1|image import: cannot run with --server: the file is on this machine and is not uploaded" \
		"image unpack test/tiny $T/root|image unpack: cannot run with --server: the directory would be written on the server's machine" \
		"ingest --watch|ingest --watch: cannot run with --server: it waits on this machine's queue; serve's workers work the server's" \
		"ingest --repo $T/repos/alpha|ingest --repo: cannot run with --server: it is the hooks' form, for the machine whose state it ingests" \
		"build --watch|build --watch: cannot run with --server: it waits on this machine's queue; serve's workers work the server's"; do
		cmd=${row%%|*}
		# shellcheck disable=SC2086
		run --separate-stderr -1 env APPHUB_HOME="$CLIENT" apphub --server "$SERVE_URL" $cmd
		assert_stderr "apphub: ${row#*|}"
		assert_output ''
		[[ ! -e $CLIENT ]]
		# through the environment as well
		# shellcheck disable=SC2086
		run --separate-stderr -1 env APPHUB_HOME="$CLIENT" APPHUB_SERVER="$SERVE_URL" apphub $cmd
		assert_stderr "apphub: ${row#*|}"
		[[ ! -e $CLIENT ]]
	done
	[[ ! -e $T/out.tar && ! -e $T/root ]]
	# the server did not do them either
	run -0 env APPHUB_HOME="$T/served" apphub -q image ls
	refute_line x:1
}
