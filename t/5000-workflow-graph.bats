#!/usr/bin/env bats
# The pieces workflows are made of, driven through test-tool: a definition's
# steps as a graph (duplicate_step, missing_dependency, cycle_detected with
# its path; roots, order, edges) and the {{ }} templates of its steps.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

TOOL="$BATS_TEST_DIRNAME/helper/test-tool"

@test "dag: roots, a topological order with ties in definition order, edges" {
	run -0 "$TOOL" dag '[{"id":"fetch"},{"id":"parse","dependsOn":["fetch"]},
		{"id":"audit"},{"id":"report","dependsOn":["parse","audit"]},{"id":"notify","dependsOn":["fetch"]}]'
	assert_equal "$(jq -c .roots <<<"$output")" '["fetch","audit"]'
	assert_equal "$(jq -c .order <<<"$output")" '["fetch","parse","audit","report","notify"]'
	assert_equal "$(jq -c .edges <<<"$output")" '[["fetch","parse"],["parse","report"],["audit","report"],["fetch","notify"]]'
}

@test "dag: a cycle is named by its path, a self-dependency too" {
	run -1 --separate-stderr "$TOOL" dag '[{"id":"a","dependsOn":["c"]},{"id":"b","dependsOn":["a"]},{"id":"c","dependsOn":["b"]},{"id":"d"}]'
	assert_stderr "cycle_detected: the steps form a cycle: a -> b -> c -> a"
	run -1 --separate-stderr "$TOOL" dag '[{"id":"x"},{"id":"y","dependsOn":["x","y"]}]'
	assert_stderr "cycle_detected: the steps form a cycle: y -> y"
}

@test "dag: duplicate steps, missing dependencies and malformed steps are refused by name" {
	run -1 --separate-stderr "$TOOL" dag '[{"id":"a"},{"id":"b"},{"id":"a"}]'
	assert_stderr "duplicate_step: step 'a' is defined twice"
	run -1 --separate-stderr "$TOOL" dag '[{"id":"a","dependsOn":["ghost"]}]'
	assert_stderr "missing_dependency: step 'a' depends on 'ghost', which is not a step"
	run -1 --separate-stderr "$TOOL" dag '[]'
	assert_stderr_partial "steps: must be a list of 1 to 100 steps"
	run -1 --separate-stderr "$TOOL" dag '[{"name":"no id"}]'
	assert_stderr "invalid: steps[0]: id: required"
	run -1 --separate-stderr "$TOOL" dag '[{"id":"a","dependsOn":"b"}]'
	assert_stderr "invalid: step 'a': dependsOn: must be a list of step ids"
	deps=$(jq -nc '[range(26) | "s\(.)"]')
	steps=$(jq -nc --argjson d "$deps" '[range(26) | {id: "s\(.)"}] + [{id: "many", dependsOn: $d}]')
	run -1 --separate-stderr "$TOOL" dag "$steps"
	assert_stderr "invalid: step 'many': dependsOn: more than 25 steps"
	run -1 --separate-stderr "$TOOL" dag "$(jq -nc '[range(101) | {id: "s\(.)"}]')"
	assert_stderr "invalid: steps: more than 100 steps"
}

@test "dag: a 100-step chain is ordered" {
	steps=$(jq -nc '[range(100) | {id: "s\(.)"} + (if . > 0 then {dependsOn: ["s\(. - 1)"]} else {} end)] | reverse')
	run -0 "$TOOL" dag "$steps"
	assert_equal "$(jq -c '.order[0], .order[99], .roots' <<<"$output" | tr '\n' ' ')" '"s0" "s99" ["s0"] '
}

SCOPE='{"parameters":{"n":3,"name":"ada"},"steps":{"fetch":{"status":"succeeded","result":{"items":[{"id":"a"},{"id":"b"}],"total":2}}},"shared":{},"run":{"id":"wr-1"},"item":{"x":1},"fanout":{"index":0}}'

@test "template: a string that is one template is the raw value; longer strings get text" {
	run -0 "$TOOL" template '{"n":"{{ parameters.n }}","items":"{{steps.fetch.result.items}}",
		"url":"https://h/{{ steps.fetch.result.items[1].id }}?n={{parameters.n}}&name={{ parameters.name }}",
		"obj":"got {{ steps.fetch.result.items[0] }}","plain":"no templates","num":5,"list":["{{ item.x }}",{"deep":"{{ fanout.index }}"}]}' "$SCOPE"
	assert_equal "$(jq -c . <<<"$output")" \
		'{"n":3,"items":[{"id":"a"},{"id":"b"}],"url":"https://h/b?n=3&name=ada","obj":"got {\"id\":\"a\"}","plain":"no templates","num":5,"list":[1,{"deep":0}]}'
}

@test "template: a path that does not resolve names the template and the field" {
	run -1 --separate-stderr "$TOOL" template '"{{ steps.fetch.result.missing }}"' "$SCOPE"
	assert_stderr "422 unresolved_template: value: template '{{ steps.fetch.result.missing }}': steps.fetch.result has no field 'missing'"
	run -1 --separate-stderr "$TOOL" template '"x{{ steps.fetch.result.items[2].id }}"' "$SCOPE"
	assert_stderr "422 unresolved_template: value: template '{{ steps.fetch.result.items[2].id }}': steps.fetch.result.items has 2 items, no [2]"
	run -1 --separate-stderr "$TOOL" template '"{{ parameters.n.digits }}"' "$SCOPE"
	assert_stderr "422 unresolved_template: value: template '{{ parameters.n.digits }}': parameters.n is a number, not an object"
	run -1 --separate-stderr "$TOOL" template '"{{ secrets.key }}"' "$SCOPE"
	assert_stderr_partial "no 'secrets' (the names are parameters, steps, shared, run, item and fanout)"
}

@test "template: syntax errors are found before anything runs" {
	run -0 "$TOOL" template --check '{"a":"{{ steps.x.result[0].y }} and {{parameters.z}}","b":["{{ item }}"]}'
	assert_output ok
	for bad in '{{ }}' '{{ a. }}' '{{ a[x] }}' '{{ a[1 }}' '{{ 9lives }}' '{{ a b }}' 'x {{ a'; do
		run -1 --separate-stderr "$TOOL" template --check "$(jq -nc --arg s "$bad" '$s')"
		assert_stderr_regex "^400 invalid: value: template '"
	done
}

@test "template: rendering is capped in depth and in what it makes" {
	deep=$(python3 -c 'print("[" * 40 + "1" + "]" * 40)')
	run -1 --separate-stderr "$TOOL" template "$deep" '{}'
	assert_stderr_partial "nests deeper than 32 levels"
	# (an argument holds at most 128 KiB: twelve copies of 100 KB)
	big=$(python3 -c 'import json; print(json.dumps({"parameters": {"s": "x" * 100000}}))')
	run -1 --separate-stderr "$TOOL" template "$(jq -nc '[range(12) | "{{ parameters.s }}"]')" "$big"
	assert_stderr_partial "413 too_large: value: templates make more than 1048576 bytes"
}
