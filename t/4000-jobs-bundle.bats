#!/usr/bin/env bats
# jobs: bundles on disk. init scaffolds a working bundle (and only what is
# missing), keygen makes Ed25519 keys, package writes a reproducible .tgz
# with its .sha256 and .sig; the bundle's load errors; semantic versions;
# the .tgz reader refusing hostile archives (test-tool bundle-unpack).

bats_require_minimum_version 1.5.0
load test_helper/common

setup() {
	common_setup
	T=$BATS_TEST_TMPDIR
	cd "$T"
	TOOL=$BATS_TEST_DIRNAME/helper/test-tool
}

sha_of() {
	sha256sum "$1" | cut -d' ' -f1
}

# make_bundle DIR [SLUG] [VERSION]: a minimal exec bundle.
make_bundle() {
	local dir=$1 slug=${2:-hello} version=${3:-1.0.0}
	mkdir -p "$dir"
	printf '{"slug":"%s"}\n' "$slug" >"$dir/apphub.bundle.json"
	printf '{"name":"hello","version":"%s","runtime":"exec","entry":"run.sh"}\n' \
		"$version" >"$dir/manifest.json"
	printf '#!/bin/sh\necho "{}"\n' >"$dir/run.sh"
	chmod 755 "$dir/run.sh"
}

# tar_members TGZ: "mode uid gid mtime uname gname type name" a member, from python's tarfile.
tar_members() {
	python3 - "$1" <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[1], 'r:gz') as t:
    for m in t.getmembers():
        print('%o %d %d %d %r %r %s %s' % (m.mode, m.uid, m.gid, m.mtime, m.uname, m.gname,
              'd' if m.isdir() else 'l' if m.issym() else 'f', m.name))
EOF
}

# hostile KIND OUT: a .tgz holding a good bundle and one bad member of KIND.
hostile() {
	python3 - "$1" "$2" <<'EOF'
import io, sys, tarfile
kind, out = sys.argv[1], sys.argv[2]
def add(t, name, data=b'', **kw):
    i = tarfile.TarInfo(name)
    i.size = len(data)
    for k, v in kw.items():
        setattr(i, k, v)
    t.addfile(i, io.BytesIO(data) if i.isreg() else None)
with tarfile.open(out, 'w:gz', format=tarfile.PAX_FORMAT) as t:
    add(t, 'apphub.bundle.json', b'{"slug":"hello"}')
    add(t, 'manifest.json', b'{"name":"h","version":"1.0.0","runtime":"exec","entry":"run.sh"}')
    add(t, 'run.sh', b'#!/bin/sh\n', mode=0o755)
    if kind == 'dotdot':
        add(t, 'sub/../../evil', b'x')
    elif kind == 'absolute':
        add(t, '/tmp/evil', b'x')
    elif kind == 'device':
        add(t, 'dev', type=tarfile.CHRTYPE, devmajor=1, devminor=3)
    elif kind == 'fifo':
        add(t, 'pipe', type=tarfile.FIFOTYPE)
    elif kind == 'hardlink':
        add(t, 'hard', type=tarfile.LNKTYPE, linkname='run.sh')
    elif kind == 'symlink-out':
        add(t, 'sub/out', type=tarfile.SYMTYPE, linkname='../../etc/passwd')
    elif kind == 'symlink-abs':
        add(t, 'out', type=tarfile.SYMTYPE, linkname='/etc/passwd')
    elif kind == 'symlink-chain':
        add(t, 'a/l', type=tarfile.SYMTYPE, linkname='..')
        add(t, 'b', type=tarfile.SYMTYPE, linkname='a/l/..')
    elif kind == 'symlink-loop':
        add(t, 'x', type=tarfile.SYMTYPE, linkname='y')
        add(t, 'y', type=tarfile.SYMTYPE, linkname='x')
    elif kind == 'symlink-in':
        add(t, 'sub/in', type=tarfile.SYMTYPE, linkname='../run.sh')
    elif kind == 'deep':
        add(t, '/'.join(['d'] * 40) + '/f', b'x')
EOF
}

# --- semantic versions (test-tool semver) ---

@test "semver: valid and invalid versions, precedence" {
	for v in 0.0.0 1.2.3 10.20.30 1.0.0-alpha 1.0.0-alpha.1 1.0.0-0.3.7 1.0.0-x.7.z.92 \
		1.0.0+20130313144700 1.0.0-beta+exp.sha.5114f85 1.0.0-x-y-z.--; do
		run -0 "$TOOL" semver "$v"
		assert_output valid
	done
	for v in '' 1 1.2 1.2.3.4 01.2.3 1.02.3 1.2.03 v1.2.3 1.2.3- 1.2.3+ 1.2.3-01 \
		'1.2.3-a..b' '1.2.3 ' 1.2.3-é -1.2.3; do
		run -0 "$TOOL" semver "$v"
		assert_output invalid
	done
	# semver.org's own ordering, pairwise
	local order=(1.0.0-alpha 1.0.0-alpha.1 1.0.0-alpha.beta 1.0.0-beta 1.0.0-beta.2
		1.0.0-beta.11 1.0.0-rc.1 1.0.0 1.0.1 1.1.0 2.0.0 10.0.0)
	local k
	for ((k = 0; k + 1 < ${#order[@]}; k++)); do
		run -0 "$TOOL" semver "${order[k]}" "${order[k + 1]}"
		assert_output -- -1
		run -0 "$TOOL" semver "${order[k + 1]}" "${order[k]}"
		assert_output 1
	done
	run -0 "$TOOL" semver 1.0.0+build.1 1.0.0+build.2
	assert_output 0
}

# --- init ---

@test "init: each runtime scaffolds a bundle that packages and whose sample input has parameters" {
	local rt entry
	for rt in node python exec; do
		run -0 apphub jobs init "b-$rt" --runtime "$rt"
		case $rt in node) entry=index.js ;; python) entry=main.py ;; exec) entry=run.sh ;; esac
		assert_line "created b-$rt/apphub.bundle.json"
		assert_line "created b-$rt/manifest.json"
		assert_line "created b-$rt/$entry"
		assert_line "created b-$rt/tests/sample-input.json"
		assert_equal "$(jq -r .slug "b-$rt/apphub.bundle.json")" "b-$rt"
		assert_equal "$(jq -r .runtime "b-$rt/manifest.json")" "$rt"
		assert_equal "$(jq -r .entry "b-$rt/manifest.json")" "$entry"
		# the sample input: the parameters, of the manifest's schema
		assert_equal "$(jq -r '.name | type' "b-$rt/tests/sample-input.json")" string
		assert_equal "$(jq -r .parametersSchema.properties.name.type "b-$rt/manifest.json")" string
		run -0 apphub -q jobs package "b-$rt"
		[[ -f b-$rt/artifacts/b-$rt-0.1.0.tgz ]]
	done
	# the handlers follow the contract of their runtime
	grep -q 'function handler(context)' b-node/index.js
	grep -q 'context.parameters' b-node/index.js
	grep -q '^def handler(context)' b-python/main.py
	[[ -x b-exec/run.sh ]]
	head -1 b-exec/run.sh | grep -q '^#!/bin/sh'
	grep -q 'jq' b-exec/run.sh
}

@test "init: the scaffolds run as they are and echo their parameters" {
	command -v bwrap >/dev/null || skip 'bwrap is not installed'
	command -v jq >/dev/null || skip 'jq is not installed'
	local rt
	for rt in node python exec; do
		case $rt in
		node) command -v node >/dev/null || continue ;;
		python) command -v python3 >/dev/null || continue ;;
		esac
		apphub -q jobs init "b-$rt" --runtime "$rt" >/dev/null
		run -0 --separate-stderr apphub jobs test "b-$rt" --input-json '{"parameters":{"name":"zebra"}}'
		assert_equal "$(jq -r .greeting <<<"$output")" 'Hello, zebra!'
		# the sample input too
		run -0 --separate-stderr apphub jobs test "b-$rt"
		jq -e '.greeting | test("^Hello, ")' <<<"$output" >/dev/null
	done
}

@test "init: --slug, --json, and an existing bundle gets only its missing files" {
	run -0 apphub jobs init --json b --slug my-job --runtime exec
	assert_equal "$(jq -r .slug <<<"$output")" my-job
	assert_equal "$(jq -r .runtime <<<"$output")" exec
	assert_equal "$(jq -c .created <<<"$output")" \
		'["apphub.bundle.json","manifest.json","run.sh","tests/sample-input.json"]'
	# nothing missing: nothing made
	run -0 apphub jobs init --json b
	assert_equal "$(jq -c .created <<<"$output")" '[]'
	# an edited manifest is kept; a removed handler comes back of the manifest's runtime
	jq '.version = "2.0.0" | .description = "mine"' b/manifest.json >m && mv m b/manifest.json
	cp b/manifest.json before.json
	rm b/run.sh b/tests/sample-input.json
	run -0 apphub jobs init b
	assert_output $'created b/run.sh\ncreated b/tests/sample-input.json'
	cmp before.json b/manifest.json
	assert_equal "$(jq -r .slug b/apphub.bundle.json)" my-job
	[[ -x b/run.sh ]]
	# a handler of our own is not touched
	echo 'mine' >b/run.sh
	apphub -q jobs init b >/dev/null
	assert_equal "$(cat b/run.sh)" mine
}

@test "init: a bad runtime or slug is refused, nothing written" {
	run -1 --separate-stderr apphub jobs init b --runtime ruby
	assert_stderr_partial 'runtime'
	assert_stderr_partial 'ruby'
	[[ ! -e b/manifest.json ]]
	run -1 --separate-stderr apphub jobs init c --slug Bad_Slug
	assert_stderr_partial "invalid slug 'Bad_Slug'"
	[[ ! -e c/manifest.json ]]
	run -129 apphub jobs init
}

# --- keygen ---

@test "keygen: a key pair (0600 private, public .pub), its fingerprint; never overwritten without --force" {
	run -0 apphub jobs keygen
	[[ -f apphub-signing-key.pem && -f apphub-signing-key.pem.pub ]]
	assert_equal "$(stat -c %a apphub-signing-key.pem)" 600
	grep -q 'BEGIN PRIVATE KEY' apphub-signing-key.pem
	grep -q 'BEGIN PUBLIC KEY' apphub-signing-key.pem.pub
	run -0 openssl pkey -in apphub-signing-key.pem -noout -text
	assert_output --partial ED25519
	# the fingerprint: sha256 of the raw 32-byte public key (the SPKI's tail)
	local fp
	fp=$(openssl pkey -pubin -in apphub-signing-key.pem.pub -outform DER | tail -c 32 | sha256sum | cut -d' ' -f1)
	run -0 apphub jobs keygen --json --out k2.pem
	jq -e '.fingerprint | test("^sha256:[0-9a-f]{64}$")' <<<"$output" >/dev/null
	run -0 apphub jobs keygen --out k3.pem
	assert_output --partial "fingerprint: sha256:"
	[[ $(openssl pkey -pubin -in k3.pem.pub -outform DER | tail -c 32 | sha256sum | cut -d' ' -f1) =~ ^[0-9a-f]{64}$ ]]
	assert_output --partial "sha256:$(openssl pkey -pubin -in k3.pem.pub -outform DER | tail -c 32 | sha256sum | cut -d' ' -f1)"
	# the public key is the private key's
	cmp <(openssl pkey -in apphub-signing-key.pem -pubout) apphub-signing-key.pem.pub
	[[ -n $fp ]]
	# no overwrite: conflict, exit 3, the key unchanged
	cp apphub-signing-key.pem saved.pem
	run -3 --separate-stderr apphub jobs keygen
	assert_stderr_partial "'apphub-signing-key.pem' exists (--force replaces it)"
	cmp saved.pem apphub-signing-key.pem
	run -0 apphub jobs keygen --force
	! cmp -s saved.pem apphub-signing-key.pem
	assert_equal "$(stat -c %a apphub-signing-key.pem)" 600
	cmp <(openssl pkey -in apphub-signing-key.pem -pubout) apphub-signing-key.pem.pub
}

# --- package ---

@test "package: the .tgz, its .sha256 in sha256sum's format, and the JSON result" {
	make_bundle b
	run -0 apphub jobs package b
	assert_output --regexp '^b/artifacts/hello-1\.0\.0\.tgz: 3 files, [0-9]+ bytes'
	assert_output --regexp 'sha256:[0-9a-f]{64}'
	local tgz=b/artifacts/hello-1.0.0.tgz
	[[ -f $tgz && ! -e $tgz.sig ]]
	assert_equal "$(cat "$tgz.sha256")" "$(sha_of "$tgz")  hello-1.0.0.tgz"
	(cd b/artifacts && sha256sum -c --status hello-1.0.0.tgz.sha256)
	run -0 apphub jobs package --json --force b
	assert_equal "$(jq -r .checksum <<<"$output")" "$(sha_of "$tgz")"
	assert_equal "$(jq -r .size <<<"$output")" "$(stat -c %s "$tgz")"
	assert_equal "$(jq -r .files <<<"$output")" 3
	assert_equal "$(jq -r .path <<<"$output")" "$tgz"
	assert_equal "$(jq -r .slug <<<"$output")" hello
	assert_equal "$(jq -r .version <<<"$output")" 1.0.0
	assert_equal "$(jq -r 'has("signature")' <<<"$output")" false
	# --out elsewhere (made when missing)
	run -0 apphub -q jobs package b --out out/x
	[[ -f out/x/hello-1.0.0.tgz && -f out/x/hello-1.0.0.tgz.sha256 ]]
	cmp out/x/hello-1.0.0.tgz "$tgz"
	# -q prints the path alone
	assert_output out/x/hello-1.0.0.tgz
}

@test "package: members sorted, directories included, modes normalised, owners and times zeroed" {
	make_bundle b
	mkdir -p b/lib/z b/lib/a
	echo one >b/lib/a/one.txt
	echo two >b/lib/z/two.txt
	chmod 600 b/lib/a/one.txt
	chmod 700 b/lib/z
	echo exe >b/lib/tool
	chmod 744 b/lib/tool
	chown 1234:5678 b/lib/a/one.txt
	touch -d '2001-02-03 04:05:06' b/run.sh
	apphub -q jobs package b >/dev/null
	run -0 tar_members b/artifacts/hello-1.0.0.tgz
	assert_output "$(
		cat <<'EOF'
644 0 0 0 '' '' f apphub.bundle.json
755 0 0 0 '' '' d lib
755 0 0 0 '' '' d lib/a
644 0 0 0 '' '' f lib/a/one.txt
755 0 0 0 '' '' f lib/tool
755 0 0 0 '' '' d lib/z
644 0 0 0 '' '' f lib/z/two.txt
644 0 0 0 '' '' f manifest.json
755 0 0 0 '' '' f run.sh
EOF
	)"
	# gzip: no name, no timestamp (header bytes 4-7 zero), one fixed tar format
	local tgz=b/artifacts/hello-1.0.0.tgz
	assert_equal "$(od -An -tx1 -j3 -N5 "$tgz" | tr -d ' ')" 0000000000
	run -0 python3 -c 'import sys,tarfile; t=tarfile.open(sys.argv[1]); print(t.getmembers()[0].name)' "$tgz"
	assert_output apphub.bundle.json
}

@test "package: byte-identical from the same tree whatever its times, umask and directory order" {
	# tree one: made in one order under umask 022, old times
	(
		umask 022
		make_bundle one
		mkdir -p one/src/b one/src/a one/docs
		for f in src/b/2.js src/a/1.js docs/readme.md src/top.js; do echo "$f" >"one/$f"; done
		find one -exec touch -h -d '2000-01-01' {} +
	)
	# tree two: the same content made in the reverse order under umask 077, newer times
	(
		umask 077
		mkdir -p two/docs two/src/a two/src/b
		for f in src/top.js docs/readme.md src/a/1.js src/b/2.js; do echo "$f" >"two/$f"; done
		printf '#!/bin/sh\necho "{}"\n' >two/run.sh
		chmod 700 two/run.sh
		printf '{"name":"hello","version":"1.0.0","runtime":"exec","entry":"run.sh"}\n' >two/manifest.json
		printf '{"slug":"hello"}\n' >two/apphub.bundle.json
	)
	touch -d '2020-06-07 08:09:10' two/src/a/1.js
	# the directories' own order on disk differs
	run -0 bash -c 'ls -U one/src; echo --; ls -U two/src'
	run -0 apphub jobs package --json one --out o1
	local h1
	h1=$(jq -r .checksum <<<"$output")
	sleep 1
	run -0 apphub jobs package --json two --out o2
	assert_equal "$(jq -r .checksum <<<"$output")" "$h1"
	cmp o1/hello-1.0.0.tgz o2/hello-1.0.0.tgz
	assert_equal "$(sha_of o1/hello-1.0.0.tgz)" "$(sha_of o2/hello-1.0.0.tgz)"
	# packaging again later gives the same bytes
	touch one/run.sh
	apphub -q jobs package one --out o3 >/dev/null
	cmp o1/hello-1.0.0.tgz o3/hello-1.0.0.tgz
	# and a change of content does not
	echo changed >>one/src/top.js
	apphub -q jobs package one --out o4 >/dev/null
	! cmp -s o1/hello-1.0.0.tgz o4/hello-1.0.0.tgz
}

@test "package: dotfiles, the artifactDir and what the files globs leave out are excluded" {
	make_bundle b
	printf '{"slug":"hello","artifactDir":"dist","files":["run.sh","src/**/*.js","*.md"]}\n' \
		>b/apphub.bundle.json
	mkdir -p b/src/deep/er b/.git b/dist b/notes
	echo x >b/src/deep/er/a.js
	echo x >b/src/top.js
	echo x >b/src/top.txt
	echo x >b/README.md
	echo x >b/notes/n.md
	echo x >b/.env
	echo x >b/src/.hidden.js
	echo x >b/.git/config
	echo old >b/dist/old.tgz
	echo x >b/other.txt
	apphub -q jobs package b >/dev/null
	run -0 tar tzf b/dist/hello-1.0.0.tgz
	assert_output "$(printf '%s\n' README.md apphub.bundle.json manifest.json run.sh src/ \
		src/deep/ src/deep/er/ src/deep/er/a.js src/top.js)"
	# with the default files, everything but dotfiles and artifacts
	printf '{"slug":"hello"}\n' >b/apphub.bundle.json
	mkdir -p b/artifacts && echo x >b/artifacts/old
	apphub -q jobs package b >/dev/null
	run -0 tar tzf b/artifacts/hello-1.0.0.tgz
	refute_line --partial .env
	refute_line --partial .git
	refute_line --partial .hidden
	refute_line --partial artifacts/
	assert_line dist/old.tgz
	assert_line other.txt
	assert_line notes/n.md
}

@test "package: a link inside the bundle is kept, one leaving it refused" {
	make_bundle b
	mkdir b/sub
	ln -s ../run.sh b/sub/in
	apphub -q jobs package b >/dev/null
	run -0 tar_members b/artifacts/hello-1.0.0.tgz
	assert_line --partial "l sub/in"
	ln -s ../../etc/passwd b/sub/out
	run -1 --separate-stderr apphub jobs package --force b
	assert_stderr_partial "'sub/out' links outside the bundle"
	rm b/sub/out
	ln -s /etc/passwd b/abs
	run -1 --separate-stderr apphub jobs package --force b
	assert_stderr_partial "'abs' links outside the bundle"
	rm b/abs
	# a chain whose text stays inside: sub/up -> .., chain -> sub/up/.. is the parent
	ln -s .. b/sub/up
	ln -s sub/up/.. b/chain
	run -1 --separate-stderr apphub jobs package --force b
	assert_stderr_partial "'chain' links outside the bundle (to 'sub/up/..')"
}

@test "package: an existing package is a conflict unless --force" {
	make_bundle b
	apphub -q jobs package b >/dev/null
	local tgz=b/artifacts/hello-1.0.0.tgz before
	before=$(sha_of "$tgz")
	echo 'echo changed' >>b/run.sh
	run -3 --separate-stderr apphub jobs package b
	assert_stderr_partial "'b/artifacts/hello-1.0.0.tgz' exists (--force replaces it)"
	assert_equal "$(sha_of "$tgz")" "$before"
	run -0 apphub jobs package --force b
	[[ $(sha_of "$tgz") != "$before" ]]
	assert_equal "$(cut -d' ' -f1 "$tgz.sha256")" "$(sha_of "$tgz")"
}

@test "package --key: an Ed25519 signature openssl verifies; an altered bundle does not" {
	make_bundle b
	apphub -q jobs keygen --out key.pem >/dev/null
	run -0 apphub jobs package --json b --key key.pem
	local tgz=b/artifacts/hello-1.0.0.tgz
	[[ -f $tgz.sig ]]
	assert_equal "$(jq -r .signature <<<"$output")" "$(head -c -1 "$tgz.sig")"
	# base64 of 64 raw bytes, then a newline
	assert_equal "$(tail -c 1 "$tgz.sig" | od -An -c | tr -d ' ')" '\n'
	base64 -d "$tgz.sig" >sig.bin
	assert_equal "$(stat -c %s sig.bin)" 64
	run -0 openssl pkeyutl -verify -pubin -inkey key.pem.pub -rawin -in "$tgz" -sigfile sig.bin
	assert_output --partial 'Signature Verified Successfully'
	# one byte changed: refused
	cp "$tgz" altered.tgz
	printf '\x01' | dd of=altered.tgz bs=1 seek=100 conv=notrunc status=none
	run -1 openssl pkeyutl -verify -pubin -inkey key.pem.pub -rawin -in altered.tgz -sigfile sig.bin
	# another key's public half: refused
	apphub -q jobs keygen --out other.pem >/dev/null
	run -1 openssl pkeyutl -verify -pubin -inkey other.pem.pub -rawin -in "$tgz" -sigfile sig.bin
	# Ed25519 is deterministic: the same bundle, the same signature
	cp "$tgz.sig" first.sig
	apphub -q jobs package --force b --key key.pem >/dev/null
	cmp first.sig "$tgz.sig"
	# repackaged without a key: the stale signature goes
	apphub -q jobs package --force b >/dev/null
	[[ ! -e $tgz.sig ]]
}

@test "package --key: a missing or unusable key is refused, nothing written" {
	make_bundle b
	run -2 --separate-stderr apphub jobs package b --key nope.pem
	assert_stderr_partial 'nope.pem'
	[[ ! -e b/artifacts/hello-1.0.0.tgz ]]
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa.pem 2>/dev/null
	run -1 --separate-stderr apphub jobs package b --key rsa.pem
	assert_stderr_partial "key 'rsa.pem' is not an Ed25519 private key"
	[[ ! -e b/artifacts/hello-1.0.0.tgz ]]
	head -c 20000 /dev/zero >big.pem
	run -1 --separate-stderr apphub jobs package b --key big.pem
	assert_stderr_partial 'larger than'
	[[ ! -e b/artifacts/hello-1.0.0.tgz ]]
}

@test "package: the bundle's load errors name the field, nothing written" {
	# check_bad MESSAGE: packaging b fails with MESSAGE and leaves no artifacts
	check_bad() {
		run -1 --separate-stderr apphub jobs package b
		assert_stderr_partial "$1"
		[[ ! -e b/artifacts ]]
	}
	# bad_manifest JQ MESSAGE: the bundle's manifest edited by JQ, then check_bad MESSAGE
	bad_manifest() {
		make_bundle b
		jq "$1" b/manifest.json >m && mv m b/manifest.json
		check_bad "$2"
	}
	bad_manifest 'del(.name)' \
		'manifest: name: required'
	bad_manifest 'del(.version)' \
		'manifest: version: required'
	bad_manifest '.version = "1.0"' \
		"manifest: version '1.0': not a semantic version"
	bad_manifest '.runtime = "ruby"' \
		"manifest: runtime 'ruby': must be node, python or exec"
	bad_manifest '.entry = "missing.sh"' \
		"manifest: entry 'missing.sh' is not a file of the bundle"
	bad_manifest '.entry = "../run.sh"' \
		"manifest: entry '../run.sh': must be a relative path inside the bundle"
	bad_manifest '.timeoutMs = 0' \
		'manifest: timeoutMs'
	bad_manifest '.limits = {memory: "lots"}' \
		'manifest: limits.memory'
	bad_manifest '.limits = {pids: 0}' \
		'manifest: limits.pids'
	bad_manifest '.capabilities = [1]' \
		'manifest: capabilities'
	rm -rf b
	make_bundle b Bad_Slug
	check_bad "invalid slug 'Bad_Slug'"
	rm -rf b
	make_bundle b
	echo '{}' >b/apphub.bundle.json
	check_bad 'apphub.bundle.json: slug: required'
	echo '{"slug":"hello","manifestPath":"/etc/passwd"}' >b/apphub.bundle.json
	check_bad 'apphub.bundle.json: manifestPath'
	echo '{"slug":"hello",' >b/apphub.bundle.json
	check_bad 'apphub.bundle.json: not valid JSON'
	# the entry a link out of the bundle
	make_bundle b
	rm b/run.sh
	ln -s /bin/true b/run.sh
	check_bad "'run.sh' leads outside"
	# the manifest a link out of the bundle
	rm -rf b
	make_bundle b
	mv b/manifest.json real.json
	ln -s ../real.json b/manifest.json
	run -1 --separate-stderr apphub jobs package b
	[[ ! -e b/artifacts ]]
	# no config at all; no directory at all
	rm -rf b
	mkdir b
	run -2 --separate-stderr apphub jobs package b
	assert_stderr_partial "'apphub.bundle.json' not found"
	run -2 --separate-stderr apphub jobs package nowhere
	assert_stderr_partial "nowhere"
	run -129 apphub jobs package
}

@test "init, package, keygen are local: refused with --server" {
	make_bundle b
	run -1 --separate-stderr apphub --server http://127.0.0.1:9 jobs package b
	assert_stderr_partial 'jobs package: cannot run with --server'
	run -1 --separate-stderr apphub --server http://127.0.0.1:9 jobs init c
	assert_stderr_partial 'jobs init: cannot run with --server'
	[[ ! -e c ]]
	run -1 --separate-stderr apphub --server http://127.0.0.1:9 jobs keygen
	assert_stderr_partial 'jobs keygen: cannot run with --server'
	[[ ! -e apphub-signing-key.pem ]]
}

# --- unpacking (test-tool bundle-unpack) ---

@test "unpack: a packaged bundle comes back whole, its manifest checked with defaults" {
	make_bundle b
	mkdir -p b/sub
	echo data >b/sub/file.txt
	chmod 600 b/sub/file.txt
	ln -s ../run.sh b/sub/link
	apphub -q jobs package b >/dev/null
	run -0 "$TOOL" bundle-unpack b/artifacts/hello-1.0.0.tgz root
	assert_equal "$(jq -r .name <<<"$output")" hello
	assert_equal "$(jq -r .timeoutMs <<<"$output")" 900000
	assert_equal "$(jq -c .capabilities <<<"$output")" '[]'
	assert_equal "$(stat -c %a root)" 755
	diff -r --no-dereference -x artifacts b root
	assert_equal "$(stat -c %a root/run.sh)" 755
	assert_equal "$(stat -c %a root/sub/file.txt)" 644
	assert_equal "$(readlink root/sub/link)" ../run.sh
	# dest must not exist yet
	run -1 --separate-stderr "$TOOL" bundle-unpack b/artifacts/hello-1.0.0.tgz root
	assert_stderr_partial "cannot create 'root'"
	[[ -f root/run.sh ]]
}

@test "unpack: the manifest is found through apphub.bundle.json's manifestPath" {
	make_bundle b
	mkdir b/meta
	jq '.name = "elsewhere"' b/manifest.json >b/meta/job.json
	rm b/manifest.json
	printf '{"slug":"hello","manifestPath":"meta/job.json"}\n' >b/apphub.bundle.json
	run -0 apphub jobs package --json b
	run -0 "$TOOL" bundle-unpack b/artifacts/hello-1.0.0.tgz root
	assert_equal "$(jq -r .name <<<"$output")" elsewhere
}

@test "unpack: hostile members are refused by name and dest removed" {
	local kind
	hostile symlink-in ok.tgz
	run -0 "$TOOL" bundle-unpack ok.tgz ok
	assert_equal "$(readlink ok/sub/in)" ../run.sh
	for kind in dotdot absolute device fifo hardlink symlink-out symlink-abs symlink-chain \
		symlink-loop deep; do
		hostile "$kind" "$kind.tgz"
		run -1 --separate-stderr "$TOOL" bundle-unpack "$kind.tgz" "root-$kind"
		case $kind in
		dotdot) assert_stderr_partial 'sub/../../evil' ;;
		absolute) assert_stderr_partial '/tmp/evil' ;;
		device) assert_stderr_partial "'dev'" ;;
		fifo) assert_stderr_partial "'pipe'" ;;
		hardlink) assert_stderr_partial "'hard'" ;;
		symlink-out) assert_stderr_partial "'sub/out' links outside the bundle" ;;
		symlink-abs) assert_stderr_partial "'out' links outside the bundle" ;;
		symlink-chain) assert_stderr_partial "'b' links outside the bundle (to 'a/l/..')" ;;
		symlink-loop) assert_stderr_partial "links outside the bundle" ;;
		deep) assert_stderr_partial 'nests deeper than' ;;
		esac
		[[ ! -e root-$kind ]]
	done
	[[ ! -e $T/evil && ! -e /tmp/evil ]]
}

@test "unpack: sizes and counts are capped from the headers; bad archives and manifests refused" {
	# a member claiming 300 MiB, its data absent: refused before anything is read
	python3 - big.tgz <<'EOF'
import gzip, sys, tarfile
i = tarfile.TarInfo('huge.bin')
i.size = 300 << 20
with gzip.open(sys.argv[1], 'wb') as f:
    f.write(i.tobuf(tarfile.PAX_FORMAT))
EOF
	run -1 --separate-stderr "$TOOL" bundle-unpack big.tgz root
	assert_stderr_partial 'huge.bin'
	[[ ! -e root ]]
	# more members than the cap
	python3 - many.tgz <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w:gz') as t:
    for n in range(20001):
        t.addfile(tarfile.TarInfo('f%d' % n), io.BytesIO(b''))
EOF
	run -1 --separate-stderr "$TOOL" bundle-unpack many.tgz root
	assert_stderr_partial 'more than 20000 members'
	[[ ! -e root ]]
	# not an archive
	echo 'not a tarball' >junk.tgz
	run -1 --separate-stderr "$TOOL" bundle-unpack junk.tgz root
	assert_stderr_partial 'bundle: not'
	[[ ! -e root ]]
	# a truncated one
	make_bundle b
	apphub -q jobs package b >/dev/null
	head -c 200 b/artifacts/hello-1.0.0.tgz >cut.tgz
	run -1 --separate-stderr "$TOOL" bundle-unpack cut.tgz root
	[[ ! -e root ]]
	# a well-formed archive whose manifest is bad: the load's error
	jq '.version = "one"' b/manifest.json >m && mv m b/manifest.json
	python3 - b bad.tgz <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[2], 'w:gz') as t:
    for n in ('apphub.bundle.json', 'manifest.json', 'run.sh'):
        t.add(sys.argv[1] + '/' + n, n)
EOF
	run -1 --separate-stderr "$TOOL" bundle-unpack bad.tgz root
	assert_stderr_partial "manifest: version 'one'"
	[[ ! -e root ]]
	# no config in it
	python3 - b noconf.tgz <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[2], 'w:gz') as t:
    t.add(sys.argv[1] + '/run.sh', 'run.sh')
EOF
	run -1 --separate-stderr "$TOOL" bundle-unpack noconf.tgz root
	assert_stderr_partial "'apphub.bundle.json' not found"
	[[ ! -e root ]]
}
