#!/usr/bin/env bats
# Derivation on a corpus of repositories shaped like real ones
# (t/fixtures/repos/NAME/tree, with NAME/expected.json giving the tags and
# the name a person reading the repository would give the app): one table,
# each ingested as a git repository made from its tree.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/ingest'

setup() {
	ingest_setup
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

@test "manifests: a link out of the repository, or one over the size limit, fails the ingest naming it" {
	commit_files "$REPOS/out" Dockerfile 'FROM golang:1.22'
	ln -s ../../../../etc/passwd "$REPOS/out/go.mod"
	commit_files "$REPOS/out"
	run -1 ingest_app out "$REPOS/out"
	assert_equal "$(app_field out status)" failed
	run -0 apphub apps history out --json
	assert_equal "$(jq -r '.data[0].message | test("go.mod")' <<<"$output")" true
	commit_files "$REPOS/big" Dockerfile 'FROM python:3.12' requirements.txt "$(printf 'flask\n%.0s' {1..400})"
	APPHUB_INGEST_MAX_FILE_BYTES=1k run -1 ingest_app big "$REPOS/big"
	run -0 apphub apps history big --json
	assert_equal "$(jq -r '.data[0].message' <<<"$output")" "file 'requirements.txt' is larger than the 1 KiB limit"
}

@test "manifests: a composer.json that does not parse fails unless a nearer one does" {
	commit_files "$REPOS/php" Dockerfile 'FROM php:8.3-apache' composer.json '{ "require": '
	run -1 ingest_app php "$REPOS/php"
	run -0 apphub apps history php --json
	assert_equal "$(jq -r '.data[0].message' <<<"$output")" "invalid 'composer.json': line 2: unexpected end of input at column 0"
	commit_files "$REPOS/php2" web/Dockerfile 'FROM php:8.3-apache' composer.json '{ broken' \
		web/composer.json '{"name": "acme/shop", "require": {"symfony/framework-bundle": "7.*"}}'
	ingest_app php-two "$REPOS/php2"
	assert_equal "$(app_tags php-two)" \
		'framework:symfony(ingestion:package) language:php(ingestion:package) runtime:php83(ingestion:dockerfile)'
	assert_equal "$(app_field php-two name)" shop
}

@test "Dockerfile: EXPOSE of the final stage and the stages it is built on, after substitution; build stages' ports do not count" {
	commit_files "$REPOS/ports" Dockerfile $'ARG BASE=ruby:3.3.1\nFROM golang:1.22 AS tools\nEXPOSE 9999\nFROM ${BASE} AS base\nEXPOSE 53/udp\nFROM base\nARG P=8000-8002\nEXPOSE ${P}'
	ingest_app ports "$REPOS/ports"
	assert_equal "$(app_tags ports)" \
		'language:go(ingestion:dockerfile) language:ruby(ingestion:dockerfile) port:53/udp(ingestion:dockerfile) port:8000-8002(ingestion:dockerfile) runtime:ruby33(ingestion:dockerfile)'
}

@test "Dockerfile: one that does not parse gives no Dockerfile tags, the manifests still count" {
	commit_files "$REPOS/broken" Dockerfile $'FROM node:20\nFORM x' package.json '{"name": "kept", "dependencies": {"express": "4"}}'
	ingest_app broken "$REPOS/broken"
	assert_equal "$(app_tags broken)" 'framework:express(ingestion:package) language:javascript(ingestion:package)'
	assert_equal "$(app_field broken name)" kept
}
