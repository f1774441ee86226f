#!/usr/bin/env bats
# apphub image import and unpack against hostile archives: bombs, sparse
# files, members no manifest names, files that must not be quoted or
# followed out of a layout.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

setup() {
	common_setup
	T=$(cd "$BATS_TEST_TMPDIR" && pwd -P)
	HOSTILE="python3 $BATS_TEST_DIRNAME/test_helper/hostile-image.py"
	MK="python3 $BATS_TEST_DIRNAME/test_helper/image.py"
	mkdir -p "$APPHUB_HOME"
}

# state_kib: disk usage of the state directory in KiB.
state_kib() {
	du -sk "$APPHUB_HOME" | cut -f1
}

@test "a member of an OCI archive that no manifest names is never written" {
	# 200 MiB of zeros in a 1 MiB gzip, next to a small valid image
	$HOSTILE oci-extra "$T/extra.tgz" 200
	# no file of the import may pass 20 MiB (SIGXFSZ kills it otherwise)
	run -0 bash -c "ulimit -f 20480 && exec apphub image import '$T/extra.tgz' bomb/extra"
	assert_output --regexp '^bomb/extra:latest sha256:'
	[ ! -e "$APPHUB_HOME/images/blobs/sha256/$(printf '0%.0s' {1..64})" ]
	[ "$(state_kib)" -lt 4096 ]
	run -0 apphub image unpack bomb/extra "$T/root"
	assert_equal "$(cat "$T/root/hello")" hello
}

@test "a member declaring more than the layer limit is refused from its header" {
	# the layer's header says 100 GiB; 1 MiB of it follows
	$HOSTILE oci-huge "$T/huge.tgz"
	run -1 apphub image import "$T/huge.tgz" bomb/huge
	assert_output --regexp "larger than 8589934592 bytes \(member 'blobs/sha256/[0-9a-f]{64}'\)"
	[ "$(state_kib)" -lt 4096 ]
	# the limit is $APPHUB_MAX_LAYER_SIZE's; nothing is left behind
	$HOSTILE oci-extra "$T/extra.tgz" 3
	APPHUB_MAX_LAYER_SIZE=2097152 run -1 apphub image import "$T/extra.tgz" bomb/extra
	assert_output --partial 'larger than 2097152 bytes'
	run -0 find "$APPHUB_HOME/images/tmp" -mindepth 1
	assert_output ''
}

@test "an all-hole sparse file imports and unpacks as its zeros" {
	truncate -s 1M "$T/hole"
	tar --sparse -C "$T" -cf "$T/hole.tar" hole
	run -0 apphub image import "$T/hole.tar" sparse/hole
	run -0 apphub image unpack sparse/hole "$T/root"
	assert_equal "$(stat -c %s "$T/root/hole")" 1048576
	cmp "$T/root/hole" <(head -c 1048576 /dev/zero)
	# sparse with data, holes at both ends
	truncate -s 300k "$T/mixed"
	printf middle >>"$T/mixed"
	truncate -s 700k "$T/mixed"
	tar --sparse -C "$T" -czf "$T/mixed.tgz" mixed
	run -0 apphub image import "$T/mixed.tgz" sparse/mixed
	run -0 apphub image unpack sparse/mixed "$T/root2"
	cmp "$T/mixed" "$T/root2/mixed"
}

@test "a sparse file's declared size counts against the layer limit, in a rootfs and in a layer" {
	truncate -s 100G "$T/big"
	printf data >>"$T/big"
	tar --sparse -C "$T" -czf "$T/big.tgz" big
	run -1 apphub image import "$T/big.tgz" sparse/big
	assert_output --partial "larger than 8589934592 bytes (member 'big')"
	# the same file in an image's layer (as a registry would serve it)
	tar --sparse -C "$T" -cf "$T/big.tar" big
	$HOSTILE oci-layer "$T/big-oci.tar" "$T/big.tar"
	run -1 apphub image import "$T/big-oci.tar" sparse/big
	assert_output --partial "larger than 8589934592 bytes (member 'big')"
	[ "$(state_kib)" -lt 4096 ]
}

@test "a refused file of a layout is never quoted, and a symlink out of it never followed" {
	printf 'MARKER-7f3a:$6$salt$hash:19000:0:99999:7:::\n' >"$T/shadow"
	$MK rootfs "$T/rootfs.tar"
	apphub image import "$T/rootfs.tar" ok/base
	apphub image export ok/base "$T/ok.tar"
	mkdir "$T/layout"
	tar -C "$T/layout" -xf "$T/ok.tar"
	# index.json is a link to a host file
	ln -sf "$T/shadow" "$T/layout/index.json"
	run -1 apphub image import "$T/layout" evil/link
	refute_output --partial MARKER-7f3a
	assert_output --partial "path 'index.json' escapes it"
	# index.json holds the host file's text: refused without quoting it
	rm "$T/layout/index.json"
	cp "$T/shadow" "$T/layout/index.json"
	run -1 apphub image import "$T/layout" evil/copy
	refute_output --partial MARKER-7f3a
	assert_output --partial "'index.json' is not valid JSON: line 1: "
	# the same as an archive
	tar -C "$T/layout" -cf "$T/evil.tar" .
	run -1 apphub image import "$T/evil.tar" evil/archive
	refute_output --partial MARKER-7f3a
	assert_output --partial "'index.json' is not a JSON document"
	# a symlink member of an archive is not the layout's index
	ln -sf "$T/shadow" "$T/layout/index.json"
	tar -C "$T/layout" -cf "$T/evil2.tar" .
	run apphub image import "$T/evil2.tar" evil/archive2
	refute_output --partial MARKER-7f3a
	# docker save output whose config is the host file
	mkdir "$T/save"
	ln -s "$T/shadow" "$T/save/cfg.json"
	printf '[{"Config":"cfg.json","Layers":[]}]' >"$T/save/manifest.json"
	run -1 apphub image import "$T/save" evil/save
	refute_output --partial MARKER-7f3a
}

@test "an archive naming a blob twice is refused" {
	$MK rootfs "$T/rootfs.tar"
	apphub image import "$T/rootfs.tar" ok/base
	apphub image export ok/base "$T/ok.tar"
	mkdir "$T/l"
	tar -C "$T/l" -xf "$T/ok.tar"
	idx=$(jq -r '.manifests[0].digest' "$T/l/index.json")
	cp "$T/ok.tar" "$T/twice.tar"
	tar -C "$T/l" -rf "$T/twice.tar" "blobs/sha256/${idx#sha256:}"
	run -1 apphub image import "$T/twice.tar" dup/x
	assert_output --partial 'appears more than once'
}
