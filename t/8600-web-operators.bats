#!/usr/bin/env bats
# The operator pages of the page apphub serve serves (web/: nav.js, jobs.js,
# workflows.js, records.js, datasets.js), in a real browser as
# t/8500-web.bats drives it: Debian's chromium with playwright-core against a
# real serve whose workers run the jobs and drive the workflows. Screenshots
# of every page go to t/out/web/.

bats_require_minimum_version 1.5.0
load test_helper/common
load test_helper/serve

WEB_DIR="$BATS_TEST_DIRNAME/web"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

setup_file() {
	export WEB_OUT="$BATS_TEST_DIRNAME/out/web"
	mkdir -p "$WEB_OUT"
	rm -f "$WEB_OUT"/ops-*.png
}

setup() {
	common_setup
	unset APPHUB_TOKENS APPHUB_TOKENS_FILE APPHUB_SERVER APPHUB_TOKEN
	export WEB_OUT="$BATS_TEST_DIRNAME/out/web"
	export APPHUB_JOB_BACKOFF_MS=0
	B=$BATS_TEST_TMPDIR/bundles
}

extra_teardown() {
	[[ -n ${GATE_PID:-} ]] && kill "$GATE_PID" 2>/dev/null
	return 0
}

need_browser() {
	command -v node >/dev/null || skip "node is not installed (make deps installs it)"
	[[ -x $CHROMIUM ]] || skip "chromium is not installed at $CHROMIUM (make deps installs it)"
	[[ -d $WEB_DIR/node_modules/playwright-core ]] ||
		skip "playwright-core is not installed in t/web (make deps runs npm ci there)"
}

need_jobs() {
	[[ -x $BATS_TEST_DIRNAME/../apphub-jobs ]] || skip 'apphub-jobs is not built'
	[[ -x $BATS_TEST_DIRNAME/../apphub-workflow ]] || skip 'apphub-workflow is not built'
	command -v bwrap >/dev/null || skip 'bwrap is not installed'
}

# publish SLUG VERSION SCRIPT [SCHEMA-JSON]: an exec job whose handler is
# the shell script SCRIPT (as t/4300-jobs-run.bats).
publish() {
	local dir=$B/$1-$2
	mkdir -p "$dir/tests"
	jq -n --arg s "$1" '{slug: $s, entry: "run.sh"}' >"$dir/apphub.bundle.json"
	jq -n --arg v "$2" --argjson schema "${4:-null}" \
		'{name: "test job", version: $v, runtime: "exec", entry: "run.sh",
		  description: "a job of the browser tests"}
		  + (if $schema then {parametersSchema: $schema} else {} end)' >"$dir/manifest.json"
	printf '#!/bin/sh\n%s\n' "$3" >"$dir/run.sh"
	chmod +x "$dir/run.sh"
	echo '{}' >"$dir/tests/sample-input.json"
	apphub -q jobs publish "$dir" >/dev/null
}

# The job of the form test: its log says "step 1", waits, says "step 2";
# it leaves report.txt and answers its parameters back.
REPORT='in=$(cat)
echo "step 1: starting" >&2
sleep 3
echo "step 2: done" >&2
echo "$in" | jq -r "\"report for \" + (.parameters.label // \"nobody\")" >report.txt
echo "$in" | jq -c "{double: (.parameters.count * 2), mode: .parameters.mode, label: .parameters.label}"'
SCHEMA='{"type":"object","required":["count","mode"],"properties":{
	"count":{"type":"integer","minimum":1,"maximum":10,"description":"how many"},
	"mode":{"enum":["fast","slow"]},
	"label":{"type":"string","maxLength":20},
	"ratio":{"type":"number"},
	"dry":{"type":"boolean"}}}'

# Records for the Records page: a namespace with a record at version 2.
records() {
	apphub -q metastore create demo alpha --metadata-json '{"name":"alpha","size":3,"owner":{"team":"x"}}' --tag t1 >/dev/null
	apphub -q metastore put demo alpha --metadata-json '{"name":"alpha","size":4,"owner":{"team":"y"}}' --tag t1 --expected-version 1 >/dev/null
	apphub -q metastore create demo beta --metadata-json '{"name":"beta","size":10}' >/dev/null
	apphub -q metastore create other one --metadata-json '{"status":"active"}' >/dev/null
}

# start_gate: the loopback server whose answers wait to be released.
start_gate() {
	python3 "$BATS_TEST_DIRNAME/test_helper/gate-server.py" "$BATS_TEST_TMPDIR/gate.port" 3>&- &
	GATE_PID=$!
	wait_until test -s "$BATS_TEST_TMPDIR/gate.port"
	GATE_URL="http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/gate.port")"
	export GATE_URL
}

browse() {
	(cd "$WEB_DIR" && SERVE_URL=$SERVE_URL node "$1" 3>&-)
}

@test "web: serve answers the page at the sections' paths; the API keeps its own" {
	need_jobs
	publish report 1.0.0 "$REPORT" "$SCHEMA"
	records
	start_serve
	for p in / /jobs /jobs/ /jobs/report /job-runs/r-000000000000 /workflows /workflows/pipe \
		/workflow-runs/w-000000000000 /records /records/demo /records/demo/alpha /datasets /datasets/x; do
		run -0 curl -sS -H 'Accept: text/html,application/xhtml+xml,*/*;q=0.8' "$SERVE_URL$p"
		[[ $output == '<!doctype html>'* ]] || fail "$p is not the page: ${output:0:100}"
	done
	# What is deeper, and what does not ask for HTML, is the API.
	run -0 curl -sS -f -H 'Accept: text/html' "$SERVE_URL/jobs/report/runs"
	jq -e '.total == 0' <<<"$output"
	run -0 curl -sS -f -H 'Accept: text/html' "$SERVE_URL/records/demo/alpha/audit"
	jq -e '.entries | length == 2' <<<"$output"
	run -0 get /jobs
	assert_equal "$(jq -r '.data[0].slug' <<<"$output")" report
	r=$(http GET /job-runs -H 'Accept: text/html')
	assert_equal "$(status_of "$r")" 200
	r=$(http GET /records/a/b/c -H 'Accept: text/html')
	assert_equal "$(status_of "$r")" 404
	# The page's modules are served, each with its type.
	for f in core.js nav.js forms.js jobs.js workflows.js dag.js records.js datasets.js; do
		run -0 curl -sS -o /dev/null -w '%{http_code} %{content_type}' "$SERVE_URL/$f"
		assert_output '200 text/javascript; charset=utf-8'
		cmp <(curl -sS "$SERVE_URL/$f") "$BATS_TEST_DIRNAME/../web/$f"
	done
	# A run's file, by the name it recorded; nothing else.
	id=$(curl -sS -f -H 'Content-Type: application/json' \
		-d '{"parameters":{"count":2,"mode":"fast","label":"curl"}}' "$SERVE_URL/jobs/report/run" | jq -r .id)
	wait_until bash -c "curl -sS '$SERVE_URL/job-runs/$id' | jq -e '.status == \"succeeded\"'"
	run -0 curl -sS -D "$BATS_TEST_TMPDIR/h" "$SERVE_URL/job-runs/$id/file?name=report.txt"
	assert_output 'report for curl'
	grep -qi '^content-disposition: attachment; filename="report.txt"' "$BATS_TEST_TMPDIR/h"
	r=$(http GET "/job-runs/$id/file?name=../../apphub.db")
	assert_equal "$(status_of "$r")" 404
	r=$(http GET "/job-runs/$id/file?name=log")
	assert_equal "$(status_of "$r")" 404
	run -0 get /openapi.json
	assert_equal "$(jq -r '.paths."/job-runs/{id}/file".get.operationId' <<<"$output")" job-runs.file
}

@test "web: g j, g w, g r, g d, g a move between the sections; back and forward; ? lists the keys" {
	need_browser
	need_jobs
	publish report 1.0.0 "$REPORT" "$SCHEMA"
	records
	start_serve
	browse ops-nav.mjs
}

@test "web: a job run from its form to its result, its log followed, its file downloaded" {
	need_browser
	need_jobs
	publish report 1.0.0 "$REPORT" "$SCHEMA"
	publish report 0.9.0 'cat >/dev/null; echo "{}"'
	start_serve
	browse ops-job.mjs
	# The one run the page asked for, with the parameters it checked.
	run -0 apphub jobs runs report --json
	assert_equal "$(jq -r '.total' <<<"$output")" 1
	assert_equal "$(jq -c '.data[0].parameters' <<<"$output")" '{"count":3,"mode":"slow","label":"hello","dry":false}'
}

@test "web: a workflow run's DAG nodes change colour as its steps finish; cancel" {
	need_browser
	need_jobs
	start_gate
	jq -n --arg g "$GATE_URL" '{slug: "gated", name: "Gated pipeline", steps: [
		{id: "a", type: "service", url: ($g + "/gate/a-{{ parameters.label }}"), produces: [{assetId: "gated.raw"}]},
		{id: "b", type: "service", url: ($g + "/gate/b-{{ parameters.label }}"), dependsOn: ["a"]},
		{id: "each", type: "fanout", dependsOn: ["a"], collection: [1, 2, 3],
		 template: {id: "part", type: "service", url: ($g + "/gate/c-{{ item }}")}},
		{id: "d", type: "service", url: ($g + "/gate/d-{{ parameters.label }}"), dependsOn: ["b", "each"],
		 consumes: ["gated.raw"]}],
		parametersSchema: {type: "object", required: ["label", "n"],
			properties: {label: {type: "string"}, n: {type: "integer", minimum: 1}}}}' >"$BATS_TEST_TMPDIR/wf.json"
	apphub -q workflow add "$BATS_TEST_TMPDIR/wf.json" >/dev/null
	apphub -q workflow schedule gated add nightly --cron '0 3 * * *' --param label=night --param n=1 >/dev/null
	start_serve
	browse ops-workflow.mjs
	run -0 apphub workflow runs gated --json
	assert_equal "$(jq -r '[.data[].status] | sort | join(",")' <<<"$output")" canceled,succeeded
}

@test "web: a record searched with q, edited, and a version conflict shown" {
	need_browser
	records
	start_serve --workers 0
	browse ops-records.mjs
	run -0 apphub metastore get demo alpha --json
	assert_equal "$(jq -c '[.version, .metadata.size, .metadata.note]' <<<"$output")" '[5,99,"from the page"]'
	run -0 apphub metastore audit demo alpha --json
	assert_equal "$(jq -r '[.entries[].actor] | join(",")' <<<"$output")" local,cli,local,cli,cli
}

@test "web: with tokens, the operator pages ask for one, keep it for the session, and say 401 and 403 plainly" {
	need_browser
	need_jobs
	publish report 1.0.0 "$REPORT" "$SCHEMA"
	export APPHUB_TOKENS='[{"token":"read-only-1","subject":"ro","scopes":["jobs:read"]},
		{"token":"runner-1","subject":"ci","scopes":["jobs:run"]}]'
	start_serve
	browse ops-token.mjs
	run -0 sqlite3 "$(db_path)" "SELECT status FROM audit WHERE op = 'jobs.run' ORDER BY rowid"
	assert_output $'403\n403\n202'
}

@test "web: the Datasets page says plainly when this serve has no timestore" {
	need_browser
	start_serve --workers 0
	browse ops-datasets.mjs
}

@test "web: a dataset's chart has the query's points, a crosshair by keyboard and pointer, its table and CSV" {
	need_browser
	[[ -x $BATS_TEST_DIRNAME/../apphub-timestore ]] || skip 'apphub-timestore is not built'
	# a day of per-minute readings
	awk 'BEGIN { print "timestamp,temp,hum"; for (i = 0; i < 1440; i++)
		printf "%.0f,%.2f,%.1f\n", (1714521600 + i * 60) * 1000, 20 + 5 * sin(i / 100), 40 + (i % 60) / 2 }' >"$BATS_TEST_TMPDIR/day.csv"
	apphub -q timestore ingest readings "$BATS_TEST_TMPDIR/day.csv" >/dev/null
	start_serve --workers 0
	# the page's interval for a day over the chart's 728 px: 5 minutes
	(cd "$WEB_DIR" && SERVE_URL=$SERVE_URL EVERY=5m APPHUB_BIN=$(command -v apphub) node ops-dataset-chart.mjs 3>&-)
}
