#!/usr/bin/env bats
# apphub workflow run, runs, show RUN, cancel, work: a run's record and exit
# status; parameters typed by the schema and checked before anything is
# queued; parallel branches; fan-out ids, metrics and storeResultsAs;
# templates; retries and their delays; cancel; run keys; --detach and
# work; --follow; events; service steps against a loopback server.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/serve'
load 'test_helper/workflow'

setup_file() {
	[[ -x $BATS_TEST_DIRNAME/../apphub-workflow ]] || skip 'apphub-workflow is not built'
	command -v bwrap >/dev/null || skip 'bwrap is not installed'
}

setup() {
	wf_setup
	T=$BATS_TEST_TMPDIR
}

# wf_events [JQ-FILTER-ON-EACH]: the workflow events as compact lines, oldest first.
wf_events() {
	apphub events --type 'workflow.*' --limit 1000 --json | jq -c ".data[] | ${1:-[.type, .data.stepId]}"
}

@test "a run's record: ids, status, context, output of the sink steps, metrics, trigger; exit 0" {
	wf_job echo "$WF_ECHO"
	wf_add '{"slug":"chain","steps":[
		{"id":"a","jobSlug":"echo","parameters":{"x":1},"storeResultAs":"first"},
		{"id":"b","jobSlug":"echo","dependsOn":["a"],"parameters":{"fromA":"{{ steps.a.result.p.x }}"}},
		{"id":"c","jobSlug":"echo","dependsOn":["a"],"parameters":{"shared":"{{ shared.first.p }}"}}]}'
	run --separate-stderr -0 apphub workflow run chain --json
	r=$output
	id=$(jq -r .id <<<"$r")
	[[ $id =~ ^w-[0-9a-f]{12}$ ]]
	assert_equal "$(jq -c '[.workflowSlug, .version, .status, .trigger, .runKey, .errorMessage]' <<<"$r")" \
		'["chain",1,"succeeded",{"type":"manual"},null,null]'
	assert_equal "$(jq -c .metrics <<<"$r")" '{"totalSteps":3,"completedSteps":3}'
	# the output: the results of the steps nothing depends on
	assert_equal "$(jq -c .output <<<"$r")" '{"b":{"p":{"fromA":1}},"c":{"p":{"shared":{"x":1}}}}'
	assert_equal "$(jq -c .context.shared <<<"$r")" '{"first":{"p":{"x":1}}}'
	assert_equal "$(jq -c '[.context.steps | to_entries[] | [.key, .value.status, .value.attempt]]' <<<"$r")" \
		'[["a","succeeded",1],["b","succeeded",1],["c","succeeded",1]]'
	assert_equal "$(jq -c '[.steps[].stepId]' <<<"$r")" '["a","b","c"]'
	# times: started <= each step <= completed; durationMs their difference
	s=$(ms "$(jq -r .startedAt <<<"$r")") e=$(ms "$(jq -r .completedAt <<<"$r")")
	assert_equal "$(jq -r .durationMs <<<"$r")" "$((e - s))"
	for st in a b c; do
		[[ $(ms "$(jq -r --arg s $st '.context.steps[$s].startedAt' <<<"$r")") -ge $s ]]
		[[ $(ms "$(jq -r --arg s $st '.context.steps[$s].completedAt' <<<"$r")") -le $e ]]
	done
	[[ $(ms "$(jq -r '.context.steps.b.startedAt' <<<"$r")") -ge $(ms "$(jq -r '.context.steps.a.completedAt' <<<"$r")") ]]
	# each step's job run: the trigger names the run and the step
	jr=$(jq -r '.context.steps.b.jobRunId' <<<"$r")
	run -0 apphub jobs show "$jr" --json
	assert_equal "$(jq -c '[.status, .trigger, .attempt]' <<<"$output")" \
		"[\"succeeded\",{\"type\":\"workflow\",\"workflowRunId\":\"$id\",\"workflowSlug\":\"chain\",\"stepId\":\"b\"},1]"
	# the text forms
	run --separate-stderr -0 apphub workflow run chain
	assert_line --index 0 --regexp '^w-[0-9a-f]{12} succeeded in [0-9]+ ms$'
	run -0 apphub workflow show "$id"
	assert_line --regexp '^status: +succeeded$'
	assert_line --regexp '^steps: +3 of 3 succeeded$'
	assert_line --regexp "^b +succeeded +1 +$jr +[0-9T:.Z-]+$"
	run -0 apphub -q workflow show "$id"
	assert_output succeeded
}

@test "a failed step: its dependents skipped, the run failed naming it; exit 1; events" {
	wf_job echo "$WF_ECHO"
	wf_job fails "$WF_FAIL"
	wf_add '{"slug":"broken","steps":[
		{"id":"bad","jobSlug":"fails","retryPolicy":{"maxAttempts":1}},
		{"id":"after","jobSlug":"echo","dependsOn":["bad"]},
		{"id":"later","jobSlug":"echo","dependsOn":["after"]},
		{"id":"free","jobSlug":"echo"}]}'
	run --separate-stderr -1 apphub workflow run broken
	assert_stderr_regex "apphub: workflow run: (w-[0-9a-f]{12}) failed: step 'bad' failed: .*status 4"
	id=$(apphub -q workflow runs broken)
	run -0 apphub workflow show "$id" --json
	assert_equal "$(jq -c '[.steps[] | [.stepId, .status, .attempt]]' <<<"$output")" \
		'[["bad","failed",1],["after","skipped",0],["later","skipped",0],["free","succeeded",1]]'
	assert_equal "$(jq -c '[.status, .metrics]' <<<"$output")" '["failed",{"totalSteps":4,"completedSteps":1}]'
	[[ $(jq -r .errorMessage <<<"$output") == "step 'bad' failed: "*"status 4"* ]]
	[[ $(jq -r '.context.steps.bad.errorMessage' <<<"$output") == *"status 4"* ]]
	run -0 wf_events '[.type, .data.stepId]'
	assert_line '["workflow.run.pending",null]'
	assert_line '["workflow.run.running",null]'
	assert_line '["workflow.step.running","bad"]'
	assert_line '["workflow.step.failed","bad"]'
	assert_line '["workflow.step.succeeded","free"]'
	assert_line --index -1 '["workflow.run.failed",null]'
	refute_line '["workflow.run.succeeded",null]'
}

@test "a skipped step records workflow.step.skipped, after a failure and after a cancel" {
	wf_job echo "$WF_ECHO"
	wf_job fails "$WF_FAIL"
	wf_add '{"slug":"broken","steps":[{"id":"bad","jobSlug":"fails","retryPolicy":{"maxAttempts":1}},
		{"id":"after","jobSlug":"echo","dependsOn":["bad"]}]}'
	run --separate-stderr -1 apphub workflow run broken
	id=$(apphub -q workflow runs broken)
	run -0 wf_events '[.type, .data.runId, .data.stepId]'
	assert_line --index -2 "[\"workflow.step.skipped\",\"$id\",\"after\"]"
	id=$(apphub -q workflow run broken --detach)
	apphub workflow cancel "$id"
	run -0 wf_events 'select(.data.runId == "'"$id"'") | [.type, .data.stepId]'
	assert_line '["workflow.step.skipped","bad"]'
	assert_line '["workflow.step.skipped","after"]'
}

@test "a run keeps the version it started with; jobSlug@version; an unknown job fails at once, not retried" {
	wf_job echo "$WF_ECHO"
	wf_add '{"slug":"ver","steps":[{"id":"a","jobSlug":"echo","parameters":{"v":1}}]}'
	id=$(apphub -q workflow run ver --detach)
	wf_add '{"slug":"ver","steps":[{"id":"a","jobSlug":"echo","parameters":{"v":2}}]}'
	apphub workflow work >/dev/null
	assert_equal "$(run_json "$id" '[.version, .output.a.p.v]')" '[1,1]'
	run --separate-stderr -0 apphub workflow run ver --json
	assert_equal "$(jq -c '[.version, .output.a.p.v]' <<<"$output")" '[2,2]'
	wf_add '{"slug":"pinned","steps":[{"id":"a","jobSlug":"echo@1.0.0"},{"id":"b","jobSlug":"echo@9.9.9","dependsOn":["a"]}]}'
	wf_add '{"slug":"ghostly","steps":[{"id":"c","jobSlug":"ghost"}]}'
	start=$(date +%s%3N)
	run --separate-stderr -1 apphub workflow run pinned
	run --separate-stderr -1 apphub workflow run ghostly
	# no retry delay (1 s by default): retrying cannot make a job appear
	[[ $(( $(date +%s%3N) - start )) -lt 900 ]]
	id=$(apphub -q workflow runs pinned)
	run -0 apphub workflow show "$id" --json
	assert_equal "$(jq -c '[.steps[] | [.stepId, .status, .attempt]]' <<<"$output")" '[["a","succeeded",1],["b","failed",1]]'
	assert_equal "$(jq -r '.context.steps.b.errorMessage' <<<"$output")" "job 'echo' has no version '9.9.9'"
	id=$(apphub -q workflow runs ghostly)
	assert_equal "$(run_json "$id" '[.steps[] | [.stepId, .status, .attempt, .errorMessage]]')" '[["c","failed",1,"job '"'ghost'"' not found"]]'
}

@test "a job step's timeoutMs ends its job run: the step fails, its job run timed out" {
	wf_job slow 'sleep 1021; echo "{}"'
	wf_add '{"slug":"bounded","steps":[{"id":"a","jobSlug":"slow","timeoutMs":300,"retryPolicy":{"maxAttempts":1}}]}'
	start=$(date +%s%3N)
	run --separate-stderr -1 apphub workflow run bounded
	[[ $(( $(date +%s%3N) - start )) -lt 3000 ]]
	assert_stderr_partial "step 'a' failed: timed out"
	id=$(apphub -q workflow runs bounded)
	run -0 job_runs_of "$id"
	assert_equal "$(jq -c '[.[] | [.status, .timeoutMs]]' <<<"$output")" '[["timeout",300]]'
	run pgrep -f 'sleep 1021'
	assert_failure
}

@test "parameters: --param typed by the schema, --parameters-json, defaultParameters; one template is the raw value" {
	wf_job echo "$WF_ECHO"
	wf_add '{"slug":"typed","parametersSchema":{"type":"object","required":["n"],"properties":{
			"n":{"type":"integer","minimum":1},"r":{"type":"number"},"s":{"type":"string"},
			"b":{"type":"boolean"},"mode":{"enum":["fast","slow"]}}},
		"defaultParameters":{"mode":"fast","s":"default"},
		"steps":[{"id":"a","jobSlug":"echo","parameters":{"n":"{{ parameters.n }}","all":"{{ parameters }}",
			"text":"n={{ parameters.n }} r={{ parameters.r }}","nested":["{{ parameters.b }}",{"m":"{{ parameters.mode }}"}]}}]}'
	run --separate-stderr -0 apphub workflow run typed --param n=2 --param r=0.5 --param s=007 --param b=true --json
	assert_equal "$(jq -c .parameters <<<"$output")" '{"b":true,"mode":"fast","n":2,"r":0.5,"s":"007"}'
	assert_equal "$(jq -c .output.a.p <<<"$output")" \
		'{"all":{"b":true,"mode":"fast","n":2,"r":0.5,"s":"007"},"n":2,"nested":[true,{"m":"fast"}],"text":"n=2 r=0.5"}'
	run --separate-stderr -0 apphub workflow run typed --parameters-json '{"n": 5, "mode": "slow", "r": 1, "b": false}' --json
	assert_equal "$(jq -c .parameters <<<"$output")" '{"b":false,"mode":"slow","n":5,"r":1,"s":"default"}'
	assert_equal "$(jq -c '.output.a.p.n' <<<"$output")" 5
	run --separate-stderr -129 apphub workflow run typed --parameters-json '[1]'
	run --separate-stderr -129 apphub workflow run typed --detach --follow
}

@test "parameters not matching the schema: exit 1 naming the path, nothing queued" {
	wf_job echo "$WF_ECHO"
	wf_add '{"slug":"strict","parametersSchema":{"type":"object","required":["n"],"properties":{
		"n":{"type":"integer","minimum":1},"mode":{"enum":["fast","slow"]},
		"deep":{"type":"object","properties":{"k":{"type":"string"}}}}},
		"steps":[{"id":"a","jobSlug":"echo"}]}'
	run --separate-stderr -1 apphub workflow run strict
	assert_stderr_partial "parameters.n: is required"
	run --separate-stderr -1 apphub workflow run strict --param n=x
	assert_stderr_partial "parameters.n: 'x' is not an integer"
	run --separate-stderr -1 apphub workflow run strict --parameters-json '{"n": 0}'
	assert_stderr_partial "parameters.n: must be at least 1"
	run --separate-stderr -1 apphub workflow run strict --param n=1 --param mode=warp
	assert_stderr_partial 'parameters.mode: must be one of "fast", "slow"'
	run --separate-stderr -1 apphub workflow run strict --parameters-json '{"n": 1, "deep": {"k": 3}}' --detach
	assert_stderr_partial "parameters.deep.k:"
	run -0 apphub -q workflow runs
	assert_output ''
	run -0 apphub jobs runs -q
	assert_output ''
	run -0 wf_events .type
	refute_output --partial workflow.run
	run --separate-stderr -2 apphub workflow run nosuch
	assert_stderr_partial "workflow 'nosuch' not found"
}

@test "two independent branches overlap in time; maxParallel 1 runs them one after the other" {
	wf_job timed "$WF_TIMED"
	def='{"slug":"par","steps":[
		{"id":"left","jobSlug":"timed","parameters":{"sleep":0.4}},
		{"id":"right","jobSlug":"timed","parameters":{"sleep":0.4}}]}'
	wf_add "$def"
	run --separate-stderr -0 apphub workflow run par --json
	o=$output
	ls=$(jq .output.left.start <<<"$o") le=$(jq .output.left.end <<<"$o")
	rs=$(jq .output.right.start <<<"$o") re=$(jq .output.right.end <<<"$o")
	# each ran 0.4 s; they overlap: each started before the other ended
	[[ $((le - ls)) -ge 400000000 && $((re - rs)) -ge 400000000 ]]
	[[ $ls -lt $re && $rs -lt $le ]] || fail "no overlap: left $ls..$le, right $rs..$re"
	wf_add "$(jq -c '.maxParallel = 1' <<<"$def")"
	run --separate-stderr -0 apphub workflow run par --json
	o=$output
	ls=$(jq .output.left.start <<<"$o") le=$(jq .output.left.end <<<"$o")
	rs=$(jq .output.right.start <<<"$o") re=$(jq .output.right.end <<<"$o")
	[[ $le -le $rs || $re -le $ls ]] || fail "overlap with maxParallel 1: left $ls..$le, right $rs..$re"
}

@test "fan-out: children <parent>:<template id>:<n>, metrics count them, storeResultsAs in index order" {
	wf_job timed "$WF_TIMED"
	wf_job echo "$WF_ECHO"
	# the first items sleep longest, so the children end in reverse order
	wf_add '{"slug":"fan","steps":[
		{"id":"list","jobSlug":"echo","parameters":{"items":[{"v":"a","sleep":0.4},{"v":"b","sleep":0.3},{"v":"c","sleep":0.2},{"v":"d","sleep":0.1},{"v":"e","sleep":0}]}},
		{"id":"each","type":"fanout","dependsOn":["list"],"collection":"{{ steps.list.result.p.items }}",
		 "maxConcurrency":5,"storeResultsAs":"all",
		 "template":{"id":"work","jobSlug":"timed","parameters":{"v":"{{ item.v }}","sleep":"{{ item.sleep }}","i":"{{ fanout.index }}"}}},
		{"id":"sum","jobSlug":"echo","dependsOn":["each"],"parameters":{"all":"{{ shared.all }}","first":"{{ steps.each.result[0].output.p.v }}"}}]}'
	run --separate-stderr -0 apphub workflow run fan --json
	id=$(jq -r .id <<<"$output")
	assert_equal "$(jq -c .metrics <<<"$output")" '{"totalSteps":8,"completedSteps":8}'
	run -0 apphub workflow show "$id" --json
	r=$output
	assert_equal "$(jq -c '[.steps[] | [.stepId, .parent, .index, .status]]' <<<"$r")" \
		'[["list",null,null,"succeeded"],["each",null,null,"succeeded"],["sum",null,null,"succeeded"],["each:work:1","each",1,"succeeded"],["each:work:2","each",2,"succeeded"],["each:work:3","each",3,"succeeded"],["each:work:4","each",4,"succeeded"],["each:work:5","each",5,"succeeded"]]'
	# the children really ended in reverse order...
	e1=$(jq '.steps[] | select(.stepId == "each:work:1") | .result.end' <<<"$r")
	e5=$(jq '.steps[] | select(.stepId == "each:work:5") | .result.end' <<<"$r")
	[[ $e5 -lt $e1 ]]
	# ...yet the results are by index, each with its item and 1-based index
	assert_equal "$(jq -c '[.context.shared.all[] | [.stepId, .index, .status, .output.p.v, .output.p.i]]' <<<"$r")" \
		'[["each:work:1",1,"succeeded","a",1],["each:work:2",2,"succeeded","b",2],["each:work:3",3,"succeeded","c",3],["each:work:4",4,"succeeded","d",4],["each:work:5",5,"succeeded","e",5]]'
	assert_equal "$(jq -c '[.output.sum.p.all[].index], .output.sum.p.first' <<<"$r" | paste -sd' ')" '[1,2,3,4,5] "a"'
	# each child's job run names it
	run -0 job_runs_of "$id"
	assert_equal "$(jq -c '[.[].trigger.stepId] | sort' <<<"$output")" \
		'["each:work:1","each:work:2","each:work:3","each:work:4","each:work:5","list","sum"]'
}

@test "fan-out: maxConcurrency bounds the children at once; an empty collection succeeds with []" {
	wf_job timed "$WF_TIMED"
	wf_add '{"slug":"narrow","steps":[{"id":"f","type":"fanout","collection":[1,2,3,4],"maxConcurrency":2,
		"template":{"id":"t","jobSlug":"timed","parameters":{"sleep":0.2}}}]}'
	run --separate-stderr -0 apphub workflow run narrow --json
	id=$(jq -r .id <<<"$output")
	# at no child's start were more than 2 children running
	run -0 apphub workflow show "$id" --json
	most=$(jq '[.steps[] | select(.parent) | .result] as $c | [$c[] | .start as $t | [$c[] | select(.start <= $t and .end > $t)] | length] | max' <<<"$output")
	assert_equal "$most" 2
	wf_add '{"slug":"empty","steps":[{"id":"f","type":"fanout","collection":[],"storeResultsAs":"r",
		"template":{"id":"t","jobSlug":"timed"}}]}'
	run --separate-stderr -0 apphub workflow run empty --json
	assert_equal "$(jq -c '[.status, .context.shared.r, .metrics]' <<<"$output")" '["succeeded",[],{"totalSteps":1,"completedSteps":1}]'
}

@test "fan-out: more items than maxItems fails the step saying so; nothing expanded" {
	wf_job echo "$WF_ECHO"
	wf_add '{"slug":"toomany","steps":[{"id":"f","type":"fanout","collection":"{{ parameters.items }}","maxItems":3,
		"template":{"id":"t","jobSlug":"echo"}},{"id":"after","jobSlug":"echo","dependsOn":["f"]}]}'
	run --separate-stderr -1 apphub workflow run toomany --parameters-json '{"items": [1, 2, 3, 4]}'
	assert_stderr_partial "step 'f' failed: step 'f' collection: 4 items, more than maxItems 3"
	id=$(apphub -q workflow runs toomany)
	run -0 apphub workflow show "$id" --json
	assert_equal "$(jq -c '[.steps[] | [.stepId, .status, .attempt]]' <<<"$output")" '[["f","failed",1],["after","skipped",0]]'
	assert_equal "$(jq -c '.metrics' <<<"$output")" '{"totalSteps":2,"completedSteps":0}'
	run -0 job_runs_of "$id"
	assert_output '[]'
	# three items are fine
	run --separate-stderr -0 apphub workflow run toomany --parameters-json '{"items": [1, 2, 3]}' --json
	assert_equal "$(jq -c '.metrics' <<<"$output")" '{"totalSteps":5,"completedSteps":5}'
	# a collection that is not a list fails too
	run --separate-stderr -1 apphub workflow run toomany --parameters-json '{"items": {"a": 1}}'
	assert_stderr_partial "step 'f' collection: not an array"
}

@test "a template that does not resolve fails the step, naming the template and the field; not retried" {
	wf_job echo "$WF_ECHO"
	wf_add '{"slug":"unres","steps":[{"id":"a","jobSlug":"echo","parameters":{"x":1}},
		{"id":"b","jobSlug":"echo","dependsOn":["a"],"parameters":{"ok":"{{ steps.a.result.p.x }}","v":"{{ steps.a.result.p.missing }}"}},
		{"id":"c","jobSlug":"echo","dependsOn":["b"]}]}'
	run --separate-stderr -1 apphub workflow run unres
	assert_stderr_partial "step 'b' parameters: template '{{ steps.a.result.p.missing }}': steps.a.result.p has no field 'missing'"
	id=$(apphub -q workflow runs unres)
	run -0 apphub workflow show "$id" --json
	assert_equal "$(jq -c '[.steps[] | [.stepId, .status, .attempt]]' <<<"$output")" '[["a","succeeded",1],["b","failed",1],["c","skipped",0]]'
	# no job run was made for b: a job never gets an empty string in silence
	run -0 job_runs_of "$id" b
	assert_output '[]'
	# inside a longer string too
	wf_add '{"slug":"unres2","steps":[{"id":"a","jobSlug":"echo","parameters":{"s":"n={{ parameters.n }}"}}]}'
	run --separate-stderr -1 apphub workflow run unres2
	assert_stderr_partial "step 'a' parameters: template '{{ parameters.n }}': parameters has no field 'n'"
}

@test "retries: a step failing twice then succeeding is retried with new job runs, attempt 3, fixed delays" {
	wf_server
	wf_job flaky "$WF_HIT" "$WF_NET"
	wf_add "{\"slug\":\"retry\",\"steps\":[{\"id\":\"f\",\"jobSlug\":\"flaky\",
		\"parameters\":{\"port\":$WF_PORT,\"key\":\"f\",\"okAt\":3},
		\"retryPolicy\":{\"maxAttempts\":5,\"strategy\":\"fixed\",\"initialDelayMs\":300}}]}"
	run --separate-stderr -0 apphub workflow run retry --json
	id=$(jq -r .id <<<"$output")
	assert_equal "$(jq -c '[.status, .context.steps.f.attempt, .output.f.n]' <<<"$output")" '["succeeded",3,3]'
	assert_equal "$(wf_hits f)" 3
	run -0 job_runs_of "$id" f
	runs=$output
	assert_equal "$(jq -c '[.[] | [.status, .attempt]]' <<<"$runs")" '[["failed",1],["failed",1],["succeeded",1]]'
	assert_equal "$(jq -c '[.[].id] | unique | length' <<<"$runs")" 3
	assert_equal "$(jq -r '.context.steps.f.jobRunId' <<<"$(run_json "$id")")" "$(jq -r '.[2].id' <<<"$runs")"
	# the delay between an attempt's end and the next one's start: 300 ms, fixed
	for k in 0 1; do
		gap=$(( $(ms "$(jq -r ".[$((k + 1))].createdAt" <<<"$runs")") - $(ms "$(jq -r ".[$k].completedAt" <<<"$runs")") ))
		[[ $gap -ge 280 && $gap -le 1000 ]] || fail "gap $k: $gap ms, not about 300"
	done
	run -0 wf_events '[.type, .data.stepId, .data.attempt]'
	assert_equal "$(grep -c '"workflow.step.retrying","f"' <<<"$output")" 2
	assert_line '["workflow.step.retrying","f",1]'
	assert_line '["workflow.step.retrying","f",2]'
	assert_line '["workflow.step.succeeded","f",3]'
	run -0 wf_events 'select(.type == "workflow.step.retrying") | .data.errorMessage'
	assert_line --index 0 --partial "status 6"
}

@test "retries: exponential delays double up to maxDelayMs; maxAttempts bounds the attempts" {
	wf_job fails "$WF_FAIL"
	wf_add '{"slug":"expo","steps":[{"id":"x","jobSlug":"fails",
		"retryPolicy":{"maxAttempts":4,"strategy":"exponential","initialDelayMs":150,"maxDelayMs":400}}]}'
	run --separate-stderr -1 apphub workflow run expo
	id=$(apphub -q workflow runs expo)
	assert_equal "$(run_json "$id" '[.status, .context.steps.x.status, .context.steps.x.attempt]')" '["failed","failed",4]'
	run -0 job_runs_of "$id" x
	runs=$output
	assert_equal "$(jq length <<<"$runs")" 4
	# 150, 300, then 600 capped at 400
	want=(150 300 400)
	for k in 0 1 2; do
		gap=$(( $(ms "$(jq -r ".[$((k + 1))].createdAt" <<<"$runs")") - $(ms "$(jq -r ".[$k].completedAt" <<<"$runs")") ))
		[[ $gap -ge $((want[k] - 20)) && $gap -le $((want[k] + 250)) ]] || fail "gap $k: $gap ms, wanted ${want[k]}"
	done
	run -0 wf_events 'select(.type == "workflow.step.retrying") | .data.retryAt'
	assert_equal "${#lines[@]}" 3
}

@test "retries: a step with no retry policy runs exactly 3 times, never more" {
	wf_job fails "$WF_FAIL"
	wf_add '{"slug":"default","steps":[{"id":"x","jobSlug":"fails"}]}'
	run --separate-stderr -1 apphub workflow run default
	id=$(apphub -q workflow runs default)
	assert_equal "$(run_json "$id" '[.status, .context.steps.x.attempt]')" '["failed",3]'
	run -0 job_runs_of "$id"
	assert_equal "$(jq length <<<"$output")" 3
	# the default delay: 1 s between attempts
	gap=$(( $(ms "$(jq -r '.[1].createdAt' <<<"$output")") - $(ms "$(jq -r '.[0].completedAt' <<<"$output")") ))
	[[ $gap -ge 980 && $gap -le 2000 ]] || fail "gap $gap ms, not about 1000"
}

@test "cancel a running run: its job run ended, the pending steps skipped, the driver exits 1" {
	wf_job slow 'sleep 1011 & sleep 1011; echo "{}"'
	wf_job echo "$WF_ECHO"
	wf_add '{"slug":"long","steps":[{"id":"slow","jobSlug":"slow"},{"id":"next","jobSlug":"echo","dependsOn":["slow"]},
		{"id":"quick","jobSlug":"echo"}]}'
	apphub workflow run long 3>&- >"$T/out" 2>"$T/err" &
	pid=$!
	WF_PIDS+=($pid)
	wait_until eval '[[ -n $(apphub -q workflow runs long --status running) ]]'
	id=$(apphub -q workflow runs long --status running)
	wait_until pgrep -f 'sleep 1011'
	wait_until eval '[[ $(step_json "$id" quick .status) == \"succeeded\" ]]'
	run -0 apphub workflow cancel "$id"
	assert_output --regexp "^$id (canceled|canceling: its driver ends its steps)$"
	code=0
	wait "$pid" || code=$?
	assert_equal "$code" 1
	grep -q "workflow run: $id canceled" "$T/err"
	run -0 apphub workflow show "$id" --json
	assert_equal "$(jq -c '[.status, .errorMessage]' <<<"$output")" '["canceled","canceled"]'
	assert_equal "$(jq -c '[.steps[] | select(.stepId != "slow") | [.stepId, .status]]' <<<"$output")" '[["next","skipped"],["quick","succeeded"]]'
	[[ $(jq -r '.steps[0].status' <<<"$output") != running && $(jq -r '.steps[0].status' <<<"$output") != succeeded ]]
	jr=$(jq -r '.steps[0].jobRunId' <<<"$output")
	assert_equal "$(apphub jobs show "$jr" --json | jq -r .status)" canceled
	run pgrep -f 'sleep 1011'
	assert_failure
	run -0 wf_events .type
	assert_line --index -1 '"workflow.run.canceled"'
	run --separate-stderr -3 apphub workflow cancel "$id"
	assert_stderr_partial "has ended (canceled)"
}

@test "cancel a pending (--detach) run: canceled at once, every step skipped, never driven" {
	wf_job echo "$WF_ECHO"
	wf_add '{"slug":"queued","steps":[{"id":"a","jobSlug":"echo"},{"id":"b","jobSlug":"echo","dependsOn":["a"]}]}'
	id=$(apphub -q workflow run queued --detach)
	assert_equal "$(wf_run_status "$id")" pending
	run -0 apphub workflow cancel "$id"
	assert_output "$id canceled"
	run -0 apphub workflow work --json
	assert_equal "$(jq -c .data <<<"$output")" '[]'
	assert_equal "$(run_json "$id" '[.status, [.steps[].status]]')" '["canceled",["skipped","skipped"]]'
	run -0 job_runs_of "$id"
	assert_output '[]'
	run --separate-stderr -2 apphub workflow cancel w-000000000000
}

@test "a run key already active: exit 3 naming the existing run; free again once it has ended" {
	wf_job echo "$WF_ECHO"
	wf_add '{"slug":"keyed","steps":[{"id":"a","jobSlug":"echo"}]}'
	first=$(apphub -q workflow run keyed --detach --run-key nightly-2026.01:01)
	run --separate-stderr -3 apphub workflow run keyed --run-key nightly-2026.01:01
	assert_stderr_partial "$first"
	run --separate-stderr -3 apphub workflow run keyed --run-key nightly-2026.01:01 --detach
	assert_stderr_partial "$first"
	assert_equal "$(apphub -q workflow runs keyed | wc -l)" 1
	# another key is another run
	run --separate-stderr -0 apphub workflow run keyed --run-key other
	assert_equal "$(run_json "$first" .runKey)" '"nightly-2026.01:01"'
	apphub workflow work >/dev/null
	assert_equal "$(wf_run_status "$first")" succeeded
	run --separate-stderr -0 apphub workflow run keyed --run-key nightly-2026.01:01 --json
	assert_equal "$(jq -r .runKey <<<"$output")" nightly-2026.01:01
	[[ $(jq -r .id <<<"$output") != "$first" ]]
	run --separate-stderr -1 apphub workflow run keyed --run-key 'bad key!'
}

@test "--detach queues; workflow work drives it; runs lists by workflow, status and limit" {
	wf_job echo "$WF_ECHO"
	wf_job fails "$WF_FAIL"
	wf_add '{"slug":"later","steps":[{"id":"a","jobSlug":"echo"}]}'
	wf_add '{"slug":"doomed","steps":[{"id":"a","jobSlug":"fails","retryPolicy":{"maxAttempts":1}}]}'
	run -0 apphub workflow run later --detach
	assert_output --regexp "^(w-[0-9a-f]{12}) queued for later; 'apphub workflow work' drives it$"
	id1=${output%% *}
	id2=$(apphub -q workflow run later --detach)
	id3=$(apphub -q workflow run doomed --detach)
	run -0 apphub -q workflow runs --status pending
	assert_equal "$(sort <<<"$output")" "$(printf '%s\n' "$id1" "$id2" "$id3" | sort)"
	run -0 apphub -q workflow runs later
	assert_equal "$(sort <<<"$output")" "$(printf '%s\n' "$id1" "$id2" | sort)"
	assert_equal "$(wf_run_status "$id1")" pending
	run --separate-stderr apphub workflow work
	assert_line "$id1 later succeeded"
	assert_line "$id2 later succeeded"
	assert_line --regexp "^$id3 doomed failed: step 'a' failed: "
	run -0 apphub -q workflow runs --status succeeded
	assert_equal "$(sort <<<"$output")" "$(printf '%s\n' "$id1" "$id2" | sort)"
	run -0 apphub -q workflow runs doomed --status failed
	assert_output "$id3"
	run -0 apphub -q workflow runs --status pending
	assert_output ''
	run -0 apphub -q workflow runs --limit 1
	assert_equal "${#lines[@]}" 1
	run -0 apphub workflow runs
	assert_line --index 0 --regexp '^RUN +STATUS +WORKFLOW +TRIGGER +CREATED +DURATION$'
	assert_line --regexp "^$id3 +failed +doomed +manual +"
	run --separate-stderr -1 apphub workflow runs --status bogus
	assert_stderr_partial "invalid status 'bogus'"
}

@test "--follow prints a line per step change on stderr (not a tty)" {
	wf_job echo "$WF_ECHO"
	wf_job fails "$WF_FAIL"
	wf_add '{"slug":"shown","steps":[{"id":"a","jobSlug":"echo"},
		{"id":"b","jobSlug":"fails","dependsOn":["a"],"retryPolicy":{"maxAttempts":2,"initialDelayMs":100}}]}'
	run --separate-stderr -1 apphub workflow run shown --follow
	assert_stderr_regex $'(^|\n) *[0-9]+\\.[0-9]{3} s  a +running\n'
	assert_stderr_regex $'\n +[0-9]+\\.[0-9]{3} s  a +succeeded\n'
	assert_stderr_regex $'\n +[0-9]+\\.[0-9]{3} s  b +running\n'
	assert_stderr_regex $'\n +[0-9]+\\.[0-9]{3} s  b +retrying: [^\n]*status 4'
	assert_stderr_regex $'\n +[0-9]+\\.[0-9]{3} s  b +running \\(attempt 2\\)\n'
	assert_stderr_regex $'\n +[0-9]+\\.[0-9]{3} s  b +failed \\(attempt 2\\): [^\n]*status 4'
	# without --follow: no step lines
	run --separate-stderr -1 apphub workflow run shown
	[[ $stderr != *" s  a "* ]] || fail "step lines without --follow: $stderr"
}

@test "events: workflow.run.* and workflow.step.* for a run, in order" {
	wf_job echo "$WF_ECHO"
	wf_add '{"slug":"ev","steps":[{"id":"a","jobSlug":"echo"},{"id":"b","jobSlug":"echo","dependsOn":["a"]}]}'
	run --separate-stderr -0 apphub workflow run ev --json
	id=$(jq -r .id <<<"$output")
	run -0 wf_events '[.type, .subject, .data.runId, .data.stepId, .data.attempt]'
	assert_equal "$output" "$(printf '%s\n' \
		'["workflow.created","ev",null,null,null]' \
		"[\"workflow.run.pending\",\"ev\",\"$id\",null,null]" \
		"[\"workflow.run.running\",\"ev\",\"$id\",null,1]" \
		"[\"workflow.step.running\",\"ev\",\"$id\",\"a\",1]" \
		"[\"workflow.step.succeeded\",\"ev\",\"$id\",\"a\",1]" \
		"[\"workflow.step.running\",\"ev\",\"$id\",\"b\",1]" \
		"[\"workflow.step.succeeded\",\"ev\",\"$id\",\"b\",1]" \
		"[\"workflow.run.succeeded\",\"ev\",\"$id\",null,null]")"
	run -0 wf_events 'select(.type == "workflow.step.succeeded") | .data.jobRunId'
	assert_equal "$(jq -r . <<<"$output" | paste -sd' ')" "$(run_json "$id" '[.steps[].jobRunId] | join(" ")' | jq -r .)"
}

@test "service steps: GET with a templated URL, POST with a JSON body, storeResponseAs; a 500 fails the step" {
	wf_server
	wf_job echo "$WF_ECHO"
	wf_add "{\"slug\":\"svc\",\"steps\":[
		{\"id\":\"get\",\"type\":\"service\",\"url\":\"$WF_URL/echo/items/{{ parameters.id }}?q={{ parameters.q }}\",
		 \"headers\":{\"X-Run\":\"{{ run.id }}\"},\"storeResponseAs\":\"got\"},
		{\"id\":\"post\",\"type\":\"service\",\"method\":\"POST\",\"url\":\"$WF_URL/echo/submit\",\"dependsOn\":[\"get\"],
		 \"body\":{\"id\":\"{{ parameters.id }}\",\"path\":\"{{ shared.got.path }}\",\"list\":[1,\"{{ parameters.q }}\"]}},
		{\"id\":\"use\",\"jobSlug\":\"echo\",\"dependsOn\":[\"post\"],\"parameters\":{\"sent\":\"{{ steps.post.result.body }}\"}}]}"
	run --separate-stderr -0 apphub workflow run svc --parameters-json '{"id": 42, "q": "x-y"}' --json
	r=$output
	id=$(jq -r .id <<<"$r")
	assert_equal "$(jq -c '.context.shared.got | [.method, .path, .query, .headers["x-run"]]' <<<"$r")" \
		"[\"GET\",\"/echo/items/42\",{\"q\":\"x-y\"},\"$id\"]"
	assert_equal "$(jq -cS '.context.steps.post.result | [.method, .path, .headers["content-type"], .body]' <<<"$r")" \
		'["POST","/echo/submit","application/json",{"id":42,"list":[1,"x-y"],"path":"/echo/items/42"}]'
	assert_equal "$(jq -cS '.output.use.p.sent' <<<"$r")" '{"id":42,"list":[1,"x-y"],"path":"/echo/items/42"}'
	assert_equal "$(jq -r '.context.steps.get.jobRunId' <<<"$r")" null
	# a 500 answer fails the step (once: its policy allows one attempt), its dependents skipped
	wf_add "{\"slug\":\"svc500\",\"steps\":[{\"id\":\"boom\",\"type\":\"service\",\"url\":\"$WF_URL/status/500\",
		\"retryPolicy\":{\"maxAttempts\":1}},{\"id\":\"after\",\"jobSlug\":\"echo\",\"dependsOn\":[\"boom\"]}]}"
	run --separate-stderr -1 apphub workflow run svc500
	assert_stderr_partial "step 'boom' failed: GET $WF_URL/status/500: HTTP 500"
	id=$(apphub -q workflow runs svc500)
	assert_equal "$(run_json "$id" '[.steps[] | [.stepId, .status, .attempt]]')" '[["boom","failed",1],["after","skipped",0]]'
}
