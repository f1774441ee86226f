#!/usr/bin/env bats
# Many apphub processes on one state directory at once.

bats_require_minimum_version 1.5.0
load test_helper/common

# run_parallel N CMD...: runs CMD with {} replaced by 1..N concurrently;
# each one's status goes to $BATS_TEST_TMPDIR/par/<i>.rc, stderr to <i>.err.
run_parallel() {
	local n=$1 k
	shift
	local par="$BATS_TEST_TMPDIR/par"
	rm -rf "$par"
	mkdir -p "$par"
	local pids=()
	for k in $(seq 1 "$n"); do
		(
			local args=() a
			for a in "$@"; do args+=("${a//\{\}/$k}"); done
			local rc=0
			"${args[@]}" >"$par/$k.out" 2>"$par/$k.err" 3>&- || rc=$?
			echo "$rc" >"$par/$k.rc"
		) &
		pids+=($!)
	done
	for k in "${pids[@]}"; do wait "$k"; done
}

# assert_all_ok N: every parallel run exited 0 with nothing on stderr
assert_all_ok() {
	local k par="$BATS_TEST_TMPDIR/par"
	for k in $(seq 1 "$1"); do
		if [[ "$(cat "$par/$k.rc")" != 0 || -s "$par/$k.err" ]]; then
			{
				echo "run $k: status $(cat "$par/$k.rc")"
				cat "$par/$k.err"
			} | fail
		fi
	done
}

@test "eight concurrent adds on a fresh state dir: nothing lost" {
	assert [ ! -e "$APPHUB_HOME" ]
	run_parallel 8 apphub apps add 'https://example.com/x/race-app-{}.git' --tag 'n:{}' --tag shared:yes
	assert_all_ok 8
	local k
	for k in $(seq 1 8); do
		assert_equal "$(cat "$BATS_TEST_TMPDIR/par/$k.out")" "race-app-$k"
	done
	run -0 apphub apps ls --json
	assert_equal "$(jq .total <<<"$output")" 8
	assert_equal "$(jq -r '[.data[].id] | sort | join(" ")' <<<"$output")" \
		"$(printf 'race-app-%s ' 1 2 3 4 5 6 7 8 | sed 's/ $//')"
	run -0 apphub apps ls --tag shared:yes --json
	assert_equal "$(jq .total <<<"$output")" 8
	run -0 apphub events --json
	assert_equal "$(jq '[.data[] | select(.type == "app.registered")] | length' <<<"$output")" 8
	assert_equal "$(jq '[.data[].id] | unique | length' <<<"$output")" 8
	assert_equal "$(sqlite3 "$(db_path)" 'PRAGMA integrity_check')" ok
}

@test "eight concurrent adds, repeated on fresh dirs" {
	local round
	for round in 1 2 3; do
		export APPHUB_HOME="$BATS_TEST_TMPDIR/state-$round"
		run_parallel 8 apphub -q apps add 'https://example.com/x/rep-{}.git'
		assert_all_ok 8
		run -0 apphub apps ls --json
		assert_equal "$(jq .total <<<"$output")" 8
	done
}

@test "eight concurrent first opens: migrations race safely" {
	local round v=""
	for round in $(seq 1 10); do
		export APPHUB_HOME="$BATS_TEST_TMPDIR/open-$round"
		run_parallel 8 apphub apps ls --json
		assert_all_ok 8
		local k
		for k in $(seq 1 8); do
			assert_equal "$(jq .total "$BATS_TEST_TMPDIR/par/$k.out")" 0
		done
		local db="$APPHUB_HOME/apphub.db"
		assert_equal "$(sqlite3 "$db" 'PRAGMA integrity_check')" ok
		local uv
		uv=$(sqlite3 "$db" 'PRAGMA user_version')
		[[ -z "$v" ]] && v=$uv
		assert_equal "$uv" "$v"
	done
	# the raced schema is the same as one opened alone
	export APPHUB_HOME="$BATS_TEST_TMPDIR/open-alone"
	run -0 apphub apps ls
	assert_equal "$(sqlite3 "$APPHUB_HOME/apphub.db" 'PRAGMA user_version')" "$v"
	assert_equal "$(sqlite3 "$APPHUB_HOME/apphub.db" .schema)" \
		"$(sqlite3 "$BATS_TEST_TMPDIR/open-1/apphub.db" .schema)"
	# and works afterwards
	export APPHUB_HOME="$BATS_TEST_TMPDIR/open-1"
	run -0 apphub apps add https://example.com/x/after-race.git
}

@test "eight concurrent mixed first commands (add, ls, tags, events)" {
	local par="$BATS_TEST_TMPDIR/mixed"
	mkdir -p "$par"
	local pids=() k
	for k in 1 2 3 4; do
		apphub -q apps add "https://example.com/x/mix-$k.git" 2>"$par/add$k.err" 3>&- &
		pids+=($!)
	done
	apphub apps ls --json >"$par/ls.out" 2>"$par/ls.err" 3>&- &
	pids+=($!)
	apphub apps tags >"$par/tags.out" 2>"$par/tags.err" 3>&- &
	pids+=($!)
	apphub events >"$par/ev.out" 2>"$par/ev.err" 3>&- &
	pids+=($!)
	apphub apps search mix >"$par/search.out" 2>"$par/search.err" 3>&- &
	pids+=($!)
	local failed=0
	for k in "${pids[@]}"; do wait "$k" || failed=$((failed + 1)); done
	assert_equal "$failed" 0
	assert_equal "$(cat "$par"/*.err)" ''
	run -0 apphub apps ls --json
	assert_equal "$(jq .total <<<"$output")" 4
}

@test "eight concurrent imports of 50 apps each: all 400 present" {
	local k
	for k in $(seq 1 8); do
		seq 1 50 | awk -v p="$k" '{ printf "{\"id\":\"imp-%d-%02d\",\"repoUrl\":\"https://example.com/x/%d-%d.git\",\"tags\":[\"p:%d\"]}\n", p, $1, p, $1, p }' \
			>"$BATS_TEST_TMPDIR/imp-$k.jsonl"
	done
	run_parallel 8 apphub apps import "$BATS_TEST_TMPDIR/imp-{}.jsonl"
	assert_all_ok 8
	for k in $(seq 1 8); do
		assert_equal "$(cat "$BATS_TEST_TMPDIR/par/$k.out")" 'imported 50, failed 0'
	done
	run -0 apphub apps ls --json --limit 1
	assert_equal "$(jq .total <<<"$output")" 400
	run -0 apphub apps ls --tag p:5 --json --limit 1
	assert_equal "$(jq .total <<<"$output")" 50
	run -0 apphub events --type app.registered --limit 1 --json
	assert_equal "$(jq '.data[0].id' <<<"$output")" 400
}

@test "concurrent adds of the same id: exactly one wins, the rest conflict (exit 3)" {
	run_parallel 8 apphub -q apps add 'https://example.com/x/same-{}.git' --id same-app
	local k ok=0 conflict=0 rc
	for k in $(seq 1 8); do
		rc=$(cat "$BATS_TEST_TMPDIR/par/$k.rc")
		case $rc in
		0) ok=$((ok + 1)) ;;
		3) conflict=$((conflict + 1)) ;;
		*) fail "run $k: unexpected status $rc: $(cat "$BATS_TEST_TMPDIR/par/$k.err")" ;;
		esac
	done
	assert_equal "$ok" 1
	assert_equal "$conflict" 7
	run -0 apphub apps ls --json
	assert_equal "$(jq .total <<<"$output")" 1
}

@test "concurrent tag changes on one app: none lost" {
	add_app tag-race
	run_parallel 8 apphub apps tag tag-race add 'k{}:v'
	assert_all_ok 8
	run -0 apphub apps show tag-race --json
	assert_equal "$(jq '.tags | length' <<<"$output")" 8
}
