#!/usr/bin/env bats
# The page apphub serve serves (web/), in a real browser: launch an example
# from its app page and load its preview. Debian's chromium driven by
# playwright-core (t/web/launch.mjs), against a real serve, with a real
# build of contrib/examples/static-site on the busybox base image.
# Screenshots of every step go to t/out/web/launch-NN-*.png.

bats_require_minimum_version 1.5.0
load test_helper/common
load test_helper/serve

WEB_DIR="$BATS_TEST_DIRNAME/web"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

setup_file() {
	export WEB_OUT="$BATS_TEST_DIRNAME/out/web"
	mkdir -p "$WEB_OUT"
	rm -f "$WEB_OUT"/launch-*.png
}

setup() {
	common_setup
	unset APPHUB_TOKENS APPHUB_TOKENS_FILE APPHUB_SERVER APPHUB_TOKEN APPHUB_PREVIEW_BASE
	export WEB_OUT="$BATS_TEST_DIRNAME/out/web"
}

need_browser() {
	command -v node >/dev/null || skip "node is not installed (make deps installs it)"
	[[ -x $CHROMIUM ]] || skip "chromium is not installed at $CHROMIUM (make deps installs it)"
	[[ -d $WEB_DIR/node_modules/playwright-core ]] ||
		skip "playwright-core is not installed in t/web (make deps runs npm ci there)"
}

# The supervisors (not zombies) of launches of this test's state directory.
supervisors() {
	ps -eo stat=,pid=,args= |
		awk -v dir="$APPHUB_HOME" '$1 !~ /^Z/ && $3 ~ /apphub-launch$/ && $4 == "supervise" && $5 == dir { print $2 }'
}

# Called by test_helper/serve's teardown, after serve is gone: no launch of
# this test is left running, nor its supervisor.
extra_teardown() {
	local id k left
	[[ -d ${APPHUB_HOME:-} ]] || return 0
	for id in $(apphub --json launch ls 2>/dev/null |
		jq -r '.data[] | select(.status != "stopped" and .status != "failed") | .id'); do
		echo "teardown: stopping launch $id" >&2
		apphub -q launch stop "$id" >/dev/null 2>&1 || true
	done
	for k in $(seq 1 100); do
		left=$(supervisors)
		[[ -z $left ]] && return 0
		sleep 0.1
	done
	echo "teardown: apphub-launch supervisors left for $APPHUB_HOME: $left" >&2
	kill $left 2>/dev/null || true
	return 1
}

browse() {
	(cd "$WEB_DIR" && SERVE_URL=$SERVE_URL node "$1" 3>&-)
}

@test "web: launch an example from its page and load its preview" {
	need_browser
	[[ -x /bin/busybox ]] || skip "busybox-static is not installed"
	APPHUB=apphub sh "$BATS_TEST_DIRNAME/../contrib/base-images/busybox.sh" >/dev/null
	sh "$BATS_TEST_DIRNAME/../contrib/examples/make-repos.sh" "$BATS_TEST_TMPDIR/repos" >/dev/null
	apphub -q apps add "$BATS_TEST_TMPDIR/repos/static-site"
	apphub -q ingest >/dev/null
	run -0 apphub apps show static-site --json
	assert_equal "$(jq -r .status <<<"$output")" ready
	apphub -q build static-site >/dev/null
	run -0 apphub --json build ls static-site
	assert_equal "$(jq -r '.data[0].status' <<<"$output")" succeeded
	start_serve --workers 0
	LAUNCH_APP=static-site browse launch.mjs
	# The page's launch is recorded, stopped, with its whole life in events.
	run -0 apphub --json launch ls static-site
	assert_equal "$(jq -r '.data | length' <<<"$output")" 1
	assert_equal "$(jq -r '.data[0].status' <<<"$output")" stopped
	id=$(jq -r '.data[0].id' <<<"$output")
	run -0 sqlite3 "$APPHUB_HOME/apphub.db" \
		"SELECT type FROM events WHERE subject = '$id' ORDER BY id"
	assert_output $'launch.pending\nlaunch.starting\nlaunch.running\nlaunch.stopping\nlaunch.stopped'
	[[ -z $(supervisors) ]]
}
