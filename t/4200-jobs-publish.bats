#!/usr/bin/env bats
# jobs: publishing bundles (checksum, manifest, size, signatures), the job
# records (ls, show, rm), trusted signers, and the same through serve with
# and without the scopes, and the bundles' signed download URLs.

bats_require_minimum_version 1.5.0
load test_helper/common
load test_helper/serve

setup() {
	common_setup
	unset APPHUB_TOKENS APPHUB_TOKENS_FILE APPHUB_SERVER APPHUB_TOKEN \
		APPHUB_JOB_BUNDLE_MAX_SIZE
	T=$BATS_TEST_TMPDIR
	cd "$T"
}

# make_bundle DIR SLUG VERSION [TEXT]: a bundle directory whose handler says TEXT.
make_bundle() {
	local dir=$1 slug=$2 version=$3 text=${4:-hello}
	mkdir -p "$dir"
	printf '{"slug":"%s","entry":"index.js"}\n' "$slug" >"$dir/apphub.bundle.json"
	printf '{"name":"%s job","version":"%s","runtime":"node","entry":"index.js","description":"says %s"}\n' \
		"$slug" "$version" "$text" >"$dir/manifest.json"
	printf 'export default async () => ({ said: "%s" });\n' "$text" >"$dir/index.js"
}

# package DIR [--key FILE]: packages into $T/out, prints the .tgz's path.
package() {
	local dir=$1
	shift
	mkdir -p "$T/out"
	apphub -q jobs package "$dir" --out "$T/out" --force "$@" >/dev/null
	ls "$T/out"/"$(jq -r .slug "$dir/apphub.bundle.json")-$(jq -r .version "$dir/manifest.json")".tgz
}

bundle_rows() {
	sqlite3 "$(db_path)" "SELECT j.slug || '@' || b.version FROM job_bundles b JOIN jobs j ON j.n = b.job ORDER BY 1"
}

keygen() {
	apphub -q jobs keygen --out "$1" >/dev/null
}

@test "publish: a directory is packaged and stored, the job made; ls and show" {
	make_bundle b1 hello 1.0.0
	mkdir "$T/tmp"
	TMPDIR=$T/tmp run -0 apphub jobs publish b1
	assert_output --regexp '^published hello@1\.0\.0 sha256:[0-9a-f]{64}$'
	# its packaging and unpacking left nothing behind
	run -0 ls -A "$T/tmp"
	assert_output ''
	local dir=$APPHUB_HOME/bundles/hello/1.0.0
	[[ -f $dir/hello-1.0.0.tgz && -f $dir/hello-1.0.0.tgz.sha256 && -f $dir/root/index.js ]]
	[[ ! -e $dir/hello-1.0.0.tgz.sig ]]
	assert_equal "$(cut -d' ' -f1 "$dir/hello-1.0.0.tgz.sha256")" "$(sha_of "$dir/hello-1.0.0.tgz")"
	# The directory itself is left as it was: packaged elsewhere.
	run -0 ls b1
	assert_output $'apphub.bundle.json\nindex.js\nmanifest.json'
	run -0 apphub jobs ls --json
	assert_equal "$(jq -c '[.total, .data[0].slug, .data[0].name, .data[0].defaultVersion, [.data[0].versions[].version]]' <<<"$output")" \
		'[1,"hello","hello job","1.0.0",["1.0.0"]]'
	run -0 apphub jobs ls -q
	assert_output hello
	run -0 apphub jobs show hello --json
	assert_equal "$(jq -c '[.slug, .version, .defaultVersion, .manifest.version, .manifest.description, .signer, .runtime]' <<<"$output")" \
		'["hello","1.0.0","1.0.0","1.0.0","says hello",null,"node"]'
	assert_equal "$(jq -r .checksum <<<"$output")" "$(sha_of "$dir/hello-1.0.0.tgz")"
	assert_equal "$(jq -r .size <<<"$output")" "$(stat -c %s "$dir/hello-1.0.0.tgz")"
	run -0 apphub jobs show hello
	assert_line --regexp '^version: +1\.0\.0 \(default\)$'
	assert_line --regexp '^signer: +-$'
	run -0 sqlite3 "$(db_path)" "SELECT type, subject FROM events WHERE type LIKE 'job.%'"
	assert_output 'job.bundle.published|hello'
}

@test "publish: a .tgz with its .sha256; the same bytes again succeed unchanged; other bytes conflict" {
	make_bundle b1 hello 1.0.0
	tgz=$(package b1)
	run -0 apphub jobs publish "$tgz" --json
	assert_equal "$(jq -c '[.slug, .version, .created]' <<<"$output")" '["hello","1.0.0",true]'
	run -0 apphub jobs publish "$tgz" --json
	assert_equal "$(jq -c '[.slug, .version, .created]' <<<"$output")" '["hello","1.0.0",false]'
	run -0 apphub jobs publish b1
	assert_output --regexp '^unchanged hello@1\.0\.0 '
	make_bundle b1 hello 1.0.0 goodbye
	run -3 --separate-stderr apphub jobs publish b1
	assert_stderr "apphub: bundle 'hello@1.0.0' already published with other contents"
	# The first bytes stay.
	run -0 apphub jobs show hello@1.0.0 --json
	assert_equal "$(jq -r .manifest.description <<<"$output")" 'says hello'
	assert_equal "$(sqlite3 "$(db_path)" "SELECT count(*) FROM events WHERE type = 'job.bundle.published'")" 1
}

@test "publish: the default version is the newest by semver; show names what is missing" {
	local v
	for v in 1.2.0 1.10.0 1.9.0 1.10.0-rc.1; do
		make_bundle "b-$v" multi "$v"
		apphub -q jobs publish "b-$v"
	done
	run -0 apphub jobs show multi --json
	assert_equal "$(jq -c '[.version, .defaultVersion, [.versions[].version]]' <<<"$output")" \
		'["1.10.0","1.10.0",["1.10.0","1.10.0-rc.1","1.9.0","1.2.0"]]'
	run -0 apphub jobs show multi@1.2.0 --json
	assert_equal "$(jq -c '[.version, .defaultVersion, .manifest.version]' <<<"$output")" '["1.2.0","1.10.0","1.2.0"]'
	run -2 --separate-stderr apphub jobs show multi@2.0.0
	assert_stderr "apphub: job 'multi' has no version '2.0.0'"
	run -2 --separate-stderr apphub jobs show nope
	assert_stderr "apphub: job 'nope' not found"
	run -2 --separate-stderr apphub jobs show nope@1.0.0
	assert_stderr "apphub: job 'nope' not found"
}

@test "rm: a version goes, files and row; the default is recomputed; the last removes the job" {
	make_bundle b1 hello 1.0.0
	make_bundle b2 hello 2.0.0
	apphub -q jobs publish b1
	apphub -q jobs publish b2
	run -0 apphub jobs rm hello@2.0.0
	assert_output 'removed hello@2.0.0'
	[[ ! -e $APPHUB_HOME/bundles/hello/2.0.0 ]]
	run -0 apphub jobs show hello --json
	assert_equal "$(jq -c '[.defaultVersion, [.versions[].version]]' <<<"$output")" '["1.0.0",["1.0.0"]]'
	run -2 --separate-stderr apphub jobs rm hello@2.0.0
	assert_stderr "apphub: job 'hello' has no version '2.0.0'"
	run -0 apphub jobs rm hello@1.0.0
	assert_output 'removed hello@1.0.0 (its last version)'
	[[ ! -e $APPHUB_HOME/bundles/hello ]]
	run -0 apphub jobs ls --json
	assert_equal "$(jq -c .total <<<"$output")" 0
	run -2 --separate-stderr apphub jobs rm hello@1.0.0
	assert_stderr "apphub: job 'hello' not found"
	run -129 --separate-stderr apphub jobs rm hello
	assert_stderr_partial "expects <slug>@<version>"
	assert_equal "$(sqlite3 "$(db_path)" "SELECT group_concat(type) FROM events WHERE type LIKE 'job.bundle.%'")" \
		'job.bundle.published,job.bundle.published,job.bundle.removed,job.bundle.removed'
	# and it can be published again
	run -0 apphub jobs publish b1
}

@test "publish: a checksum that does not match, an oversize bundle: refused, nothing stored" {
	make_bundle b1 hello 1.0.0
	tgz=$(package b1)
	echo "$(printf '0%.0s' $(seq 64))  hello-1.0.0.tgz" >"$tgz.sha256"
	run -1 --separate-stderr apphub jobs publish "$tgz"
	assert_stderr_partial "apphub: checksum mismatch: the artifact's sha256 is $(sha_of "$tgz"), not 000"
	APPHUB_JOB_BUNDLE_MAX_SIZE=100 run -1 --separate-stderr apphub jobs publish b1
	assert_stderr_partial 'larger than 100 bytes'
	run -0 bundle_rows
	assert_output ''
	run -0 find "$APPHUB_HOME" -path '*/bundles/*'
	assert_output ''
}

@test "publish: a tarball with a '..', absolute or link-out entry is refused, nothing stored" {
	make_bundle b1 hello 1.0.0
	local kind
	for kind in dotdot absolute symlink; do
		python3 - "$T/b1" "$T/$kind.tgz" "$kind" <<-'EOF'
		import io, sys, tarfile
		src, out, kind = sys.argv[1:]
		with tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT) as t:
		    for name in ("apphub.bundle.json", "index.js", "manifest.json"):
		        t.add(f"{src}/{name}", arcname=name)
		    bad = tarfile.TarInfo({"dotdot": "../escaped", "absolute": out + ".escaped"}.get(kind, "link"))
		    if kind == "symlink":
		        bad.type, bad.linkname = tarfile.SYMTYPE, "../../../../etc/passwd"
		        t.addfile(bad)
		        bad = tarfile.TarInfo("link/escaped")
		    data = b"pwned\n"
		    bad.size = len(data)
		    t.addfile(bad, io.BytesIO(data))
		EOF
		(cd "$T" && sha256sum "$kind.tgz" >"$kind.tgz.sha256")
		run -1 apphub jobs publish "$T/$kind.tgz"
	done
	[[ ! -e $T/escaped && ! -e $T/absolute.tgz.escaped ]]
	run -0 apphub jobs ls --json
	assert_equal "$(jq -c .total <<<"$output")" 0
	run -0 find "$APPHUB_HOME" -path '*/bundles/*'
	assert_output ''
}

@test "publish: a publish killed midway leaves temporary and row-less directories, replaced next time" {
	make_bundle b1 hello 1.0.0
	apphub -q jobs ls
	# What kill -9 leaves: a temporary directory (its lock gone with its
	# process) and, between the rename and the commit, files without a row.
	mkdir -p "$APPHUB_HOME/bundles/.tmp-AbC123/root" "$APPHUB_HOME/bundles/hello/1.0.0/root"
	echo stale >"$APPHUB_HOME/bundles/hello/1.0.0/root/index.js"
	run -0 apphub jobs publish b1
	[[ ! -e $APPHUB_HOME/bundles/.tmp-AbC123 ]]
	run -0 cat "$APPHUB_HOME/bundles/hello/1.0.0/root/index.js"
	assert_output 'export default async () => ({ said: "hello" });'
	run -0 ls -A "$APPHUB_HOME/bundles"
	assert_output hello
}

@test "signatures: once a key is trusted, unsigned, forged and altered bundles are refused; the signer is recorded" {
	keygen "$T/k.pem"
	keygen "$T/other.pem"
	make_bundle b1 hello 1.0.0
	# Before any key is trusted an unsigned bundle is taken.
	apphub -q jobs publish b1
	run -0 apphub jobs trust "$T/k.pem.pub" --name ci
	assert_output --regexp '^sha256:[0-9a-f]{64} ci$'
	fp=${output%% *}
	run -0 apphub jobs trust --list --json
	assert_equal "$(jq -c '[.total, .data[0].name, (.data[0].fingerprint == "'"$fp"'")]' <<<"$output")" '[1,"ci",true]'
	# Trusting it again changes nothing but the name given.
	run -0 apphub jobs trust "$T/k.pem.pub"
	assert_output "$fp ci"

	make_bundle b2 hello 2.0.0
	run -1 --separate-stderr apphub jobs publish b2
	assert_stderr 'apphub: signature required: the hub trusts signing keys'
	# Signed by a key the hub does not trust.
	run -1 --separate-stderr apphub jobs publish b2 --key "$T/other.pem"
	assert_stderr 'apphub: signature does not verify'
	# A .sig of other bytes.
	tgz=$(package b2 --key "$T/k.pem")
	cp "$tgz.sig" "$T/b2.sig"
	make_bundle b3 hello 2.0.0 altered
	package b3 >/dev/null
	cp "$T/b2.sig" "$tgz.sig"
	run -1 --separate-stderr apphub jobs publish "$tgz"
	assert_stderr 'apphub: signature does not verify'
	# The signed bytes, altered after signing (the .sha256 made to match).
	package b2 --key "$T/k.pem" >/dev/null
	printf 'x' >>"$tgz"
	echo "$(sha_of "$tgz")  hello-2.0.0.tgz" >"$tgz.sha256"
	run -1 --separate-stderr apphub jobs publish "$tgz"
	assert_stderr 'apphub: signature does not verify'
	# A signature that is not base64 of anything
	package b2 --key "$T/k.pem" >/dev/null
	echo 'AAAA' >"$tgz.sig"
	run -1 apphub jobs publish "$tgz"
	run -0 bundle_rows
	assert_output 'hello@1.0.0'
	[[ ! -e $APPHUB_HOME/bundles/hello/2.0.0 ]]
	# Signed with the trusted key: taken, the signer recorded.
	package b2 --key "$T/k.pem" >/dev/null
	run -0 apphub jobs publish "$tgz"
	assert_output --regexp " signed by $fp\$"
	[[ -f $APPHUB_HOME/bundles/hello/2.0.0/hello-2.0.0.tgz.sig ]]
	run -0 apphub jobs show hello --json
	assert_equal "$(jq -r '.signer' <<<"$output")" "$fp"
	assert_equal "$(jq -r '[.versions[].signer] | map(. // "none") | join(" ")' <<<"$output")" "$fp none"
	# --key signs a .tgz at publish time too.
	make_bundle b4 hello 3.0.0
	tgz=$(package b4)
	run -0 apphub jobs publish "$tgz" --key "$T/k.pem"
	assert_output --regexp " signed by $fp\$"
}

@test "trust: a file that is not a public key is refused" {
	echo 'not a key' >"$T/bad.pub"
	run -1 apphub jobs trust "$T/bad.pub"
	run -1 --separate-stderr apphub jobs trust "$T/missing.pub"
	assert_stderr_partial "cannot read '$T/missing.pub'"
	run -129 apphub jobs trust
	run -0 apphub jobs trust --list --json
	assert_equal "$(jq -c .total <<<"$output")" 0
}

# publish_body TGZ [jq filter]: the body of POST /job-bundles for TGZ, altered by the filter.
publish_body() {
	local tgz=$1 filter=${2:-.}
	jq -n --rawfile data <(base64 -w0 "$tgz") --arg sum "$(sha_of "$tgz")" \
		--slurpfile m "$T/b1/manifest.json" \
		'{slug: "hello", version: "1.0.0", manifest: $m[0], artifact: {data: $data, checksum: $sum}}' |
		jq -c "$filter" >"$T/body.json"
	echo "$T/body.json"
}

@test "serve: POST /job-bundles with and without the scope, and what the body must say" {
	export APPHUB_TOKENS='[{"token":"pub-secret-1","subject":"ci","scopes":["job-bundles:write"]},
		{"token":"read-secret-1","subject":"bob","scopes":["jobs:read","job-bundles:read"]},
		{"token":"admin-secret-1","subject":"root","scopes":["admin"]}]'
	make_bundle b1 hello 1.0.0
	tgz=$(package b1)
	start_serve --workers 0
	local W='Authorization: Bearer pub-secret-1' R='Authorization: Bearer read-secret-1'
	r=$(http POST /job-bundles -d @"$(publish_body "$tgz")")
	assert_equal "$(status_of "$r")" 401
	r=$(http POST /job-bundles -d @"$(publish_body "$tgz")" -H "$R")
	assert_equal "$(status_of "$r")" 403
	r=$(http POST /job-bundles -d @"$(publish_body "$tgz" '.version = "1.0.1"')" -H "$W")
	assert_equal "$(status_of "$r")" 400
	assert_equal "$(body_of "$r" | jq -r .error.message)" "invalid version '1.0.1': does not match the manifest's '1.0.0'"
	r=$(http POST /job-bundles -d @"$(publish_body "$tgz" '.slug = "other"')" -H "$W")
	assert_equal "$(body_of "$r" | jq -r .error.message)" "invalid slug 'other': the bundle's is 'hello'"
	r=$(http POST /job-bundles -d @"$(publish_body "$tgz" '.manifest.description = "lies"')" -H "$W")
	assert_equal "$(body_of "$r" | jq -r .error.message)" "invalid manifest: differs from the bundle's"
	r=$(http POST /job-bundles -d @"$(publish_body "$tgz" '.artifact.checksum = "ab"')" -H "$W")
	assert_equal "$(status_of "$r")" 400
	r=$(http POST /job-bundles -d @"$(publish_body "$tgz" '.artifact.data = "!!"')" -H "$W")
	assert_equal "$(status_of "$r")" 400
	r=$(http POST /job-bundles -d @"$(publish_body "$tgz" '.slug = "Bad Slug"')" -H "$W")
	assert_equal "$(status_of "$r")" 400
	run -0 bundle_rows
	assert_output ''
	r=$(http POST /job-bundles -d @"$(publish_body "$tgz")" -H "$W")
	assert_equal "$(status_of "$r")" 201
	assert_equal "$(body_of "$r" | jq -c '[.slug, .version, .created, .createdBy]')" '["hello","1.0.0",true,"ci"]'
	r=$(http POST /job-bundles -d @"$(publish_body "$tgz")" -H "$W")
	assert_equal "$(status_of "$r")" 200
	assert_equal "$(body_of "$r" | jq -c .created)" false
	# Reads and removal take their scopes.
	r=$(http GET /jobs)
	assert_equal "$(status_of "$r")" 401
	r=$(http GET /jobs -H "$R")
	assert_equal "$(body_of "$r" | jq -c '[.data[].slug]')" '["hello"]'
	r=$(http GET /jobs/hello@1.0.0 -H "$R")
	assert_equal "$(body_of "$r" | jq -r .checksum)" "$(sha_of "$tgz")"
	r=$(http DELETE /jobs/hello/versions/1.0.0 -H "$R")
	assert_equal "$(status_of "$r")" 403
	r=$(http POST /job-signers -d '{"publicKey":"x"}' -H "$W")
	assert_equal "$(status_of "$r")" 403
	r=$(http GET /job-signers -H "$R")
	assert_equal "$(status_of "$r")" 403
	r=$(http GET /job-signers -H 'Authorization: Bearer admin-secret-1')
	assert_equal "$(status_of "$r")" 200
	r=$(http DELETE /jobs/hello/versions/1.0.0 -H 'Authorization: Bearer admin-secret-1')
	assert_equal "$(status_of "$r")" 200
}

@test "serve: a body over the bundle cap is refused with 413 before it is decoded" {
	export APPHUB_JOB_BUNDLE_MAX_SIZE=1k
	make_bundle b1 hello 1.0.0
	head -c 4096 /dev/urandom >b1/noise.bin
	tgz=$(package b1)
	start_serve --workers 0
	r=$(http POST /job-bundles -d @"$(publish_body "$tgz")")
	assert_equal "$(status_of "$r")" 413
	assert_equal "$(body_of "$r" | jq -r .error.message)" "bundle 'hello@1.0.0': larger than 1024 bytes"
}

@test "serve: the verbs through --server, with APPHUB_TOKEN" {
	export APPHUB_TOKENS='[{"token":"pub-secret-1","subject":"ci","scopes":["job-bundles:write","jobs:write"]},
		{"token":"admin-secret-1","subject":"root","scopes":["admin"]}]'
	keygen "$T/k.pem"
	make_bundle b1 hello 1.0.0
	start_serve --workers 0
	APPHUB_TOKEN=admin-secret-1 run -0 apphub --server "$SERVE_URL" jobs trust "$T/k.pem.pub" --name ci
	fp=${output%% *}
	APPHUB_TOKEN=pub-secret-1 run -1 --separate-stderr apphub --server "$SERVE_URL" jobs publish b1
	assert_stderr 'apphub: signature required: the hub trusts signing keys'
	APPHUB_TOKEN=pub-secret-1 run -0 apphub --server "$SERVE_URL" jobs publish b1 --key "$T/k.pem"
	assert_output --regexp "^published hello@1\.0\.0 sha256:[0-9a-f]{64} signed by $fp\$"
	APPHUB_TOKEN=pub-secret-1 run -0 apphub --server "$SERVE_URL" jobs publish b1 --key "$T/k.pem"
	assert_output --regexp '^unchanged hello@1\.0\.0 '
	run -1 --separate-stderr apphub --server "$SERVE_URL" jobs publish b1 --key "$T/k.pem"
	assert_stderr_partial 'authorization required'
	APPHUB_TOKEN=pub-secret-1 run -0 apphub --server "$SERVE_URL" jobs ls -q
	assert_output hello
	APPHUB_TOKEN=pub-secret-1 run -0 apphub --server "$SERVE_URL" jobs show hello --json
	assert_equal "$(jq -r .signer <<<"$output")" "$fp"
	[[ -f $APPHUB_HOME/bundles/hello/1.0.0/root/index.js ]]
	APPHUB_TOKEN=pub-secret-1 run -0 apphub --server "$SERVE_URL" jobs rm hello@1.0.0
	[[ ! -e $APPHUB_HOME/bundles/hello ]]
}

# sign_url PATH EXPIRES: the signature the hub gives, made from its key.
sign_url() {
	local key
	key=$(sqlite3 "$(db_path)" 'SELECT key FROM job_url_key')
	printf 'GET\n%s\n%s' "$1" "$2" | openssl dgst -sha256 -hmac "$key" -r | cut -d' ' -f1
}

@test "serve: a bundle's signed download URL answers its bytes; tampered or expired ones get 403" {
	export APPHUB_TOKENS='[{"token":"read-secret-1","subject":"bob","scopes":["job-bundles:read"]},
		{"token":"jobs-secret-1","subject":"eve","scopes":["jobs:read"]}]'
	make_bundle b1 hello 1.0.0
	apphub -q jobs publish b1
	start_serve --workers 0
	r=$(http GET /job-bundles/hello/1.0.0 -H 'Authorization: Bearer jobs-secret-1')
	assert_equal "$(status_of "$r")" 403
	r=$(http GET /job-bundles/hello/9.9.9 -H 'Authorization: Bearer read-secret-1')
	assert_equal "$(status_of "$r")" 404
	r=$(http GET /job-bundles/hello/1.0.0 -H 'Authorization: Bearer read-secret-1')
	assert_equal "$(status_of "$r")" 200
	url=$(body_of "$r" | jq -r .downloadUrl)
	assert_equal "$(body_of "$r" | jq -r .checksum)" "$(sha_of "$APPHUB_HOME/bundles/hello/1.0.0/hello-1.0.0.tgz")"
	[[ $url == /job-bundles/hello/1.0.0/download\?expires=*\&signature=* ]]
	expires=${url#*expires=}
	expires=${expires%%&*}
	now=$(date +%s)
	((expires > now + 240 && expires <= now + 300))
	# No token needed: the URL is the credential.
	curl -sS -f -o "$T/got.tgz" -D "$T/headers" "$SERVE_URL$url"
	assert_equal "$(sha_of "$T/got.tgz")" "$(sha_of "$APPHUB_HOME/bundles/hello/1.0.0/hello-1.0.0.tgz")"
	run -0 grep -i '^content-type: application/gzip' "$T/headers"
	# Tampered: another signature, another expiry, another version.
	sig=${url##*signature=}
	r=$(http GET "${url%signature=*}signature=${sig:0:63}0")
	[[ $sig == *0 ]] && r=$(http GET "${url%signature=*}signature=${sig:0:63}1")
	assert_equal "$(status_of "$r")" 403
	assert_equal "$(body_of "$r" | jq -r .error.message)" "download of 'hello@1.0.0': the URL's signature does not match"
	r=$(http GET "/job-bundles/hello/1.0.0/download?expires=$((expires + 3600))&signature=$sig")
	assert_equal "$(status_of "$r")" 403
	r=$(http GET "/job-bundles/hello/1.0.0/download?expires=$expires")
	assert_equal "$(status_of "$r")" 403
	# An old expiry: refused unsigned, and refused as expired when signed with the hub's key.
	old=$((now - 10))
	r=$(http GET "/job-bundles/hello/1.0.0/download?expires=$old&signature=$sig")
	assert_equal "$(status_of "$r")" 403
	r=$(http GET "/job-bundles/hello/1.0.0/download?expires=$old&signature=$(sign_url /job-bundles/hello/1.0.0/download "$old")")
	assert_equal "$(status_of "$r")" 403
	assert_equal "$(body_of "$r" | jq -r .error.message)" "download of 'hello@1.0.0': the URL has expired"
	# The key check itself: the same signing of the current expiry answers.
	r=$(http GET "/job-bundles/hello/1.0.0/download?expires=$expires&signature=$(sign_url /job-bundles/hello/1.0.0/download "$expires")")
	assert_equal "$(status_of "$r")" 200
	# A removed bundle is gone from its URL.
	apphub -q jobs rm hello@1.0.0
	r=$(http GET "$url")
	assert_equal "$(status_of "$r")" 404
}
