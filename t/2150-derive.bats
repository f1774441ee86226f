#!/usr/bin/env bats
# Derivation on a corpus of repositories shaped like real ones
# (t/fixtures/repos/NAME/tree, with NAME/expected.json giving the tags and
# the name a person reading the repository would give the app): one table,
# each ingested as a git repository made from its tree.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/ingest'

setup() {
	common_setup
	REPOS=$(cd "$BATS_TEST_TMPDIR" && pwd -P)/repos
	mkdir -p "$REPOS"
}

@test "corpus: each fixture repository gets the expected tags and name" {
	local fixtures=$BATS_TEST_DIRNAME/fixtures/repos dir name exp df got want
	local expected=0 found=0 apps=0 bad=()
	for dir in "$fixtures"/*/; do
		name=$(basename "$dir")
		exp=$dir/expected.json
		cp -a "$dir/tree" "$REPOS/$name"
		git -C "$REPOS/$name" init -q -b main
		git -C "$REPOS/$name" add -A
		git -C "$REPOS/$name" commit -q -m "$name"
		df=$(jq -r '.dockerfile // empty' "$exp")
		ingest_app "$name" "$REPOS/$name" ${df:+--dockerfile "$df"}
		got=$(apphub apps show "$name" --json | jq -r '[.tags[] | "\(.key):\(.value)" | ascii_downcase] | sort | .[]')
		want=$(jq -r '.tags | map(ascii_downcase) | sort | .[]' "$exp")
		((apps += 1))
		((expected += $(grep -c . <<<"$want")))
		((found += $(comm -12 <(echo "$want") <(echo "$got") | grep -c . || true)))
		if [[ $got != "$want" ]]; then
			bad+=("$name: missing [$(comm -23 <(echo "$want") <(echo "$got") | xargs)]," \
				"unexpected [$(comm -13 <(echo "$want") <(echo "$got") | xargs)]")
		fi
		if [[ $(app_field "$name" name) != "$(jq -r .name "$exp")" ]]; then
			bad+=("$name: named '$(app_field "$name" name)', expected '$(jq -r .name "$exp")'")
		fi
	done
	echo "# corpus: $apps repositories, $found of $expected expected tags ($((100 * found / expected))%)" >&3
	((apps >= 20))
	if ((${#bad[@]})); then
		printf '%s\n' "${bad[@]}"
		return 1
	fi
}
