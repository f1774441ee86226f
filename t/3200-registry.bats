#!/usr/bin/env bats
# apphub image pull/push against a real registry (Debian's docker-registry) on loopback.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/registry'

setup() {
	common_setup
	command -v docker-registry >/dev/null || skip "docker-registry is not installed"
	T=$BATS_TEST_TMPDIR
	MK="python3 $BATS_TEST_DIRNAME/test_helper/image.py"
}

teardown() {
	stop_registry
}

@test "push then pull round trip: same digests, same content" {
	start_registry
	$MK docker-save "$T/save.tar" saved/img:1
	apphub -q image import "$T/save.tar" saved/img:1
	digest=$(apphub image ls --json | jq -r '.data[0].digest')
	run --separate-stderr -0 apphub image push saved/img:1 "$REGISTRY/apphub/img:v1"
	assert_output "$REGISTRY/apphub/img:v1 $digest"
	# the registry has it under the same digest
	run -0 curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' -o /dev/null \
		-w '%header{docker-content-digest}' "http://$REGISTRY/v2/apphub/img/manifests/v1"
	assert_output "$digest"
	# a second push skips the blobs that are there
	run --separate-stderr -0 apphub image push saved/img:1 "$REGISTRY/apphub/img:v1"
	assert_stderr_partial 'exists'
	# pull into a fresh store
	export APPHUB_HOME=$T/state2
	run --separate-stderr -0 apphub image pull "$REGISTRY/apphub/img:v1"
	assert_output "$REGISTRY/apphub/img:v1 $digest"
	run -0 apphub image ls --json
	assert_equal "$(jq -r '.data[0].digest' <<<"$output")" "$digest"
	apphub image unpack "$REGISTRY/apphub/img:v1" "$T/root"
	assert_equal "$(cat "$T/root/etc/new")" new
	[ ! -e "$T/root/etc/gone" ]
	# by digest, under another name
	run -0 apphub -q image pull "$REGISTRY/apphub/img@$digest" --name copy/img:pinned
	run -0 apphub image inspect copy/img:pinned --json
	assert_equal "$(jq -c .config.Env <<<"$output")" '["PATH=/bin","FOO=bar"]'
}

@test "chunked upload; a gzip layer; pull of a missing tag is not found" {
	start_registry
	$MK rootfs "$T/rootfs.tgz" gz
	apphub -q image import "$T/rootfs.tgz" test/chunk
	digest=$(apphub image ls --json | jq -r '.data[0].digest')
	run --separate-stderr -0 apphub -q image push test/chunk "$REGISTRY/chunk/img" --chunk-size 100
	export APPHUB_HOME=$T/state2
	run --separate-stderr -0 apphub --json image pull "$REGISTRY/chunk/img"
	assert_equal "$(jq -r .digest <<<"$output")" "$digest"
	assert_equal "$(jq -r .name <<<"$output")" "$REGISTRY/chunk/img:latest"
	run --separate-stderr -2 apphub image pull "$REGISTRY/chunk/img:nope"
	assert_stderr_partial 'HTTP 404'
	run --separate-stderr -2 apphub image push no/such "$REGISTRY/x/y"
}

@test "a pulled blob that does not match its digest is refused" {
	start_registry
	$MK rootfs "$T/rootfs.tar"
	apphub -q image import "$T/rootfs.tar" test/t
	apphub -q image push test/t "$REGISTRY/t/t:1"
	layer=$(apphub image inspect test/t --json | jq -r '.rootfs.diff_ids[0]')
	# corrupt the layer in the registry's storage
	ldigest=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://$REGISTRY/v2/t/t/manifests/1" | jq -r '.layers[0].digest')
	data=$(find "$T/registry/storage" -path "*blobs/sha256/*/${ldigest#sha256:}/data")
	[ -n "$data" ]
	printf 'garbage' >"$data"
	export APPHUB_HOME=$T/state2
	run --separate-stderr -1 apphub image pull "$REGISTRY/t/t:1"
	assert_stderr_partial "$ldigest"
	run -0 apphub image ls -q
	assert_output ''
	[ -n "$layer" ]
}

@test "basic auth: refused without credentials, works with --creds and APPHUB_REGISTRY_AUTH" {
	command -v htpasswd >/dev/null || skip "htpasswd (apache2-utils) is not installed"
	htpasswd -Bbn alice s3cret >"$T/htpasswd"
	start_registry "$T/htpasswd"
	$MK rootfs "$T/rootfs.tar"
	apphub -q image import "$T/rootfs.tar" test/auth
	run --separate-stderr -1 apphub image push test/auth "$REGISTRY/auth/img"
	assert_stderr_partial 'authentication required'
	assert_stderr_partial 'APPHUB_REGISTRY_AUTH'
	run --separate-stderr -1 apphub image push test/auth "$REGISTRY/auth/img" --creds alice:wrong
	run --separate-stderr -0 apphub -q image push test/auth "$REGISTRY/auth/img" --creds alice:s3cret
	export APPHUB_HOME=$T/state2
	run --separate-stderr -1 apphub image pull "$REGISTRY/auth/img"
	APPHUB_REGISTRY_AUTH=alice:s3cret run --separate-stderr -0 apphub -q image pull "$REGISTRY/auth/img"
	run -0 apphub image ls -q
	assert_output "$REGISTRY/auth/img:latest"
}

@test "https is used for other hosts unless --insecure" {
	start_registry
	run --separate-stderr -1 apphub image pull "myhost.invalid:1/x/y"
	assert_stderr_partial 'https://myhost.invalid:1/v2/x/y/manifests/latest'
	run --separate-stderr -1 apphub image pull --insecure "myhost.invalid:1/x/y"
	assert_stderr_partial 'http://myhost.invalid:1/v2/x/y/manifests/latest'
}

@test "--platform picks from a multi-platform index; FROM --platform; RUN needs this machine's" {
	[[ $(uname -m) == x86_64 ]] || skip 'written for an amd64 host'
	start_registry
	$MK rootfs "$T/rootfs.tar"
	apphub -q image import "$T/rootfs.tar" test/amd
	mkdir -p "$T/ctx"
	echo arm >"$T/ctx/hello"
	printf 'FROM --platform=linux/arm64 scratch\nCOPY hello /hello\n' >"$T/ctx/Dockerfile"
	run --separate-stderr -0 apphub -q image build -t test/arm:1 "$T/ctx"
	run -0 apphub image inspect test/arm:1 --json
	assert_equal "$(jq -r '"\(.os)/\(.architecture)/\(.variant)"' <<<"$output")" linux/arm64/v8
	apphub -q image push test/amd "$REGISTRY/multi/img:amd64"
	apphub -q image push test/arm:1 "$REGISTRY/multi/img:arm64"
	accept='Accept: application/vnd.oci.image.manifest.v1+json'
	for a in amd64 arm64; do
		curl -sf -H "$accept" -o "$T/$a.json" "http://$REGISTRY/v2/multi/img/manifests/$a"
	done
	amd=sha256:$(sha256sum <"$T/amd64.json" | cut -d' ' -f1)
	arm=sha256:$(sha256sum <"$T/arm64.json" | cut -d' ' -f1)
	jq -n --arg amd "$amd" --argjson amds "$(stat -c %s "$T/amd64.json")" \
		--arg arm "$arm" --argjson arms "$(stat -c %s "$T/arm64.json")" '{
		schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
		manifests: [
			{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $arm,
			 size: $arms, platform: {os: "linux", architecture: "arm64", variant: "v8"}},
			{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $amd,
			 size: $amds, platform: {os: "linux", architecture: "amd64"}}]}' >"$T/index.json"
	curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' \
		--data-binary @"$T/index.json" "http://$REGISTRY/v2/multi/img/manifests/latest"
	export APPHUB_HOME=$T/state2
	# this machine's by default; another by --platform (aliases too)
	run --separate-stderr -0 apphub image pull "$REGISTRY/multi/img"
	assert_output "$REGISTRY/multi/img:latest $amd"
	run --separate-stderr -0 apphub image pull --platform linux/aarch64 --name multi/arm \
		"$REGISTRY/multi/img"
	assert_output "multi/arm:latest $arm"
	run --separate-stderr -2 apphub image pull --platform linux/s390x "$REGISTRY/multi/img"
	assert_stderr_partial 'no image for linux/s390x in the index'
	run --separate-stderr -2 apphub image pull --platform linux/amd64 "$REGISTRY/multi/img:arm64"
	assert_stderr_partial "is for linux/arm64, not linux/amd64"
	run --separate-stderr -1 apphub image pull --platform arm64 "$REGISTRY/multi/img"
	assert_stderr_partial "invalid platform 'arm64'"
	# a build FROM --platform pulls that platform's image; COPY works, RUN cannot
	export APPHUB_HOME=$T/state3
	printf 'FROM --platform=linux/arm64 %s\nCOPY hello /again\n' "$REGISTRY/multi/img" \
		>"$T/ctx/Dockerfile"
	run --separate-stderr -0 apphub -q image build -t built/arm:1 "$T/ctx"
	run -0 apphub image inspect built/arm:1 --json
	assert_equal "$(jq -r .architecture <<<"$output")" arm64
	printf 'FROM --platform=linux/arm64 %s\nCOPY hello /again\nRUN true\n' "$REGISTRY/multi/img" \
		>"$T/ctx/Dockerfile"
	run --separate-stderr -1 apphub -q image build -t built/arm:2 "$T/ctx"
	assert_stderr_partial 'Dockerfile:3: RUN: the stage is for linux/arm64, which this linux/amd64 machine cannot run'
	# the store's image is not silently another platform's
	printf 'FROM %s\n' "$REGISTRY/multi/img" >"$T/ctx/Dockerfile"
	run --separate-stderr -2 apphub -q image build --platform linux/amd64 -t built/x:1 "$T/ctx"
	assert_stderr_partial "is for linux/arm64, not linux/amd64"
	# image build --platform: the config and the TARGET arguments
	printf 'FROM scratch\nARG TARGETARCH\nARG TARGETPLATFORM\nLABEL arch=$TARGETARCH platform=$TARGETPLATFORM\nCOPY hello /\n' \
		>"$T/ctx/Dockerfile"
	run --separate-stderr -0 apphub -q image build --platform linux/arm/v7 -t built/armv7:1 "$T/ctx"
	run -0 apphub image inspect built/armv7:1 --json
	assert_equal "$(jq -c '[.os, .architecture, .variant, .config.Labels.arch, .config.Labels.platform]' <<<"$output")" \
		'["linux","arm","v7","arm","linux/arm/v7"]'
	run --separate-stderr -1 apphub -q image build --platform windows -t built/w:1 "$T/ctx"
	assert_stderr_partial "invalid platform 'windows'"
}

@test "bearer tokens: a real token service the registry trusts; anonymous pull, push with --creds" {
	command -v openssl >/dev/null || skip "openssl is not installed"
	start_token_registry alice:s3cret
	# the registry asks for a token
	run -0 curl -s -o /dev/null -D - "http://$REGISTRY/v2/"
	assert_output --partial 'Www-Authenticate: Bearer realm="http://127.0.0.1:'
	$MK rootfs "$T/rootfs.tar"
	apphub -q image import "$T/rootfs.tar" test/tok
	digest=$(apphub image ls --json | jq -r '.data[0].digest')
	# anonymous tokens allow pull only: push is refused (the registry names
	# the actions of its challenge in either order)
	run --separate-stderr -1 apphub image push test/tok "$REGISTRY/tok/img:1"
	grep -qE '^anonymous repository:tok/img:(pull,push|push,pull)$' "$TOKEN_LOG" || { cat "$TOKEN_LOG"; false; }
	# wrong credentials: the token service refuses them
	run --separate-stderr -1 apphub image push test/tok "$REGISTRY/tok/img:1" --creds alice:wrong
	assert_stderr_partial 'token service'
	assert_stderr_partial 'HTTP 401'
	run --separate-stderr -0 apphub image push test/tok "$REGISTRY/tok/img:1" --creds alice:s3cret
	assert_output "$REGISTRY/tok/img:1 $digest"
	grep -qE '^alice repository:tok/img:(pull,push|push,pull)$' "$TOKEN_LOG" || { cat "$TOKEN_LOG"; false; }
	# pull with an anonymous token, into a fresh store
	export APPHUB_HOME=$T/state2
	: >"$TOKEN_LOG"
	run --separate-stderr -0 apphub image pull "$REGISTRY/tok/img:1"
	assert_output "$REGISTRY/tok/img:1 $digest"
	run -0 cat "$TOKEN_LOG"
	assert_output 'anonymous repository:tok/img:pull'
	apphub image unpack "$REGISTRY/tok/img:1" "$T/root"
	# without a token the registry refuses the same manifest
	run -0 curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/tok/img/manifests/1"
	assert_output 401
}
