#!/usr/bin/env bats
# events: listing, --since, --type, --limit, --follow.

bats_require_minimum_version 1.5.0
load test_helper/common

TIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'

# five events: registered a, registered b, tagged a, updated b, removed a
five_events() {
	add_app ev-alpha
	add_app ev-bravo
	apphub apps tag ev-alpha add x:y
	apphub -q apps add https://example.com/repos/ev-bravo.git --id ev-bravo --update --name B
	apphub apps rm ev-alpha
}

# wait_for FILE PATTERN: up to ~10 s for an extended regex to appear in FILE
wait_for() {
	local k
	for k in $(seq 1 200); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "timed out waiting for /$2/ in $1:" >&2
	cat "$1" >&2
	return 1
}

teardown() {
	if [[ -n "${FOLLOW_PID:-}" ]]; then
		kill "$FOLLOW_PID" 2>/dev/null || true
		wait "$FOLLOW_PID" 2>/dev/null || true
	fi
}

@test "no events: empty list, exit 0" {
	run --separate-stderr -0 apphub events
	assert_stdout_empty
	assert_stderr ''
	run -0 apphub events --json
	assert_equal "$(jq -c . <<<"$output")" '{"data":[]}'
}

@test "events record each change in order, with types and subjects" {
	five_events
	run --separate-stderr -0 apphub events --json
	assert_stderr ''
	assert_equal "$(jq -c '[.data[] | [.type, .subject]]' <<<"$output")" \
		'[["app.registered","ev-alpha"],["app.registered","ev-bravo"],["app.tagged","ev-alpha"],["app.updated","ev-bravo"],["app.removed","ev-alpha"]]'
	# ids strictly ascending integers
	assert_equal "$(jq -c '[.data[].id | type] | unique' <<<"$output")" '["number"]'
	assert_equal "$(jq '[.data[].id] | . == (sort | unique)' <<<"$output")" true
	# times ISO 8601 UTC with ms, non-decreasing
	local t
	for t in $(jq -r '.data[].time' <<<"$output"); do
		assert_regex "$t" "$TIME_RE"
	done
	assert_equal "$(jq '[.data[].time] | . == sort' <<<"$output")" true
}

@test "event object key order and data is an object" {
	add_app ev-keys
	run -0 apphub events --json
	assert_equal "$(jq -c '.data[0] | keys_unsorted' <<<"$output")" '["id","time","type","subject","data"]'
	assert_equal "$(jq -r '.data[0].data | type' <<<"$output")" object
}

@test "text: ID TIME TYPE SUBJECT DATA-JSON, one per line" {
	five_events
	run -0 apphub events --json
	local json=$output
	run --separate-stderr -0 apphub events
	assert_equal "${#lines[@]}" 5
	local k id time type subject data
	for k in 0 1 2 3 4; do
		read -r id time type subject data <<<"${lines[$k]}"
		assert_equal "$id" "$(jq -r ".data[$k].id" <<<"$json")"
		assert_equal "$time" "$(jq -r ".data[$k].time" <<<"$json")"
		assert_equal "$type" "$(jq -r ".data[$k].type" <<<"$json")"
		assert_equal "$subject" "$(jq -r ".data[$k].subject" <<<"$json")"
		# DATA-JSON is one compact JSON value equal to the event's data
		assert_equal "$(jq -cS . <<<"$data")" "$(jq -cS ".data[$k].data" <<<"$json")"
	done
	assert_regex "${lines[0]}" '^[0-9]+ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z app\.registered ev-alpha \{.*\}$'
}

@test "--since ID: events after ID, ascending" {
	five_events
	local first
	first=$(apphub events --json | jq '.data[0].id')
	run -0 apphub events --since "$first" --json
	assert_equal "$(jq -c '[.data[].type]' <<<"$output")" \
		'["app.registered","app.tagged","app.updated","app.removed"]'
	run -0 apphub events --since $((first + 3)) --json
	assert_equal "$(jq -c '[.data[].type]' <<<"$output")" '["app.removed"]'
	run -0 apphub events --since $((first + 4)) --json
	assert_equal "$(jq -c .data <<<"$output")" '[]'
	run -0 apphub events --since 0 --json
	assert_equal "$(jq '.data | length' <<<"$output")" 5
}

@test "--limit N: newest N in ascending order; with --since the first N after it" {
	five_events
	local ids
	ids=$(apphub events --json | jq -c '[.data[].id]')
	run -0 apphub events --limit 2 --json
	assert_equal "$(jq -c '[.data[].id]' <<<"$output")" "$(jq -c '.[3:5]' <<<"$ids")"
	assert_equal "$(jq -c '[.data[].type]' <<<"$output")" '["app.updated","app.removed"]'
	run -0 apphub events --limit 1 --json
	assert_equal "$(jq -c '[.data[].type]' <<<"$output")" '["app.removed"]'
	run -0 apphub events --since "$(jq '.[0]' <<<"$ids")" --limit 2 --json
	assert_equal "$(jq -c '[.data[].id]' <<<"$output")" "$(jq -c '.[1:3]' <<<"$ids")"
	run -0 apphub events --limit 2
	assert_equal "${#lines[@]}" 2
}

@test "default limit is 100 (the newest 100)" {
	seq 1 105 | awk '{ printf "{\"id\":\"lim-%03d\",\"repoUrl\":\"https://example.com/x/l%d.git\"}\n", $1, $1 }' |
		apphub -q apps import -
	run -0 apphub events --json
	assert_equal "$(jq '.data | length' <<<"$output")" 100
	assert_equal "$(jq -r '.data[0].subject' <<<"$output")" lim-006
	assert_equal "$(jq -r '.data[99].subject' <<<"$output")" lim-105
	run -0 apphub events --since 0 --json
	assert_equal "$(jq -r '[.data[0].subject, .data[99].subject] | join(" ")' <<<"$output")" 'lim-001 lim-100'
}

@test "--type GLOB filters on the type" {
	five_events
	run -0 apphub events --type 'app.*' --json
	assert_equal "$(jq '.data | length' <<<"$output")" 5
	run -0 apphub events --type 'app.reg*' --json
	assert_equal "$(jq -c '[.data[] | .subject]' <<<"$output")" '["ev-alpha","ev-bravo"]'
	run -0 apphub events --type app.removed --json
	assert_equal "$(jq -c '[.data[] | [.type, .subject]]' <<<"$output")" '[["app.removed","ev-alpha"]]'
	run -0 apphub events --type '*.tagged' --json
	assert_equal "$(jq -c '[.data[].type]' <<<"$output")" '["app.tagged"]'
	run -0 apphub events --type 'app.?pdated' --json
	assert_equal "$(jq -c '[.data[].type]' <<<"$output")" '["app.updated"]'
	run -0 apphub events --type 'app.[rt]*' --json
	assert_equal "$(jq -c '[.data[].type]' <<<"$output")" '["app.registered","app.registered","app.tagged","app.removed"]'
	# a glob matches the whole type, not a substring
	run -0 apphub events --type app --json
	assert_equal "$(jq -c .data <<<"$output")" '[]'
	run -0 apphub events --type 'removed' --json
	assert_equal "$(jq -c .data <<<"$output")" '[]'
}

@test "--type combines with --limit (limit applies after the filter)" {
	five_events
	run -0 apphub events --type 'app.registered' --limit 1 --json
	assert_equal "$(jq -c '[.data[] | .subject]' <<<"$output")" '["ev-bravo"]'
}

@test "invalid --since / --limit: exit 1 naming the field" {
	run --separate-stderr -1 apphub events --limit 0
	assert_stdout_empty
	assert_stderr_regex '^apphub: .*limit'
	run --separate-stderr -1 apphub events --limit -5
	assert_stderr_regex '^apphub: .*limit'
	# not a number: usage error
	run --separate-stderr -129 apphub events --limit abc
	assert_stdout_empty
	assert_stderr_regex '^apphub: .*limit'
	run --separate-stderr -129 apphub events --since abc
	assert_stdout_empty
	assert_stderr_regex '^apphub: .*since'
}

@test "--follow: prints existing events, then new ones as they arrive" {
	add_app fol-one
	apphub events --follow >"$BATS_TEST_TMPDIR/follow.out" 2>"$BATS_TEST_TMPDIR/follow.err" 3>&- &
	FOLLOW_PID=$!
	wait_for "$BATS_TEST_TMPDIR/follow.out" ' app\.registered fol-one '
	add_app fol-two
	wait_for "$BATS_TEST_TMPDIR/follow.out" ' app\.registered fol-two '
	apphub apps rm fol-one
	wait_for "$BATS_TEST_TMPDIR/follow.out" ' app\.removed fol-one '
	# still running
	kill -0 "$FOLLOW_PID"
	kill "$FOLLOW_PID"
	wait "$FOLLOW_PID" || true
	FOLLOW_PID=
	run cat "$BATS_TEST_TMPDIR/follow.out"
	assert_equal "${#lines[@]}" 3
	assert_regex "${lines[0]}" '^[0-9]+ [^ ]+ app\.registered fol-one \{.*\}$'
	assert_regex "${lines[1]}" '^[0-9]+ [^ ]+ app\.registered fol-two \{.*\}$'
	assert_regex "${lines[2]}" '^[0-9]+ [^ ]+ app\.removed fol-one \{.*\}$'
	assert_equal "$(cat "$BATS_TEST_TMPDIR/follow.err")" ''
}

@test "--follow on a fresh state dir sees the first event" {
	apphub events --follow >"$BATS_TEST_TMPDIR/follow.out" 3>&- &
	FOLLOW_PID=$!
	sleep 0.3
	add_app fol-first
	wait_for "$BATS_TEST_TMPDIR/follow.out" 'app\.registered fol-first'
}

@test "--follow --json: one compact event object per line" {
	add_app fj-one
	apphub events --follow --json >"$BATS_TEST_TMPDIR/follow.out" 3>&- &
	FOLLOW_PID=$!
	wait_for "$BATS_TEST_TMPDIR/follow.out" '"fj-one"'
	apphub apps tag fj-one add k:v
	wait_for "$BATS_TEST_TMPDIR/follow.out" '"app\.tagged"'
	kill "$FOLLOW_PID"
	wait "$FOLLOW_PID" || true
	FOLLOW_PID=
	run cat "$BATS_TEST_TMPDIR/follow.out"
	assert_equal "${#lines[@]}" 2
	local l
	for l in "${lines[@]}"; do
		# compact: the line is exactly jq's compact rendering
		assert_equal "$l" "$(jq -c . <<<"$l")"
		assert_equal "$(jq -c keys_unsorted <<<"$l")" '["id","time","type","subject","data"]'
	done
	assert_equal "$(jq -r .type <<<"${lines[1]}")" app.tagged
}

@test "--follow honours --type and --since" {
	add_app ft-one
	add_app ft-two
	local first
	first=$(apphub events --json | jq '.data[0].id')
	apphub events --follow --since "$first" --type 'app.re*' >"$BATS_TEST_TMPDIR/follow.out" 3>&- &
	FOLLOW_PID=$!
	wait_for "$BATS_TEST_TMPDIR/follow.out" 'ft-two'
	apphub apps tag ft-one add a:b
	apphub apps rm ft-two
	wait_for "$BATS_TEST_TMPDIR/follow.out" 'app\.removed ft-two'
	kill "$FOLLOW_PID"
	wait "$FOLLOW_PID" || true
	FOLLOW_PID=
	run cat "$BATS_TEST_TMPDIR/follow.out"
	assert_equal "${#lines[@]}" 2
	assert_regex "${lines[0]}" ' app\.registered ft-two '
	assert_regex "${lines[1]}" ' app\.removed ft-two '
}

@test "--follow misses nothing written in bulk or concurrently" {
	add_app fb-zero
	apphub events --follow >"$BATS_TEST_TMPDIR/follow.out" 3>&- &
	FOLLOW_PID=$!
	wait_for "$BATS_TEST_TMPDIR/follow.out" 'fb-zero'
	seq 1 1200 | awk '{ printf "{\"id\":\"fb-%04d\",\"repoUrl\":\"https://example.com/x/%d.git\"}\n", $1, $1 }' |
		apphub -q apps import -
	local k pids=()
	for k in 1 2 3 4 5 6; do
		apphub -q apps add "https://example.com/x/fb-par-$k.git" 3>&- &
		pids+=($!)
	done
	for k in "${pids[@]}"; do wait "$k"; done
	local last
	last=$(apphub events --limit 1 --json | jq '.data[0].id')
	wait_for "$BATS_TEST_TMPDIR/follow.out" "^$last "
	kill "$FOLLOW_PID"
	wait "$FOLLOW_PID" || true
	FOLLOW_PID=
	run cat "$BATS_TEST_TMPDIR/follow.out"
	assert_equal "${#lines[@]}" 1207
	# every id exactly once, ascending
	assert_equal "$(cut -d' ' -f1 "$BATS_TEST_TMPDIR/follow.out" | sort -n -c && echo sorted)" sorted
	assert_equal "$(cut -d' ' -f1 "$BATS_TEST_TMPDIR/follow.out" | sort -u | wc -l)" 1207
}

@test "events: --json and -q before the command" {
	add_app ev-global
	run -0 apphub --json events
	assert_equal "$(jq -r '.data[0].subject' <<<"$output")" ev-global
}
