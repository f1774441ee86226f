#!/usr/bin/env bats
# What a build reads from a repository follows the one rule for its paths
# (lib/repopath.h): a Dockerfile, .dockerignore or COPY source that is a
# symlink out of the repository is refused by name, and nothing of the file
# it points to reaches the build log or record; `build --ref` and serve's
# builds included. And a blob is sized before the checkout inflates it.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/ingest'
load 'test_helper/serve'

MARKER=host-secret-7c1e9a

setup_file() {
	[[ -x $BATS_TEST_DIRNAME/../apphub-build ]] || skip 'apphub-build is not built'
}

setup() {
	ingest_setup
	export APPHUB_BUILD_BACKOFF_MS=0 APPHUB_BUILD_ATTEMPTS=1
	# A file of the host's that no repository may read: a line that is a
	# Dockerfile instruction, then one that is a bad .dockerignore pattern.
	HOST_FILE=$BATS_TEST_TMPDIR/host-file
	printf '%s\n[%s\n' "$MARKER" "$MARKER" >"$HOST_FILE"
	mkdir -p "$BATS_TEST_TMPDIR/host-dir"
	cp "$HOST_FILE" "$BATS_TEST_TMPDIR/host-dir/secret"
}

extra_teardown() {
	stop_servers
}

# no_marker BUILD: the marker is in none of the build's log, record, events.
no_marker() {
	run -0 apphub build logs "$1"
	refute_output --partial "$MARKER"
	run -0 apphub build show "$1" --json
	refute_output --partial "$MARKER"
	run -0 apphub events --json
	refute_output --partial "$MARKER"
	run -1 grep -rl "$MARKER" "$APPHUB_HOME/builds"
}

# last_build ID: the id of the app's newest build.
last_build() {
	apphub build ls "$1" --json | jq -r '.data[0].id'
}

@test ".dockerignore symlinked to a host file: refused by name, its lines never read" {
	commit_files "$REPOS/ign" Dockerfile $'FROM scratch\nCOPY Dockerfile /'
	ln -s "$HOST_FILE" "$REPOS/ign/.dockerignore"
	commit_files "$REPOS/ign"
	ingest_app ign "$REPOS/ign"
	run --separate-stderr -1 apphub build ign
	assert_stderr_partial "cannot read '.dockerignore': symlink '.dockerignore' leads outside the repository"
	b=$(last_build ign)
	assert_equal "$(apphub build show "$b" --json | jq -r .status)" failed
	no_marker "$b"
}

@test "build --ref of a branch whose Dockerfile links to a host file: refused, never read" {
	commit_files "$REPOS/evil" Dockerfile $'FROM scratch\nCOPY Dockerfile /'
	ingest_app evil "$REPOS/evil"
	git -C "$REPOS/evil" checkout -q -b evil
	rm "$REPOS/evil/Dockerfile"
	ln -s "$HOST_FILE" "$REPOS/evil/Dockerfile"
	commit_files "$REPOS/evil"
	git -C "$REPOS/evil" checkout -q main
	apphub -q ingest evil	# the mirror takes the branch; main is still good
	run --separate-stderr -1 apphub build evil --ref evil
	assert_stderr_partial "cannot read 'Dockerfile': symlink 'Dockerfile' leads outside the repository"
	no_marker "$(last_build evil)"
	# ... and through serve, whose build logs anyone may read
	start_serve --workers 1
	r=$(http POST /apps/evil/builds -H 'Content-Type: application/json' -d '{"ref":"evil"}')
	b=$(body_of "$r" | jq -r .id)
	[[ $b == b-* ]]
	wait_until eval '[[ $(curl -sS "$SERVE_URL/builds/$b" | jq -r .status) == failed ]]'
	run -0 curl -sS "$SERVE_URL/builds/$b/logs"
	refute_output --partial "$MARKER"
	assert_output --partial "symlink 'Dockerfile' leads outside the repository"
	stop_serve
	no_marker "$b"
}

@test "a Dockerfile linked inside the repository is still followed" {
	commit_files "$REPOS/inside" docker/app.dockerfile $'FROM scratch\nCOPY hello /hello' hello 'hi'
	ln -s docker/app.dockerfile "$REPOS/inside/Dockerfile"
	commit_files "$REPOS/inside"
	ingest_app inside "$REPOS/inside"
	run -0 apphub build inside
}

@test "COPY of a directory symlinked out of the context: refused by name" {
	commit_files "$REPOS/cpy" Dockerfile $'FROM scratch\nCOPY conf/ /conf/'
	ln -s "$BATS_TEST_TMPDIR/host-dir" "$REPOS/cpy/conf"
	commit_files "$REPOS/cpy"
	ingest_app cpy "$REPOS/cpy"
	run --separate-stderr -1 apphub build cpy
	assert_stderr_partial "COPY: 'conf': symlink 'conf' leads outside the repository"
	no_marker "$(last_build cpy)"
	# the same through a link inside that leads to one outside
	commit_files "$REPOS/cpy2" Dockerfile $'FROM scratch\nCOPY via/secret /s'
	ln -s "$BATS_TEST_TMPDIR/host-dir" "$REPOS/cpy2/out"
	ln -s out "$REPOS/cpy2/via"
	commit_files "$REPOS/cpy2"
	ingest_app cpy2 "$REPOS/cpy2" 2>/dev/null || true
	run --separate-stderr -1 apphub build cpy2
	assert_stderr_partial "symlink 'out' leads outside the repository"
	no_marker "$(last_build cpy2)"
}

@test "a 600 MB blob in the build's checkout: refused by its size, never inflated" {
	[[ -x /usr/bin/time ]] || skip '/usr/bin/time is not installed'
	commit_files "$REPOS/big" Dockerfile $'FROM scratch\nCOPY Dockerfile /'
	blob=$(head -c 600M /dev/zero | tr '\0' a | git -C "$REPOS/big" hash-object -w --stdin)
	git -C "$REPOS/big" update-index --add --cacheinfo "100644,$blob,big.bin"
	git -C "$REPOS/big" commit -q -m big
	# over git:// the fetch streams it; ingest does not read big.bin
	git clone -q --bare "$REPOS/big" "$REPOS/served/big.git"
	start_git_daemon "$REPOS/served"
	ingest_app big "git://127.0.0.1:$GIT_PORT/big.git"
	/usr/bin/time -v -o "$BATS_TEST_TMPDIR/time" apphub build big 2>"$BATS_TEST_TMPDIR/err" && false
	run -0 cat "$BATS_TEST_TMPDIR/err"
	assert_output --partial "file 'big.bin' is larger than the limit of 104857600 bytes (APPHUB_BUILD_MAX_FILE_BYTES)"
	kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$BATS_TEST_TMPDIR/time")
	assert [ "$kb" -lt 200000 ]
	# the limit is the operator's, and directories are sized too
	APPHUB_BUILD_MAX_FILE_BYTES=10 run --separate-stderr -1 apphub build big
	assert_stderr_partial "directory '/' is larger than the limit of 10 bytes"
}
