# Helpers for the launch tests (t/35xx): a busybox image serving a page,
# built once per file and copied into each test's state; launches stopped
# after each test.
#
#   load test_helper/launch
#   setup_file() { launch_setup_file; }
#   setup() { launch_setup; }
#   teardown() { launch_teardown; }

load 'test_helper/common'

launch_setup_file() {
	PATH="$BATS_TEST_DIRNAME/..:$PATH"
	export APPHUB_HOME="$BATS_FILE_TMPDIR/template"
	local root="$BATS_FILE_TMPDIR/root"
	APPHUB=apphub sh "$BATS_TEST_DIRNAME/../contrib/base-images/busybox.sh" >/dev/null
	apphub image unpack apphub/busybox "$root" >/dev/null
	mkdir -p "$root/www"
	echo '<h1>hello from apphub</h1>' >"$root/www/index.html"
	# test/httpd: busybox httpd on the port of its Env PORT (8080).
	apphub image import "$root" test/httpd --env PORT=8080 \
		--cmd '["httpd", "-f", "-v", "-p", "8080", "-h", "/www"]' >/dev/null
	# test/shell: no port of its own: launches give --command.
	apphub image import "$root" test/shell --cmd '["sh"]' >/dev/null
	apphub -q apps add "https://example.com/repos/web.git" --id web
	apphub -q apps add "https://example.com/repos/other.git" --id other
}

# A succeeded build of app $1 with image $2 and id $3.
add_build() {
	sqlite3 "$APPHUB_HOME/apphub.db" "INSERT INTO builds(id, app, status, image_tag, created_at)
		VALUES ('$3', (SELECT n FROM apps WHERE id = '$1'), 'succeeded', '$2',
		strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
}

launch_setup() {
	common_setup
	cp -a "$BATS_FILE_TMPDIR/template" "$APPHUB_HOME"
	T=$BATS_TEST_TMPDIR
}

launch_teardown() {
	local id
	for id in $(apphub launch ls -q 2>/dev/null); do
		apphub -q launch stop "$id" >/dev/null 2>&1 || true
	done
}

# The processes (not zombies) whose command line names launch $1 of this
# state directory (others' tests on the machine may say "first" too).
launch_procs() {
	ps -eo stat=,pid=,args= | awk -v id="$1" -v dir="$APPHUB_HOME" \
		'$1 !~ /^Z/ && index($0, " " dir " " id) && !/awk/'
}

# wait_status ID STATUS [SECONDS]: until launch ID has STATUS.
wait_status() {
	local i
	for ((i = 0; i < ${3:-10} * 10; i++)); do
		[ "$(apphub --json launch show "$1" | jq -r .status)" = "$2" ] && return 0
		sleep 0.1
	done
	apphub --json launch show "$1" >&2
	return 1
}
