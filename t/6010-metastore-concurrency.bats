#!/usr/bin/env bats
# The metastore under concurrent writers: optimistic locking loses no update.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

# incr N: N increments of counters/c's metadata.n, each a get then a put
# with --expected-version, again on a conflict (exit 3). Text output read
# with the shell's own builtins: two processes per attempt, nothing more.
incr() {
	local i line version n rc fd
	# a pipe nobody writes to: read -t on it sleeps without a process
	exec {fd}<>"$BATS_TEST_TMPDIR/fifo"
	for ((i = 0; i < $1; i++)); do
		while :; do
			version= n=
			while IFS= read -r line; do
				case $line in
				'version:'*) version=${line##* } ;;
				*'"n": '*) n=${line##* } ;;
				esac
			done < <(apphub metastore get counters c)
			[[ -n $version && -n $n ]] || return 1
			rc=0
			apphub -q metastore put counters c --set n=$((n + 1)) --expected-version "$version" \
				>/dev/null 2>&1 || rc=$?
			[[ $rc == 0 ]] && break
			[[ $rc == 3 ]] || return 1
			echo retry >>"$BATS_TEST_TMPDIR/retries"
			# back off a random while, so the writers do not keep colliding
			read -r -t "0.0$((RANDOM % 40 + 10))" -u "$fd" || true
		done
	done
}

teardown() {
	[[ -z ${HOLDER:-} ]] || kill "$HOLDER" 2>/dev/null || true
}

@test "eight processes making 200 increments each with --expected-version end at exactly 1,600" {
	apphub -q metastore create counters c --set n=0 >/dev/null
	# A connection held open, as serve's would be: SQLite checkpoints the
	# WAL (four fsyncs) whenever the last connection closes, which would be
	# nearly every one of these short processes, and the test is about
	# locking, not the disk.
	python3 -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1]); c.execute("SELECT count(*) FROM metastore_records").fetchall()
time.sleep(300)' "$(db_path)" 3>&- &
	HOLDER=$!
	: >"$BATS_TEST_TMPDIR/retries"
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	pids=()
	for p in 1 2 3 4 5 6 7 8; do
		incr 200 3>&- &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do
		wait "$pid"
	done
	kill "$HOLDER"
	HOLDER=
	run --separate-stderr -0 apphub metastore get counters c --json
	assert_equal "$(jq -c '[.metadata.n, .version]' <<<"$output")" '[1600,1601]'
	# every increment is one audit row: none lost, none doubled
	assert_equal "$(apphub metastore audit counters c --json --limit 1 | jq '.entries[0].version')" 1601
	echo "# $(wc -l <"$BATS_TEST_TMPDIR/retries") retries" >&3
}
