#!/usr/bin/env bash
#
# p8600-pages.sh: the first render of each page of apphub serve's web page
# with N job runs, N workflow runs, N records and N partitions present.
#
# Publishes a job, adds a workflow of it, queues N runs of each (serve with
# no workers, so they stay queued) and bulk-loads N records into one
# namespace; then t/web/perf-pages.mjs loads each page ROUNDS times in
# Debian's chromium (playwright-core) and prints the medians of chromium's
# performance timings: first-contentful-paint, DOMContentLoaded, and the
# moment the page's content is in the document. Issue 17's target is
# content under 200 ms; reported, never failed on.
#
# Environment: APPHUB (default ../../apphub), N (10000), ROUNDS (5),
# CHROMIUM (/usr/bin/chromium), KEEP=1 keeps the work directory.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
APPHUB=${APPHUB:-$here/../../apphub}
N=${N:-10000}
export ROUNDS=${ROUNDS:-5}
me=p8600-pages

for tool in curl python3 node jq; do
	command -v "$tool" >/dev/null || { echo "$me: $tool is needed (make deps installs it)" >&2; exit 1; }
done
[[ -x ${CHROMIUM:-/usr/bin/chromium} ]] || { echo "$me: chromium is needed (make deps installs it)" >&2; exit 1; }
[[ -d $here/../web/node_modules/playwright-core ]] || { echo "$me: run npm ci in t/web (make deps)" >&2; exit 1; }
[[ -x $APPHUB ]] || { echo "$me: no apphub at $APPHUB (run make)" >&2; exit 1; }
APPHUB=$(cd "$(dirname "$APPHUB")" && pwd)/$(basename "$APPHUB")

work=$(mktemp -d "${TMPDIR:-/tmp}/apphub-p8600.XXXXXX")
serve_pid=
cleanup() {
	if [[ -n $serve_pid ]]; then
		# An event stream the browser left may hold serve a while: not for long.
		kill "$serve_pid" 2>/dev/null || true
		for _ in $(seq 1 30); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$serve_pid" 2>/dev/null || true
		wait "$serve_pid" 2>/dev/null || true
	fi
	if [[ ${KEEP:-} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
	return 0
}
trap cleanup EXIT
unset XDG_STATE_HOME APPHUB_TOKENS APPHUB_TOKENS_FILE
export APPHUB_HOME=$work/state
ah() { "$APPHUB" "$@"; }

# --- data --------------------------------------------------------------------
b=$work/bundle
mkdir -p "$b/tests"
echo '{"slug": "noop", "entry": "run.sh"}' >"$b/apphub.bundle.json"
echo '{"name": "noop", "version": "1.0.0", "runtime": "exec", "entry": "run.sh",
  "parametersSchema": {"type": "object", "properties": {"i": {"type": "integer"}}}}' >"$b/manifest.json"
printf '#!/bin/sh\ncat >/dev/null; echo "{}"\n' >"$b/run.sh"
chmod +x "$b/run.sh"
echo '{}' >"$b/tests/sample-input.json"
ah -q jobs publish "$b" >/dev/null
echo '{"slug": "perfwf", "steps": [{"id": "one", "jobSlug": "noop"},
  {"id": "two", "jobSlug": "noop", "dependsOn": ["one"]},
  {"id": "three", "jobSlug": "noop", "dependsOn": ["one"]}]}' >"$work/wf.json"
ah -q workflow add "$work/wf.json" >/dev/null

python3 - "$N" "$work" <<'PY'
import json, sys
n, work = int(sys.argv[1]), sys.argv[2]
for d in range(0, n, 100):
    ops = [{"type": "create", "namespace": "perf", "key": "rec-%06d" % i, "tags": ["perf"],
            "metadata": {"name": "record %d" % i, "size": i % 977, "team": "team-%d" % (i % 17),
                         "config": {"env": ["dev", "prod"][i % 2]}}} for i in range(d, min(n, d + 100))]
    with open("%s/bulk-%06d.json" % (work, d), "w") as f:
        json.dump({"operations": ops}, f)
PY
t0=$(date +%s%N)
# bulk takes 100 operations a document, and a file of many documents.
cat "$work"/bulk-*.json | ah -q metastore bulk - >/dev/null
echo "$me: $N records loaded in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
# N partitions: a reading a day for N days, one ingest (a batch is split by its UTC days)
if [[ -x $(dirname "$APPHUB")/apphub-timestore ]]; then
	t0=$(date +%s%N)
	awk -v n="$N" 'BEGIN { print "timestamp,v"; for (i = 0; i < n; i++) printf "%.0f,%d\n", (946684800 + i * 86400) * 1000, i % 97 }' |
		ah -q timestore ingest perf - --format csv >/dev/null
	echo "$me: $(ah -q timestore partitions perf | wc -l) partitions made in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
fi

"$APPHUB" serve --listen 127.0.0.1:0 --workers 0 3>&- 2>"$work/serve.err" &
serve_pid=$!
url=
for _ in $(seq 1 200); do
	url=$(sed -n 's/^apphub: serving \(http:[^ ]*\) .*/\1/p' "$work/serve.err")
	[[ -n $url ]] && break
	sleep 0.05
done
[[ -n $url ]] || { cat "$work/serve.err" >&2; exit 1; }

# N queued runs of each, over one keep-alive connection.
t0=$(date +%s%N)
python3 - "$url" "$N" <<'PY'
import http.client, json, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port)
for path in ("/jobs/noop/run", "/workflows/perfwf/run"):
    for i in range(int(sys.argv[2])):
        c.request("POST", path, json.dumps({"parameters": {"i": i} if "jobs" in path else {}}),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status >= 300:
            sys.exit("%s: %d" % (path, r.status))
PY
echo "$me: $N job runs and $N workflow runs queued in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
jrun=$(curl -sS "$url/job-runs?limit=1" | jq -r '.data[0].id')
wrun=$(curl -sS "$url/workflow-runs?limit=1" | jq -r '.data[0].id')

# --- the pages ---------------------------------------------------------------
export SERVE_URL=$url
export PAGES="/ #results-count:not(:empty)
/jobs #runs-body table
/jobs/noop #runs-body table
/job-runs/$jrun #run-params pre
/workflows #runs-body table
/workflows/perfwf #runs-body table
/workflow-runs/$wrun #dag svg
/records #namespaces
/records/perf #records tbody tr
/records/perf/rec-000042 #audit-table
/datasets #datasets-body :is(#datasets-none, #datasets-table, .empty)
/datasets/perf #ds-chart"
(cd "$here/../web" && node perf-pages.mjs)
