#!/usr/bin/env bats
# A workflow definition read from JSON or YAML (lib/yaml-json.c) and checked
# into its normalized form (lib/workflow-def.c) through test-tool: every error
# of the issue's "Bad input" names what is wrong, defaults are filled in, and
# the two spellings of one definition normalize to the same bytes.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

TOOL="$BATS_TEST_DIRNAME/helper/test-tool"

# def TEXT: checks the definition TEXT (JSON or YAML) from stdin.
def() {
	"$TOOL" workflow-def - <<<"$1"
}

# bad 'TEXT' 'STDERR': the definition is refused with exactly that message.
bad() {
	run -1 --separate-stderr def "$1"
	assert_stderr "$2"
	assert_equal "$output" ""
}

@test "yaml: plain scalars typed by YAML 1.2's core schema, quoted and block ones strings" {
	run -0 "$TOOL" yaml - <<'EOF'
nulls: [null, Null, NULL, ~]
empty:
bools: [true, True, TRUE, false, False, FALSE, yes, no, on]
ints: [0, -12, +7, 0o17, 0x1F, 9223372036854775807, -9223372036854775808]
floats: [1.5, -0.25, 1e3, .5, 6.02E+23]
strings: ['1', "true", 0o9, 0xZZ, 1.2.3, !!str 42]
block: |
  two
  lines
1: numeric key
true: boolean key
EOF
	assert_equal "$(jq -c '[.nulls, .empty]' <<<"$output")" '[[null,null,null,null],null]'
	assert_equal "$(jq -c .bools <<<"$output")" '[true,true,true,false,false,false,"yes","no","on"]'
	# (jq would round the 64-bit ends)
	assert_equal "$(grep -o '"ints":\[[^]]*\]' <<<"$output")" '"ints":[0,-12,7,15,31,9223372036854775807,-9223372036854775808]'
	assert_equal "$(jq -c .floats <<<"$output")" '[1.5,-0.25,1000,0.5,6.02e+23]'
	assert_equal "$(jq -c .strings <<<"$output")" '["1","true","0o9","0xZZ","1.2.3","42"]'
	assert_equal "$(jq -r .block <<<"$output")" $'two\nlines'
	assert_equal "$(jq -r '."1"' <<<"$output")" 'numeric key'
	assert_equal "$(jq -r '."true"' <<<"$output")" 'boolean key'
}

@test "yaml: what JSON cannot hold or what could blow up is refused with its line and column" {
	run -1 --separate-stderr "$TOOL" yaml - <<<$'a: 1\nb: .inf'
	assert_stderr "error 400 invalid: line 2, column 4: infinite and not-a-number floats cannot be JSON"
	run -1 --separate-stderr "$TOOL" yaml - <<<'n: .nan'
	assert_stderr "error 400 invalid: line 1, column 4: infinite and not-a-number floats cannot be JSON"
	run -1 --separate-stderr "$TOOL" yaml - <<<'n: 9223372036854775808'
	assert_stderr "error 400 invalid: line 1, column 4: integer out of range (beyond 64 bits)"
	run -1 --separate-stderr "$TOOL" yaml - <<<'n: 1e999'
	assert_stderr "error 400 invalid: line 1, column 4: float out of range"
	run -1 --separate-stderr "$TOOL" yaml - <<<$'a: &x [1, 2]\nb: *x'
	assert_stderr "error 400 invalid: line 1, column 4: anchors are not supported"
	run -1 --separate-stderr "$TOOL" yaml - <<<$'a: 1\nb: *x'
	assert_stderr "error 400 invalid: line 2, column 4: aliases are not supported"
	run -1 --separate-stderr "$TOOL" yaml - <<<$'a: 1\n<<: {b: 2}'
	assert_stderr "error 400 invalid: line 2, column 1: merge keys ('<<') are not supported"
	run -1 --separate-stderr "$TOOL" yaml - <<<$'a: 1\nb: 2\na: 3'
	assert_stderr "error 400 invalid: line 3, column 1: duplicate key 'a'"
	run -1 --separate-stderr "$TOOL" yaml - <<<$'a: 1\n---\nb: 2'
	assert_stderr "error 400 invalid: line 2, column 1: more than one document"
	run -1 --separate-stderr "$TOOL" yaml - <<<$'? [a]\n: 1'
	assert_stderr "error 400 invalid: line 1, column 3: a mapping key must be a scalar"
	run -1 --separate-stderr "$TOOL" yaml - <<<$'a: [1, 2\nb: c'
	assert_stderr_regex "^error 400 invalid: line 2, column [0-9]+: did not find expected ',' or ']'$"
	python3 -c 'print("[" * 100 + "]" * 100)' >"$BATS_TEST_TMPDIR/deep.yaml"
	run -1 --separate-stderr "$TOOL" yaml "$BATS_TEST_TMPDIR/deep.yaml"
	assert_stderr "error 400 invalid: line 1, column 65: too deeply nested (more than 64 levels)"
	# the billion laughs stop at the first anchor, nothing is expanded
	printf 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\n' >"$BATS_TEST_TMPDIR/bomb.yaml"
	run -1 --separate-stderr "$TOOL" yaml "$BATS_TEST_TMPDIR/bomb.yaml"
	assert_stderr "error 400 invalid: line 1, column 4: anchors are not supported"
}

@test "defaults are filled in: name, type, dependsOn, retry policy, method, timeouts, fan-out limits" {
	run -0 def '
slug: etl
steps:
  - id: fetch
    jobSlug: fetcher
  - id: call
    type: service
    url: "https://example.com/{{ steps.fetch.result.id }}"
    dependsOn: fetch
  - id: fan
    type: fanout
    dependsOn: [fetch]
    collection: "{{ steps.fetch.result.items }}"
    template: {id: each, jobSlug: worker@1.2.0, parameters: {i: "{{ item }}", n: "{{ fanout.index }}"}}
'
	assert_equal "$(jq -r .name <<<"$output")" etl
	assert_equal "$(jq -c '[.defaultParameters, .schedules, .autoMaterialize]' <<<"$output")" '[{},[],{"onUpstreamUpdate":false}]'
	assert_equal "$(jq -c '.steps[0] | [.type, .dependsOn, .parameters, .produces, .consumes]' <<<"$output")" '["job",[],{},[],[]]'
	assert_equal "$(jq -c '.steps[0].retryPolicy' <<<"$output")" '{"initialDelayMs":1000,"maxAttempts":3,"maxDelayMs":64000,"strategy":"fixed"}'
	assert_equal "$(jq -c '.steps[1] | [.method, .headers, .timeoutMs, .dependsOn]' <<<"$output")" '["GET",{},30000,["fetch"]]'
	assert_equal "$(jq -c '.steps[2] | [.maxItems, .maxConcurrency, .template.type, .template.id]' <<<"$output")" '[100,10,"job","each"]'
	assert_equal "$(jq -c .dag <<<"$output")" '{"edges":[["fetch","call"],["fetch","fan"]],"order":["fetch","call","fan"],"roots":["fetch"]}'
	# a long initial delay caps the default maximum at one day
	run -0 def '{"slug":"x","steps":[{"id":"a","jobSlug":"j","retryPolicy":{"initialDelayMs":3600000,"strategy":"exponential"}}]}'
	assert_equal "$(jq -c '.steps[0].retryPolicy' <<<"$output")" '{"initialDelayMs":3600000,"maxAttempts":3,"maxDelayMs":86400000,"strategy":"exponential"}'
}

@test "the YAML and the JSON of one definition normalize to the same bytes" {
	cat >"$BATS_TEST_TMPDIR/d.yaml" <<'EOF'
# the nightly report
slug: report
name: Nightly report
maxParallel: 4
parametersSchema:
  type: object
  properties:
    day: {type: string}
    limit: {type: integer, minimum: 1}
defaultParameters:
  limit: 10
steps:
  - id: list
    jobSlug: lister
    parameters:
      day: "{{ parameters.day }}"
      limit: "{{ parameters.limit }}"
    storeResultAs: listing
  - id: each
    type: fanout
    dependsOn: [list]
    collection: "{{ steps.list.result.items }}"
    maxItems: 500
    template:
      id: one
      type: service
      url: "http://127.0.0.1:9/item/{{ item.id }}"
      method: post
      headers: {X-Index: "{{ fanout.index }}"}
      body: {item: "{{ item }}"}
    storeResultsAs: results
  - id: sum
    jobSlug: summer@2.0.1
    dependsOn: [each]
    produces: [{assetId: reports/daily, freshness: {ttlMs: 86400000}}]
EOF
	cat >"$BATS_TEST_TMPDIR/d.json" <<'EOF'
{"steps": [
  {"parameters": {"limit": "{{ parameters.limit }}", "day": "{{ parameters.day }}"}, "jobSlug": "lister",
   "id": "list", "storeResultAs": "listing", "type": "job"},
  {"id": "each", "type": "fanout", "dependsOn": ["list"], "collection": "{{ steps.list.result.items }}",
   "maxItems": 500, "maxConcurrency": 10, "storeResultsAs": "results",
   "template": {"id": "one", "type": "service", "url": "http://127.0.0.1:9/item/{{ item.id }}",
     "method": "POST", "headers": {"X-Index": "{{ fanout.index }}"}, "body": {"item": "{{ item }}"},
     "timeoutMs": 30000}},
  {"id": "sum", "jobSlug": "summer@2.0.1", "dependsOn": ["each"],
   "produces": [{"assetId": "reports/daily", "freshness": {"ttlMs": 86400000}}],
   "retryPolicy": {"maxAttempts": 3}}
 ],
 "slug": "report", "name": "Nightly report", "maxParallel": 4, "version": 7,
 "parametersSchema": {"type": "object", "properties": {"day": {"type": "string"}, "limit": {"type": "integer", "minimum": 1}}},
 "defaultParameters": {"limit": 10}, "autoMaterialize": {"onUpstreamUpdate": false}}
EOF
	run -0 "$TOOL" workflow-def "$BATS_TEST_TMPDIR/d.yaml"
	yaml_out=$output
	run -0 "$TOOL" workflow-def "$BATS_TEST_TMPDIR/d.json"
	assert_equal "$output" "$yaml_out"
	assert_equal "$(jq -c '.steps[1].template.method' <<<"$output")" '"POST"'
	# the same again is the same bytes (what `add` compares)
	run -0 "$TOOL" workflow-def "$BATS_TEST_TMPDIR/d.yaml"
	assert_equal "$output" "$yaml_out"
}

@test "the graph's errors: duplicate_step, missing_dependency with the id, cycle_detected with the path" {
	bad '{"slug":"w","steps":[{"id":"a","jobSlug":"j"},{"id":"a","jobSlug":"j"}]}' \
		"error 400 duplicate_step: step 'a' is defined twice"
	run -1 --separate-stderr def '{"slug":"w","steps":[{"id":"a","jobSlug":"j","dependsOn":["ghost"]}]}'
	assert_stderr_regex "^error 400 missing_dependency: .*'ghost'"
	bad $'slug: w\nsteps:\n- {id: a, jobSlug: j, dependsOn: [c]}\n- {id: b, jobSlug: j, dependsOn: [a]}\n- {id: c, jobSlug: j, dependsOn: [b]}' \
		"error 400 cycle_detected: the steps form a cycle: a -> b -> c -> a"
}

@test "bad steps are named: unknown type, unknown field, template syntax naming step and field" {
	bad '{"slug":"w","steps":[{"id":"fetch","type":"foo"}]}' "error 400 invalid: step 'fetch': unknown type 'foo'"
	bad '{"slug":"w","steps":[{"id":"fetch"}]}' "error 400 invalid: step 'fetch': type: required (job, service or fanout)"
	bad '{"slug":"w","steps":[{"id":"fetch","jobSlug":"j","paramaters":{}}]}' \
		"error 400 invalid: step 'fetch': unknown field 'paramaters' for a job step"
	bad '{"slug":"w","stpes":[]}' "error 400 invalid: unknown field 'stpes'"
	bad '{"slug":"w","steps":[{"id":"x","jobSlug":"j","parameters":{"a":"{{ a. }}"}}]}' \
		"error 400 invalid: step 'x' parameters: template '{{ a. }}': a name that does not start with a letter or '_'"
	run -1 --separate-stderr def '{"slug":"w","steps":[{"id":"s","type":"service","url":"http://h/{{ x"}]}'
	assert_stderr_regex "^error 400 invalid: step 's' url: "
	run -1 --separate-stderr def '{"slug":"w","steps":[{"id":"s","type":"service","url":"http://h/","headers":{"A":"{{ }}"}}]}'
	assert_stderr_regex "^error 400 invalid: step 's' headers: "
	run -1 --separate-stderr def '{"slug":"w","steps":[{"id":"f","type":"fanout","collection":[1],"template":{"id":"t","jobSlug":"j","parameters":{"i":"{{ item[ }}"}}}]}'
	assert_stderr_regex "^error 400 invalid: step 'f' template 't' parameters: "
	bad '{"slug":"w","steps":[{"id":"f","type":"fanout","collection":[1],"template":{"id":"t","jobSlug":"j","dependsOn":["x"]}}]}' \
		"error 400 invalid: step 'f' template 't': a fanout's template takes no dependsOn (the fanout step does)"
	bad '{"slug":"w","steps":[{"id":"f","type":"fanout","collection":[1],"template":{"id":"t","type":"fanout"}}]}' \
		"error 400 invalid: step 'f' template 't': unknown type 'fanout' (a fanout's template is a job or a service)"
	bad '{"slug":"w","steps":[{"id":"f","type":"fanout","collection":[1],"template":{"jobSlug":"j"}}]}' \
		"error 400 invalid: step 'f' template: id: required"
	bad '{"slug":"w","steps":[{"id":"s","type":"service","url":"file:///etc/passwd"}]}' \
		"error 400 invalid: step 's': url 'file:///etc/passwd' must be http:// or https://"
	bad '{"slug":"w","steps":[{"id":"s","type":"service","url":"http://h/","app":"web"}]}' \
		"error 400 invalid: step 's': a service step takes one of url and app"
	bad '{"slug":"w","steps":[{"id":"s","type":"service","url":"http://h/","method":"FETCH"}]}' \
		"error 400 invalid: step 's': method 'FETCH' is not one of GET HEAD POST PUT PATCH DELETE OPTIONS"
	bad '{"slug":"w","steps":[{"id":"s","type":"service","url":"http://h/","headers":{"A":"x\r\nB: y"}}]}' \
		"error 400 invalid: step 's': header 'A' must be a string without CR, LF or NUL"
	bad '{"slug":"w","steps":[{"id":"j","jobSlug":"Bad Slug"}]}' \
		"error 400 invalid: step 'j': jobSlug 'Bad Slug' must be a job's slug (1 to 64 of a-z, 0-9 and '-') with an optional @version"
	bad '{"slug":"w","steps":[{"id":"a:b","jobSlug":"j"}]}' \
		"error 400 invalid: step 1: id 'a:b' must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"
	bad '{"slug":"w","steps":[{"id":"j","jobSlug":"j","retryPolicy":{"strategy":"linear"}}]}' \
		"error 400 invalid: step 'j': retryPolicy: strategy: must be 'fixed' or 'exponential'"
	bad '{"slug":"w","steps":[{"id":"j","jobSlug":"j","retryPolicy":{"maxAttemps":2}}]}' \
		"error 400 invalid: step 'j': retryPolicy: unknown field 'maxAttemps'"
}

@test "over the limits: steps, dependsOn, maxItems, maxConcurrency, attempts, delays, size" {
	steps=$(python3 -c 'import json; print(json.dumps({"slug":"w","steps":[{"id":"s%d" % i,"jobSlug":"j"} for i in range(101)]}))')
	bad "$steps" "error 400 invalid: steps: must be an array of 1 to 100 steps"
	bad '{"slug":"w","steps":[]}' "error 400 invalid: steps: must be an array of 1 to 100 steps"
	deps=$(python3 -c 'import json; s=[{"id":"s%d" % i,"jobSlug":"j"} for i in range(26)]; s.append({"id":"last","jobSlug":"j","dependsOn":["s%d" % i for i in range(26)]}); print(json.dumps({"slug":"w","steps":s}))')
	bad "$deps" "error 400 invalid: step 'last': dependsOn: must be an array of at most 25 step ids"
	bad '{"slug":"w","steps":[{"id":"f","type":"fanout","collection":"{{ x }}","maxItems":10001,"template":{"id":"t","jobSlug":"j"}}]}' \
		"error 400 invalid: step 'f': maxItems: must be an integer from 1 to 10000"
	bad '{"slug":"w","steps":[{"id":"f","type":"fanout","collection":"{{ x }}","maxConcurrency":1001,"template":{"id":"t","jobSlug":"j"}}]}' \
		"error 400 invalid: step 'f': maxConcurrency: must be an integer from 1 to 1000"
	bad '{"slug":"w","steps":[{"id":"f","type":"fanout","collection":[1,2,3],"maxItems":2,"template":{"id":"t","jobSlug":"j"}}]}' \
		"error 400 invalid: step 'f': collection has 3 items, more than maxItems (2)"
	bad '{"slug":"w","steps":[{"id":"j","jobSlug":"j","retryPolicy":{"maxAttempts":21}}]}' \
		"error 400 invalid: step 'j': retryPolicy: maxAttempts: must be an integer from 1 to 20"
	bad '{"slug":"w","steps":[{"id":"j","jobSlug":"j","retryPolicy":{"maxDelayMs":86400001}}]}' \
		"error 400 invalid: step 'j': retryPolicy: maxDelayMs: must be an integer from 1000 to 86400000"
	bad '{"slug":"w","maxParallel":0,"steps":[{"id":"j","jobSlug":"j"}]}' \
		"error 400 invalid: maxParallel: must be an integer from 1 to 1000"
	bad '{"slug":"Bad","steps":[{"id":"j","jobSlug":"j"}]}' \
		"error 400 invalid: slug 'Bad' must match ^[a-z0-9][a-z0-9-_]*$ (at most 100)"
	bad "{\"slug\":\"$(printf 'a%.0s' $(seq 101))\",\"steps\":[{\"id\":\"j\",\"jobSlug\":\"j\"}]}" \
		"error 400 invalid: slug: must be a string of 1 to 100 bytes"
	python3 -c 'import json; print(json.dumps({"slug":"w","description":"x" * (1 << 20),"steps":[{"id":"j","jobSlug":"j"}]}))' >"$BATS_TEST_TMPDIR/big.json"
	run -1 --separate-stderr "$TOOL" workflow-def "$BATS_TEST_TMPDIR/big.json"
	assert_stderr_regex "^error 413 too_large: workflow definition of [0-9]+ bytes is over the 1048576 byte limit$"
}

@test "the parameters' schema must be one apphub reads, and the defaults must match it" {
	run -1 --separate-stderr def '{"slug":"w","parametersSchema":{"type":"object","properties":{"n":{"type":7}}},"steps":[{"id":"j","jobSlug":"j"}]}'
	assert_stderr_regex "^error 400 invalid: parametersSchema.properties.n.type"
	run -1 --separate-stderr def '{"slug":"w","parametersSchema":{"type":"object","properties":{"n":{"type":"integer"}}},"defaultParameters":{"n":"three"},"steps":[{"id":"j","jobSlug":"j"}]}'
	assert_stderr_regex "^error 400 invalid: defaultParameters.n: "
	bad '{"slug":"w","parametersSchema":{"type":"object","additionalProperties":false,"properties":{}},"defaultParameters":{"m":1},"steps":[{"id":"j","jobSlug":"j"}]}' \
		"error 400 invalid: defaultParameters.m: not a property of parametersSchema"
}

@test "syntax errors give their line: YAML and JSON" {
	run -1 --separate-stderr def $'slug: w\nsteps:\n  - id: a\n   jobSlug: j'
	assert_stderr_regex "^error 400 invalid: invalid workflow definition: line 4, column [0-9]+: "
	run -1 --separate-stderr def $'{"slug": "w",\n "steps": [\n  {"id": "a",}\n ]}'
	assert_stderr_regex "^error 400 invalid: invalid workflow definition: line 3: "
	bad $'{"slug": "w", "slug": "v", "steps": []}' \
		"error 400 invalid: invalid workflow definition: line 1: duplicate key at column 20"
	bad '- a list' "error 400 invalid: invalid workflow definition: must be an object (a mapping)"
	bad '' "error 400 invalid: invalid workflow definition: must be an object (a mapping)"
	bad $'slug: w\nsteps: *s' "error 400 invalid: invalid workflow definition: line 2, column 8: aliases are not supported"
}
