#!/usr/bin/env bats
# Arguments: one reading of durations and sizes, one parser for a verb's
# options and operands.

bats_require_minimum_version 1.5.0
load test_helper/common

@test "durations: every option takes 500ms, 30s, 5m, 1h and 1d alike" {
	mkdir "$BATS_TEST_TMPDIR/ctx"
	echo 'FROM scratch' >"$BATS_TEST_TMPDIR/ctx/Dockerfile"
	local d
	for d in 500ms 30 30s 5m 1h 1d; do
		run -0 apphub -q image build --timeout "$d" -t "d:$d" "$BATS_TEST_TMPDIR/ctx"
	done
	# launch checks its ttl before it looks for the app: the same words.
	run --separate-stderr -1 apphub launch nope --ttl soon
	assert_stderr "apphub: invalid ttl 'soon': must be a duration (500ms, 30s, 5m, 1h, 1d)"
	run -129 apphub image build --timeout soon -t x:1 "$BATS_TEST_TMPDIR/ctx"
	assert_line -n 0 "apphub: invalid --timeout 'soon': must be a duration (500ms, 30s, 5m, 1h, 1d)"
	run -129 apphub image build --timeout=2x -t x:1 "$BATS_TEST_TMPDIR/ctx"
	assert_line -n 0 "apphub: invalid --timeout '2x': must be a duration (500ms, 30s, 5m, 1h, 1d)"
	run --separate-stderr -1 apphub launch nope --cpu-time soon
	assert_stderr "apphub: invalid resourceProfile.cpuTime 'soon': must be a duration (500ms, 30s, 5m, 1h, 1d)"
}

@test "sizes: every option takes 512k, 64M and 2G alike" {
	run --separate-stderr -1 apphub launch nope --memory lots
	assert_stderr "apphub: invalid resourceProfile.memory 'lots': must be a size (512k, 64M, 2G)"
	run -129 apphub image push x:1 --chunk-size lots
	assert_line -n 0 "apphub: invalid --chunk-size 'lots': must be a size (512k, 64M, 2G)"
}

@test "durations: APPHUB_LAUNCH_START_TIMEOUT_MS is read with the same parser" {
	APPHUB_LAUNCH_START_TIMEOUT_MS=soon run --separate-stderr -1 apphub launch nope
	assert_stderr "apphub: invalid APPHUB_LAUNCH_START_TIMEOUT_MS 'soon': must be a duration (500ms, 30s, 5m, 1h, 1d)"
	# a bare number counts milliseconds, as the name says; units as everywhere
	APPHUB_LAUNCH_START_TIMEOUT_MS=45s run --separate-stderr -2 apphub launch nope
	APPHUB_LAUNCH_START_TIMEOUT_MS=45000 run --separate-stderr -2 apphub launch nope
}

@test "settings: every duration and size in the environment is read by the one parser" {
	# issue 11: these were plain numbers, some silently ignored when bad
	APPHUB_INGEST_TIMEOUT_MS=soon run --separate-stderr -1 apphub ingest
	assert_stderr "apphub: invalid APPHUB_INGEST_TIMEOUT_MS 'soon': must be a duration (500ms, 30s, 5m, 1h, 1d)"
	APPHUB_INGEST_MAX_BYTES=lots run --separate-stderr -1 apphub ingest
	assert_stderr "apphub: invalid APPHUB_INGEST_MAX_BYTES 'lots': must be a size (512k, 64M, 2G)"
	APPHUB_BUILD_LEASE_MS=50 run --separate-stderr -1 apphub build
	assert_stderr "apphub: invalid APPHUB_BUILD_LEASE_MS '50': must be a duration of at least 100ms"
	APPHUB_BUILD_MAX_LOG_BYTES=2x run --separate-stderr -1 apphub build
	assert_stderr "apphub: invalid APPHUB_BUILD_MAX_LOG_BYTES '2x': must be a size (512k, 64M, 2G)"
	APPHUB_MAX_LAYER_SIZE=lots run --separate-stderr -1 apphub image ls
	assert_stderr "apphub: invalid APPHUB_MAX_LAYER_SIZE 'lots': must be a size (512k, 64M, 2G)"
	APPHUB_LAUNCH_MAX_LOG_BYTES=lots run --separate-stderr -1 apphub launch nope
	assert_stderr "apphub: invalid APPHUB_LAUNCH_MAX_LOG_BYTES 'lots': must be a size (512k, 64M, 2G)"
	APPHUB_REMOTE_TIMEOUT=soon run --separate-stderr -128 apphub --server http://127.0.0.1:9 apps ls
	assert_stderr "apphub: invalid APPHUB_REMOTE_TIMEOUT 'soon': must be a duration (500ms, 30s, 5m, 1h, 1d)"
	# units as everywhere, and a bare number in the unit the name always had
	APPHUB_INGEST_TIMEOUT_MS=5m APPHUB_INGEST_LEASE_MS=30s APPHUB_INGEST_MAX_BYTES=64M \
		APPHUB_INGEST_MAX_FILE_BYTES=512k APPHUB_INGEST_BACKOFF_MS=1500 run -0 apphub ingest
	APPHUB_BUILD_TIMEOUT_MS=1h APPHUB_BUILD_LEASE_MS=500ms APPHUB_BUILD_MAX_LOG_BYTES=1M \
		APPHUB_BUILD_MAX_CONTEXT_BYTES=2G APPHUB_BUILD_MAX_FILE_BYTES=1048576 run -0 apphub build
	APPHUB_MAX_LAYER_SIZE=1G run -0 apphub image ls
	APPHUB_LAUNCH_MAX_LOG_BYTES=64k run --separate-stderr -2 apphub launch nope
	APPHUB_REMOTE_TIMEOUT=30s run --separate-stderr -128 apphub --server http://127.0.0.1:9 apps ls
	assert_stderr_partial "cannot reach server"
}

@test "settings: SOURCE_DATE_EPOCH fixes an image's time, and one that is no time is ignored" {
	mkdir "$BATS_TEST_TMPDIR/ctx"
	echo 'FROM scratch' >"$BATS_TEST_TMPDIR/ctx/Dockerfile"
	SOURCE_DATE_EPOCH=1700000000 run -0 apphub -q image build -t sde:1 "$BATS_TEST_TMPDIR/ctx"
	assert_equal "$(apphub image inspect sde:1 --json | jq -r .created)" 2023-11-14T22:13:20.000Z
	# not read as 0 (1970) as the build once did
	SOURCE_DATE_EPOCH=soon run -0 apphub -q image build -t sde:2 "$BATS_TEST_TMPDIR/ctx"
	[[ $(apphub image inspect sde:2 --json | jq -r .created) != 1970-* ]]
}

@test "verbs: options anywhere before --, operands counted, the verb named" {
	add_app alpha
	run -0 apphub apps show alpha --json
	assert_equal "$(jq -r .id <<<"$output")" alpha
	run -0 apphub apps show --json alpha
	assert_equal "$(jq -r .id <<<"$output")" alpha
	run -0 apphub apps history --limit 1 alpha --json
	# after --, an option is an operand
	run --separate-stderr -2 apphub apps show -- --json
	run --separate-stderr -129 apphub apps show alpha beta
	assert_equal "${stderr_lines[0]}" 'apphub: apps show: too many arguments, expects an app id'
	run --separate-stderr -129 apphub apps show
	assert_equal "${stderr_lines[0]}" 'apphub: apps show: an app id is required'
	run --separate-stderr -129 apphub events extra
	assert_equal "${stderr_lines[0]}" 'apphub: events: too many arguments, expects none'
	run --separate-stderr -129 apphub gc extra
	assert_equal "${stderr_lines[0]}" 'apphub: gc: too many arguments, expects none'
	run --separate-stderr -129 apphub image rm
	assert_equal "${stderr_lines[0]}" 'apphub: image rm: an image name is required'
	run --separate-stderr -129 apphub image import one
	assert_equal "${stderr_lines[0]}" 'apphub: image import: a file and an image name are required'
	run --separate-stderr -129 apphub launch show a b --json
	assert_equal "${stderr_lines[0]}" 'apphub: launch show: too many arguments, expects a launch id'
	run --separate-stderr -129 apphub launch web extra
	assert_equal "${stderr_lines[0]}" 'apphub: launch start: too many arguments, expects an app id'
	run --separate-stderr -129 apphub apps tag alpha put x:y
	assert_equal "${stderr_lines[0]}" "apphub: apps tag: 'put' is not add or rm"
	# an unknown option is refused wherever it stands
	run --separate-stderr -129 apphub apps show alpha --bogus
	assert_equal "${stderr_lines[0]}" "apphub: unknown option '--bogus'"
}

@test "options: a value that is not UTF-8 is refused, not dropped" {
	run --separate-stderr -129 apphub apps add https://example.com/r/bytes.git --tag "k:$(printf 'v\377')"
	assert_equal "${stderr_lines[0]}" "apphub: invalid --tag: not UTF-8"
	run --separate-stderr -129 apphub apps add https://example.com/r/bytes.git \
		--description "$(printf 'caf\355\240\200')"
	assert_equal "${stderr_lines[0]}" "apphub: invalid --description: not UTF-8"
	run -2 apphub apps show bytes
	run -0 apphub -q apps add https://example.com/r/bytes.git --tag "k:$(printf 'caf\303\251')"
	assert_equal "$(apphub apps show bytes --json | jq -r '.tags[0].value')" "$(printf 'caf\303\251')"
}
