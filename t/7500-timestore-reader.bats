#!/usr/bin/env bats
# The timestore's Parquet files read back by another reader: DuckDB's Node
# package (@duckdb/node-api in t/web, installed by make deps), through
# t/helper/read-parquet.mjs. Every type, time to the microsecond, zstd, an
# added column (older files lack it), a compacted day, a csv ingest.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

setup() {
	common_setup
	cd "$BATS_TEST_TMPDIR"
	command -v node >/dev/null || skip "node is not installed"
	[[ -d $BATS_TEST_DIRNAME/web/node_modules/@duckdb/node-api ]] ||
		skip "@duckdb/node-api is not in t/web/node_modules (make deps)"
}

ts() {
	apphub timestore "$@"
}

# read FILE...: what the other reader finds, as JSON
read_back() {
	node "$BATS_TEST_DIRNAME/helper/read-parquet.mjs" "$@"
}

paths() {
	ts partitions "$1" --json | jq -r '.partitions[].path'
}

@test "every type read back as written: names, types, values, microseconds, zstd" {
	cat >body.json <<-'EOF'
		{"schema":{"fields":[{"name":"timestamp","type":"timestamp"},{"name":"site","type":"string"},
		  {"name":"temp","type":"double"},{"name":"count","type":"integer"},{"name":"ok","type":"boolean"}]},
		 "partition":{"key":"k"},
		 "rows":[{"timestamp":"2024-01-01T00:00:00Z","site":"a","temp":20.5,"count":1,"ok":true},
		         {"timestamp":"2024-01-01T12:30:00.123456Z","site":"é \"q\"","temp":-3.25,"count":9007199254740991,"ok":false},
		         {"timestamp":"2024-01-01T03:00:00+02:00","site":"c","temp":1e-3,"count":-7,"ok":true},
		         {"timestamp":1704103200000,"site":"d","temp":0,"count":0,"ok":false}]}
	EOF
	run -0 ts ingest w body.json
	run -0 paths w
	assert_equal "${#lines[@]}" 1
	[[ ${lines[0]} == "$APPHUB_HOME/timestore/w/2024-01-01/"*.parquet ]]
	run -0 read_back "${lines[0]}"
	out=$output
	assert_equal "$(jq -c '[.rows, .compression]' <<<"$out")" '[4,["ZSTD"]]'
	assert_equal "$(jq -c '[.columns[] | .name + ":" + .type]' <<<"$out")" \
		'["timestamp:TIMESTAMP","site:VARCHAR","temp:DOUBLE","count:BIGINT","ok:BOOLEAN"]'
	# times in UTC microseconds, in any order the file has them
	assert_equal "$(jq -c '[.values[] | [.timestamp, .site, .temp, .count, .ok]] | sort' <<<"$out")" \
		"$(jq -nc '[[1704067200000000,"a",20.5,1,true],
			[1704070800000000,"c",0.001,-7,true],
			[1704103200000000,"d",0,0,false],
			[1704112200123456,"é \"q\"",-3.25,9007199254740991,false]]')"
}

@test "a batch over two days: a file a day, each with its own rows; an added column is null in the older" {
	printf '%s\n' '{"timestamp":"2024-03-01T23:00:00Z","v":1}' '{"timestamp":"2024-03-02T01:00:00Z","v":2}' \
		'{"timestamp":"2024-03-02T02:00:00Z","v":3}' >a.ndjson
	run -0 ts ingest d a.ndjson --format ndjson
	printf '%s\n' '{"timestamp":"2024-03-03T00:00:00Z","v":4,"tag":"new"}' >b.ndjson
	run -0 ts ingest d b.ndjson --format ndjson
	run -0 ts partitions d --json
	parts=$output
	assert_equal "$(jq -c '[.partitions[] | [.day, .rows]] | sort' <<<"$parts")" \
		'[["2024-03-01",1],["2024-03-02",2],["2024-03-03",1]]'
	# each file alone: the rows the partition says it has
	while read -r path rows; do
		assert_equal "$(read_back "$path" | jq .rows)" "$rows"
	done < <(jq -r '.partitions[] | "\(.path) \(.rows)"' <<<"$parts")
	# all together, by column name: the older files lack tag
	mapfile -t files < <(jq -r '.partitions[].path' <<<"$parts")
	run -0 read_back "${files[@]}"
	assert_equal "$(jq -c '[.values[] | [.v, .tag]] | sort_by(.[0])' <<<"$output")" \
		'[[1,null],[2,null],[3,null],[4,"new"]]'
	assert_equal "$(jq -r '.columns[] | select(.name == "v") | .type' <<<"$output")" BIGINT
}

@test "a compacted day: one file with every row; a csv ingest reads back as its text" {
	for i in 1 2 3; do
		printf 'timestamp,temp,site\n2024-05-01T0%d:00:00Z,%d.5,s%d\n' "$i" "$i" "$i" >"c$i.csv"
		run -0 ts ingest c "c$i.csv" --format csv
	done
	assert_equal "$(paths c | wc -l)" 3
	run -0 ts compact c --day 2024-05-01
	run -0 paths c
	assert_equal "${#lines[@]}" 1
	run -0 read_back "${lines[0]}"
	assert_equal "$(jq -c '[.columns[] | .type]' <<<"$output")" '["TIMESTAMP","DOUBLE","VARCHAR"]'
	assert_equal "$(jq -c '[.values[] | [.temp, .site]] | sort' <<<"$output")" \
		'[[1.5,"s1"],[2.5,"s2"],[3.5,"s3"]]'
	assert_equal "$(jq -c '[.values[] | .timestamp] | sort' <<<"$output")" \
		"[$(( $(date -u -d 2024-05-01T01:00:00Z +%s) * 1000000 )),$(( $(date -u -d 2024-05-01T02:00:00Z +%s) * 1000000 )),$(( $(date -u -d 2024-05-01T03:00:00Z +%s) * 1000000 ))]"
}
