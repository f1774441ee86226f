#!/usr/bin/env bats
# apphub timestore ingest, ls, show, partitions: the formats, the schema's
# evolution, manifests per UTC day, idempotency, bad input refused with
# nothing written, the files read back by DuckDB itself (t/helper/test-parquet),
# kill -9 during ingest and four ingests at once.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

# files the tests write are the test's own
setup() {
	common_setup
	cd "$BATS_TEST_TMPDIR"
}

ts() {
	apphub timestore "$@"
}

# parquet SQL: DuckDB's answer, tab-separated
parquet() {
	"$BATS_TEST_DIRNAME/helper/test-parquet" "$@"
}

# body FIELDS ROWS [EXTRA]: an ingest body in the original's shape
body() {
	printf '{"schema":{"fields":[%s]},"rows":[%s]%s}\n' "$1" "$2" "${3:-}"
}

F_TEMP='{"name":"timestamp","type":"timestamp"},{"name":"temp","type":"double"}'

# csv_rows N DAY: a header and N rows of (timestamp, three doubles, a tag) on DAY, a second apart
csv_rows() {
	awk -v n="$1" -v day="$2" 'BEGIN {
		print "timestamp,a,b,c,tag"
		for (i = 0; i < n; i++)
			printf "%sT%02d:%02d:%02d.%03dZ,%d.5,%d,%f,tag-%d\n", day, int(i / 3600) % 24,
				int(i / 60) % 60, i % 60, i % 1000, i, -i, i / 7, i % 16
	}'
}

# files DATASET: the dataset's files on disk, sorted
files() {
	(cd "$APPHUB_HOME" && find "timestore/$1" -type f | sort)
}

# recorded DATASET: the files its live partitions name, sorted
recorded() {
	ts partitions "$1" --json | jq -r '.partitions[].path' | sed "s|^$APPHUB_HOME/||" | sort
}

db() {
	sqlite3 "$APPHUB_HOME/apphub.db" "$@"
}

@test "a json body: the dataset is made, shard 2024-01-01, a zstd Parquet file DuckDB reads back" {
	body "$F_TEMP"',{"name":"site","type":"string"},{"name":"ok","type":"boolean"},{"name":"n","type":"integer"}' \
		'{"timestamp":"2024-01-01T00:00:00Z","temp":20,"site":"a","ok":true,"n":1},{"timestamp":"2024-01-01T12:30:00.25Z","temp":25,"site":"b","ok":false,"n":null}' \
		',"partition":{"key":"sensors","attributes":{"region":"eu"},"timeRange":{"start":"2024-01-01T00:00:00Z","end":"2024-01-02T00:00:00Z"}}' >b.json
	run --separate-stderr -0 ts ingest obs b.json --json
	assert_equal "$(jq -c '[.dataset.slug, .manifest.shard, .manifest.version, .manifest.partitionCount, .rows, .idempotent, (.manifests | length)]' <<<"$output")" \
		'["obs","2024-01-01",1,1,2,false,1]'
	assert_equal "$(jq -c '.partitions[0] | [.day, .rows, .start, .end, .schemaVersion]' <<<"$output")" \
		'["2024-01-01",2,"2024-01-01T00:00:00Z","2024-01-01T12:30:00.250Z",1]'
	path=$(jq -r '.partitions[0].path' <<<"$output")
	[[ $path == "$APPHUB_HOME/timestore/obs/2024-01-01/"p-*.parquet ]]
	[[ -f $path ]]
	assert_equal "$(jq -r '.partitions[0].bytes' <<<"$output")" "$(stat -c %s "$path")"
	run -0 parquet "SELECT timestamp, temp, site, ok, n FROM read_parquet('$path') ORDER BY timestamp"
	assert_output "$(printf '2024-01-01 00:00:00\t20.0\ta\ttrue\t1\n2024-01-01 12:30:00.25\t25.0\tb\tfalse\tNULL')"
	run -0 parquet "SELECT column_name || ':' || column_type FROM (DESCRIBE SELECT * FROM read_parquet('$path'))"
	assert_output "$(printf 'timestamp:TIMESTAMP\ntemp:DOUBLE\nsite:VARCHAR\nok:BOOLEAN\nn:BIGINT')"
	run -0 parquet "SELECT DISTINCT compression FROM parquet_metadata('$path')"
	assert_output ZSTD
	# the records: partition key and attributes kept
	assert_equal "$(db "SELECT partition_key || ' ' || attributes FROM ts_partitions")" 'sensors {"region":"eu"}'
	# nothing temporary left
	assert_equal "$(files obs)" "$(recorded obs)"
}

@test "one batch over two days: separate manifests for 03-01 and 03-02; a second batch is version 2" {
	body "$F_TEMP" '{"timestamp":"2024-03-01T23:59:59Z","temp":1},{"timestamp":"2024-03-02T01:00:00+02:00","temp":2},{"timestamp":"2024-03-02T00:00:00Z","temp":3}' >b.json
	run --separate-stderr -0 ts ingest env b.json --json
	assert_equal "$(jq -c '[.manifests[] | [.shard, .version, .partitionCount]]' <<<"$output")" \
		'[["2024-03-01",1,1],["2024-03-02",1,1]]'
	assert_equal "$(jq -c '[.partitions[] | [.day, .rows, .start, .end]]' <<<"$output")" \
		'[["2024-03-01",2,"2024-03-01T23:00:00Z","2024-03-01T23:59:59Z"],["2024-03-02",1,"2024-03-02T00:00:00Z","2024-03-02T00:00:00Z"]]'
	[[ $(jq -r '.manifest.shard' <<<"$output") == 2024-03-01 ]]
	body "$F_TEMP" '{"timestamp":1709290800000,"temp":4}' >c.json
	run --separate-stderr -0 ts ingest env c.json --json
	assert_equal "$(jq -c '[.manifest.shard, .manifest.version, .manifest.partitionCount, .partitions[0].start]' <<<"$output")" \
		'["2024-03-01",2,2,"2024-03-01T11:00:00Z"]'
	run --separate-stderr -0 ts show env --json
	assert_equal "$(jq -c '[.manifests[] | [.shard, .version, .partitionCount, .rows]]' <<<"$output")" \
		'[["2024-03-01",2,2,3],["2024-03-02",1,1,1]]'
	assert_equal "$(jq -c '[.rows, .start, .end, (.partitions | length)]' <<<"$output")" \
		'[4,"2024-03-01T11:00:00Z","2024-03-02T00:00:00Z",3]'
	# the text shows the same
	run --separate-stderr -0 ts ingest env c.json
	assert_line --partial 'ingested 1 rows into env'
	assert_line --regexp '^  2024-03-01  manifest m-[0-9a-f]{12}  version 3  3 partitions$'
}

@test "the same idempotency key: the same manifest, nothing written; another payload is 409" {
	body "$F_TEMP" '{"timestamp":"2024-01-01T00:00:00Z","temp":1}' ',"idempotencyKey":"batch-1"' >b.json
	run --separate-stderr -0 ts ingest env b.json --json
	first=$output
	run --separate-stderr -0 ts ingest env b.json --json
	assert_equal "$(jq -c '.manifest' <<<"$output")" "$(jq -c '.manifest' <<<"$first")"
	assert_equal "$(jq -c '.partitions' <<<"$output")" "$(jq -c '.partitions' <<<"$first")"
	assert_equal "$(jq -c '[.idempotent]' <<<"$first$output" | tr -d '\n')" '[false][true]'
	assert_equal "$(files env | wc -l)" 1
	assert_equal "$(db 'SELECT count(*) FROM ts_manifests')" 1
	run --separate-stderr -0 ts ingest env b.json
	assert_output --partial 'already ingested: 1 rows into env (same idempotency key)'
	# the key from the command line, with another payload
	body "$F_TEMP" '{"timestamp":"2024-01-01T00:00:00Z","temp":2}' >c.json
	run --separate-stderr -3 ts ingest env c.json --idempotency-key batch-1
	assert_stderr_partial "idempotency key 'batch-1' was used with another payload"
	assert_equal "$(files env | wc -l)" 1
	# the same key on csv
	csv_rows 10 2024-01-02 >r.csv
	run --separate-stderr -0 ts ingest env r.csv --idempotency-key c1 --json
	m=$(jq -r '.manifest.id' <<<"$output")
	run --separate-stderr -0 ts ingest env r.csv --idempotency-key c1 --json
	assert_equal "$(jq -r '.manifest.id' <<<"$output")" "$m"
	assert_equal "$(files env | wc -l)" 2
}

@test "schema evolution: an added column is recorded; a removed or retyped one is refused naming it" {
	body "$F_TEMP" '{"timestamp":"2024-01-01T00:00:00Z","temp":1}' | ts ingest env - >/dev/null
	body "$F_TEMP"',{"name":"hum","type":"integer"}' '{"timestamp":"2024-01-01T01:00:00Z","temp":1,"hum":40}' >add.json
	run --separate-stderr -0 ts ingest env add.json --json
	assert_equal "$(jq -c '[.dataset.schemaVersion, [.dataset.fields[].name], .partitions[0].schemaVersion]' <<<"$output")" \
		'[2,["timestamp","temp","hum"],2]'
	# the identical schema again: no new version
	run --separate-stderr -0 ts ingest env add.json --json
	assert_equal "$(jq -c '.dataset.schemaVersion' <<<"$output")" 2
	# retyped
	body '{"name":"timestamp","type":"timestamp"},{"name":"temp","type":"string"},{"name":"hum","type":"integer"}' \
		'{"timestamp":"2024-01-01T02:00:00Z","temp":"warm","hum":1}' >bad.json
	run --separate-stderr -1 ts ingest env bad.json
	assert_stderr_partial "schema: column 'temp' retyped from double to string"
	# removed
	run --separate-stderr -1 ts ingest env <(body "$F_TEMP" '{"timestamp":"2024-01-01T02:00:00Z","temp":1}')
	assert_stderr_partial "schema: column 'hum' removed: only additive changes are accepted"
	assert_equal "$(files env | wc -l)" 3
	run --separate-stderr -0 ts show env --json
	assert_equal "$(jq -c '[.schemaVersions[] | [.version, [.added[].name]]]' <<<"$output")" \
		'[[1,["timestamp","temp"]],[2,["hum"]]]'
	run --separate-stderr -0 ts show env
	assert_line 'schema:      version 2'
	assert_line --regexp '^  v2 .* \+hum:integer$'
	# older files lack the new column: DuckDB reads them together by name
	run -0 parquet "SELECT count(*), count(hum) FROM read_parquet('$APPHUB_HOME/timestore/env/*/*.parquet', union_by_name = true)"
	assert_output "$(printf '3\t2')"
}

@test "ndjson: the schema inferred or declared; bad lines refused naming them" {
	printf '%s\n' '{"timestamp":"2024-02-01T00:00:00Z","v":1,"w":1.5,"up":true,"host":"a"}' '' \
		'{"timestamp":1706745660000,"v":2,"w":2,"up":false,"host":null}' >r.ndjson
	run --separate-stderr -0 ts ingest logs r.ndjson --json
	assert_equal "$(jq -c '[.dataset.fields[] | .name + ":" + .type]' <<<"$output")" \
		'["timestamp:timestamp","v:integer","w:double","up:boolean","host:string"]'
	assert_equal "$(jq -c '[.rows, .partitions[0].end]' <<<"$output")" '[2,"2024-02-01T00:01:00Z"]'
	# the dataset's types are taken for its known columns: 3 is a double now
	printf '%s\n' '{"timestamp":"2024-02-01T00:02:00Z","w":3}' | ts ingest logs - --format ndjson >/dev/null
	run -0 parquet "SELECT sum(w) FROM read_parquet('$APPHUB_HOME/timestore/logs/*/*.parquet', union_by_name = true)"
	assert_output 6.5
	# declared
	run --separate-stderr -0 ts ingest dec --format ndjson --schema-json '{"fields":[{"name":"ts","type":"timestamp"},{"name":"x","type":"double"}]}' - \
		<<<'{"ts":"2024-02-01T00:00:00Z","x":1}'
	run --separate-stderr -0 ts show dec --json
	assert_equal "$(jq -r '.timestampColumn' <<<"$output")" ts
	run --separate-stderr -1 ts ingest dec --format ndjson --schema-json '{"fields":[{"name":"ts","type":"timestamp"},{"name":"x","type":"double"}]}' - \
		<<<'{"ts":"2024-02-01T00:00:00Z","x":1,"y":2}'
	assert_stderr_partial "line 1: column 'y': not in the schema"
	# the dataset's time column decides the day, whatever other times a batch has
	run --separate-stderr -0 ts ingest dec --format ndjson --json --schema-json \
		'{"fields":[{"name":"ts","type":"timestamp"},{"name":"x","type":"double"},{"name":"timestamp","type":"timestamp"}]}' - \
		<<<'{"ts":"2024-02-03T00:00:00Z","x":1,"timestamp":"2024-02-05T00:00:00Z"}'
	assert_equal "$(jq -r '.manifest.shard' <<<"$output")" 2024-02-03
	run --separate-stderr -1 ts ingest dec --format ndjson - <<<'{"x":1}'
	assert_stderr_partial "ingest: column 'ts', the dataset's time, is required"
	printf '%s\n' '{"timestamp":"2024-02-01T00:00:00Z","v":1}' '{"timestamp":"2024-02-01T00:00:00Z",' >bad.ndjson
	run --separate-stderr -1 ts ingest logs bad.ndjson
	assert_stderr_partial 'line 2: not JSON'
	printf '%s\n' '{"timestamp":"2024-02-01T00:00:00Z","v":"x"}' >bad.ndjson
	run --separate-stderr -1 ts ingest logs bad.ndjson
	assert_stderr_partial "line 1: column 'v': not an integer"
	deep=$(printf '%.0s[' $(seq 40))
	printf '{"timestamp":"2024-02-01T00:00:00Z","v":%s\n' "$deep" >deep.ndjson
	run --separate-stderr -1 ts ingest logs deep.ndjson
	assert_stderr_partial 'line 1: nested deeper than 32'
	assert_equal "$(files logs | wc -l)" 2
}

@test "csv: a header, types inferred, quotes, CRLF; ragged rows refused naming the line" {
	printf 'timestamp,n,x,ok,name\r\n2024-05-01T10:00:00Z,1,1.5,true,"a, b"\r\n2024-05-01T10:00:01Z,2,-2,false,"say ""hi"""\r\n2024-05-01T10:00:02Z,,1e3,,\r\n' >r.csv
	run --separate-stderr -0 ts ingest m r.csv --json
	assert_equal "$(jq -c '[.dataset.fields[] | .name + ":" + .type]' <<<"$output")" \
		'["timestamp:timestamp","n:integer","x:double","ok:boolean","name:string"]'
	path=$(jq -r '.partitions[0].path' <<<"$output")
	run -0 parquet "SELECT n, x, ok, name FROM read_parquet('$path') ORDER BY timestamp"
	assert_output "$(printf '1\t1.5\ttrue\ta, b\n2\t-2.0\tfalse\tsay "hi"\nNULL\t1000.0\tNULL\tNULL')"
	printf 'timestamp,n\n2024-05-01T10:00:00Z,1\n2024-05-01T10:00:01Z,2,3\n' >ragged.csv
	run --separate-stderr -1 ts ingest m ragged.csv
	assert_stderr_partial 'line 3: 3 fields, the header has 2'
	printf 'timestamp,n\n2024-05-01T10:00:00Z,"open\n' >open.csv
	run --separate-stderr -1 ts ingest m open.csv
	assert_stderr_partial 'line 2: a quoted field is not closed'
	printf 'timestamp,n\n2024-05-01T10:00:00Z,x\n' >typed.csv
	run --separate-stderr -1 ts ingest m typed.csv
	assert_stderr_partial "line 2: column 'n': not an integer"
	printf 'timestamp,1bad\n2024-05-01T10:00:00Z,1\n' >hdr.csv
	run --separate-stderr -1 ts ingest m2 hdr.csv
	assert_stderr_partial 'line 1: column 2: not a column name'
	printf 'when,n\n2024-05-01T10:00:00Z,1\n' >notime.csv
	run --separate-stderr -1 ts ingest m3 notime.csv
	assert_stderr_partial "no timestamp column: name one 'timestamp' or state the schema"
	run --separate-stderr -0 ts ingest m3 notime.csv --schema-json '[{"name":"when","type":"timestamp"},{"name":"n","type":"integer"}]'
	assert_equal "$(files m | wc -l)" 1
}

@test "bad input: times, types, slugs, formats, sizes; clear errors and nothing written" {
	body "$F_TEMP" '{"timestamp":"2024-01-01T00:00:00Z","temp":1},{"timestamp":"yesterday","temp":2}' >b.json
	run --separate-stderr -1 ts ingest env b.json
	assert_stderr_partial "row 2: column 'timestamp': not an RFC 3339 time nor unix milliseconds"
	body "$F_TEMP" '{"timestamp":"2024-01-01T00:00:00Z","temp":"hot"}' >b.json
	run --separate-stderr -1 ts ingest env b.json
	assert_stderr_partial "row 1: column 'temp': not a number"
	body "$F_TEMP" '{"timestamp":null,"temp":1}' >b.json
	run --separate-stderr -1 ts ingest env b.json
	assert_stderr_partial "row 1: column 'timestamp': a time is required"
	body "$F_TEMP" '{"timestamp":"2024-01-01T00:00:00Z","temp":1,"extra":2}' >b.json
	run --separate-stderr -1 ts ingest env b.json
	assert_stderr_partial "row 1: column 'extra': not in the schema"
	body '{"name":"temp","type":"double"}' '{"temp":1}' >b.json
	run --separate-stderr -1 ts ingest env b.json
	assert_stderr_partial 'invalid schema: no field of type timestamp'
	body '{"name":"timestamp","type":"timestamp"},{"name":"x","type":"decimal"}' '{"timestamp":"2024-01-01T00:00:00Z"}' >b.json
	run --separate-stderr -1 ts ingest env b.json
	assert_stderr_partial "invalid schema field 'x': type 'decimal' is none of timestamp, string, double, integer, boolean"
	body "$F_TEMP" '' >b.json
	run --separate-stderr -1 ts ingest env b.json
	assert_stderr_partial 'ingest: no rows'
	body "$F_TEMP" '{"timestamp":"2024-01-01T00:00:00Z","temp":1}' ',"partition":{"timeRange":{"start":"2024-01-02T00:00:00Z","end":"2024-01-01T00:00:00Z"}}' >b.json
	run --separate-stderr -1 ts ingest env b.json
	assert_stderr_partial 'invalid partition.timeRange: end before start'
	body "$F_TEMP" '{"timestamp":"2024-01-01T00:00:00Z","temp":1}' >b.json
	run --separate-stderr -1 ts ingest Bad_Slug b.json
	assert_stderr_partial "invalid dataset 'Bad_Slug'"
	run --separate-stderr -1 ts ingest env '[]'
	assert_stderr_partial "cannot read '[]'"
	echo '[1]' >arr.json
	run --separate-stderr -1 ts ingest env arr.json
	assert_stderr_partial 'must hold a JSON object'
	run --separate-stderr -129 ts ingest env b.json --format xml
	assert_stderr_partial '--format: json, ndjson or csv'
	run --separate-stderr -129 ts ingest
	APPHUB_TIMESTORE_MAX_INGEST=1k run --separate-stderr -1 ts ingest env <(csv_rows 100 2024-01-01) --format csv
	assert_stderr_partial 'larger than APPHUB_TIMESTORE_MAX_INGEST'
	run --separate-stderr -0 ts ls --json
	assert_output '{"datasets":[]}'
	[[ ! -e $APPHUB_HOME/timestore ]] || [[ -z $(find "$APPHUB_HOME/timestore" -type f) ]]
	run --separate-stderr -0 ts ingest env b.json
}

@test "ls, show and partitions: text, --json, -q; an unknown dataset is exit 2" {
	run --separate-stderr -0 ts ls
	assert_output ''
	csv_rows 100 2024-01-01 | ts ingest a - --format csv >/dev/null
	csv_rows 50 2024-01-02 | ts ingest a - --format csv >/dev/null
	csv_rows 10 2024-01-03 | ts ingest b - --format csv >/dev/null
	run --separate-stderr -0 ts ls
	assert_line --index 0 --regexp '^DATASET +ROWS +BYTES +PARTS +START +END$'
	assert_line --index 1 --regexp '^a +150 +[0-9.]+ (B|KiB) +2  2024-01-01T00:00:00Z +2024-01-02T00:00:49.049Z$'
	assert_line --index 2 --regexp '^b +10 '
	run --separate-stderr -0 ts ls -q
	assert_output "$(printf 'a\nb')"
	run --separate-stderr -0 ts ls --json
	assert_equal "$(jq -c '[.datasets[] | [.slug, .rows, .partitions, .retention.maxAgeHours]]' <<<"$output")" '[["a",150,2,720],["b",10,1,720]]'
	run --separate-stderr -0 ts partitions a
	assert_line --index 0 --regexp '^PARTITION +DAY +ROWS +BYTES +START +END$'
	assert_line --index 1 --regexp '^p-[0-9a-f]{12} +2024-01-01 +100 '
	run --separate-stderr -0 ts partitions a --from 2024-01-02T00:00:00Z --json
	assert_equal "$(jq -c '[.partitions[].day]' <<<"$output")" '["2024-01-02"]'
	run --separate-stderr -0 ts partitions a --to 2024-01-01T12:00:00Z -q
	assert_equal "${#lines[@]}" 1
	run --separate-stderr -1 ts partitions a --from nope
	assert_stderr_partial "invalid from 'nope'"
	run --separate-stderr -0 ts show a
	assert_line 'dataset:     a'
	assert_line 'rows:        150'
	assert_line 'partitions:  2'
	assert_line --regexp '^  a +double$'
	assert_line --regexp '^  tag +string$'
	run --separate-stderr -0 ts show a -q
	assert_output a
	run --separate-stderr -2 ts show nope
	assert_stderr_partial "dataset 'nope': not found"
	run --separate-stderr -2 ts partitions nope
	run --separate-stderr -1 ts show 'NO PE'
	run --separate-stderr -129 ts show
	# the events
	run --separate-stderr -0 apphub events --json
	assert_equal "$(jq -s -c '[.[] | .. | objects | select(.type? == "timestore.partition.created") | .data.dataset] | sort' <<<"$output" | tr -d ' ')" \
		'["a","a","b"]'
}

@test "kill -9 during ingest, ten times: no partial partition is ever visible, no orphan after compact" {
	csv_rows 100000 2024-06-01 >big.csv
	csv_rows 10 2024-06-01 | ts ingest k - --format csv >/dev/null
	for i in $(seq 1 10); do
		ts ingest k big.csv -q >/dev/null 2>&1 &
		pid=$!
		# anywhere from reading to after the commit (a whole ingest takes about 0.1s)
		sleep "$(printf '0.%03d' $((RANDOM % 250)))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		# every recorded partition is whole: its file there with all its rows
		ts partitions k --json | jq -r '.partitions[] | "\(.path) \(.rows)"' >parts
		while read -r path rows; do
			[[ -f $path ]]
			assert_equal "$(parquet "SELECT count(*) FROM read_parquet('$path')")" "$rows"
		done <parts
		total=$(ts show k --json | jq '.rows')
		(( (total - 10) % 100000 == 0 ))
	done
	# killed ingests left files no record names: young ones stay for the grace
	run --separate-stderr -0 ts compact k --json
	APPHUB_TIMESTORE_GRACE=0 run --separate-stderr -0 ts compact k --json
	assert_equal "$(files k)" "$(recorded k)"
	assert_equal "$(recorded k | wc -l)" 1
	total=$(ts show k --json | jq '.rows')
	assert_equal "$(parquet "SELECT count(*) FROM read_parquet('$APPHUB_HOME/timestore/k/*/*.parquet')")" "$total"
}

@test "four processes ingesting into one dataset at once" {
	for i in 1 2 3 4; do
		csv_rows 20000 2024-07-01 >"r$i.csv"
	done
	csv_rows 1 2024-07-01 | ts ingest c - --format csv >/dev/null
	for i in 1 2 3 4; do
		ts ingest c "r$i.csv" --json >"out$i" 2>"err$i" &
	done
	wait
	for i in 1 2 3 4; do
		assert_equal "$(cat "err$i")" ''
	done
	assert_equal "$(jq -s -c '[.[].manifest.version] | sort' out1 out2 out3 out4)" '[2,3,4,5]'
	run --separate-stderr -0 ts show c --json
	assert_equal "$(jq -c '[.rows, (.partitions | length), .manifests[0].version, .manifests[0].partitionCount]' <<<"$output")" \
		'[80001,5,5,5]'
	assert_equal "$(files c)" "$(recorded c)"
	assert_equal "$(parquet "SELECT count(*) FROM read_parquet('$APPHUB_HOME/timestore/c/*/*.parquet')")" 80001
}
