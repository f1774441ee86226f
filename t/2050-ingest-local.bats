#!/usr/bin/env bats
# The ingest of a repository on this machine (a path, file://): its object
# files copied into the mirror as git clone --mirror does, its branches
# set, nothing else of it followed (lib/fetch-local.c).

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/ingest'

setup() {
	ingest_setup
}

teardown() {
	[[ -z ${SHM:-} ]] || rm -rf "$SHM"
}

mirror() {
	git -C "$APPHUB_HOME/repos/$1.git" "${@:2}"
}

@test "packs and loose objects are linked or copied whole; the branches, not refs/pull/*" {
	commit_files "$REPOS/src" Dockerfile 'FROM scratch' README.md '# Src'
	git -C "$REPOS/src" checkout -q -b side
	commit_files "$REPOS/src" side.txt side
	git -C "$REPOS/src" checkout -q main
	git -C "$REPOS/src" gc -q
	# after the pack, a loose commit
	commit_files "$REPOS/src" more.txt more
	# a pull request's commit: outside the refspec, not a branch of the mirror
	git -C "$REPOS/src" checkout -q -b pr
	commit_files "$REPOS/src" pr.txt pr
	git -C "$REPOS/src" update-ref refs/pull/1/head HEAD
	git -C "$REPOS/src" checkout -q main
	git -C "$REPOS/src" branch -q -D pr
	run -0 ingest_app src "file://$REPOS/src"
	assert_equal "$(app_field src commitSha)" "$(git -C "$REPOS/src" rev-parse main)"
	run -0 mirror src for-each-ref --format='%(refname) %(objectname)'
	assert_output "refs/heads/main $(git -C "$REPOS/src" rev-parse main)
refs/heads/side $(git -C "$REPOS/src" rev-parse side)"
	assert_equal "$(mirror src symbolic-ref HEAD)" refs/heads/main
	# the pack as it was, byte for byte, and the loose objects beside it
	local pack
	pack=$(cd "$REPOS/src/.git/objects/pack" && ls pack-*.pack)
	cmp "$REPOS/src/.git/objects/pack/$pack" "$APPHUB_HOME/repos/src.git/objects/pack/$pack"
	# on one file system, as root, linked as git clone links them
	if [[ $(id -u) == 0 ]]; then
		assert_equal "$(stat -c %i "$APPHUB_HOME/repos/src.git/objects/pack/$pack")" \
			"$(stat -c %i "$REPOS/src/.git/objects/pack/$pack")"
	fi
	run -0 mirror src fsck --connectivity-only --no-dangling
	run -0 mirror src cat-file -p main:more.txt
	assert_output more
	run -0 apphub ingest src --json
	assert_equal "$(jq -c '.data[0] | [.status, .receivedObjects, .receivedBytes]' <<<"$output")" \
		'["ready",0,0]'
}

@test "a branch gone at the source is pruned; new commits come on the next ingest" {
	commit_files "$REPOS/src" Dockerfile 'FROM scratch'
	git -C "$REPOS/src" branch old
	ingest_app src "$REPOS/src"
	run -0 mirror src rev-parse --verify -q refs/heads/old
	git -C "$REPOS/src" branch -q -D old
	commit_files "$REPOS/src" next.txt next
	run -0 apphub ingest src
	assert_equal "$(app_field src commitSha)" "$(git -C "$REPOS/src" rev-parse main)"
	run -1 mirror src rev-parse --verify -q refs/heads/old
	# the default branch moves with the source's HEAD
	git -C "$REPOS/src" checkout -q -b trunk
	commit_files "$REPOS/src" trunk.txt trunk
	run -0 apphub ingest src
	assert_equal "$(mirror src symbolic-ref HEAD)" refs/heads/trunk
	assert_equal "$(app_field src commitSha)" "$(git -C "$REPOS/src" rev-parse trunk)"
}

@test "objects borrowed through alternates are refused, not followed" {
	commit_files "$REPOS/base" Dockerfile 'FROM scratch'
	git clone -q --shared "$REPOS/base" "$REPOS/borrower"
	apphub -q apps add "$REPOS/borrower" --id borrower
	run --separate-stderr -1 apphub ingest borrower --json
	assert_equal "$(jq -c '.data[0] | [.status, .permanent]' <<<"$output")" '["failed",true]'
	assert_stderr "apphub: cannot ingest 'borrower': repository '$REPOS/borrower' borrows objects from another (objects/info/alternates): apphub does not follow it"
}

@test "an objects directory that is a link out of the repository is refused" {
	commit_files "$REPOS/outside" Dockerfile 'FROM scratch'
	git clone -q --bare "$REPOS/outside" "$REPOS/linked.git"
	rm -rf "$REPOS/linked.git/objects"
	ln -s "$REPOS/outside/.git/objects" "$REPOS/linked.git/objects"
	apphub -q apps add "$REPOS/linked.git" --id linked
	run --separate-stderr -1 apphub ingest linked
	assert_stderr_regex "^apphub: cannot ingest 'linked': cannot open the objects of '$REPOS/linked.git': "
	[[ -z $(ls "$APPHUB_HOME/repos/linked.git/objects/pack") ]]
}

@test "the size limit counts the files before any is copied; a missing path says so" {
	commit_files "$REPOS/big" Dockerfile 'FROM scratch'
	head -c 300000 /dev/urandom >"$REPOS/big/blob.bin"
	commit_files "$REPOS/big"
	git -C "$REPOS/big" gc -q
	apphub -q apps add "$REPOS/big" --id big
	APPHUB_INGEST_MAX_BYTES=100k run --separate-stderr -1 apphub ingest big
	assert_stderr "apphub: cannot ingest 'big': cannot fetch '$REPOS/big': repository is larger than the limit of 102400 bytes (APPHUB_INGEST_MAX_BYTES)"
	[[ -z $(ls "$APPHUB_HOME/repos/big.git/objects/pack") ]]
	apphub -q apps add "$REPOS/nowhere" --id nowhere
	run --separate-stderr -1 apphub ingest nowhere
	assert_stderr_regex "^apphub: cannot ingest 'nowhere' \\(attempt 1, retry at [^)]*\\): no such repository: $REPOS/nowhere\$"
}

@test "on another file system the object files are copied, byte for byte" {
	SHM=$(mktemp -d /dev/shm/apphub-2050.XXXXXX) || skip 'no /dev/shm'
	[[ $(stat -f -c %T "$SHM") != $(stat -f -c %T "$REPOS") ]] ||
		skip '/dev/shm is the file system of the test directory' 
	commit_files "$REPOS/src" Dockerfile 'FROM scratch'
	git -C "$REPOS/src" gc -q
	commit_files "$REPOS/src" loose.txt loose
	export APPHUB_HOME=$SHM/state
	run -0 ingest_app src "$REPOS/src"
	local pack
	pack=$(cd "$REPOS/src/.git/objects/pack" && ls pack-*.pack)
	cmp "$REPOS/src/.git/objects/pack/$pack" "$APPHUB_HOME/repos/src.git/objects/pack/$pack"
	assert_equal "$(stat -c %h "$REPOS/src/.git/objects/pack/$pack")" 1
	run -0 mirror src fsck --connectivity-only --no-dangling
	run -0 mirror src cat-file -p main:loose.txt
	assert_output loose
	# no temporary file left behind
	run -0 find "$APPHUB_HOME/repos/src.git/objects" -name 'tmp_*'
	assert_output ''
}
