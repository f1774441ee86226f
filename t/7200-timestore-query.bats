#!/usr/bin/env bats
# apphub timestore query and sql: raw rows and downsamples over only the
# partitions that overlap the range (--explain), every option and error
# path, the original's cases (avg 22.5, count 6, no partitions -> empty
# rows), a field added since read as NULL from older files, and the SQL
# guard: one SELECT, nothing written, no file read outside the store.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

setup() {
	common_setup
	cd "$BATS_TEST_TMPDIR"
}

ts() {
	apphub timestore "$@"
}

FROM=2024-01-01T00:00:00Z
TO=2024-01-02T00:00:00Z

# six readings an hour apart at ten minutes: temp 20..25, site a/b, n 0..5, ok on even n
sensors() {
	{
		echo 'timestamp,temp,site,n,ok'
		for i in 0 1 2 3 4 5; do
			printf '2024-01-01T00:%d0:00Z,%d.0,%s,%d,%s\n' "$i" $((20 + i)) \
				"$([ $((i % 2)) = 0 ] && echo a || echo b)" "$i" \
				"$([ $((i % 2)) = 0 ] && echo true || echo false)"
		done
	} >sensors.csv
	ts ingest sensors sensors.csv --format csv -q >/dev/null
}

# q DATASET ARGS...: the query over the first of January, as JSON
q() {
	local ds=$1
	shift
	ts query "$ds" --from "$FROM" --to "$TO" --json "$@"
}

@test "the original's cases: avg 22.5, count 6; a range with no partitions gives empty rows" {
	sensors
	run --separate-stderr -0 q sensors --every 1h --agg avg:temp --agg count
	assert_equal "$(jq -c '[.mode, .rows]' <<<"$output")" \
		'["downsampled",[{"timestamp":"2024-01-01T00:00:00Z","avg_temp":22.5,"count":6}]]'
	assert_equal "$(jq -c '.columns' <<<"$output")" \
		'[{"name":"timestamp","type":"timestamp"},{"name":"avg_temp","type":"double"},{"name":"count","type":"integer"}]'
	run --separate-stderr -0 ts query sensors --from 2025-01-01T00:00:00Z --to 2025-02-01T00:00:00Z --json
	assert_equal "$(jq -c '[.mode, .rows, (.columns | map(.name))]' <<<"$output")" \
		'["raw",[],["timestamp","temp","site","n","ok"]]'
	run --separate-stderr -0 ts query sensors --from 2025-01-01T00:00:00Z --to 2025-02-01T00:00:00Z \
		--every 1d --agg avg:temp --json
	assert_equal "$(jq -c '[.mode, .rows]' <<<"$output")" '["downsampled",[]]'
}

@test "raw: every column in order by time, --columns, --limit, [from, to), times RFC 3339 UTC" {
	sensors
	run --separate-stderr -0 q sensors
	assert_equal "$(jq -c '.rows[0]' <<<"$output")" \
		'{"timestamp":"2024-01-01T00:00:00Z","temp":20,"site":"a","n":0,"ok":true}'
	assert_equal "$(jq '.rows | length' <<<"$output")" 6
	assert_equal "$(jq -r '.mode' <<<"$output")" raw
	run --separate-stderr -0 q sensors --columns site,temp --limit 2
	assert_equal "$(jq -c '[(.columns | map(.name)), .rows]' <<<"$output")" \
		'[["timestamp","site","temp"],[{"timestamp":"2024-01-01T00:00:00Z","site":"a","temp":20},{"timestamp":"2024-01-01T00:10:00Z","site":"b","temp":21}]]'
	# the end is excluded, the start included; times in any offset or as unix ms
	run --separate-stderr -0 ts query sensors --from 2024-01-01T01:10:00+01:00 --to 1704069000000 --json
	assert_equal "$(jq -c '[.rows[].timestamp]' <<<"$output")" \
		'["2024-01-01T00:10:00Z","2024-01-01T00:20:00Z"]'
	# a fraction only when not whole seconds
	printf 'timestamp,v\n2024-01-01T00:00:00.25Z,1\n2024-01-01T00:00:01Z,2\n' >f.csv
	ts ingest frac f.csv --format csv -q
	run --separate-stderr -0 q frac
	assert_equal "$(jq -c '[.rows[].timestamp]' <<<"$output")" \
		'["2024-01-01T00:00:00.250Z","2024-01-01T00:00:01Z"]'
}

@test "raw: 1000 rows by default, --limit up to 500000" {
	awk 'BEGIN { print "timestamp,v"; for (i = 0; i < 1500; i++) printf "2024-01-01T00:%02d:%02dZ,%d\n", int(i / 60), i % 60, i }' >many.csv
	ts ingest many many.csv --format csv -q
	run --separate-stderr -0 q many
	assert_equal "$(jq '.rows | length' <<<"$output")" 1000
	run --separate-stderr -0 q many --limit 500000
	assert_equal "$(jq '.rows | length' <<<"$output")" 1500
	assert_equal "$(jq -r '.rows[-1].v' <<<"$output")" 1499
}

@test "filters: each op on each type, ANDed; values typed by their column" {
	sensors
	f() {
		q sensors "$@" | jq -c '[.rows[].n]'
	}
	assert_equal "$(f --filter 'temp = 22')" '[2]'
	assert_equal "$(f --filter 'temp != 22')" '[0,1,3,4,5]'
	assert_equal "$(f --filter 'temp < 21.5')" '[0,1]'
	assert_equal "$(f --filter 'temp <= 21')" '[0,1]'
	assert_equal "$(f --filter 'temp > 24')" '[5]'
	assert_equal "$(f --filter 'temp >= 24')" '[4,5]'
	assert_equal "$(f --filter 'n in 1,3,9')" '[1,3]'
	assert_equal "$(f --filter 'site in b')" '[1,3,5]'
	assert_equal "$(f --filter 'site contains b')" '[1,3,5]'
	assert_equal "$(f --filter 'site = "a"')" '[0,2,4]'
	assert_equal "$(f --filter 'ok = true')" '[0,2,4]'
	assert_equal "$(f --filter 'ok != true')" '[1,3,5]'
	assert_equal "$(f --filter 'timestamp >= 2024-01-01T00:40:00Z')" '[4,5]'
	assert_equal "$(f --filter 'timestamp < 1704067800000')" '[0]'
	# the word forms, and two filters ANDed
	assert_equal "$(f --filter 'n gte 2' --filter 'site eq a')" '[2,4]'
	assert_equal "$(f --filter 'n neq 0' --filter 'n lt 3')" '[1,2]'
	assert_equal "$(f --filter 'site contains z')" '[]'
}

@test "downsample: --every's units, every function, percentile aliases, count alone" {
	sensors
	run --separate-stderr -0 q sensors --every 20m --agg min:temp --agg max:temp --agg sum:n \
		--agg median:temp --agg count_distinct:site --agg p95:temp --agg count:site --agg count
	assert_equal "$(jq -c '.columns | map(.name)' <<<"$output")" \
		'["timestamp","min_temp","max_temp","sum_n","median_temp","count_distinct_site","p95_temp","count_site","count"]'
	assert_equal "$(jq -c '.columns | map(.type)' <<<"$output")" \
		'["timestamp","double","double","integer","double","integer","double","integer","integer"]'
	assert_equal "$(jq -c '.rows[0]' <<<"$output")" \
		'{"timestamp":"2024-01-01T00:00:00Z","min_temp":20,"max_temp":21,"sum_n":1,"median_temp":20.5,"count_distinct_site":2,"p95_temp":20.95,"count_site":2,"count":2}'
	assert_equal "$(jq '.rows | length' <<<"$output")" 3
	assert_equal "$(jq -r '.rows[2].timestamp' <<<"$output")" 2024-01-01T00:40:00Z
	# p50..p99 and a fraction
	run --separate-stderr -0 q sensors --every 1h --agg p50:temp --agg p99.9:temp
	assert_equal "$(jq -c '.rows[0]' <<<"$output")" \
		'{"timestamp":"2024-01-01T00:00:00Z","p50_temp":22.5,"percentile_temp":24.995}'
	# each unit is time_bucket's interval
	for e in '30s:30 second' '5m:5 minute' '2h:2 hour' '1d:1 day' '1w:1 week' '3mo:3 month'; do
		run --separate-stderr -0 ts query sensors --from "$FROM" --to "$TO" --every "${e%%:*}" \
			--agg avg:temp --explain
		assert_output --partial "time_bucket(INTERVAL '${e#*:}', \\\"timestamp\\\")"
	done
	run --separate-stderr -0 q sensors --every 1d --agg count --filter 'site = b'
	assert_equal "$(jq -c '.rows' <<<"$output")" '[{"timestamp":"2024-01-01T00:00:00Z","count":3}]'
}

@test "downsample by week and month: buckets from Monday and from the first of the month" {
	{
		echo 'timestamp,v'
		# a Wednesday and a Sunday of one week, the next Monday, then February and March
		for t in 2024-01-03T10:00:00Z 2024-01-07T23:59:59Z 2024-01-08T00:00:00Z \
			2024-02-29T12:00:00Z 2024-03-01T00:00:00Z 2024-03-31T23:59:59.5Z; do
			echo "$t,1"
		done
	} >wm.csv
	ts ingest wm wm.csv --format csv -q
	run --separate-stderr -0 ts query wm --from 2024-01-01T00:00:00Z --to 2024-04-01T00:00:00Z \
		--every 1w --agg count --format csv
	assert_equal "$output" 'timestamp,count
2024-01-01T00:00:00Z,2
2024-01-08T00:00:00Z,1
2024-02-26T00:00:00Z,2
2024-03-25T00:00:00Z,1'
	run --separate-stderr -0 ts query wm --from 2024-01-01T00:00:00Z --to 2024-04-01T00:00:00Z \
		--every 1mo --agg count --agg sum:v --format csv
	assert_equal "$output" 'timestamp,count,sum_v
2024-01-01T00:00:00Z,3,3
2024-02-01T00:00:00Z,1,1
2024-03-01T00:00:00Z,2,2'
	run --separate-stderr -0 ts query wm --from 2024-01-01T00:00:00Z --to 2024-04-01T00:00:00Z \
		--every 2mo --agg count --format csv
	assert_equal "$output" 'timestamp,count
2024-01-01T00:00:00Z,4
2024-03-01T00:00:00Z,2'
}

@test "--explain: only the partitions that overlap the range, and the SQL" {
	for d in 01 02 03; do
		printf 'timestamp,v\n2024-03-%sT12:00:00Z,1\n' "$d" >"$d.csv"
		ts ingest days "$d.csv" --format csv -q
	done
	run --separate-stderr -0 ts query days --from 2024-03-02T00:00:00Z --to 2024-03-03T00:00:00Z --explain
	assert_equal "$(jq -c '[.partitions[] | [.day, .rows]]' <<<"$output")" '[["2024-03-02",1]]'
	assert_equal "$(jq -r '.partitions[0].path' <<<"$output")" \
		"$(ts partitions days --json | jq -r '.partitions[] | select(.day == "2024-03-02") | .path')"
	assert_equal "$(jq -r '.sql | test("read_parquet\\(\\[.*2024-03-02/p-[^,]*\\], union_by_name = true\\)")' <<<"$output")" true
	assert_equal "$(jq -r '.sql | test("2024-03-01|2024-03-03")' <<<"$output")" false
	run --separate-stderr -0 ts query days --from 2024-03-01T12:00:00Z --to 2024-03-03T12:00:01Z --explain
	assert_equal "$(jq -c '[.partitions[].day]' <<<"$output")" '["2024-03-01","2024-03-02","2024-03-03"]'
	run --separate-stderr -0 ts query days --from 2024-04-01T00:00:00Z --to 2024-04-02T00:00:00Z --explain
	assert_equal "$(jq -c '.partitions' <<<"$output")" '[]'
	# values are bound, never written into the SQL
	run --separate-stderr -0 ts query days --from 2024-03-01T00:00:00Z --to 2024-03-04T00:00:00Z \
		--filter "v = 1" --explain
	assert_equal "$(jq -r '.sql | test("\"v\" = \\?")' <<<"$output")" true
}

@test "--format table, csv (RFC 4180), json; -q drops the header" {
	printf 'timestamp,name,v\n2024-01-01T00:00:00Z,"a, ""b""",1.5\n2024-01-01T00:01:00Z,plain,2\n' >c.csv
	ts ingest fmt c.csv --format csv -q
	run --separate-stderr -0 ts query fmt --from "$FROM" --to "$TO" --format csv
	assert_equal "$output" 'timestamp,name,v
2024-01-01T00:00:00Z,"a, ""b""",1.5
2024-01-01T00:01:00Z,plain,2'
	run --separate-stderr -0 ts query fmt --from "$FROM" --to "$TO"
	assert_line --index 0 --regexp '^timestamp +name +v$'
	assert_line --index 2 --regexp '^2024-01-01T00:01:00Z +plain +2$'
	run --separate-stderr -0 ts query fmt --from "$FROM" --to "$TO" -q
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp '^2024-01-01T00:00:00Z +a, "b" +1.5$'
	run --separate-stderr -0 ts query fmt --from "$FROM" --to "$TO" --format json
	assert_equal "$(jq -c '.rows[0].name' <<<"$output")" '"a, \"b\""'
	run --separate-stderr -0 ts query fmt --from "$FROM" --to "$TO" --every 1h --agg avg:v --format csv
	assert_equal "$output" 'timestamp,avg_v
2024-01-01T00:00:00Z,1.75'
}

@test "a field added since: older partitions read it as NULL, in queries, filters, aggregations and sql" {
	sensors
	printf 'timestamp,temp,site,n,ok,hum\n2024-01-01T02:00:00Z,30,c,6,true,0.5\n' >new.csv
	ts ingest sensors new.csv --format csv -q
	# only the older partition is in this range: it has no hum column at all
	run --separate-stderr -0 ts query sensors --from "$FROM" --to 2024-01-01T01:00:00Z --json
	assert_equal "$(jq -c '[.rows[0].hum, (.rows | length)]' <<<"$output")" '[null,6]'
	run --separate-stderr -0 ts query sensors --from "$FROM" --to 2024-01-01T01:00:00Z \
		--every 1h --agg avg:hum --agg count:hum --json
	assert_equal "$(jq -c '.rows' <<<"$output")" '[{"timestamp":"2024-01-01T00:00:00Z","avg_hum":null,"count_hum":0}]'
	run --separate-stderr -0 q sensors --filter 'hum > 0.1'
	assert_equal "$(jq -c '[.rows[] | [.n, .hum]]' <<<"$output")" '[[6,0.5]]'
	run --separate-stderr -0 ts sql 'SELECT count(*) AS c, count(hum) AS h FROM sensors' --json
	assert_equal "$(jq -c '.rows' <<<"$output")" '[{"c":7,"h":1}]'
	# the only file with the new field goes (retention): the view still has it, as NULL
	printf 'timestamp,v\n2099-01-01T00:00:00Z,1\n' >a.csv
	printf 'timestamp,v,w\n2000-01-01T00:00:00Z,2,x\n' >b.csv
	ts ingest evolve a.csv --format csv -q
	ts ingest evolve b.csv --format csv -q
	ts retention evolve --max-age 1h --apply >/dev/null
	assert_equal "$(ts partitions evolve --json | jq -c '[.partitions[].day]')" '["2099-01-01"]'
	run --separate-stderr -0 ts sql 'SELECT v, w FROM evolve' --json
	assert_equal "$(jq -c '.rows' <<<"$output")" '[{"v":1,"w":null}]'
	run --separate-stderr -0 ts query evolve --from 2099-01-01T00:00:00Z --to 2099-01-02T00:00:00Z \
		--filter 'w != x' --json
	assert_equal "$(jq -c '.rows' <<<"$output")" '[]'
	run --separate-stderr -0 ts query evolve --from 2099-01-01T00:00:00Z --to 2099-01-02T00:00:00Z --json
	assert_equal "$(jq -c '.rows' <<<"$output")" '[{"timestamp":"2099-01-01T00:00:00Z","v":1,"w":null}]'
}

@test "bad input: unknown dataset (2), column, aggregation, times, range, limit, terms, usage" {
	sensors
	run --separate-stderr -2 ts query nosuch --from "$FROM" --to "$TO"
	assert_stderr_partial "nosuch"
	run --separate-stderr -1 ts query 'Bad_Slug' --from "$FROM" --to "$TO"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --columns temp,nope
	assert_stderr_partial "unknown column 'nope'"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --filter 'nope = 1'
	assert_stderr_partial "unknown column 'nope'"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --every 1h --agg avg:nope
	assert_stderr_partial "unknown column 'nope'"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --every 1h --agg mode:temp
	assert_stderr_partial "unknown function 'mode'"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --every 1h --agg avg:site
	assert_stderr_partial "avg needs a number column, 'site' is string"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --every 1h --agg p100:temp
	assert_stderr_partial "p100:temp"
	run --separate-stderr -1 ts query sensors --from "$TO" --to "$FROM"
	assert_stderr_partial "timeRange: the end is not after the start"
	run --separate-stderr -1 ts query sensors --from yesterday --to "$TO"
	assert_stderr_partial "timeRange.start: not a time"
	assert_stderr_partial "'yesterday'"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to 2024-13-01T00:00:00Z
	assert_stderr_partial "timeRange.end: not a time"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to 99999999999999999
	assert_stderr_partial "timeRange.end"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --limit 500001
	assert_stderr_partial "limit: 1 to 500000"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --filter 'temp > warm'
	assert_stderr_partial "filter 1: not a number: 'warm'"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --filter 'n = 1.5'
	assert_stderr_partial "not an integer: '1.5'"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --filter 'ok = maybe'
	assert_stderr_partial "not true or false: 'maybe'"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --filter 'timestamp > soon'
	assert_stderr_partial "not a time"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --filter 'temp contains 2'
	assert_stderr_partial "contains needs a string column"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --filter 'temp ~ 3'
	assert_stderr_partial "cannot parse 'temp ~ 3'"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --filter 'temp ='
	assert_stderr_partial "has no value"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --every 5x --agg avg:temp
	assert_stderr_partial "every: '5x' is not an interval"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --every 0m --agg avg:temp
	assert_stderr_partial "every: '0m'"
	run --separate-stderr -1 ts query sensors --from "$FROM" --to "$TO" --time-column temp
	assert_stderr_partial "'temp' is double, not a timestamp"
	run --separate-stderr -129 ts query sensors --from "$FROM"
	assert_stderr_partial "query needs --from and --to"
	run --separate-stderr -129 ts query sensors --from "$FROM" --to "$TO" --every 1h
	assert_stderr_partial "--every and --agg go together"
	run --separate-stderr -129 ts query sensors --from "$FROM" --to "$TO" --format xml
	assert_stderr_partial "--format is table, csv or json"
	run --separate-stderr -129 ts query --from "$FROM" --to "$TO"
}

@test "sql: each dataset a view over its live files; one with none an empty view with its schema" {
	sensors
	run --separate-stderr -0 ts sql 'SELECT site, count(*) AS n, avg(temp) AS t FROM sensors GROUP BY site ORDER BY site' --json
	assert_equal "$(jq -c '.rows' <<<"$output")" '[{"site":"a","n":3,"t":22},{"site":"b","n":3,"t":23}]'
	assert_equal "$(jq -c '.columns' <<<"$output")" \
		'[{"name":"site","type":"string"},{"name":"n","type":"integer"},{"name":"t","type":"double"}]'
	run --separate-stderr -0 ts sql 'WITH x AS (SELECT max(timestamp) AS m FROM sensors) SELECT m FROM x' --format csv
	assert_equal "$output" 'm
2024-01-01T00:50:00Z'
	run --separate-stderr -0 ts sql 'SELECT [1, 2] AS l, {'"'"'a'"'"': 1} AS s, DATE '"'"'2024-01-02'"'"' AS d' --json
	assert_equal "$(jq -c '.rows' <<<"$output")" '[{"l":[1,2],"s":{"a":1},"d":"2024-01-02"}]'
	# a dataset whose partitions all went: its columns, no rows
	printf 'timestamp,v,tag\n2000-01-01T00:00:00Z,1,x\n' >old.csv
	ts ingest old old.csv --format csv -q
	ts retention old --max-age 1h --apply >/dev/null
	assert_equal "$(ts partitions old --json | jq '.partitions | length')" 0
	run --separate-stderr -0 ts sql 'SELECT * FROM old' --json
	assert_equal "$(jq -c '[.rows, .columns]' <<<"$output")" \
		'[[],[{"name":"timestamp","type":"timestamp"},{"name":"v","type":"integer"},{"name":"tag","type":"string"}]]'
	run --separate-stderr -0 ts sql 'SELECT * FROM range(10)' --limit 3 --json
	assert_equal "$(jq -c '[(.rows | length), .truncated]' <<<"$output")" '[3,true]'
	run --separate-stderr -0 ts sql 'SELECT * FROM range(10)' --limit 3
	assert_stderr_partial "more rows than --limit"
	run --separate-stderr -1 ts sql 'SELECT * FROM nosuch'
	assert_stderr_partial "nosuch"
	run --separate-stderr -1 ts sql 'SELEC 1'
	assert_stderr_partial "syntax error"
}

@test "sql guard: writes, COPY, ATTACH, INSTALL, LOAD, PRAGMA, SET and more are refused, nothing written" {
	sensors
	# the files, and the records (SQLite's shared memory index aside)
	before=$(cd "$APPHUB_HOME" && find . -type f ! -name '*-shm' | sort | xargs sha256sum)
	for s in \
		"INSERT INTO sensors VALUES (1)" \
		"UPDATE sensors SET temp = 0" \
		"DELETE FROM sensors" \
		"CREATE TABLE t (a INT)" \
		"CREATE VIEW v AS SELECT 1" \
		"DROP VIEW sensors" \
		"ALTER VIEW sensors RENAME TO s2" \
		"COPY (SELECT 1) TO '$APPHUB_HOME/timestore/out.csv'" \
		"COPY sensors TO '$BATS_TEST_TMPDIR/out.csv'" \
		"EXPORT DATABASE '$APPHUB_HOME/timestore/exp'" \
		"ATTACH '$BATS_TEST_TMPDIR/x.db' AS x" \
		"DETACH memory" \
		"INSTALL httpfs" \
		"LOAD httpfs" \
		"PRAGMA enable_profiling" \
		"SET enable_external_access = true" \
		"SET lock_configuration = false" \
		"RESET allowed_directories" \
		"CALL pragma_version()" \
		"EXPLAIN SELECT 1" \
		"BEGIN TRANSACTION" \
		"CHECKPOINT" \
		"VACUUM" \
		"PREPARE p AS SELECT 1" \
		"SELECT 1; SELECT 2" \
		"SELECT 1; DROP VIEW sensors" \
		"CREATE MACRO m(a) AS a"; do
		run --separate-stderr -1 ts sql "$s"
		[ -n "$stderr" ] || { echo "no message for: $s"; false; }
		assert_equal "$output" ''
	done
	run --separate-stderr -1 ts sql 'ATTACH '"'"'x.db'"'"''
	assert_stderr_partial "only a query (SELECT, WITH ... SELECT) is allowed, not ATTACH"
	run --separate-stderr -1 ts sql 'INSTALL httpfs'
	assert_stderr_partial "not LOAD or INSTALL"
	run --separate-stderr -1 ts sql 'PRAGMA enable_profiling'
	assert_stderr_partial "not PRAGMA"
	run --separate-stderr -1 ts sql 'SET threads = 1'
	assert_stderr_partial "not SET"
	run --separate-stderr -1 ts sql "COPY (SELECT 1) TO '$APPHUB_HOME/timestore/out.csv'"
	assert_stderr_partial "not COPY"
	run --separate-stderr -1 ts sql 'SELECT 1; SELECT 2'
	assert_stderr_partial "one statement at a time"
	after=$(cd "$APPHUB_HOME" && find . -type f ! -name '*-shm' | sort | xargs sha256sum)
	assert_equal "$after" "$before"
	[ ! -e out.csv ] && [ ! -e x.db ]
	# the views still read after all that
	run --separate-stderr -0 ts sql 'SELECT count(*) AS c FROM sensors' --json
	assert_equal "$(jq -c '.rows' <<<"$output")" '[{"c":6}]'
}

@test "sql guard: no file outside the store is read, however named" {
	sensors
	# a Parquet file outside the store (written by DuckDB itself)
	"$BATS_TEST_DIRNAME/helper/test-parquet" \
		"COPY (SELECT 42 AS answer) TO '$BATS_TEST_TMPDIR/outside.parquet' (FORMAT parquet)" >/dev/null
	mkdir -p .tmp && echo secret >.tmp/x
	file=$(ts partitions sensors --json | jq -r '.partitions[0].path')
	for s in \
		"SELECT * FROM read_csv('/etc/passwd')" \
		"SELECT * FROM '/etc/passwd'" \
		"SELECT * FROM read_text('/etc/hostname')" \
		"SELECT * FROM read_blob('$APPHUB_HOME/apphub.db')" \
		"SELECT * FROM read_parquet('$BATS_TEST_TMPDIR/outside.parquet')" \
		"SELECT * FROM '$BATS_TEST_TMPDIR/outside.parquet'" \
		"SELECT * FROM read_parquet('$APPHUB_HOME/timestore/../../outside.parquet')" \
		"SELECT * FROM read_text('.tmp/x')" \
		"SELECT * FROM glob('/etc/*')" \
		"SELECT * FROM read_json('/etc/os-release')" \
		"SELECT getenv('HOME')" \
		"SELECT * FROM sqlite_scan('$APPHUB_HOME/apphub.db', 'events')"; do
		run --separate-stderr -1 ts sql "$s"
		[ -n "$stderr" ] || { echo "no message for: $s"; false; }
		refute_output --partial secret
		refute_output --partial 42
		refute_output --partial root
	done
	run --separate-stderr -1 ts sql "SELECT * FROM read_csv('/etc/passwd')"
	assert_stderr_partial "/etc/passwd"
	# the store's own files are readable, as the views are
	run --separate-stderr -0 ts sql "SELECT count(*) AS c FROM read_parquet('$file')" --json
	assert_equal "$(jq -c '.rows' <<<"$output")" '[{"c":6}]'
}
