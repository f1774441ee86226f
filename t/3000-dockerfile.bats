#!/usr/bin/env bats
# The Dockerfile parser (lib/dockerfile.c) through t/helper/test-tool: a
# table of cases in t/fixtures/dockerfile/, each NAME.Dockerfile with the
# parse it must give (NAME.json) or the error line it must print
# (NAME.err), and test-tool's extra arguments, one a line, in NAME.args.

bats_require_minimum_version 1.5.0
load test_helper/common

FIXTURES="$BATS_TEST_DIRNAME/fixtures/dockerfile"
TEST_TOOL="$BATS_TEST_DIRNAME/helper/test-tool"

# Every case of the group the globs (without .Dockerfile) name; reports each failing case,
# fails if any failed or none matched.
check_cases() {
	local pat f name args=() n=0 failed=() got want status
	cd "$FIXTURES" || return 1
	for f in $(for pat in "$@"; do ls -- $pat.Dockerfile 2>/dev/null; done); do
		name=${f%.Dockerfile}
		n=$((n + 1))
		args=()
		[ -f "$name.args" ] && mapfile -t args <"$name.args"
		if [ -f "$name.err" ]; then
			status=0
			got=$("$TEST_TOOL" dockerfile "${args[@]}" "$f" 2>&1 >/dev/null) || status=$?
			want=$(cat "$name.err")
			if [ "$status" -ne 1 ] || [ "$got" != "$want" ]; then
				failed+=("$name: exit $status, stderr '$got', want '$want'")
			fi
		else
			got=$("$TEST_TOOL" dockerfile "${args[@]}" "$f" 2>&1) || {
				failed+=("$name: failed: $got")
				continue
			}
			if ! diff -u <(jq -S . "$name.json") <(printf '%s\n' "$got" | jq -S .) >"$BATS_TEST_TMPDIR/diff" 2>&1; then
				failed+=("$name: $(cat "$BATS_TEST_TMPDIR/diff")")
			fi
		fi
	done
	if [ "$n" -eq 0 ]; then
		echo "no case matches $*"
		return 1
	fi
	if [ ${#failed[@]} -gt 0 ]; then
		printf '%s\n' "${failed[@]}"
		echo "${#failed[@]} of $n cases failed"
		return 1
	fi
}

@test "dockerfile cases: every case has an expectation and a group; 60 or more" {
	cd "$FIXTURES"
	local f name n=0
	for f in *.Dockerfile; do
		name=${f%.Dockerfile}
		n=$((n + 1))
		if [ -f "$name.json" ] && [ -f "$name.err" ]; then
			echo "$name: both .json and .err"
			return 1
		fi
		[ -f "$name.json" ] || [ -f "$name.err" ] || { echo "$name: no .json or .err"; return 1; }
		case $name in
		directive-* | cont-* | comment-* | input-* | form-* | heredoc-* | subst-* | arg-* | \
			env-* | stage-* | from-* | copy-* | add-* | run-* | cmd-* | instr-* | health-* | onbuild*) ;;
		*) echo "$name: in no group"; return 1 ;;
		esac
	done
	[ "$n" -ge 60 ]
}

@test "dockerfile: parser directives (syntax, escape incl. backtick), only at the top" {
	check_cases 'directive-*'
}

@test "dockerfile: comments, continuations, blank and CRLF lines, line numbers" {
	check_cases 'cont-*' 'comment-*' 'input-*'
}

@test "dockerfile: exec (JSON) and shell forms, SHELL" {
	check_cases 'form-*'
}

@test "dockerfile: heredocs (<<EOF, <<-EOF, quoted, several, COPY and ADD)" {
	check_cases 'heredoc-*'
}

@test "dockerfile: variable substitution and quoting" {
	check_cases 'subst-*'
}

@test "dockerfile: ARG scopes, --build-arg, platform ARGs" {
	check_cases 'arg-*'
}

@test "dockerfile: ENV forms and precedence, base image environment" {
	check_cases 'env-*'
}

@test "dockerfile: stages, FROM, COPY --from, --target" {
	check_cases 'stage-*' 'from-*'
}

@test "dockerfile: COPY and ADD (flags, JSON form, substitution)" {
	check_cases 'copy-*' 'add-*'
}

@test "dockerfile: RUN and CMD flags (--mount, --network, --security)" {
	check_cases 'run-*' 'cmd-*'
}

@test "dockerfile: EXPOSE LABEL VOLUME STOPSIGNAL USER WORKDIR MAINTAINER, unknown instructions" {
	check_cases 'instr-*'
}

@test "dockerfile: HEALTHCHECK NONE and CMD with options" {
	check_cases 'health-*'
}

@test "dockerfile: ONBUILD and the triggers it refuses" {
	check_cases 'onbuild*'
}

@test "dockerfile: a file over 1 MiB is refused" {
	{
		echo 'FROM scratch'
		head -c 1048576 /dev/zero | tr '\0' '#'
	} >"$BATS_TEST_TMPDIR/big"
	run -1 "$TEST_TOOL" dockerfile "$BATS_TEST_TMPDIR/big"
	assert_output "$BATS_TEST_TMPDIR/big: too large (1048589 bytes; the limit is 1048576)"
}

@test "dockerfile: a line of 64 KiB or more is refused, as BuildKit's scanner refuses it" {
	{
		echo 'FROM scratch'
		printf 'RUN %s\n' "$(head -c 65531 /dev/zero | tr '\0' x)"
	} >"$BATS_TEST_TMPDIR/long"
	run -0 "$TEST_TOOL" dockerfile "$BATS_TEST_TMPDIR/long"
	{
		echo 'FROM scratch'
		printf 'RUN <<EOF\n%s\nEOF\n' "$(head -c 65536 /dev/zero | tr '\0' x)"
	} >"$BATS_TEST_TMPDIR/long"
	run -1 "$TEST_TOOL" dockerfile "$BATS_TEST_TMPDIR/long"
	assert_output "$BATS_TEST_TMPDIR/long:3: line too long (the limit is 65535 bytes)"
	{
		echo 'FROM scratch'
		printf 'RUN %s\n' "$(head -c 65532 /dev/zero | tr '\0' x)"
	} >"$BATS_TEST_TMPDIR/long"
	run -1 "$TEST_TOOL" dockerfile "$BATS_TEST_TMPDIR/long"
	assert_output "$BATS_TEST_TMPDIR/long:2: line too long (the limit is 65535 bytes)"
}

@test "dockerfile: more than 10000 instructions are refused" {
	{
		echo 'FROM scratch'
		for i in $(seq 10000); do echo "ENV A$i=1"; done
	} >"$BATS_TEST_TMPDIR/many"
	run -1 "$TEST_TOOL" dockerfile "$BATS_TEST_TMPDIR/many"
	assert_output "$BATS_TEST_TMPDIR/many:10001: too many instructions (the limit is 10000)"
}

@test "dockerfile: substitution that doubles itself stops at the limit, as do ARGs times RUNs" {
	{
		echo 'FROM scratch'
		echo 'ENV A=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'
		for i in $(seq 30); do echo 'ENV A=$A$A'; done
	} >"$BATS_TEST_TMPDIR/double"
	run -1 "$TEST_TOOL" dockerfile "$BATS_TEST_TMPDIR/double"
	assert_output --regexp ':[0-9]+: expansion too large'
	{
		echo 'FROM scratch'
		for i in $(seq 3000); do echo "ARG A$i=1"; done
		for i in $(seq 3000); do echo "RUN x"; done
	} >"$BATS_TEST_TMPDIR/runs"
	run -1 "$TEST_TOOL" dockerfile "$BATS_TEST_TMPDIR/runs"
	assert_output --regexp ':[0-9]+: expansion too large'
}

@test "dockerfile: nesting deeper than 32 substitutions is refused" {
	local deep='$X' i
	for i in $(seq 40); do deep="\${A:-$deep}"; done
	printf 'FROM scratch\nWORKDIR /%s\n' "$deep" >"$BATS_TEST_TMPDIR/deep"
	run -1 "$TEST_TOOL" dockerfile "$BATS_TEST_TMPDIR/deep"
	assert_output --partial 'deep:2: substitution nested too deeply'
}

@test "dockerfile: usage errors exit 129" {
	run -129 "$TEST_TOOL" dockerfile
	run -129 "$TEST_TOOL"
	run -1 "$TEST_TOOL" dockerfile "$BATS_TEST_TMPDIR/missing"
	assert_output --partial "cannot open"
}
