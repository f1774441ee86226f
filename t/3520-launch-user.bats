#!/usr/bin/env bats
# apphub launch: the app runs as the image's USER (or --user) inside its
# user namespace, and can still write its home, /tmp and its own files.

bats_require_minimum_version 1.5.0

load 'test_helper/launch'

setup_file() {
	launch_setup_file
	# test/user: USER app (1000:1000), home /home/app.
	local ctx="$BATS_FILE_TMPDIR/ctx"
	mkdir -p "$ctx"
	cat >"$ctx/Dockerfile" <<-'EOD'
	FROM apphub/busybox
	RUN echo 'app:x:1000:1000:app:/home/app:/bin/sh' >>/etc/passwd && \
	    echo 'app:x:1000:' >>/etc/group && echo 'staff:x:50:' >>/etc/group && \
	    mkdir -p /home/app /www && chown app:app /home/app && \
	    echo '<h1>served by app</h1>' >/www/index.html
	USER app
	ENV PORT=8080
	CMD ["sh", "-c", "id; echo home=$HOME; touch $HOME/ok /tmp/ok && echo writes-ok; touch /etc/ok 2>/dev/null || echo etc-refused; exec httpd -f -p 8080 -h /www"]
	EOD
	apphub -q image build -t test/user "$ctx" >/dev/null
}
setup() { launch_setup; }
teardown() { launch_teardown; }

@test "the image's USER: its ids, its home; /tmp and its own files writable, root's not" {
	run -0 apphub --json launch web --image test/user --id u
	assert_equal "$(jq -r .user <<<"$output")" null
	run -0 curl -sf "$(jq -r .previewUrl <<<"$output")"
	assert_output '<h1>served by app</h1>'
	run -0 apphub launch logs u
	assert_output --partial 'uid=1000(app) gid=1000(app)'
	assert_output --partial 'home=/home/app'
	assert_output --partial 'writes-ok'
	assert_output --partial 'etc-refused'
	# Outside, the app's processes are the launch range's uid 1000.
	pid=$(pgrep -f 'httpd -f -p 8080 -h /www' | while read -r p; do
		[ "$(awk '/^Uid:/ { print $2 }' "/proc/$p/status")" = 101000 ] && echo "$p"; done | head -1)
	[ -n "$pid" ]
}

@test "--user overrides the image's: names, ids, user:group; bad users fail" {
	run -0 apphub -q launch web --image test/user --user nobody --id n \
		--command 'id; exec httpd -f -p 8080 -h /www'
	run -0 apphub launch logs n
	assert_output --partial 'uid=65534(nobody) gid=65534(nogroup)'
	# the record keeps the user asked for; null means the image's
	run -0 apphub --json launch show n
	assert_equal "$(jq -r .user <<<"$output")" nobody
	run -0 apphub --json launch ls
	assert_equal "$(jq -c '[.data[] | .user]' <<<"$output")" '["nobody"]'
	run -0 apphub -q launch web --image test/user --user 1234:staff --id ids \
		--command 'id; touch /tmp/ok && echo tmp-ok; exec httpd -f -p 8080 -h /www'
	run -0 apphub launch logs ids
	assert_output --partial 'uid=1234 gid=50(staff)'
	assert_output --partial 'tmp-ok'
	run -0 apphub -q launch web --image test/user --user root --id r \
		--command 'id; exec httpd -f -p 8080 -h /www'
	run -0 apphub launch logs r
	assert_output --partial 'uid=0(root) gid=0(root)'
	run -1 apphub launch web --image test/user --user nosuch
	assert_output --partial "user 'nosuch': not in the image's /etc/passwd"
	run -1 apphub launch web --image test/user --user app:nosuch
	assert_output --partial "group 'nosuch'"
	run -1 apphub launch web --image test/user --user 70000
	assert_output --partial 'below 65536'
	run -1 apphub launch web --image test/user --user 'a b'
	assert_output --partial "invalid user 'a b'"
}

@test "a symlinked /etc/passwd is read inside the image, not on the host" {
	local root="$BATS_TEST_TMPDIR/root"
	apphub image unpack apphub/busybox "$root" >/dev/null
	rm -f "$root/etc/passwd"
	ln -s /../../../../etc/passwd.app "$root/etc/passwd"
	echo 'app:x:2000:2000::/:/bin/sh' >"$root/etc/passwd.app"
	apphub image import "$root" test/link --cmd '["sh", "-c", "id; exec httpd -f -p 8080"]' >/dev/null
	run -0 apphub -q launch web --image test/link --user app --port 8080 --id l
	run -0 apphub launch logs l
	assert_output --partial 'uid=2000(app) gid=2000'
	# The host's root is not a user of the image's.
	run -1 apphub launch web --image test/link --user daemon
	assert_output --partial "not in the image's /etc/passwd"
}
