#!/usr/bin/env bats
# apps tags: tag suggestions (tags.suggest).

bats_require_minimum_version 1.5.0
load test_helper/common

setup_file() {
	export APPHUB_HOME="$BATS_FILE_TMPDIR/state"
	unset XDG_STATE_HOME
	PATH="$BATS_TEST_DIRNAME/..:$PATH"
	local a='apphub -q apps add'
	$a https://example.com/x/s-one.git --tag framework:nextjs --tag language:typescript \
		--tag owner:alice --tag runtime:node@18
	$a https://example.com/x/s-two.git --tag framework:nextjs --tag framework:astro --tag owner:bob
	$a https://example.com/x/s-three.git --tag framework:astro --tag library:react --tag owner:alice
	$a https://example.com/x/s-four.git --tag lang:c
}

setup() {
	common_setup
	export APPHUB_HOME="$BATS_FILE_TMPDIR/state"
}

# values PREFIX [options...]: the suggested values, space separated
values() {
	apphub apps tags "$@" --json | jq -r '[.data[].value] | join(" ")'
}

@test "keys: no prefix lists every key in use, ordered by key" {
	run --separate-stderr -0 apphub apps tags --json
	assert_stderr ''
	assert_equal "$(jq -c '[.data[].value]' <<<"$output")" \
		'["framework","lang","language","library","owner","runtime"]'
	assert_equal "$(jq -r '[.data[].type] | unique | join(" ")' <<<"$output")" key
}

@test "keys: prefix match, ordered by key not by count" {
	assert_equal "$(values l)" 'lang language library'
	assert_equal "$(values la)" 'lang language'
	assert_equal "$(values lang)" 'lang language'
	assert_equal "$(values langu)" 'language'
	assert_equal "$(values o)" 'owner'
	assert_equal "$(values nope)" ''
}

@test "keys: prefix is trimmed and lowercased" {
	assert_equal "$(values '  LA  ')" 'lang language'
	assert_equal "$(values FRAME)" 'framework'
	assert_equal "$(values $'\tOw ')" 'owner'
}

@test "keys: json objects {type, value, label}" {
	run -0 apphub apps tags fr --json
	assert_equal "$(jq -c . <<<"$output")" '{"data":[{"type":"key","value":"framework","label":"framework"}]}'
	assert_equal "$(jq -c '.data[0] | keys_unsorted' <<<"$output")" '["type","value","label"]'
}

@test "keys: text output has a trailing ':'" {
	run --separate-stderr -0 apphub apps tags l
	assert_stderr ''
	assert_equal "$output" $'lang:\nlanguage:\nlibrary:'
}

@test "pairs: key prefix and value prefix, ordered by key then value" {
	assert_equal "$(values framework:)" 'framework:astro framework:nextjs'
	assert_equal "$(values fr:)" 'framework:astro framework:nextjs'
	assert_equal "$(values f:n)" 'framework:nextjs'
	assert_equal "$(values framework:nextjs)" 'framework:nextjs'
	assert_equal "$(values framework:nextjsx)" ''
	assert_equal "$(values l:)" 'lang:c language:typescript library:react'
	assert_equal "$(values owner:a)" 'owner:alice'
	assert_equal "$(values :a)" 'framework:astro owner:alice'
}

@test "pairs: ':' alone lists pairs in use, ordered by key then value" {
	assert_equal "$(values :)" \
		'framework:astro framework:nextjs lang:c language:typescript library:react owner:alice owner:bob runtime:node@18'
}

@test "pairs: prefix trimmed and lowercased" {
	assert_equal "$(values ' OWNER:A ')" 'owner:alice'
	assert_equal "$(values 'Framework:N')" 'framework:nextjs'
}

@test "pairs: value part after the first ':' may hold more punctuation" {
	assert_equal "$(values runtime:node@)" 'runtime:node@18'
	assert_equal "$(values runtime:node@1)" 'runtime:node@18'
	local d="$BATS_TEST_TMPDIR/colon"
	apphub -C "$d" -q apps add https://example.com/x/colon.git --tag 'url:https://a.org' --tag 'url:http://b.org'
	run -0 apphub -C "$d" apps tags 'url:https:' --json
	assert_equal "$(jq -c '[.data[].value]' <<<"$output")" '["url:https://a.org"]'
	run -0 apphub -C "$d" apps tags 'url:http' --json
	assert_equal "$(jq -c '[.data[].value]' <<<"$output")" '["url:http://b.org","url:https://a.org"]'
}

@test "pairs: json objects {type, value, label}" {
	run -0 apphub apps tags f:n --json
	assert_equal "$(jq -c . <<<"$output")" \
		'{"data":[{"type":"pair","value":"framework:nextjs","label":"framework:nextjs"}]}'
}

@test "pairs: text output is k:v per line" {
	run --separate-stderr -0 apphub apps tags owner:
	assert_stderr ''
	assert_equal "$output" $'owner:alice\nowner:bob'
}

@test "no match: empty data, empty text, exit 0" {
	run -0 apphub apps tags zzz --json
	assert_equal "$(jq -c . <<<"$output")" '{"data":[]}'
	run --separate-stderr -0 apphub apps tags zzz
	assert_stdout_empty
	run -0 apphub apps tags zzz:
	assert_output ''
}

@test "empty catalogue: no suggestions" {
	run -0 apphub -C "$BATS_TEST_TMPDIR/empty" apps tags --json
	assert_equal "$(jq -c . <<<"$output")" '{"data":[]}'
}

@test "limit: default 10, 1..50 accepted" {
	local d="$BATS_TEST_TMPDIR/lim" tags=() k
	for k in $(seq -w 1 60); do tags+=(--tag "k$k:v$k" --tag "p:v$k"); done
	apphub -C "$d" -q apps add https://example.com/x/lim.git "${tags[@]}"
	run -0 apphub -C "$d" apps tags k --json
	assert_equal "$(jq -c '[.data[].value]' <<<"$output")" \
		'["k01","k02","k03","k04","k05","k06","k07","k08","k09","k10"]'
	run -0 apphub -C "$d" apps tags p: --json
	assert_equal "$(jq '.data | length' <<<"$output")" 10
	assert_equal "$(jq -r '.data[9].value' <<<"$output")" p:v10
	run -0 apphub -C "$d" apps tags k --limit 1 --json
	assert_equal "$(jq -c '[.data[].value]' <<<"$output")" '["k01"]'
	run -0 apphub -C "$d" apps tags k --limit 50 --json
	assert_equal "$(jq '.data | length' <<<"$output")" 50
	assert_equal "$(jq -r '.data[49].value' <<<"$output")" k50
	run -0 apphub -C "$d" apps tags p: --limit 50
	assert_equal "${#lines[@]}" 50
	run -0 apphub -C "$d" apps tags k
	assert_equal "${#lines[@]}" 10
}

@test "limit: out of range or not a number, exit 1 naming limit" {
	local v
	for v in 0 51 -1 100; do
		run --separate-stderr -1 apphub apps tags fr --limit "$v"
		assert_stdout_empty
		assert_stderr_regex '^apphub: .*limit'
	done
	# not a number at all: a usage error
	for v in abc 2x ''; do
		run --separate-stderr -129 apphub apps tags fr --limit "$v"
		assert_stdout_empty
		assert_stderr_regex '^apphub: .*limit'
	done
}

@test "'%' and '_' in the prefix are literal" {
	local d="$BATS_TEST_TMPDIR/like"
	apphub -C "$d" -q apps add https://example.com/x/like.git \
		--tag a_b:1 --tag axb:1 --tag ab:1 \
		--tag 'p:50%off' --tag p:50xoff --tag p:50off --tag p:50_off --tag p:5_0
	run -0 apphub -C "$d" apps tags a_ --json
	assert_equal "$(jq -c '[.data[].value]' <<<"$output")" '["a_b"]'
	run -0 apphub -C "$d" apps tags 'p:50%' --json
	assert_equal "$(jq -c '[.data[].value]' <<<"$output")" '["p:50%off"]'
	run -0 apphub -C "$d" apps tags 'p:50_' --json
	assert_equal "$(jq -c '[.data[].value]' <<<"$output")" '["p:50_off"]'
	run -0 apphub -C "$d" apps tags 'p:5_' --json
	assert_equal "$(jq -c '[.data[].value]' <<<"$output")" '["p:5_0"]'
	run -0 apphub -C "$d" apps tags '%' --json
	assert_equal "$(jq -c . <<<"$output")" '{"data":[]}'
	run -0 apphub -C "$d" apps tags '_' --json
	assert_equal "$(jq -c . <<<"$output")" '{"data":[]}'
	run -0 apphub -C "$d" apps tags '%:' --json
	assert_equal "$(jq -c . <<<"$output")" '{"data":[]}'
	run -0 apphub -C "$d" apps tags 'p:%' --json
	assert_equal "$(jq -c . <<<"$output")" '{"data":[]}'
}

@test "a backslash in the prefix is literal too" {
	local d="$BATS_TEST_TMPDIR/bs"
	apphub -C "$d" -q apps add https://example.com/x/bs.git --id bs-app --tag 'p:c\d' --tag p:cxd --tag 'p:c%d'
	run -0 apphub -C "$d" apps tags 'p:c\' --json
	assert_equal "$(jq -c '[.data[].value]' <<<"$output")" '["p:c\\d"]'
	run -0 apphub -C "$d" apps tags 'p:c\%' --json
	assert_equal "$(jq -c . <<<"$output")" '{"data":[]}'
}

@test "only tags carried by at least one app" {
	local d="$BATS_TEST_TMPDIR/inuse"
	apphub -C "$d" -q apps add https://example.com/x/gone-app.git --tag gone:yes --tag keep:yes
	apphub -C "$d" -q apps add https://example.com/x/stay-app.git --tag keep:yes --tag drop:me
	run -0 apphub -C "$d" apps tags --json
	assert_equal "$(jq -c '[.data[].value]' <<<"$output")" '["drop","gone","keep"]'
	apphub -C "$d" apps rm gone-app
	run -0 apphub -C "$d" apps tags --json
	assert_equal "$(jq -c '[.data[].value]' <<<"$output")" '["drop","keep"]'
	run -0 apphub -C "$d" apps tags gone: --json
	assert_equal "$(jq -c .data <<<"$output")" '[]'
	apphub -C "$d" apps tag stay-app rm drop:me
	run -0 apphub -C "$d" apps tags --json
	assert_equal "$(jq -c '[.data[].value]' <<<"$output")" '["keep"]'
	# replaced by --update --tag
	apphub -C "$d" -q apps add https://example.com/x/stay-app.git --update --tag new:one
	run -0 apphub -C "$d" apps tags : --json
	assert_equal "$(jq -c '[.data[].value]' <<<"$output")" '["new:one"]'
}

@test "keys: a key is listed once however many apps and values carry it" {
	run -0 apphub apps tags framework --json
	assert_equal "$(jq -c '[.data[].value]' <<<"$output")" '["framework"]'
}

@test "usage: extra arguments or unknown options" {
	run -129 apphub apps tags --bogus
	run -129 apphub apps tags --limit
}

@test "keys differing only in case are suggested once" {
	local d="$BATS_TEST_TMPDIR/case"
	apphub -C "$d" -q apps add https://example.com/x/c-one.git --tag Env:x
	apphub -C "$d" -q apps add https://example.com/x/c-two.git --tag env:y
	apphub -C "$d" -q apps add https://example.com/x/c-three.git --tag ENV:z --tag envy:1
	run -0 apphub -C "$d" apps tags en --json
	assert_equal "$(jq -c '[.data[].value | ascii_downcase]' <<<"$output")" '["env","envy"]'
	run -0 apphub -C "$d" apps tags env: --json
	assert_equal "$(jq -c '[.data[].value | ascii_downcase]' <<<"$output")" '["env:x","env:y","env:z","envy:1"]'
}

@test "ties: pairs differing only in case are one tag, suggested once" {
	local d="$BATS_TEST_TMPDIR/case2"
	apphub -C "$d" -q apps add https://example.com/x/c-one.git --tag Lang:C
	apphub -C "$d" -q apps add https://example.com/x/c-two.git --tag lang:c
	apphub -C "$d" -q apps add https://example.com/x/c-three.git --tag lang:c
	run -0 apphub -C "$d" apps tags la: --json
	assert_equal "$(jq -c '[.data[].value | ascii_downcase]' <<<"$output")" '["lang:c"]'
}
