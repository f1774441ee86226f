#!/usr/bin/env bats
# The timestore through serve: every route of lib/timestore-ops.h, 401
# without a token and 403 without its scope, the CLI through --server, the
# helper apphub-timestore that serve keeps (killed, it is started again),
# and the retention serve applies on its own.

bats_require_minimum_version 1.5.0

load 'test_helper/common'
load 'test_helper/serve'

setup() {
	common_setup
	unset APPHUB_SERVER APPHUB_TOKEN APPHUB_TOKENS_FILE
	export APPHUB_TOKENS='[{"token":"ts-reader-1","subject":"ro","scopes":["timestore:read"]},
		{"token":"ts-writer-1","subject":"wr","scopes":["timestore:write"]},
		{"token":"ts-both-1","subject":"rw","scopes":["timestore:read","timestore:write"]},
		{"token":"jobs-token-1","subject":"jobs","scopes":["jobs:read"]}]'
}

R='Authorization: Bearer ts-reader-1'
W='Authorization: Bearer ts-writer-1'

expect() {
	local want=$1 r
	shift
	r=$(http "$@")
	body=$(body_of "$r")
	[[ $(status_of "$r") == "$want" ]] || fail "$1 $2: expected $want, got $(status_of "$r"): ${body:0:300}"
}

SCHEMA='{"fields":[{"name":"timestamp","type":"timestamp"},{"name":"temp","type":"double"},{"name":"site","type":"string"}]}'

# body DAY ROWS...: an ingest body of rows "HH:MM:SS temp site" on DAY
body() {
	local day=$1 rows= r t v s
	shift
	for r in "$@"; do
		read -r t v s <<<"$r"
		rows+="${rows:+,}{\"timestamp\":\"${day}T${t}Z\",\"temp\":$v,\"site\":\"$s\"}"
	done
	printf '{"schema":%s,"partition":{"key":"k"},"rows":[%s]}' "$SCHEMA" "$rows"
}

helper_pid() {
	pgrep -P "$SERVE_PID" -f apphub-timestore-serve
}

@test "every timestore route answers 401 without a token and 403 without its scope (write implies read)" {
	start_serve --workers 0
	while read -r method path good bad; do
		expect 401 "$method" "$path" -d '{}'
		expect 403 "$method" "$path" -H "Authorization: Bearer $bad" -d '{}'
		expect 403 "$method" "$path" -H "Authorization: Bearer jobs-token-1" -d '{}'
		r=$(http "$method" "$path" -H "Authorization: Bearer $good" -d '{}')
		[[ $(status_of "$r") != 40[13] ]] || fail "$method $path with $good: $(status_of "$r")"
	done <<-'EOF'
		GET /datasets ts-writer-1 jobs-token-1
		POST /datasets/d1/ingest ts-writer-1 ts-reader-1
		POST /datasets/d1/query ts-reader-1 jobs-token-1
		GET /datasets ts-reader-1 jobs-token-1
		GET /datasets/d1 ts-reader-1 jobs-token-1
		GET /datasets/d1/partitions ts-reader-1 jobs-token-1
		PUT /datasets/d1/retention ts-writer-1 ts-reader-1
		POST /datasets/d1/compact ts-writer-1 ts-reader-1
		DELETE /datasets/d1 ts-writer-1 ts-reader-1
		POST /timestore/sql ts-reader-1 jobs-token-1
	EOF
	stop_serve
	assert_equal "$SERVE_STATUS" 0
}

@test "every route over HTTP: ingest 201, query, datasets, show, partitions, retention, compact, sql, rm" {
	start_serve --workers 0
	expect 201 POST /datasets/temps/ingest -H "$W" -d "$(body 2024-01-01 '00:00:00 20 a' '00:30:00 25 b' '01:00:00 21 a')"
	assert_equal "$(jq -c '[.dataset.slug, .manifest.shard, .rows, .idempotent]' <<<"$body")" '["temps","2024-01-01",3,false]'
	expect 201 POST /datasets/temps/ingest -H "$W" -d "$(body 2024-01-01 '01:30:00 24 b' '02:00:00 26 a' '02:30:00 22 b')"
	assert_equal "$(jq '.manifest.version' <<<"$body")" 2

	# raw, then downsampled: the original's avg 22.5 and count 6
	expect 200 POST /datasets/temps/query -H "$R" \
		-d '{"timeRange":{"start":"2024-01-01T00:00:00Z","end":"2024-01-02T00:00:00Z"},"columns":"timestamp,temp"}'
	assert_equal "$(jq -c '[.mode, (.rows | length), .rows[0].timestamp, .rows[0].temp]' <<<"$body")" \
		'["raw",6,"2024-01-01T00:00:00Z",20]'
	expect 200 POST /datasets/temps/query -H "$R" \
		-d '{"timeRange":{"start":"2024-01-01T00:00:00Z","end":"2024-01-02T00:00:00Z"},"downsample":{"intervalUnit":"day","intervalSize":1,"aggregations":[{"fn":"avg","column":"temp"},{"fn":"count"}]}}'
	assert_equal "$(jq -c '[.mode, (.rows | length), .rows[0].avg_temp, .rows[0].count]' <<<"$body")" \
		'["downsampled",1,23,6]'
	expect 200 POST /datasets/temps/query -H "$R" \
		-d '{"timeRange":{"start":"2024-01-01T00:00:00Z","end":"2024-01-01T01:00:00Z"},"downsample":{"intervalUnit":"hour","intervalSize":1,"aggregations":[{"fn":"avg","column":"temp"}]}}'
	assert_equal "$(jq -c '[.rows[].avg_temp]' <<<"$body")" '[22.5]'
	# a range with no partitions: empty rows
	expect 200 POST /datasets/temps/query -H "$R" \
		-d '{"timeRange":{"start":"2023-01-01T00:00:00Z","end":"2023-01-02T00:00:00Z"}}'
	assert_equal "$(jq -c '.rows' <<<"$body")" '[]'

	expect 200 GET /datasets -H "$R"
	assert_equal "$(jq -c '[.datasets[] | [.slug, .rows, .partitions]]' <<<"$body")" '[["temps",6,2]]'
	expect 200 GET /datasets/temps -H "$R"
	assert_equal "$(jq -c '[.slug, .rows, (.schemaVersions | length)]' <<<"$body")" '["temps",6,1]'
	expect 200 GET /datasets/temps/partitions -H "$R"
	assert_equal "$(jq '.partitions | length' <<<"$body")" 2
	path=$(jq -r '.partitions[0].path' <<<"$body")
	[[ -f $path ]]

	expect 200 PUT /datasets/temps/retention -H "$W" -d '{"maxAgeHours":48}'
	assert_equal "$(jq -c '[.retention.maxAgeHours, .applied, (.partitions | length)]' <<<"$body")" '[48,false,2]'

	expect 200 POST /datasets/temps/compact -H "$W" -d '{"day":"2024-01-01"}'
	expect 200 GET /datasets/temps/partitions -H "$R"
	assert_equal "$(jq '.partitions | length' <<<"$body")" 1
	assert_equal "$(jq '.partitions[0].rows' <<<"$body")" 6

	expect 200 POST /timestore/sql -H "$R" -d '{"sql":"SELECT count(*) AS n, max(temp) AS hi FROM temps"}'
	assert_equal "$(jq -c '.rows[0] | [.n, .hi]' <<<"$body")" '[6,26]'
	expect 400 POST /timestore/sql -H "$R" -d '{"sql":"COPY temps TO '\''/tmp/x.csv'\''"}'

	# errors keep their status: unknown dataset 404, a bad slug 400
	expect 404 POST /datasets/nope/query -H "$R" \
		-d '{"timeRange":{"start":"2024-01-01T00:00:00Z","end":"2024-01-02T00:00:00Z"}}'
	assert_equal "$(jq -r '.error.code' <<<"$body")" not_found
	expect 400 POST /datasets/Bad_Slug/ingest -H "$W" -d "$(body 2024-01-01 '00:00:00 20 a')"
	expect 400 POST /datasets/temps/query -H "$R" \
		-d '{"timeRange":{"start":"2024-01-02T00:00:00Z","end":"2024-01-01T00:00:00Z"}}'

	expect 200 DELETE /datasets/temps -H "$W"
	assert_equal "$(jq -c '[.dataset, .rows]' <<<"$body")" '["temps",6]'
	expect 404 GET /datasets/temps -H "$R"
	[[ ! -e $APPHUB_HOME/timestore/temps ]]
	stop_serve
	assert_equal "$SERVE_STATUS" 0
}

@test "serve carries no DuckDB: one apphub-timestore helper, started on first use, gone when serve is" {
	run ldd "$(dirname "$(command -v apphub)")/apphub-serve"
	refute_output --partial duckdb
	start_serve --workers 0
	[[ -z $(helper_pid) ]]
	expect 200 GET /datasets -H "$R"
	pid=$(helper_pid)
	[[ -n $pid ]]
	expect 200 GET /datasets -H "$R"
	assert_equal "$(helper_pid)" "$pid"
	# its streams are pipes of serve's, not serve's own
	[[ $(readlink "/proc/$pid/fd/0") == pipe:* ]]
	[[ $(readlink "/proc/$pid/fd/1") == pipe:* ]]
	stop_serve
	wait_until bash -c "! kill -0 $pid 2>/dev/null"
}

@test "the helper killed with kill -9: the next request still answers" {
	start_serve --workers 0
	expect 201 POST /datasets/k9/ingest -H "$W" -d "$(body 2024-01-01 '00:00:00 20 a')"
	for i in 1 2 3; do
		pid=$(helper_pid)
		[[ -n $pid ]]
		kill -9 "$pid"
		expect 200 GET /datasets/k9 -H "$R"
		[[ $(helper_pid) != "$pid" ]]
	done
	expect 201 POST /datasets/k9/ingest -H "$W" -d "$(body 2024-01-02 '00:00:00 21 a')"
	expect 200 GET /datasets -H "$R"
	assert_equal "$(jq -c '[.datasets[] | [.slug, .rows]]' <<<"$body")" '[["k9",2]]'
	kill -0 "$SERVE_PID"
	stop_serve
	assert_equal "$SERVE_STATUS" 0
}

@test "requests at once: each answered, through the one helper" {
	local pids=()
	start_serve --workers 0
	for i in $(seq 1 8); do
		http POST /datasets/many/ingest -H "$W" -d "$(body "2024-01-0$i" '00:00:00 20 a' '01:00:00 21 b')" \
			>"$BATS_TEST_TMPDIR/out.$i" 3>&- &
		pids+=($!)
		http POST /timestore/sql -H "$R" -d '{"sql":"SELECT 1 AS one"}' >"$BATS_TEST_TMPDIR/sql.$i" 3>&- &
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in $(seq 1 8); do
		assert_equal "$(status_of "$(cat "$BATS_TEST_TMPDIR/out.$i")")" 201
		assert_equal "$(status_of "$(cat "$BATS_TEST_TMPDIR/sql.$i")")" 200
	done
	expect 200 GET /datasets/many -H "$R"
	assert_equal "$(jq -c '[.rows, (.partitions | length)]' <<<"$body")" '[16,8]'
	assert_equal "$(pgrep -c -P "$SERVE_PID" -f apphub-timestore-serve)" 1
	stop_serve
}

@test "a helper that does not answer in APPHUB_TIMESTORE_TIMEOUT is stopped: 500, and the next call works" {
	# A helper that reads and never answers, in place of apphub-timestore.
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\nexec 3>&1\nexec cat >/dev/null\n' >"$BATS_TEST_TMPDIR/bin/apphub-timestore"
	chmod +x "$BATS_TEST_TMPDIR/bin/apphub-timestore"
	APPHUB_EXEC_PATH="$BATS_TEST_TMPDIR/bin" APPHUB_TIMESTORE_TIMEOUT=1 start_serve --workers 0
	start=$(date +%s)
	expect 500 GET /datasets -H "$R"
	assert_equal "$(jq -r '.error.message' <<<"$body")" 'timestore helper: no answer in 1s, stopped'
	(( $(date +%s) - start < 10 ))
	expect 500 GET /datasets -H "$R"
	# serve itself still answers
	expect 200 GET /healthz
	kill -0 "$SERVE_PID"
	stop_serve
}

@test "a helper that dies in the middle of a call, or answers nonsense: 500 for that call, serve carries on" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	export FAKE_MODE="$BATS_TEST_TMPDIR/mode"
	cat >"$BATS_TEST_TMPDIR/bin/apphub-timestore" <<-'EOF'
		#!/bin/sh
		while read -r line; do
			case $(cat "$FAKE_MODE") in
			die) exit 0 ;;
			garbage) echo 'not json' ;;
			esac
		done
	EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/apphub-timestore"
	APPHUB_EXEC_PATH="$BATS_TEST_TMPDIR/bin" start_serve --workers 0
	echo die >"$FAKE_MODE"
	expect 500 GET /datasets -H "$R"
	assert_equal "$(jq -r '.error.message' <<<"$body")" 'timestore helper: it exited'
	expect 500 GET /datasets -H "$R"
	echo garbage >"$FAKE_MODE"
	expect 500 GET /datasets -H "$R"
	assert_equal "$(jq -r '.error.message' <<<"$body")" \
		'timestore helper: unreadable answer: line 1: syntax error at column 3'
	expect 200 GET /healthz
	stop_serve
	assert_equal "$SERVE_STATUS" 0
}

@test "--server: the timestore commands give the same output as locally" {
	unset APPHUB_TOKENS
	apphub timestore ingest temps - <<<"$(body 2024-01-01 '00:00:00 20 a' '00:30:00 25 b' '01:00:00 21 a')" >/dev/null
	start_serve --workers 0
	remote() {
		APPHUB_HOME="$BATS_TEST_TMPDIR/client" apphub --server "$SERVE_URL" "$@"
	}
	local args
	for args in 'timestore ls' 'timestore ls --json' 'timestore ls -q' 'timestore show temps' \
		'timestore partitions temps --json' \
		'timestore query temps --from 2024-01-01T00:00:00Z --to 2024-01-02T00:00:00Z' \
		'timestore query temps --from 2024-01-01T00:00:00Z --to 2024-01-02T00:00:00Z --every 1h --agg avg:temp --agg count --format json' \
		'timestore query temps --from 2024-01-01T00:00:00Z --to 2024-01-02T00:00:00Z --format csv --filter site=a' \
		'timestore retention temps'; do
		# shellcheck disable=SC2086
		assert_equal "$(remote $args)" "$(apphub $args)"
	done
	run -0 remote timestore sql 'SELECT count(*) AS n FROM temps' --format csv
	assert_equal "$(tail -n 1 <<<"$output")" 3
	run --separate-stderr -2 remote timestore query nope --from 2024-01-01T00:00:00Z --to 2024-01-02T00:00:00Z
	assert_stderr_partial "dataset 'nope'"
	run -0 remote timestore ingest more - <<<"$(body 2024-01-03 '00:00:00 20 a')"
	run -0 apphub timestore ls -q
	assert_output $'more\ntemps'
	[[ ! -e $BATS_TEST_TMPDIR/client ]]
	stop_serve
}

@test "serve applies retention on its own (APPHUB_TIMESTORE_RETENTION_INTERVAL)" {
	unset APPHUB_TOKENS
	old=$(date -u -d '60 days ago' +%Y-%m-%d)
	new=$(date -u -d '1 hour ago' +%Y-%m-%d)
	apphub timestore ingest r - <<<"$(body "$old" '00:00:00 20 a')" >/dev/null
	apphub timestore ingest r - <<<"$(body "$new" '00:00:00 21 b')" >/dev/null
	apphub timestore ingest s - <<<"$(body "$old" '00:00:00 22 c')" >/dev/null
	assert_equal "$(apphub timestore partitions r --json | jq '.partitions | length')" 2
	APPHUB_TIMESTORE_RETENTION_INTERVAL=1 start_serve --workers 0
	expired() {
		[[ $(apphub timestore partitions r --json | jq '.partitions | length') == 1 &&
			$(apphub timestore partitions s --json | jq '.partitions | length') == 0 ]]
	}
	wait_until expired
	assert_equal "$(apphub timestore partitions r --json | jq -r '.partitions[0].day')" "$new"
	wait_until grep -q 'timestore retention: s: 1 partition dropped' "$SERVE_ERR"
	stop_serve
	assert_equal "$SERVE_STATUS" 0
}
