#!/usr/bin/env bats
#
# The example jobs of contrib/examples/jobs/, as `make run` uses them: each
# passes `apphub jobs test` with its sample input and gives the result its
# handler computes; packaged, published and run, each run succeeds with
# that result, and word-count's file is kept as an output.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

setup() {
	common_setup
	EXAMPLES=$BATS_TEST_DIRNAME/../contrib/examples/jobs
	T=$BATS_TEST_TMPDIR
	# A copy: nothing is written into the source tree.
	cp -R "$EXAMPLES" "$T/jobs"
}

need_jobs() {
	[[ -x $BATS_TEST_DIRNAME/../apphub-jobs ]] || skip 'apphub-jobs is not built'
	command -v bwrap >/dev/null || skip 'bwrap is not installed'
}

@test "examples: three bundles, each with a manifest, a handler and a sample input" {
	local n=0 dir
	for dir in "$EXAMPLES"/*/; do
		[[ -f $dir/apphub.bundle.json && -f $dir/manifest.json ]] || fail "$dir: no bundle"
		[[ -f $dir/tests/sample-input.json ]] || fail "$dir: no sample input"
		run jq -e '(.version | test("^[0-9]+\\.[0-9]+\\.[0-9]+$")) and (.description | length > 0) and
			.parametersSchema.type == "object"' "$dir/manifest.json"
		assert_success
		n=$((n + 1))
	done
	[ "$n" -eq 3 ]
	run jq -r .runtime "$EXAMPLES"/*/manifest.json
	assert_output $'node\npython\nexec'
}

@test "examples: json-transform (node) picks, renames and sorts the sample records" {
	need_jobs
	run --separate-stderr -0 apphub jobs test "$T/jobs/json-transform"
	run jq -c . <<<"$output"
	assert_output '{"count":3,"records":[{"name":"alpha","team":"web","stars":40},{"name":"gamma","team":"ops","stars":12},{"name":"beta","team":"web","stars":7}]}'
	run --separate-stderr -0 apphub jobs test "$T/jobs/json-transform" \
		--input-json '{"records": [{"a": 2, "b": 1}, {"a": 1}], "fields": ["a"]}'
	run jq -c . <<<"$output"
	assert_output '{"count":2,"records":[{"a":2},{"a":1}]}'
}

@test "examples: number-stats (python) computes the statistics; no numbers fails" {
	need_jobs
	run --separate-stderr -0 apphub jobs test "$T/jobs/number-stats"
	run jq -c . <<<"$output"
	assert_output '{"count":6,"mean":18,"median":15.5,"stdev":13.491,"min":4,"max":42}'
	run --separate-stderr -1 apphub jobs test "$T/jobs/number-stats" --input-json '{"numbers": []}'
	[[ $stderr == *'numbers is empty'* ]] || fail "the log does not say why: $stderr"
}

@test "examples: number-stats takes a field of objects, as a workflow's fan-out results" {
	need_jobs
	run --separate-stderr -0 apphub jobs test "$T/jobs/number-stats" --input-json \
		'{"numbers": [{"output": {"words": 3}}, {"output": {"words": 5}}], "field": "output.words"}'
	run jq -c '[.count, .mean, .min, .max]' <<<"$output"
	assert_output '[2,4,3,5]'
	run --separate-stderr -1 apphub jobs test "$T/jobs/number-stats" --input-json \
		'{"numbers": [{"output": {}}], "field": "output.words"}'
	[[ $stderr == *"numbers[0] has no field 'output.words'"* ]] || fail "the log does not say why: $stderr"
	run --separate-stderr -1 apphub jobs test "$T/jobs/number-stats" --input-json '{"numbers": [true]}'
	[[ $stderr == *'numbers[0] is not a number'* ]] || fail "the log does not say why: $stderr"
}

@test "examples: word-count (exec) counts the sample text" {
	need_jobs
	run --separate-stderr -0 apphub jobs test "$T/jobs/word-count"
	run jq -c . <<<"$output"
	assert_output '{"lines":2,"words":15,"characters":75,"top":[{"word":"the","count":4},{"word":"dog","count":2},{"word":"fox","count":2}],"file":"counts.txt"}'
}

@test "examples: packaged, published and run, as make run does" {
	need_jobs
	local job id
	for job in json-transform number-stats word-count; do
		apphub -q jobs package "$T/jobs/$job" --out "$T/out"
		apphub -q jobs publish "$T/out/$job-$(jq -r .version "$T/jobs/$job/manifest.json").tgz"
		run --separate-stderr -0 apphub jobs run "$job" \
			--input-json "$(cat "$T/jobs/$job/tests/sample-input.json")"
	done
	run -0 apphub -q jobs ls
	assert_output $'json-transform\nnumber-stats\nword-count'

	id=$(apphub --json jobs runs number-stats | jq -r '.data[0].id')
	run -0 apphub --json jobs show "$id"
	run jq -c '[.status, .jobSlug, .version, .result.mean, .result.count]' <<<"$output"
	assert_output '["succeeded","number-stats","1.1.0",18,6]'

	# word-count's file, left in its work directory, is one of its outputs.
	id=$(apphub --json jobs runs word-count | jq -r '.data[0].id')
	run -0 apphub --json jobs show "$id"
	local rec=$output
	run jq -r '.status, .result.words' <<<"$rec"
	assert_output $'succeeded\n15'
	run jq -r '.outputs[] | select(.type == "file") | .path' <<<"$rec"
	assert_output --partial counts.txt
	run jq -r '.outputs[] | select(.type == "file") | .size' <<<"$rec"
	assert_output 50
}
