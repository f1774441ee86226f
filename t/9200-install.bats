#!/usr/bin/env bats
# make install: the binary, helpers, man pages and completions land under
# PREFIX, and the installed binary works from there, helpers included.

load 'test_helper/common'

@test "make install PREFIX puts every part in place and the binary runs" {
	local top="$BATS_TEST_DIRNAME/.." prefix="$BATS_TEST_TMPDIR/prefix"
	run make -s -C "$top" install PREFIX="$prefix"
	assert_success
	[ -x "$prefix/bin/apphub" ]
	[ -f "$prefix/share/man/man1/apphub.1" ]
	[ -f "$prefix/share/man/man1/apphub-apps.1" ]
	[ -f "$prefix/share/bash-completion/completions/apphub" ]
	[ -f "$prefix/share/zsh/site-functions/_apphub" ]
	[ -f "$prefix/share/fish/vendor_completions.d/apphub.fish" ]
	run "$prefix/bin/apphub" --version
	assert_success
	assert_output --regexp '^apphub version [0-9]+\.[0-9]+\.[0-9]+$'
	run "$prefix/bin/apphub" -C "$BATS_TEST_TMPDIR/state" apps add https://example.com/a/installed-app.git
	assert_success
	assert_output installed-app
}

@test "an installed apphub finds its helpers in PREFIX/libexec/apphub" {
	local top="$BATS_TEST_DIRNAME/.." prefix="$BATS_TEST_TMPDIR/prefix"
	ls "$top"/apphub-* >/dev/null 2>&1 || skip "no helper binaries are built"
	run make -s -C "$top" install PREFIX="$prefix"
	assert_success
	local helper
	for helper in "$top"/apphub-*; do
		[[ -x $helper && $helper != *.[od] ]] || continue
		local cmd=${helper##*/apphub-}
		[ -x "$prefix/libexec/apphub/apphub-$cmd" ]
		# apphub-remote serves --server; it is no command of its own.
		[[ $cmd != remote ]] || continue
		# Nothing on PATH or in APPHUB_EXEC_PATH: found relative to the binary.
		run env -u APPHUB_EXEC_PATH PATH=/usr/bin:/bin "$prefix/bin/apphub" "$cmd" -h
		assert_success
		assert_output --partial "usage: apphub $cmd"
	done
}
