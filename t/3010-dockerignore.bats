#!/usr/bin/env bats
# .dockerignore rules (lib/dockerignore.c) through t/helper/test-tool.

bats_require_minimum_version 1.5.0
load test_helper/common

TEST_TOOL="$BATS_TEST_DIRNAME/helper/test-tool"

# ignore RULES... : writes the .dockerignore used by match
ignore() {
	printf '%s\n' "$@" >"$BATS_TEST_TMPDIR/.dockerignore"
}

match() {
	"$TEST_TOOL" dockerignore "$BATS_TEST_TMPDIR/.dockerignore" "$@"
}

@test "dockerignore: plain names match at the root and exclude what is under them" {
	ignore node_modules .git secret.txt
	run -0 match node_modules node_modules/x/y.js .git/HEAD secret.txt src/secret.txt src/node_modules/a
	assert_output "node_modules excluded
node_modules/x/y.js excluded
.git/HEAD excluded
secret.txt excluded
src/secret.txt included
src/node_modules/a included"
}

@test "dockerignore: * and ? stay within one path element" {
	ignore '*.md' 'tmp?' 'docs/*.txt'
	run -0 match README.md a/README.md tmp1 tmp12 docs/a.txt docs/sub/a.txt
	assert_output "README.md excluded
a/README.md included
tmp1 excluded
tmp12 included
docs/a.txt excluded
docs/sub/a.txt included"
}

@test "dockerignore: ** matches any number of directories, none included" {
	ignore '**/*.log' 'build/**' 'a/**/z'
	run -0 match x.log d/e/f.log build build/x build/y/z a/z a/b/z a/b/c/z a/bz
	assert_output "x.log excluded
d/e/f.log excluded
build included
build/x excluded
build/y/z excluded
a/z excluded
a/b/z excluded
a/b/c/z excluded
a/bz included"
}

@test "dockerignore: ! exceptions, the last matching rule wins" {
	ignore '*.md' '!README.md' 'README.md' '*.txt' '!keep.txt'
	run -0 match a.md README.md b.txt keep.txt
	assert_output "a.md excluded
README.md excluded
b.txt excluded
keep.txt included"
}

@test "dockerignore: an exception under an excluded directory" {
	ignore docs '!docs/keep.md'
	run -0 match docs/ docs/a.md docs/keep.md other/
	assert_output "docs/ excluded (descend)
docs/a.md excluded
docs/keep.md included
other/ included"
	ignore vendor '!**/LICENSE'
	run -0 match vendor/ vendor/x/LICENSE
	assert_output "vendor/ excluded (descend)
vendor/x/LICENSE included"
	ignore vendor
	run -0 match vendor/
	assert_output "vendor/ excluded"
}

@test "dockerignore: leading / and ./ are dropped, paths cleaned" {
	ignore '/abs' './rel' 'a//b/../c/' '  spaced  '
	run -0 match abs rel a/c spaced ./abs x/abs
	assert_output "abs excluded
rel excluded
a/c excluded
spaced excluded
./abs excluded
x/abs included"
}

@test "dockerignore: comments and blank lines are skipped; # only in the first column" {
	ignore '# comment' '' '   ' ' #notcomment' '\#hash'
	run -0 match '# comment' '#notcomment' '#hash'
	assert_output "# comment included
#notcomment excluded
#hash excluded"
}

@test "dockerignore: character classes and escapes" {
	ignore '[a-c]at' 'file[^0-9]' 'q\*'
	run -0 match bat dat file1 filex 'q*' qq
	assert_output "bat excluded
dat included
file1 included
filex excluded
q* excluded
qq included"
}

@test "dockerignore: bad patterns name the file and line" {
	ignore ok '[unterminated'
	run -1 match x
	assert_output "$BATS_TEST_TMPDIR/.dockerignore:2: bad pattern '[unterminated'"
	ignore '!'
	run -1 match x
	assert_output "$BATS_TEST_TMPDIR/.dockerignore:1: illegal exception pattern '!'"
	ignore 'trailing\'
	run -1 match x
	assert_output --partial ":1: bad pattern"
}

@test "dockerignore: an empty file excludes nothing; CRLF lines" {
	: >"$BATS_TEST_TMPDIR/.dockerignore"
	run -0 match a b/c
	assert_output "a included
b/c included"
	printf 'a\r\n!a/b\r\n' >"$BATS_TEST_TMPDIR/.dockerignore"
	run -0 match a/c a/b
	assert_output "a/c excluded
a/b included"
}
