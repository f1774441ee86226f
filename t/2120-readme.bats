#!/usr/bin/env bats
# The description ingest takes from a README (lib/markdown.c): the first
# paragraph of prose. A table of cases in t/fixtures/readme/, each a README
# shaped after real ones (NAME.md, NAME.rst or NAME.txt: the format comes
# from the name, as ingest's) and the description it must give in
# NAME.expected (empty: none), checked through t/helper/test-tool.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/ingest'

FIXTURES="$BATS_TEST_DIRNAME/fixtures/readme"
TEST_TOOL="$BATS_TEST_DIRNAME/helper/test-tool"

setup() {
	ingest_setup
}

@test "readme cases: each README gives the description a person would pick" {
	local f name got want n=0 failed=()
	cd "$FIXTURES"
	for f in *; do
		[ "${f%.expected}" = "$f" ] || continue
		name=${f%.*}
		n=$((n + 1))
		[ -f "$name.expected" ] || { failed+=("$f: no $name.expected"); continue; }
		got=$("$TEST_TOOL" readme "$f" 2>&1) || { failed+=("$f: failed: $got"); continue; }
		want=$(cat "$name.expected")
		[ "$got" = "$want" ] || failed+=("$f: got '$got', want '$want'")
	done
	if [ ${#failed[@]} -gt 0 ]; then
		printf '%s\n' "${failed[@]}"
		echo "${#failed[@]} of $n cases failed"
		return 1
	fi
	[ "$n" -ge 25 ]
	[ "$(ls -- *.expected | wc -l)" -eq "$n" ]
}

@test "readme: a long paragraph is cut within the limit, at a sentence, a word or a character" {
	cd "$FIXTURES"
	local f d
	for f in long-cut-at-sentence.md long-one-sentence.md cjk.md cjk-no-stop.md abbreviation-not-sentence.md; do
		d=$("$TEST_TOOL" readme "$f")
		[ "$(printf %s "$d" | wc -c)" -le 320 ]
		printf %s "$d" | iconv -f UTF-8 -t UTF-8 >/dev/null
	done
	run -0 "$TEST_TOOL" readme --max 80 long-cut-at-sentence.md
	assert_output 'Atlas is a self-hosted map server for people who want their own tiles.'
	run -0 "$TEST_TOOL" readme --max 40 long-one-sentence.md
	assert_output 'A command line tool and web interface…'
	run -0 "$TEST_TOOL" readme --max 20 cjk-no-stop.md
	assert_output 'ブラウザだ…'
}

@test "readme: ingest fills the description from README.md, README.rst or README" {
	commit_files "$REPOS/md" Dockerfile 'FROM scratch' README.md "$(cat "$FIXTURES/html-logo-centered.md")"
	ingest_app tally "$REPOS/md"
	assert_equal "$(app_field tally description)" \
		'Tally is a simple, fast, privacy-focused alternative to Google Analytics.'
	commit_files "$REPOS/rst" Dockerfile 'FROM scratch' README.rst "$(cat "$FIXTURES/rst-badges.rst")"
	ingest_app pyshort "$REPOS/rst"
	assert_equal "$(app_field pyshort description)" "$(cat "$FIXTURES/rst-badges.expected")"
	commit_files "$REPOS/txt" Dockerfile 'FROM scratch' README "$(cat "$FIXTURES/plain.txt")"
	ingest_app fortune "$REPOS/txt"
	assert_equal "$(app_field fortune description)" "$(cat "$FIXTURES/plain.expected")"
	commit_files "$REPOS/none" Dockerfile 'FROM scratch' README.md "$(cat "$FIXTURES/no-prose.md")"
	ingest_app none "$REPOS/none"
	assert_equal "$(app_field none description)" ''
}
