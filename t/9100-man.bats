#!/usr/bin/env bats
#
# The manual pages: lint-clean under mandoc, and one page per command.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
	PATH="$BATS_TEST_DIRNAME/..:$PATH"
	export PATH
	MAN="$BATS_TEST_DIRNAME/../man"
	export APPHUB_HOME="$BATS_TEST_TMPDIR/state"
	unset XDG_STATE_HOME APPHUB_EXEC_PATH
	export LC_ALL=C
}

# render PAGE: plain text, without the overstrike of -Tascii.
render() {
	mandoc -Tascii "$1" | sed 's/.\x08//g'
}

need_mandoc() {
	command -v mandoc >/dev/null || skip "mandoc is not installed (make deps)"
}

@test "man: every page is clean under mandoc -Tlint -Wwarning" {
	need_mandoc
	local f n=0
	for f in "$MAN"/*.1; do
		run mandoc -Tlint -Wwarning "$f"
		assert_success
		assert_output ''
		n=$((n + 1))
	done
	[ "$n" -ge 1 ]
}

@test "man: every page renders, with NAME, SYNOPSIS and DESCRIPTION" {
	need_mandoc
	local f
	for f in "$MAN"/*.1; do
		run render "$f"
		assert_success
		assert_output --partial 'NAME'
		assert_output --partial 'SYNOPSIS'
		assert_output --partial 'DESCRIPTION'
	done
}

@test "man: each command of apphub --list-cmds has man/apphub-<cmd>.1" {
	run apphub --list-cmds
	assert_success
	[ -n "$output" ]
	local cmd missing=
	for cmd in $output; do
		[ "$cmd" = help ] && continue
		[ -f "$MAN/apphub-$cmd.1" ] || missing="$missing $cmd"
	done
	[ -z "$missing" ] || fail "no man page for:$missing"
}

@test "man: apphub(1) documents the exit statuses, files and environment" {
	need_mandoc
	run render "$MAN/apphub.1"
	assert_success
	local s
	for s in 'EXIT STATUS' FILES ENVIRONMENT APPHUB_HOME XDG_STATE_HOME \
		APPHUB_EXEC_PATH apphub.db; do
		assert_output --partial "$s"
	done
	local section
	section=$(printf '%s\n' "$output" | sed -n '/^EXIT STATUS/,/^[A-Z]/p')
	for s in 0 1 2 3 128 129; do
		printf '%s\n' "$section" | grep -Eq "^ +$s +[A-Z]" ||
			fail "exit status $s is not documented"
	done
}

@test "man: apphub-apps(1) covers every verb and option" {
	need_mandoc
	run render "$MAN/apphub-apps.1"
	assert_success
	local s
	for s in ls add import show rm search tags tag \
		--id --name --description --dockerfile --tag --explicit --update \
		--status --sort --limit --offset --weights --json \
		'SEARCH SYNTAX' SUGGESTIONS relevance updated \
		pending processing ready failed; do
		assert_output --partial "$s"
	done
}

@test "man: apphub-jobs(1) covers every verb, option and rule" {
	need_mandoc
	run render "$MAN/apphub-jobs.1"
	assert_success
	local s
	for s in ls init package keygen trust test publish show rm run runs logs cancel work \
		--runtime --slug --force --out --key --name --input-json --input --param \
		--detach --timeout --status --limit --follow --watch \
		apphub.bundle.json manifest.json manifestPath artifactDir sampleInputPath \
		parametersSchema timeoutMs capabilities limits \
		pending running succeeded failed canceled timeout \
		'file descriptor 3' /bundle /work network \
		APPHUB_JOB_BUNDLE_MAX_SIZE APPHUB_JOB_ATTEMPTS \
		'POST /job-bundles' 'GET /job-bundles/:slug/:version/download' \
		'POST /jobs/:slug/run' 'GET /job-runs/:id/logs' 'POST /job-runs/:id/cancel' \
		'signature does not verify' 'EXIT STATUS' 'SEE ALSO'; do
		assert_output --partial "$s"
	done
}

@test "man: apphub-workflow(1) covers every verb, option and rule" {
	need_mandoc
	run render "$MAN/apphub-workflow.1"
	assert_success
	local s
	for s in ls add show rm run runs cancel schedule tick assets work \
		pause resume --version --dot --param --parameters-json --run-key --detach \
		--follow --status --limit --now --cron --timezone --start --end --catch-up \
		--watch parametersSchema defaultParameters maxParallel autoMaterialize \
		onUpstreamUpdate dependsOn jobSlug storeResultAs storeResponseAs storeResultsAs \
		collection maxItems maxConcurrency '<parent>:<template id>:<n>' \
		'{stepId, index, status, output}' duplicate_step missing_dependency \
		cycle_detected maxAttempts exponential initialDelayMs maxDelayMs \
		pending running succeeded failed canceled skipped heartbeat-timeout \
		startWindow endWindow catchUp @daily Europe/Berlin produces consumes ttlMs \
		asset.produced asset.expired auto-materialize \
		APPHUB_WORKFLOW_CONCURRENCY APPHUB_WORKFLOW_HEARTBEAT_TIMEOUT \
		APPHUB_WORKFLOW_LEASE_MS 'POST /workflows/:slug/run' 'GET /workflow-runs/:id' \
		'POST /workflow-runs/:id/cancel' 'POST /workflows/tick' 'GET /assets' \
		workflows:write workflows:run apphub-workflow-tick.timer 'EXIT STATUS' \
		EXAMPLES 'SEE ALSO'; do
		assert_output --partial "$s"
	done
}

@test "man: apphub(1) lists apphub-workflow(1)" {
	need_mandoc
	run render "$MAN/apphub.1"
	assert_success
	assert_output --partial 'apphub-workflow(1)'
	assert_output --partial workflowSlug
}

@test "man: apphub-metastore(1) covers every verb, option and rule" {
	need_mandoc
	run render "$MAN/apphub-metastore.1"
	assert_success
	local s
	for s in get create put patch rm purge restore search bulk audit ls index watch \
		--version --metadata-json --metadata-file --set --tag --owner --schema-hash \
		--idempotency-key --expected-version --unset --tags-add --tags-remove \
		--tags-set --audit -q --filter-json --sort --limit --offset --include-deleted \
		--projection --explain --drop --prefix --since --json --quiet --server \
		namespace key metadata tags owner schemaHash version createdAt updatedAt \
		deletedAt createdBy updatedBy '{record, created, idempotent}' \
		'^[A-Za-z0-9][A-Za-z0-9:._-]*$' 128 256 64 '1 MiB' 32 \
		expectedVersion version_conflict idempotencyKey 'idempotent: true' \
		metadataUnset continueOnError \
		'{type: "group", operator: "and"|"or", filters: [...]}' \
		'{type: "not", filter}' 'filter deeper than 8' \
		eq neq lt lte gt gte between contains has_key array_contains exists \
		'key:foo owner=ops' 'status:"in progress"' 'version>=10' \
		'{records, pagination: {total, limit, offset}}' \
		'{status: "ok", type, record}' \
		'{status: "error", type, error:' '{statusCode, code, message}}' not_found \
		revision Last-Event-ID 'etcdctl watch --rev' \
		created updated deleted restored purged \
		'POST /records' 'GET /records/:namespace/:key' 'PUT /records/:namespace/:key' \
		'PATCH /records/:namespace/:key' 'DELETE /records/:namespace/:key' \
		'DELETE /records/:namespace/:key/purge' 'POST /records/:namespace/:key/restore' \
		'POST /records/search' 'POST /records/bulk' 'GET /records/:namespace/:key/audit' \
		'GET /namespaces' 'GET /records/:namespace/indexes' \
		'POST /records/:namespace/indexes/:field' 'GET /records/:namespace/watch' \
		metastore:read metastore:write metastore:delete metastore:admin \
		metastore.record.created metastore.record.updated metastore.record.deleted \
		metastore.record.restored metastore.record.purged \
		APPHUB_METASTORE_MAX_RECORD 'EXIT STATUS' EXAMPLES 'SEE ALSO'; do
		assert_output --partial "$s"
	done
	# The eleven operators, each with an example.
	local op
	for op in eq lt between contains has_key array_contains exists; do
		assert_output --partial "\"operator\": \"$op\""
	done
}

@test "man: apphub-metastore(1) names every option of the synopsis in the text" {
	need_mandoc
	local synopsis opt
	synopsis=$(render "$MAN/apphub-metastore.1" | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p')
	[ -n "$synopsis" ]
	for opt in $(printf '%s\n' "$synopsis" | grep -oE -- '(^|[[ ])--?[a-z][a-z-]*' |
		tr -d '[ ' | sort -u); do
		render "$MAN/apphub-metastore.1" | sed '/^SYNOPSIS/,/^DESCRIPTION/d' |
			grep -qF -- "$opt" || fail "$opt is in the synopsis only"
	done
}

@test "man: apphub(1) lists apphub-metastore(1) and its JSON names" {
	need_mandoc
	run render "$MAN/apphub.1"
	assert_success
	local s
	for s in 'apphub-metastore(1)' 'metastore [verb]' namespace schemaHash \
		expectedVersion idempotencyKey idempotent revision continueOnError \
		pagination createdBy updatedBy deletedAt; do
		assert_output --partial "$s"
	done
}

@test "man: apphub-timestore(1) covers every verb, option, route and rule; apphub(1) lists it" {
	need_mandoc
	run render "$MAN/apphub-timestore.1"
	assert_success
	local s
	for s in ls show ingest query partitions retention compact sql rm \
		--format --schema-json --partition-key --idempotency-key --from --to --columns \
		--filter --every --agg --time-column --limit --explain --max-age --max-bytes \
		--apply --day json ndjson csv timestamp string double integer boolean \
		avg min max sum median count count_distinct percentile p95:latency p95_latency \
		'<fn>_<column>' 'mode: raw|downsampled' \
		intervalUnit intervalSize aggregations timeRange timestampColumn \
		'STATE/timestore/<dataset>/<yyyy-mm-dd>/<partition>.parquet' \
		'POST /datasets/:slug/ingest' 'POST /datasets/:slug/query' 'GET /datasets' \
		'GET /datasets/:slug' 'GET /datasets/:slug/partitions' \
		'PUT /datasets/:slug/retention' 'POST /datasets/:slug/compact' \
		'DELETE /datasets/:slug' 'POST /timestore/sql' timestore:read timestore:write \
		timestore.partition.created timestore.partition.deleted \
		APPHUB_TIMESTORE_MAX_INGEST APPHUB_TIMESTORE_GRACE 500,000 \
		'EXIT STATUS' EXAMPLES 'SEE ALSO'; do
		assert_output --partial "$s"
	done
	# every option of the command is in the page
	local opt
	for opt in $(apphub timestore query -h 2>&1 | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
		assert_output --partial "$opt"
	done
	run render "$MAN/apphub.1"
	assert_output --partial 'apphub-timestore(1)'
	assert_output --partial 'timestore [verb]'
}
