#!/usr/bin/env bats
# apphub image: the OCI image store, import in each format, export, unpack.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

setup() {
	common_setup
	T=$BATS_TEST_TMPDIR
	MK="python3 $BATS_TEST_DIRNAME/test_helper/image.py"
	STORE=$APPHUB_HOME/images
}

# manifest_of NAME: the stored manifest JSON of NAME.
manifest_of() {
	local d
	d=$(jq -r --arg n "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest' "$STORE/index.json")
	cat "$STORE/blobs/sha256/${d#sha256:}"
}

@test "image -h prints usage; an unknown verb is a usage error; ls of an empty store" {
	run -0 apphub image -h
	assert_output --partial 'usage: apphub image [ls]'
	assert_output --partial 'apphub image import <file>'
	run -129 apphub image frob
	run -0 apphub image ls
	assert_output ''
	run -0 apphub image ls --json
	assert_output '{"data":[]}'
	[ -f "$STORE/oci-layout" ]
	run -0 jq -r .imageLayoutVersion "$STORE/oci-layout"
	assert_output 1.0.0
}

@test "import a rootfs tarball, plain and gzip; ls, inspect, unpack" {
	$MK rootfs "$T/rootfs.tar"
	$MK rootfs "$T/rootfs.tgz" gz
	run --separate-stderr -0 apphub image import "$T/rootfs.tar" test/plain
	assert_output --regexp '^test/plain:latest sha256:[0-9a-f]{64}$'
	run -0 apphub --json image import "$T/rootfs.tgz" test/gz:v1 --cmd '["/bin/tool"]' --env FOO=bar
	assert_equal "$(jq -r .format <<<"$output")" rootfs
	run -0 apphub image ls --json
	assert_equal "$(jq -r '[.data[].name] | join(",")' <<<"$output")" "test/gz:v1,test/plain:latest"
	assert_equal "$(jq -r '.data[0] | keys | join(",")' <<<"$output")" "createdAt,digest,name,size"
	run -0 apphub image ls -q
	assert_output $'test/gz:v1\ntest/plain:latest'
	run -0 apphub image inspect test/gz:v1 --json
	assert_equal "$(jq -c .config.Cmd <<<"$output")" '["/bin/tool"]'
	assert_equal "$(jq -r '.config.Env | join(",")' <<<"$output")" "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin,FOO=bar"
	assert_equal "$(jq -r .os <<<"$output")" linux
	assert_equal "$(jq -r '.rootfs.diff_ids | length' <<<"$output")" 1
	run -0 apphub image inspect test/plain
	assert_output --partial 'name:       test/plain:latest'
	# the same tar content gives the same layer, whatever the compression
	assert_equal "$(manifest_of test/plain:latest | jq -r '.layers[0].digest')" \
		"$(manifest_of test/gz:v1 | jq -r '.layers[0].digest')"
	manifest_of test/plain:latest | jq -e '.mediaType == "application/vnd.oci.image.manifest.v1+json" and .layers[0].mediaType == "application/vnd.oci.image.layer.v1.tar+gzip"'
	run -0 apphub image unpack test/gz:v1 "$T/out"
	assert_equal "$(cat "$T/out/etc/hello")" hello
	assert_equal "$(readlink "$T/out/bin/alias")" tool
	[ -x "$T/out/bin/tool" ]
	assert_equal "$(stat -c %i "$T/out/bin/tool")" "$(stat -c %i "$T/out/bin/hard")"
	# by digest: the same files; --json names no image (null)
	digest=$(apphub image ls --json | jq -r '.data[] | select(.name == "test/gz:v1") | .digest')
	run -0 apphub --json image unpack "$digest" "$T/by-digest"
	assert_equal "$(jq -c '[.name, .digest, .layers]' <<<"$output")" "[null,\"$digest\",1]"
	assert_equal "$(cat "$T/by-digest/etc/hello")" hello
	# the layer is a gzip tar that tar reads, its uncompressed digest the diff_id
	layer=$(manifest_of test/plain:latest | jq -r '.layers[0].digest')
	gzip -dc "$STORE/blobs/sha256/${layer#sha256:}" | tar tf - >"$T/list"
	grep -qx 'etc/hello' "$T/list"
	diff_id=$(apphub image inspect test/plain --json | jq -r '.rootfs.diff_ids[0]')
	assert_equal "sha256:$(gzip -dc "$STORE/blobs/sha256/${layer#sha256:}" | sha256sum | cut -d' ' -f1)" "$diff_id"
}

@test "import a directory: sorted entries and fixed times give the same layer twice" {
	mkdir -p "$T/dir/b" "$T/dir/a"
	echo one >"$T/dir/b/one"
	echo two >"$T/dir/a/two"
	ln -s one "$T/dir/b/link"
	run -0 apphub --json image import "$T/dir" test/dir1
	assert_equal "$(jq -r .format <<<"$output")" dir
	touch "$T/dir/b/one"
	apphub -q image import "$T/dir" test/dir2
	l1=$(manifest_of test/dir1:latest | jq -r '.layers[0].digest')
	l2=$(manifest_of test/dir2:latest | jq -r '.layers[0].digest')
	assert_equal "$l1" "$l2"
	run -0 tar tzf "$STORE/blobs/sha256/${l1#sha256:}"
	assert_output $'a/\na/two\nb/\nb/link\nb/one'
	run -0 tar tvzf "$STORE/blobs/sha256/${l1#sha256:}"
	assert_output --partial '1970-01-01 00:00 a/two'
}

@test "import docker save output; unpack applies whiteouts and opaque directories" {
	$MK docker-save "$T/save.tar" saved/img:1
	run -0 apphub --json image import "$T/save.tar" saved/img:1
	assert_equal "$(jq -r .format <<<"$output")" docker
	run -0 apphub image inspect saved/img:1 --json
	assert_equal "$(jq -c .config.Env <<<"$output")" '["PATH=/bin","FOO=bar"]'
	assert_equal "$(jq -r .created <<<"$output")" 2024-01-01T00:00:00Z
	# the layers are kept as they were (uncompressed tars), the config byte for byte
	manifest_of saved/img:1 | jq -e '[.layers[].mediaType] == ["application/vnd.oci.image.layer.v1.tar","application/vnd.oci.image.layer.v1.tar"]'
	run -0 apphub image unpack saved/img:1 "$T/root"
	assert_equal "$(cat "$T/root/etc/keep")" keep
	assert_equal "$(cat "$T/root/etc/new")" new
	[ ! -e "$T/root/etc/gone" ]
	[ ! -e "$T/root/etc/.wh.gone" ]
	run -0 ls -A "$T/root/data"
	assert_output fresh
	[ ! -e "$T/root/tree" ]
	[ ! -e "$T/root/.wh.tree" ]
}

@test "docker save output whose layer does not match the config's diff_id is refused" {
	$MK docker-save "$T/save.tar" saved/img:1
	mkdir "$T/x"
	tar -C "$T/x" -xf "$T/save.tar"
	cfg=$(jq -r '.[0].Config' "$T/x/manifest.json")
	jq -c '.rootfs.diff_ids[0] = "sha256:" + ("0" * 64)' "$T/x/$cfg" >"$T/x/cfg2.json"
	jq -c '.[0].Config = "cfg2.json"' "$T/x/manifest.json" >"$T/x/m" && mv "$T/x/m" "$T/x/manifest.json"
	run --separate-stderr -1 apphub image import "$T/x" bad/img
	assert_stderr_partial 'does not match'
	run -0 apphub image ls -q
	assert_output ''
}

@test "export writes an OCI archive: skopeo inspects it, it imports back to the same digest" {
	$MK docker-save "$T/save.tar" saved/img:1
	apphub -q image import "$T/save.tar" saved/img:1
	digest=$(apphub image ls --json | jq -r '.data[0].digest')
	run -0 apphub image export saved/img:1 "$T/img.tar"
	run -0 tar tf "$T/img.tar"
	assert_line oci-layout
	assert_line index.json
	assert_equal "$(tar xOf "$T/img.tar" index.json | jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]')" saved/img:1
	if command -v skopeo >/dev/null; then
		run -0 skopeo inspect "oci-archive:$T/img.tar"
		assert_equal "$(jq -r .Digest <<<"$output")" "$digest"
		assert_equal "$(jq -r '.Layers | length' <<<"$output")" 2
	fi
	# the archive (OCI tar) and its content (OCI directory) import to the same image
	run -0 apphub --json image import "$T/img.tar" again/tar
	assert_equal "$(jq -r .format <<<"$output")" oci
	assert_equal "$(jq -r .digest <<<"$output")" "$digest"
	mkdir "$T/layout"
	tar -C "$T/layout" -xf "$T/img.tar"
	run -0 apphub --json image import "$T/layout" again/dir
	assert_equal "$(jq -r .digest <<<"$output")" "$digest"
}

@test "podman loads an exported image" {
	command -v podman >/dev/null || skip "podman is not installed"
	$MK rootfs "$T/rootfs.tar"
	apphub -q image import "$T/rootfs.tar" test/podman:1
	apphub image export test/podman:1 "$T/p.tar"
	P=(podman --root "$T/podman/root" --runroot "$T/podman/run" --storage-driver vfs)
	run -0 "${P[@]}" load -i "$T/p.tar"
	assert_output --partial 'test/podman:1'
	run -0 "${P[@]}" images --format '{{.Repository}}:{{.Tag}}'
	assert_output --partial 'test/podman:1'
	"${P[@]}" rmi -a -f >/dev/null 2>&1 || true
}

@test "archives with .., absolute names, device nodes or links out are refused" {
	for kind in dotdot absolute device chardev linkout; do
		$MK evil "$T/$kind.tar" "$kind"
		run --separate-stderr -1 apphub image import "$T/$kind.tar" evil/$kind
		case $kind in
		dotdot|absolute) assert_stderr_partial 'escapes the destination' ;;
		device|chardev) assert_stderr_partial 'is a device node' ;;
		linkout) assert_stderr_partial 'links outside the archive' ;;
		esac
	done
	[ ! -e "$T/escaped" ] && [ ! -e /tmp/escaped ]
	run -0 apphub image ls -q
	assert_output ''
	# no half-written blob stays behind
	run -0 find "$STORE/tmp" -type f
	assert_output ''
}

@test "unpack never writes through a symlink out of the destination" {
	mkdir "$T/outside"
	$MK evil "$T/sym.tar" symlink "$T/outside"
	apphub -q image import "$T/sym.tar" evil/sym
	# libarchive replaces the symlink on the way by a directory, or refuses
	run apphub image unpack evil/sym "$T/root"
	[ ! -e "$T/outside/planted" ]
	run -0 ls -A "$T/outside"
	assert_output ''
}

@test "oversized layers are refused" {
	$MK rootfs "$T/rootfs.tar"
	APPHUB_MAX_LAYER_SIZE=2048 run --separate-stderr -1 apphub image import "$T/rootfs.tar" big/one
	assert_stderr_partial 'larger than 2048 bytes'
}

@test "bad names, unknown images, a non-empty destination" {
	$MK rootfs "$T/rootfs.tar"
	run --separate-stderr -1 apphub image import "$T/rootfs.tar" 'Bad/Name'
	assert_stderr_partial "invalid image name 'Bad/Name'"
	run --separate-stderr -1 apphub image import "$T/rootfs.tar" 'a//b'
	run --separate-stderr -2 apphub image import "$T/nope.tar" a/b
	run --separate-stderr -2 apphub image inspect no/such
	assert_stderr "apphub: image 'no/such:latest' not found"
	run --separate-stderr -2 apphub image rm no/such
	run --separate-stderr -2 apphub image unpack no/such "$T/u"
	apphub -q image import "$T/rootfs.tar" localhost:5000/ok/name:1.0
	mkdir "$T/full" && touch "$T/full/x"
	run --separate-stderr -3 apphub image unpack localhost:5000/ok/name:1.0 "$T/full"
	assert_stderr_partial 'not empty'
	run -129 apphub image import "$T/rootfs.tar"
	run -129 apphub image unpack a
}

@test "rm removes the name and the blobs nothing else uses" {
	$MK rootfs "$T/rootfs.tar"
	apphub -q image import "$T/rootfs.tar" test/a
	apphub -q image import "$T/rootfs.tar" test/b --cmd 'echo b'
	layer=$(manifest_of test/a:latest | jq -r '.layers[0].digest')
	ma=$(jq -r '.manifests[0].digest' "$STORE/index.json")
	run -0 apphub image rm test/a
	assert_output ''
	run -0 apphub image ls -q
	assert_output test/b:latest
	[ ! -e "$STORE/blobs/sha256/${ma#sha256:}" ]
	# the shared layer stays for test/b
	[ -e "$STORE/blobs/sha256/${layer#sha256:}" ]
	apphub image rm test/b
	run -0 find "$STORE/blobs/sha256" -type f
	assert_output ''
}

@test "concurrent imports all land in index.json" {
	$MK rootfs "$T/rootfs.tar"
	$MK docker-save "$T/save.tar" saved/img:1
	for i in 1 2 3 4 5 6; do
		apphub -q image import "$T/rootfs.tar" conc/r$i &
		apphub -q image import "$T/save.tar" conc/d$i &
	done
	wait
	run -0 apphub image ls -q
	assert_equal "$(wc -l <<<"$output")" 12
	jq -e '.manifests | length == 12' "$STORE/index.json"
	run -0 apphub image unpack conc/d3 "$T/u"
	assert_equal "$(cat "$T/u/etc/new")" new
}

@test "contrib/base-images/busybox.sh makes apphub/busybox:latest" {
	[ -x /bin/busybox ] || skip "busybox-static is not installed"
	APPHUB=apphub run -0 "$BATS_TEST_DIRNAME/../contrib/base-images/busybox.sh"
	run -0 apphub image inspect apphub/busybox --json
	assert_equal "$(jq -c .config.Cmd <<<"$output")" '["sh"]'
	apphub image unpack apphub/busybox:latest "$T/bb"
	assert_equal "$(readlink "$T/bb/bin/sh")" busybox
	run -0 "$T/bb/bin/busybox" echo hello
	assert_output hello
	run -0 "$T/bb/bin/sh" -c 'echo from sh'
	assert_output 'from sh'
	# the same busybox gives the same layer
	d1=$(manifest_of apphub/busybox:latest | jq -r '.layers[0].digest')
	APPHUB=apphub "$BATS_TEST_DIRNAME/../contrib/base-images/busybox.sh" test/bb2 >/dev/null
	assert_equal "$(manifest_of test/bb2:latest | jq -r '.layers[0].digest')" "$d1"
}

@test "the image store and the registry client never exit nor print; the store uses nothing of the registry client" {
	local lib=$BATS_TEST_DIRNAME/../lib o
	for o in image image-names image-layer image-transfer registry; do
		run -1 grep -Ex ' *U (die|exit|_exit|printf|puts|putchar|stdout)' < <(nm -u "$lib/$o.o")
	done
	nm -u "$lib"/image.o "$lib"/image-*.o | awk '$1 == "U" { print $2 }' | sort -u >"$T/used"
	nm -g --defined-only "$lib/registry.o" | awk '{ print $3 }' | sort -u >"$T/registry"
	run -0 comm -12 "$T/used" "$T/registry"
	assert_output ''
}
