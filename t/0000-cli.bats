#!/usr/bin/env bats
# Core CLI: global options, help, dispatch, exit statuses, state directory.

bats_require_minimum_version 1.5.0
load test_helper/common

@test "--version prints 'apphub version X.Y.Z' on stdout" {
	run --separate-stderr -0 apphub --version
	assert_output --regexp '^apphub version [0-9]+\.[0-9]+\.[0-9]+$'
	assert_stderr ''
}

@test "-h, --help and 'help' print usage to stdout and exit 0" {
	run --separate-stderr -0 apphub -h
	assert_output --partial 'usage: apphub'
	assert_stderr ''
	local h=$output

	run --separate-stderr -0 apphub --help
	assert_output "$h"
	run --separate-stderr -0 apphub help
	assert_output "$h"
}

@test "usage lists the current commands" {
	run -0 apphub --help
	assert_output --partial 'apps'
	assert_output --partial 'events'
}

@test "no command: usage on stderr, nothing on stdout, exit 129" {
	run --separate-stderr -129 apphub
	assert_stdout_empty
	assert_stderr_partial 'usage: apphub'
}

@test "global options without a command: exit 129" {
	run --separate-stderr -129 apphub --json
	assert_stdout_empty
	run --separate-stderr -129 apphub -q
	assert_stdout_empty
	run --separate-stderr -129 apphub -C "$BATS_TEST_TMPDIR/x"
	assert_stdout_empty
}

@test "-h on every command prints usage to stdout, exit 0" {
	local cmd
	for cmd in apps events help; do
		run --separate-stderr apphub "$cmd" -h
		((status == 0)) || fail "apphub $cmd -h: exit $status: $stderr"
		assert_stderr ''
		assert [ -n "$output" ]
		assert_output --partial 'usage:'
	done
	run -0 apphub apps --help
	assert_output --partial 'usage: apphub apps'
	run -0 apphub events --help
	assert_output --partial 'usage: apphub events'
}

@test "-h on every apps verb prints that verb's usage, exit 0" {
	local verb
	for verb in ls add import show rm search tags tag; do
		run --separate-stderr -0 apphub apps "$verb" -h
		assert_stderr ''
		assert_output --partial 'usage: apphub apps'
		assert_output --partial "$verb"
	done
}

@test "-h after other arguments still wins and writes nothing" {
	run -0 apphub apps add https://example.com/x/help-me.git -h
	assert_output --partial 'usage: apphub apps'
	run -0 apphub apps ls --json
	assert_equal "$(jq .total <<<"$output")" 0
}

@test "help and --version do not need a usable state directory" {
	touch "$BATS_TEST_TMPDIR/file"
	run -0 apphub -C "$BATS_TEST_TMPDIR/file/state" --version
	run -0 apphub -C "$BATS_TEST_TMPDIR/file/state" -h
	run -0 apphub -C "$BATS_TEST_TMPDIR/file/state" apps add -h
}

@test "--list-cmds prints the command names, one per line, sorted" {
	run --separate-stderr -0 apphub --list-cmds
	assert_line apps
	assert_line events
	assert_line help
	assert_equal "$output" "$(printf '%s\n' "$output" | LC_ALL=C sort)"
	# no duplicates, no blank lines
	assert_equal "$output" "$(printf '%s\n' "$output" | LC_ALL=C sort -u | grep -v '^$')"
}

@test "every listed command answers -h" {
	run -0 apphub --list-cmds
	local c
	for c in "${lines[@]}"; do
		run --separate-stderr apphub "$c" -h
		((status == 0)) || fail "apphub $c -h: exit $status: $stderr"
		[[ -n "$output" ]] || fail "apphub $c -h: no usage on stdout"
	done
}

@test "unknown command close to a real one: suggestion, exit 1" {
	run --separate-stderr -1 apphub evnets
	assert_stdout_empty
	assert_equal "${stderr_lines[0]}" "apphub: 'evnets' is not an apphub command. See 'apphub --help'."
	assert_stderr_partial 'The most similar command is'
	assert_stderr_partial $'\tevents'
}

@test "unknown command close to 'apps' suggests apps" {
	run --separate-stderr -1 apphub aps
	assert_equal "${stderr_lines[0]}" "apphub: 'aps' is not an apphub command. See 'apphub --help'."
	assert_stderr_partial $'\tapps'
}

@test "unknown command far from everything: no suggestion, exit 1" {
	run --separate-stderr -1 apphub qwertyuiopzxcv
	assert_stdout_empty
	assert_stderr "apphub: 'qwertyuiopzxcv' is not an apphub command. See 'apphub --help'."
}

@test "unknown global option: exit 129 with message and usage" {
	run --separate-stderr -129 apphub --bogus apps ls
	assert_stdout_empty
	assert_stderr_regex "^apphub: unknown option '(--)?bogus'"
	assert_stderr_partial 'usage:'
}

@test "unknown command option: exit 129" {
	run --separate-stderr -129 apphub apps ls --bogus
	assert_stdout_empty
	assert_stderr_regex "unknown option '(--)?bogus'"
	run --separate-stderr -129 apphub apps add https://example.com/x/abc.git --frob
	assert_stderr_regex "unknown option '(--)?frob'"
	run --separate-stderr -129 apphub events --nope
	assert_stderr_regex "unknown option '(--)?nope'"
	# nothing was written by the rejected add
	run -0 apphub apps ls --json
	assert_equal "$(jq .total <<<"$output")" 0
}

@test "unknown short option: exit 129" {
	run --separate-stderr -129 apphub apps ls -Z
	assert_stdout_empty
	assert_stderr_partial 'unknown'
}

@test "missing option argument: exit 129" {
	run --separate-stderr -129 apphub -C
	assert_stdout_empty
	run --separate-stderr -129 apphub apps ls --limit
	assert_stdout_empty
	run --separate-stderr -129 apphub apps add https://example.com/x/abc.git --id
	assert_stdout_empty
	run --separate-stderr -129 apphub events --since
	assert_stdout_empty
}

@test "missing positional argument: exit 129" {
	run --separate-stderr -129 apphub apps add
	assert_stdout_empty
	assert_stderr_partial 'usage:'
	run --separate-stderr -129 apphub apps show
	assert_stdout_empty
	run --separate-stderr -129 apphub apps rm
	assert_stdout_empty
	run --separate-stderr -129 apphub apps import
	assert_stdout_empty
}

@test "--json and -q work before the command and among its options" {
	add_app alpha-one --name 'Alpha One'
	run -0 apphub --json apps ls
	local a=$output
	run -0 apphub apps ls --json
	assert_equal "$output" "$a"
	assert_equal "$(jq -r '.data[0].id' <<<"$a")" alpha-one

	run -0 apphub -q apps ls
	assert_output alpha-one
	run -0 apphub apps ls -q
	assert_output alpha-one

	run -0 apphub --json apps show alpha-one
	assert_equal "$(jq -r .name <<<"$output")" 'Alpha One'
	run -0 apphub apps show alpha-one --json
	assert_equal "$(jq -r .name <<<"$output")" 'Alpha One'
}

@test "'apphub apps' with no verb is 'apphub apps ls'" {
	add_app alpha-one
	add_app beta-two
	run -0 apphub apps ls --json
	local a=$output
	run -0 apphub apps --json
	assert_equal "$output" "$a"
	run -0 apphub apps
	local t=$output
	run -0 apphub apps ls
	assert_equal "$output" "$t"
}

@test "multi-call: a link named apphub-apps runs 'apphub apps'" {
	local bin="$BATS_TEST_TMPDIR/bin"
	mkdir -p "$bin"
	ln -s "$APPHUB_BIN" "$bin/apphub-apps"

	run --separate-stderr -0 "$bin/apphub-apps" add https://example.com/acme/multi-call.git
	assert_output multi-call
	run -0 "$bin/apphub-apps" ls -q
	assert_output multi-call
	run -0 "$bin/apphub-apps" show multi-call --json
	assert_equal "$(jq -r .repoUrl <<<"$output")" https://example.com/acme/multi-call.git
	# the same state is visible to the main binary
	run -0 apphub apps ls -q
	assert_output multi-call
	# and the link behaves like 'apphub apps' for help and errors
	run -0 "$bin/apphub-apps" -h
	assert_output --partial 'usage: apphub apps'
	run -2 "$bin/apphub-apps" show nope-nope
}

@test "multi-call link found through PATH works too" {
	local bin="$BATS_TEST_TMPDIR/bin"
	mkdir -p "$bin"
	ln -s "$APPHUB_BIN" "$bin/apphub-apps"
	PATH="$bin:$PATH" run -0 apphub-apps ls --json
	assert_equal "$(jq .total <<<"$output")" 0
}

@test "state dir: -C DIR wins over APPHUB_HOME and is created (mkdir -p)" {
	local d="$BATS_TEST_TMPDIR/deep/er/state"
	run -0 apphub -C "$d" apps add https://example.com/x/cee-app.git
	assert [ -f "$d/apphub.db" ]
	assert [ ! -e "$APPHUB_HOME/apphub.db" ]
	run -0 apphub -C "$d" apps ls -q
	assert_output cee-app
	run -0 apphub apps ls -q
	assert_output ''
}

@test "state dir: APPHUB_HOME wins over XDG_STATE_HOME" {
	export XDG_STATE_HOME="$BATS_TEST_TMPDIR/xdg"
	run -0 apphub apps add https://example.com/x/home-app.git
	assert [ -f "$APPHUB_HOME/apphub.db" ]
	assert [ ! -e "$XDG_STATE_HOME/apphub/apphub.db" ]
}

@test "state dir: XDG_STATE_HOME/apphub wins over HOME" {
	unset APPHUB_HOME
	export XDG_STATE_HOME="$BATS_TEST_TMPDIR/xdg"
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	run -0 apphub apps add https://example.com/x/xdg-app.git
	assert [ -f "$XDG_STATE_HOME/apphub/apphub.db" ]
	assert [ ! -e "$HOME/.local/state/apphub" ]
	run -0 apphub -C "$XDG_STATE_HOME/apphub" apps ls -q
	assert_output xdg-app
}

@test "state dir: falls back to HOME/.local/state/apphub" {
	unset APPHUB_HOME
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	run -0 apphub apps add https://example.com/x/home-dflt.git
	assert [ -f "$HOME/.local/state/apphub/apphub.db" ]
	run -0 apphub -C "$HOME/.local/state/apphub" apps ls -q
	assert_output home-dflt
}

@test "state dir: empty APPHUB_HOME / XDG_STATE_HOME are treated as unset" {
	export APPHUB_HOME=
	export XDG_STATE_HOME=
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	run -0 apphub apps add https://example.com/x/empty-env.git
	assert [ -f "$HOME/.local/state/apphub/apphub.db" ]
}

@test "state dir: -C wins over everything" {
	export XDG_STATE_HOME="$BATS_TEST_TMPDIR/xdg"
	export HOME="$BATS_TEST_TMPDIR/home"
	run -0 apphub -C "$BATS_TEST_TMPDIR/cdir" apps add https://example.com/x/cdir-app.git
	assert [ -f "$BATS_TEST_TMPDIR/cdir/apphub.db" ]
	assert [ ! -e "$APPHUB_HOME" ]
	assert [ ! -e "$XDG_STATE_HOME" ]
	assert [ ! -e "$HOME/.local/state" ]
}

@test "unusable state dir (a path through a regular file): exit 128, clear message" {
	touch "$BATS_TEST_TMPDIR/plainfile"
	local d="$BATS_TEST_TMPDIR/plainfile/state"
	run --separate-stderr -128 apphub -C "$d" apps ls
	assert_stdout_empty
	assert_stderr_regex '^apphub: '
	assert_stderr_partial "$d"
	assert_equal "${#stderr_lines[@]}" 1

	run --separate-stderr -128 apphub -C "$d" apps add https://example.com/x/nope-app.git
	assert_stdout_empty
	assert_stderr_partial "$d"
}

@test "state dir without write permission: exit 128, clear message" {
	[[ $(id -u) != 0 ]] || skip "root can write anywhere"
	mkdir -p "$APPHUB_HOME"
	chmod 0555 "$APPHUB_HOME"
	run --separate-stderr -128 apphub apps add https://example.com/x/ro-app.git
	chmod 0755 "$APPHUB_HOME"
	assert_stdout_empty
	assert_stderr_regex '^apphub: '
	assert_stderr_partial "$APPHUB_HOME"
	assert [ ! -e "$APPHUB_HOME/apphub.db" ]
}

@test "state dir that is a regular file: exit 128" {
	touch "$BATS_TEST_TMPDIR/statefile"
	run --separate-stderr -128 apphub -C "$BATS_TEST_TMPDIR/statefile" apps ls
	assert_stdout_empty
	assert_stderr_regex '^apphub: '
	assert_stderr_partial "$BATS_TEST_TMPDIR/statefile"
}

@test "unwritable state dir via APPHUB_HOME: exit 128" {
	touch "$BATS_TEST_TMPDIR/plainfile"
	export APPHUB_HOME="$BATS_TEST_TMPDIR/plainfile/sub"
	run --separate-stderr -128 apphub apps add https://example.com/x/nope-app.git
	assert_stdout_empty
	assert_stderr_partial "$APPHUB_HOME"
}

@test "database from a newer apphub: exit 128, file unchanged" {
	add_app keep-me
	local db
	db=$(db_path)
	sqlite3 "$db" 'PRAGMA user_version = 9999;'
	assert [ ! -e "$db-wal" ] || [ ! -s "$db-wal" ]
	local before
	before=$(sha_of "$db")

	run --separate-stderr -128 apphub apps ls
	assert_stdout_empty
	assert_stderr_regex '^apphub: '
	assert_stderr_partial '9999'
	run --separate-stderr -128 apphub apps add https://example.com/x/new-one.git
	assert_stdout_empty
	run --separate-stderr -128 apphub events
	assert_stdout_empty

	assert_equal "$(sha_of "$db")" "$before"
	assert_equal "$(sqlite3 "$db" 'PRAGMA user_version')" 9999
}

@test "corrupt database (random bytes): exit 128, file unchanged" {
	mkdir -p "$APPHUB_HOME"
	local db
	db=$(db_path)
	head -c 16384 /dev/urandom >"$db"
	local before
	before=$(sha_of "$db")

	run --separate-stderr -128 apphub apps ls
	assert_stdout_empty
	assert_stderr_regex '^apphub: '
	run --separate-stderr -128 apphub apps add https://example.com/x/new-one.git
	assert_stdout_empty
	run --separate-stderr -128 apphub apps tags
	assert_stdout_empty

	assert_equal "$(sha_of "$db")" "$before"
}

@test "database that is a text file: exit 128, file unchanged" {
	mkdir -p "$APPHUB_HOME"
	local db
	db=$(db_path)
	printf 'this is not a database\n%.0s' {1..200} >"$db"
	local before
	before=$(sha_of "$db")
	run --separate-stderr -128 apphub apps ls
	assert_stdout_empty
	assert_stderr_regex '^apphub: '
	assert_equal "$(sha_of "$db")" "$before"
}

@test "first use creates a WAL database with the current schema version" {
	run -0 apphub apps ls --json
	assert_equal "$(jq .total <<<"$output")" 0
	local db
	db=$(db_path)
	assert [ -f "$db" ]
	assert_equal "$(sqlite3 "$db" 'PRAGMA journal_mode')" wal
	local v
	v=$(sqlite3 "$db" 'PRAGMA user_version')
	assert [ "$v" -ge 1 ]
	# opening again does not change the version
	run -0 apphub apps ls
	assert_equal "$(sqlite3 "$db" 'PRAGMA user_version')" "$v"
}

@test "errors go to stderr only, results to stdout only" {
	run --separate-stderr -2 apphub apps show no-such-app
	assert_stdout_empty
	assert_stderr "apphub: app 'no-such-app' not found"
	run --separate-stderr -0 apphub apps add https://example.com/x/out-app.git
	assert_output out-app
	assert_stderr ''
}
