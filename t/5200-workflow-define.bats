#!/usr/bin/env bats
# apphub workflow add, ls, show, rm: definitions from YAML and JSON files and
# stdin, versions made only by changes, the DAG shown (roots, order, edges,
# Graphviz), removal refused while a run is pending, and the issue's "Bad
# input" through the CLI: a clear error, exit 1, nothing stored.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/serve'
load 'test_helper/workflow'

setup_file() {
	[[ -x $BATS_TEST_DIRNAME/../apphub-workflow ]] || skip 'apphub-workflow is not built'
}

setup() {
	wf_setup
	T=$BATS_TEST_TMPDIR
}

DIAMOND_YAML='slug: diamond
name: A diamond
description: fetch, two branches, a join
parametersSchema:
  type: object
  properties:
    n: {type: integer}
defaultParameters: {n: 3}
steps:
  - id: fetch
    jobSlug: echo
    parameters: {n: "{{ parameters.n }}", label: "n is {{ parameters.n }}", flag: true, quoted: "7"}
  - id: left
    jobSlug: echo
    dependsOn: [fetch]
  - id: right
    type: service
    url: "http://127.0.0.1:9/{{ steps.fetch.result.p.n }}"
    dependsOn: [fetch]
  - id: join
    type: fanout
    dependsOn: [left, right]
    collection: "{{ steps.fetch.result.p.list }}"
    template: {id: each, jobSlug: echo, parameters: {item: "{{ item }}"}}
'

@test "add from a YAML file: normalized with defaults, typed scalars, version 1; ls lists it" {
	printf '%s' "$DIAMOND_YAML" >"$T/diamond.yaml"
	run --separate-stderr -0 apphub workflow add "$T/diamond.yaml"
	assert_output "diamond added as version 1"
	run -0 apphub workflow show diamond --json
	assert_equal "$(jq -c '[.slug, .name, .description, .version, .currentVersion]' <<<"$output")" \
		'["diamond","A diamond","fetch, two branches, a join",1,1]'
	# YAML 1.2 core schema: plain scalars typed, quoted ones strings
	assert_equal "$(jq -c '.steps[0].parameters | [.flag, .quoted]' <<<"$output")" '[true,"7"]'
	# defaults filled in: type, retry policy, fan-out limits, service method and timeout
	assert_equal "$(jq -c '[.steps[] | .type]' <<<"$output")" '["job","job","service","fanout"]'
	assert_equal "$(jq -c '.steps[0].retryPolicy' <<<"$output")" \
		'{"initialDelayMs":1000,"maxAttempts":3,"maxDelayMs":64000,"strategy":"fixed"}'
	assert_equal "$(jq -c '.steps[3] | [.maxItems, .maxConcurrency]' <<<"$output")" '[100,10]'
	assert_equal "$(jq -c '.steps[2] | [.method, .timeoutMs]' <<<"$output")" '["GET",30000]'
	assert_equal "$(jq -c '.definition.defaultParameters' <<<"$output")" '{"n":3}'
	run -0 apphub workflow ls
	assert_line --index 0 --regexp '^SLUG +VERSION +STEPS +SCHEDULES +NAME$'
	assert_line --index 1 --regexp '^diamond +1 +4 +0 +A diamond$'
	run -0 apphub workflow ls --json
	assert_equal "$(jq -c '[.data[] | [.slug, .version, .steps, .schedules]]' <<<"$output")" '[["diamond",1,4,0]]'
	run -0 apphub -q workflow
	assert_output diamond
}

@test "add from a JSON file and from stdin; an identical definition is no new version, a change is" {
	jq -n '{slug: "pair", steps: [{id: "one", jobSlug: "echo"}, {id: "two", jobSlug: "echo", dependsOn: ["one"]}]}' >"$T/pair.json"
	run -0 apphub workflow add "$T/pair.json"
	assert_output "pair added as version 1"
	# the same definition, reformatted and as YAML on stdin: unchanged
	run -0 apphub workflow add - <<<"$(jq . "$T/pair.json")"
	assert_output "pair unchanged at version 1"
	run -0 apphub workflow add - <<<'slug: pair
steps:
  - {id: one, jobSlug: echo}
  - {id: two, jobSlug: echo, dependsOn: [one]}'
	assert_output "pair unchanged at version 1"
	# a "version" in the file is ignored: the hub numbers versions
	run -0 apphub workflow add - <<<"$(jq '.version = 42' "$T/pair.json")"
	assert_output "pair unchanged at version 1"
	run -0 apphub workflow add - <<<"$(jq '.steps[1].parameters = {x: 1}' "$T/pair.json")"
	assert_output "pair updated to version 2"
	run -0 apphub -q workflow add - <<<"$(jq '.name = "renamed"' "$T/pair.json")"
	assert_output pair
	run -0 apphub workflow show pair --json
	assert_equal "$(jq -c '[.version, .currentVersion, .versions, .name]' <<<"$output")" '[3,3,[3,2,1],"renamed"]'
	run -0 apphub workflow show pair --version 2 --json
	assert_equal "$(jq -c '[.version, .currentVersion, .steps[1].parameters, .definition.name]' <<<"$output")" '[2,3,{"x":1},"pair"]'
	run -0 apphub workflow show pair --version 1 --json
	assert_equal "$(jq -c '.steps[1].parameters' <<<"$output")" '{}'
	run --separate-stderr -2 apphub workflow show pair --version 4
	assert_stderr_partial "workflow 'pair' has no version 4"
	run -0 apphub workflow ls --json
	assert_equal "$(jq -c '[.data[] | [.slug, .version]]' <<<"$output")" '[["pair",3]]'
}

@test "show: steps, roots, topological order and edges; --json has the dag" {
	wf_add "$DIAMOND_YAML"
	run -0 apphub workflow show diamond
	assert_line --regexp '^slug: +diamond$'
	assert_line --regexp '^version: +1 \(current 1\)$'
	assert_line --regexp '^  fetch +job +echo$'
	assert_line --regexp '^  left +job +echo <- fetch$'
	assert_line --regexp '^  right +service +http://127\.0\.0\.1:9/\{\{ steps\.fetch\.result\.p\.n \}\} <- fetch$'
	assert_line --regexp '^  join +fanout +each <- left, right$'
	assert_line --regexp '^roots: +fetch$'
	assert_line --regexp '^order: +fetch left right join$'
	run -0 apphub workflow show diamond --json
	assert_equal "$(jq -c .dag <<<"$output")" \
		'{"edges":[["fetch","left"],["fetch","right"],["left","join"],["right","join"]],"order":["fetch","left","right","join"],"roots":["fetch"]}'
	assert_equal "$(jq -c '.definition.dag' <<<"$output")" "$(jq -c .dag <<<"$output")"
	run --separate-stderr -2 apphub workflow show nosuch
	assert_stderr_partial "workflow 'nosuch' not found"
	run --separate-stderr -129 apphub workflow show w-000000000000 --dot
}

@test "show --dot: a Graphviz digraph of every step and edge" {
	wf_add "$DIAMOND_YAML"
	run -0 apphub workflow show diamond --dot
	assert_line --index 0 'digraph "diamond" {'
	assert_line --index -1 '}'
	# the nodes and edges, parsed out of the dot text
	nodes=$(sed -n 's/^\t"\([^"]*\)" \[label="[^"]*", shape=\([a-z0-9]*\)\];$/\1:\2/p' <<<"$output" | paste -sd' ')
	assert_equal "$nodes" 'fetch:box left:box right:ellipse join:box3d'
	edges=$(sed -n 's/^\t"\([^"]*\)" -> "\([^"]*\)";$/\1>\2/p' <<<"$output" | paste -sd' ')
	assert_equal "$edges" 'fetch>left fetch>right left>join right>join'
	if command -v dot >/dev/null; then
		apphub workflow show diamond --dot | dot -Tsvg >"$T/g.svg"
		grep -q '<svg' "$T/g.svg"
	fi
	# ids that need quoting are escaped
	wf_add '{"slug":"odd","steps":[{"id":"a_1","jobSlug":"echo"},{"id":"B-2","jobSlug":"echo","dependsOn":["a_1"]}]}'
	run -0 apphub workflow show odd --dot
	assert_line $'\t"a_1" -> "B-2";'
}

@test "rm: removed with its versions; refused (exit 3) while a run is pending" {
	command -v bwrap >/dev/null || skip 'bwrap is not installed'
	wf_job echo "$WF_ECHO"
	wf_add '{"slug":"gone","steps":[{"id":"a","jobSlug":"echo"}]}'
	wf_add '{"slug":"kept","steps":[{"id":"a","jobSlug":"echo"}]}'
	id=$(apphub -q workflow run gone --detach)
	run --separate-stderr -3 apphub workflow rm gone
	assert_stderr_partial "workflow 'gone' has a run in progress: '$id'"
	run -0 apphub -q workflow ls
	assert_output $'gone\nkept'
	run --separate-stderr -0 apphub workflow work
	assert_output --partial "$id gone succeeded"
	run -0 apphub workflow rm gone
	assert_output "removed gone"
	run -0 apphub -q workflow ls
	assert_output kept
	run --separate-stderr -2 apphub workflow show gone
	run --separate-stderr -2 apphub workflow show "$id"
	run --separate-stderr -2 apphub workflow rm gone
	assert_stderr_partial "workflow 'gone' not found"
	# the slug is free again: a new workflow starts at version 1
	run -0 apphub workflow add - <<<'{"slug":"gone","steps":[{"id":"z","jobSlug":"echo"}]}'
	assert_output "gone added as version 1"
}

# refused TEXT MESSAGE: workflow add of TEXT exits 1 saying MESSAGE, and
# stores nothing (ls unchanged).
refused() {
	local before
	before=$(apphub workflow ls --json | jq -c .)
	run --separate-stderr -1 apphub workflow add - <<<"$1"
	assert_stderr_partial "$2"
	assert_equal "$(apphub workflow ls --json | jq -c .)" "$before"
}

@test "bad input: unknown step type, template syntax, cron field, time zone, graph errors; nothing stored" {
	wf_add '{"slug":"bad","steps":[{"id":"x","jobSlug":"echo"}]}'
	ok='{"id":"x","jobSlug":"echo"}'
	refused '{"slug":"bad","steps":[{"id":"fetch","type":"foo"}]}' "step 'fetch': unknown type 'foo'"
	refused '{"slug":"bad2","steps":[{"id":"x","jobSlug":"echo","parameters":{"a":"{{ a. }}"}}]}' \
		"step 'x' parameters: template '{{ a. }}'"
	refused '{"slug":"bad2","steps":[{"id":"s","type":"service","url":"http://h/{{ x[ }}"}]}' \
		"step 's' url: template '{{ x[ }}'"
	refused "{\"slug\":\"bad\",\"steps\":[$ok],\"schedules\":[{\"name\":\"s\",\"cron\":\"61 * * * *\"}]}" \
		"cron '61 * * * *': bad minute field '61'"
	refused "{\"slug\":\"bad\",\"steps\":[$ok],\"schedules\":[{\"name\":\"s\",\"cron\":\"0 0 * 13 *\"}]}" \
		"bad month field '13'"
	refused "{\"slug\":\"bad\",\"steps\":[$ok],\"schedules\":[{\"name\":\"s\",\"cron\":\"0 * * * *\",\"timezone\":\"Mars/Olympus\"}]}" \
		"unknown time zone 'Mars/Olympus'"
	refused "{\"slug\":\"bad\",\"steps\":[$ok,$ok]}" "step 'x' is defined twice"
	refused '{"slug":"bad","steps":[{"id":"x","jobSlug":"echo","dependsOn":["ghost"]}]}' \
		"step 'x' depends on 'ghost', which is not a step"
	refused '{"slug":"bad","steps":[{"id":"a","jobSlug":"echo","dependsOn":["c"]},{"id":"b","jobSlug":"echo","dependsOn":["a"]},{"id":"c","jobSlug":"echo","dependsOn":["b"]}]}' \
		"the steps form a cycle: a -> b -> c -> a"
	refused '{"slug":"Bad!","steps":[{"id":"x","jobSlug":"echo"}]}' "slug 'Bad!'"
	refused '{"slug":"bad","steps":[{"id":"a:b","jobSlug":"echo"}]}' "id 'a:b' must match"
	refused '{"slug":"bad","steps":[{"id":"x"}]}' "step 'x': type: required"
	refused $'slug: bad\nsteps:\n  - id: x\n    jobSlug: [unclosed' "line 5"
	refused '{"slug":"bad", "steps": [}' "line 1"
	run -0 apphub workflow show bad --json
	assert_equal "$(jq -c '[.version, .steps[0].id]' <<<"$output")" '[1,"x"]'
}

@test "bad input: over the limits (steps, dependsOn, maxItems, maxConcurrency, retries, 1 MiB)" {
	refused "$(jq -nc '{slug: "big", steps: [range(101) | {id: "s\(.)", jobSlug: "echo"}]}')" "1 to 100 steps"
	refused '{"slug":"big","steps":[]}' "1 to 100 steps"
	refused "$(jq -nc '{slug: "big", steps: ([range(26) | {id: "s\(.)", jobSlug: "echo"}]
		+ [{id: "many", jobSlug: "echo", dependsOn: [range(26) | "s\(.)"]}])}')" "at most 25"
	refused '{"slug":"big","steps":[{"id":"f","type":"fanout","collection":[1],"maxItems":10001,"template":{"id":"t","jobSlug":"echo"}}]}' \
		"maxItems: must be an integer from 1 to 10000"
	refused '{"slug":"big","steps":[{"id":"f","type":"fanout","collection":[1],"maxConcurrency":1001,"template":{"id":"t","jobSlug":"echo"}}]}' \
		"maxConcurrency: must be an integer from 1 to 1000"
	refused '{"slug":"big","steps":[{"id":"x","jobSlug":"echo","retryPolicy":{"maxAttempts":21}}]}' \
		"maxAttempts: must be an integer from 1 to 20"
	refused '{"slug":"big","maxParallel":1001,"steps":[{"id":"x","jobSlug":"echo"}]}' "maxParallel: must be an integer from 1 to 1000"
	refused "{\"slug\":\"big\",\"steps\":[{\"id\":\"x\",\"jobSlug\":\"echo\"}],\"description\":\"$(head -c 1100000 /dev/zero | tr '\0' x)\"}" \
		"larger than 1 MiB"
	python3 -c 'import json; print(json.dumps({"slug": "big", "description": "x" * (1 << 20), "steps": [{"id": "x", "jobSlug": "echo"}]}))' >"$T/big.json"
	run --separate-stderr -1 apphub workflow add "$T/big.json"
	assert_stderr_partial "larger than 1 MiB"
	run -0 apphub -q workflow ls
	assert_output ''
}

@test "over HTTP the graph errors are 400 with their codes: duplicate_step, missing_dependency, cycle_detected" {
	start_serve
	r=$(http POST /workflows -d '{"slug":"h","steps":[{"id":"x","jobSlug":"echo"},{"id":"x","jobSlug":"echo"}]}')
	assert_equal "$(status_of "$r")" 400
	assert_equal "$(body_of "$r" | jq -r .error.code)" duplicate_step
	r=$(http POST /workflows -d '{"slug":"h","steps":[{"id":"x","jobSlug":"echo","dependsOn":["ghost"]}]}')
	assert_equal "$(status_of "$r")" 400
	assert_equal "$(body_of "$r" | jq -r .error.code)" missing_dependency
	[[ $(body_of "$r" | jq -r .error.message) == *"'ghost'"* ]]
	r=$(http POST /workflows -d '{"slug":"h","steps":[{"id":"a","jobSlug":"echo","dependsOn":["b"]},{"id":"b","jobSlug":"echo","dependsOn":["a"]}]}')
	assert_equal "$(status_of "$r")" 400
	assert_equal "$(body_of "$r" | jq -r .error.code)" cycle_detected
	[[ $(body_of "$r" | jq -r .error.message) == *"a -> b -> a"* ]]
	r=$(http POST /workflows -d '{"slug":"h","steps":[{"id":"fetch","type":"foo"}]}')
	assert_equal "$(status_of "$r")" 400
	assert_equal "$(body_of "$r" | jq -r .error.code)" invalid
	r=$(http GET /workflows)
	assert_equal "$(body_of "$r" | jq -c .data)" '[]'
	stop_serve
}
