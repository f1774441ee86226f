#!/usr/bin/env bats
#
# The example workflows of contrib/examples/workflows/, as `make run` uses
# them: over the example jobs, team-stars computes the statistics of the
# sorted records; word-stats fans word-count out over its texts, takes the
# statistics of the counts with number-stats and keeps them in the hub's
# metastore (a real serve on a loopback port).

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/serve'

setup_file() {
	[[ -x $BATS_TEST_DIRNAME/../apphub-workflow ]] || skip 'apphub-workflow is not built'
	command -v bwrap >/dev/null || skip 'bwrap is not installed'
}

setup() {
	common_setup
	local dir
	for dir in "$BATS_TEST_DIRNAME"/../contrib/examples/jobs/*/; do
		cp -R "$dir" "$BATS_TEST_TMPDIR/"
		apphub -q jobs publish "$BATS_TEST_TMPDIR/$(basename "$dir")" >/dev/null
	done
	for def in "$BATS_TEST_DIRNAME"/../contrib/examples/workflows/*.yaml \
		"$BATS_TEST_DIRNAME"/../contrib/examples/workflows/*.json; do
		apphub -q workflow add "$def" >/dev/null
	done
}

@test "examples: team-stars sorts the records and takes the statistics of their stars" {
	run -0 apphub --json workflow run team-stars
	assert_equal "$(jq -c '[.status, .metrics.completedSteps, .metrics.totalSteps]' <<<"$output")" \
		'["succeeded",2,2]'
	assert_equal "$(jq -c '.output.stars | [.count, .min, .max, .median]' <<<"$output")" '[3,7,40,12]'
}

@test "examples: word-stats counts each text's words and keeps the statistics in the metastore" {
	start_serve
	run -0 apphub --json workflow run word-stats --param hub="$SERVE_URL"
	assert_equal "$(jq -r .status <<<"$output")" succeeded
	# the fan-out's children, one per default text, and the aggregate
	assert_equal "$(jq -c '[.context.steps | keys[] | select(startswith("count:"))]' <<<"$output")" \
		'["count:words:1","count:words:2","count:words:3"]'
	assert_equal "$(jq -c '.context.steps.stats.result | [.count, .min, .max]' <<<"$output")" '[3,9,18]'
	run -0 apphub --json metastore get examples word-stats
	assert_equal "$(jq -c '[.metadata.count, .metadata.max, .tags, .version]' <<<"$output")" \
		'[3,18,["example","workflow"],1]'
	# Another run with other texts: a new version of the same record.
	run -0 apphub -q workflow run word-stats --param hub="$SERVE_URL" \
		--param texts='["one two", "three four five", "six"]'
	run -0 apphub --json metastore get examples word-stats
	assert_equal "$(jq -c '[.metadata.count, .metadata.min, .metadata.max, .version]' <<<"$output")" \
		'[3,1,3,2]'
	stop_serve
}

@test "examples: without its hub word-stats fails at its save step, naming it" {
	run --separate-stderr -1 apphub workflow run word-stats --param hub=http://127.0.0.1:9
	assert_stderr_partial "step 'save' failed"
}
