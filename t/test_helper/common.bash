# Shared setup for the apphub bats suite.
#
#   load test_helper/common
#
# Every test gets: the build tree first on PATH, a fresh private state
# directory in $APPHUB_HOME, no XDG_STATE_HOME, and a fixed git identity.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

common_setup() {
	PATH="$BATS_TEST_DIRNAME/..:$PATH"
	export PATH
	APPHUB_BIN="$BATS_TEST_DIRNAME/../apphub"
	export APPHUB_BIN

	export APPHUB_HOME="$BATS_TEST_TMPDIR/state"
	unset XDG_STATE_HOME
	unset APPHUB_EXEC_PATH

	# Reproducible git commits, no user configuration leaking in.
	export GIT_AUTHOR_NAME='A U Thor'
	export GIT_AUTHOR_EMAIL='author@example.com'
	export GIT_COMMITTER_NAME='C O Mitter'
	export GIT_COMMITTER_EMAIL='committer@example.com'
	export GIT_AUTHOR_DATE='2005-04-07T22:13:13Z'
	export GIT_COMMITTER_DATE='2005-04-07T22:13:13Z'
	export GIT_CONFIG_NOSYSTEM=1
	: >"$BATS_TEST_TMPDIR/gitconfig"
	export GIT_CONFIG_GLOBAL="$BATS_TEST_TMPDIR/gitconfig"
	export LC_ALL=C
	export TZ=UTC
}

setup() {
	common_setup
}

# make_repo DIR [DOCKERFILE-CONTENT]
# A real git repository with one commit containing a Dockerfile.
make_repo() {
	local dir=$1 content=${2:-'FROM scratch'}
	mkdir -p "$dir"
	git -C "$dir" init -q -b main 2>/dev/null || git -C "$dir" init -q
	printf '%s\n' "$content" >"$dir/Dockerfile"
	git -C "$dir" add Dockerfile
	git -C "$dir" commit -q -m 'initial'
}

# add_app ID [extra apphub apps add options...]
# Registers an app with a synthetic https URL; fails the test on error.
add_app() {
	local id=$1
	shift
	apphub -q apps add "https://example.com/repos/$id.git" --id "$id" "$@" || {
		echo "add_app $id failed" >&2
		return 1
	}
}

# app_total: number of registered apps according to apphub itself.
app_total() {
	apphub apps ls --json | jq -r .total
}

# db_path: the database of the current state directory.
db_path() {
	echo "$APPHUB_HOME/apphub.db"
}

# assert_stderr EXPECTED   (after `run --separate-stderr`)
assert_stderr() {
	if [[ "$stderr" != "$1" ]]; then
		batslib_print_kv_single_or_multi 8 expected "$1" actual "$stderr" |
			batslib_decorate 'stderr differs' | fail
	fi
}

# assert_stderr_partial SUBSTRING   (after `run --separate-stderr`)
assert_stderr_partial() {
	if [[ "$stderr" != *"$1"* ]]; then
		batslib_print_kv_single_or_multi 9 substring "$1" stderr "$stderr" |
			batslib_decorate 'stderr does not contain substring' | fail
	fi
}

# assert_stderr_regex REGEX   (after `run --separate-stderr`)
assert_stderr_regex() {
	if ! [[ "$stderr" =~ $1 ]]; then
		batslib_print_kv_single_or_multi 6 regex "$1" stderr "$stderr" |
			batslib_decorate 'stderr does not match regex' | fail
	fi
}

# assert_stdout_empty   (after `run --separate-stderr`)
assert_stdout_empty() {
	if [[ -n "$output" ]]; then
		batslib_print_kv_single_or_multi 6 stdout "$output" |
			batslib_decorate 'stdout should be empty' | fail
	fi
}

# sha_of FILE
sha_of() {
	sha256sum "$1" | cut -d' ' -f1
}

# Small pause so that consecutive writes get distinct millisecond timestamps.
tick() {
	sleep 0.01
}
