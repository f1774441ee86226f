#!/usr/bin/env bats
# apphub timestore retention, compact, rm and the collection of files: the
# order retention removes partitions in (expired first, then the oldest
# until the dataset fits), partitions leaving their manifests before their
# files, the grace period (APPHUB_TIMESTORE_GRACE), orphans.

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

parquet() {
	"$BATS_TEST_DIRNAME/helper/test-parquet" "$@"
}

# put DATASET TIME [N]: a batch of N rows (1) at TIME (RFC 3339), a second apart
put() {
	local n=${3:-1} i rows=
	for ((i = 0; i < n; i++)); do
		rows+="${rows:+,}{\"timestamp\":$(( $(date -u -d "$2" +%s) * 1000 + i * 1000 )),\"v\":$i}"
	done
	printf '{"schema":{"fields":[{"name":"timestamp","type":"timestamp"},{"name":"v","type":"double"}]},"rows":[%s]}' "$rows" |
		ts ingest "$1" - --json | jq -r '.partitions[0].id'
}

# the start of the hour: a batch of a few rows never crosses midnight into two partitions
ago() {
	date -u -d "$1 ago" +%Y-%m-%dT%H:00:00Z
}

files() {
	(cd "$APPHUB_HOME" && find "timestore/$1" -type f | sort)
}

recorded() {
	ts partitions "$1" --json | jq -r '.partitions[].path' | sed "s|^$APPHUB_HOME/||" | sort
}

@test "retention: the policy shown and set; expired partitions listed first, then the oldest until it fits" {
	old1=$(put r "$(ago '50 days')")
	old2=$(put r "$(ago '40 days')")
	mid=$(put r "$(ago '5 days')" 50)
	new=$(put r "$(ago '1 hour')" 50)
	run --separate-stderr -0 ts retention r --json
	assert_equal "$(jq -c '[.retention, .applied, [.partitions[] | [.id, .reason]]]' <<<"$output")" \
		"[{\"maxAgeHours\":720,\"maxTotalBytes\":null},false,[[\"$old1\",\"expired\"],[\"$old2\",\"expired\"]]]"
	run --separate-stderr -0 ts retention r
	assert_line 'r: max age 720 hours, no size limit'
	assert_line 'would remove (--apply removes):'
	assert_line --regexp "^$old1 +[0-9-]+ +expired +1 "
	# a size limit that only the newest fits: the expired first, then the oldest
	bytes=$(ts partitions r --json | jq --arg id "$new" '.partitions[] | select(.id == $id) | .bytes')
	run --separate-stderr -0 ts retention r --max-bytes "$bytes" --json
	assert_equal "$(jq -c '[.retention.maxTotalBytes, [.partitions[] | [.id, .reason]]]' <<<"$output")" \
		"[$bytes,[[\"$old1\",\"expired\"],[\"$old2\",\"expired\"],[\"$mid\",\"size\"]]]"
	# nothing was removed yet
	assert_equal "$(ts partitions r -q | wc -l)" 4
	run --separate-stderr -0 ts retention r --apply --json
	assert_equal "$(jq -c '[.applied, [.partitions[].id]]' <<<"$output")" "[true,[\"$old1\",\"$old2\",\"$mid\"]]"
	run --separate-stderr -0 ts partitions r -q
	assert_output "$new"
	# the manifests: each day's partitions gone in a new version
	run --separate-stderr -0 ts show r --json
	assert_equal "$(jq -c '[.manifests[] | .partitionCount]' <<<"$output")" '[1]'
	assert_equal "$(sqlite3 "$APPHUB_HOME/apphub.db" "SELECT count(*) FROM ts_manifests WHERE partition_count = 0")" 3
	# the files stay for the grace period, then go
	assert_equal "$(files r | wc -l)" 4
	APPHUB_TIMESTORE_GRACE=0 run --separate-stderr -0 ts retention r --apply --json
	assert_equal "$(jq -c '[.partitions, .collected]' <<<"$output")" '[[],3]'
	assert_equal "$(files r)" "$(recorded r)"
	# the limit lifted, the age changed
	run --separate-stderr -0 ts retention r --max-bytes none --max-age 2d --json
	assert_equal "$(jq -c '.retention' <<<"$output")" '{"maxAgeHours":48,"maxTotalBytes":null}'
	run --separate-stderr -0 ts show r
	assert_line 'retention:   48 hours'
	run --separate-stderr -0 apphub events --json
	assert_equal "$(jq -s -c '[.[] | .. | objects | select(.type? == "timestore.partition.deleted")] | length' <<<"$output")" 3
}

@test "retention: the age alone, oldest first; bad values refused" {
	a=$(put s "$(ago '3 hours')")
	b=$(put s "$(ago '5 hours')")
	c=$(put s "$(ago '1 hour')")
	run --separate-stderr -0 ts retention s --max-age 2h --apply -q
	assert_output "$(printf '%s\n%s' "$b" "$a")"
	run --separate-stderr -0 ts partitions s -q
	assert_output "$c"
	run --separate-stderr -129 ts retention s --max-age 10m
	assert_stderr_partial '--max-age: at least 1h'
	run --separate-stderr -129 ts retention s --max-bytes lots
	assert_stderr_partial "--max-bytes: a size (512k, 64M, 2G) or none, not 'lots'"
	run --separate-stderr -2 ts retention nope
	assert_stderr_partial "dataset 'nope': not found"
	run --separate-stderr -129 ts retention
}

@test "compact: a day's partitions merged into one, in a new manifest version; old files go after the grace" {
	for h in 3 1 2; do
		put c "2024-01-01T0$h:00:00Z" 10 >/dev/null
	done
	put c 2024-01-02T00:00:00Z >/dev/null
	run --separate-stderr -0 ts compact c --json
	assert_equal "$(jq -c '[.days[] | [.day, .rows, (.removed | length), .manifest.version, .manifest.partitionCount]]' <<<"$output")" \
		'[["2024-01-01",30,3,4,1]]'
	id=$(jq -r '.days[0].partition' <<<"$output")
	run --separate-stderr -0 ts partitions c --json
	assert_equal "$(jq -c '[.partitions[] | [.day, .rows, .start, .end]]' <<<"$output")" \
		'[["2024-01-01",30,"2024-01-01T01:00:00Z","2024-01-01T03:00:09Z"],["2024-01-02",1,"2024-01-02T00:00:00Z","2024-01-02T00:00:00Z"]]'
	path=$(jq -r --arg id "$id" '.partitions[] | select(.id == $id) | .path' <<<"$output")
	run -0 parquet "SELECT count(*), min(timestamp), max(timestamp), sum(v) FROM read_parquet('$path')"
	assert_output "$(printf '30\t2024-01-01 01:00:00\t2024-01-01 03:00:09\t135.0')"
	# in time order
	run -0 parquet "SELECT count(*) FROM (SELECT timestamp < lag(timestamp) OVER () AS back FROM read_parquet('$path')) WHERE back"
	assert_output 0
	# the old files stay during the grace
	assert_equal "$(files c | wc -l)" 5
	run --separate-stderr -0 ts compact c
	assert_output 'c: nothing to compact'
	APPHUB_TIMESTORE_GRACE=0 run --separate-stderr -0 ts compact c
	assert_output "$(printf 'c: nothing to compact\ncollected 3 files')"
	assert_equal "$(files c)" "$(recorded c)"
	run --separate-stderr -0 ts show c --json
	assert_equal "$(jq -c '[.rows, [.manifests[] | [.shard, .version, .partitionCount]]]' <<<"$output")" \
		'[31,[["2024-01-01",4,1],["2024-01-02",1,1]]]'
}

@test "compact --day: one day only; files of an older schema merged by name; bad days refused" {
	put d 2024-01-01T01:00:00Z >/dev/null
	put d 2024-01-02T01:00:00Z >/dev/null
	put d 2024-01-02T02:00:00Z >/dev/null
	printf '{"schema":{"fields":[{"name":"timestamp","type":"timestamp"},{"name":"v","type":"double"},{"name":"w","type":"string"}]},"rows":[{"timestamp":"2024-01-01T02:00:00Z","v":1,"w":"x"}]}' |
		ts ingest d - >/dev/null
	run --separate-stderr -0 ts compact d --day 2024-01-01 -q
	id=$output
	run --separate-stderr -0 ts partitions d --json
	assert_equal "$(jq -c '[.partitions[] | [.day, .rows]]' <<<"$output")" '[["2024-01-01",2],["2024-01-02",1],["2024-01-02",1]]'
	path=$(jq -r --arg id "$id" '.partitions[] | select(.id == $id) | .path' <<<"$output")
	run -0 parquet "SELECT v, w FROM read_parquet('$path') ORDER BY timestamp"
	assert_output "$(printf '0.0\tNULL\n1.0\tx')"
	run --separate-stderr -1 ts compact d --day 2024-13-01
	assert_stderr_partial "invalid day '2024-13-01': yyyy-mm-dd"
	run --separate-stderr -1 ts compact d --day yesterday
	run --separate-stderr -0 ts compact d --day 2023-01-01
	assert_output 'd: nothing to compact'
	run --separate-stderr -2 ts compact nope
	run --separate-stderr -129 ts compact
}

@test "the collector: orphans older than the grace go, young ones and live files stay" {
	put g 2024-01-01T01:00:00Z >/dev/null
	dir=$APPHUB_HOME/timestore/g/2024-01-01
	echo x >"$dir/p-000000000000.parquet"
	echo x >"$dir/.p-111111111111.parquet.tmp"
	echo x >"$dir/p-222222222222.parquet"
	touch -d '1 hour ago' "$dir/p-000000000000.parquet" "$dir/.p-111111111111.parquet.tmp"
	run --separate-stderr -0 ts compact g --json
	assert_equal "$(jq -c '.collected' <<<"$output")" 2
	[[ -f $dir/p-222222222222.parquet ]]
	[[ ! -e $dir/p-000000000000.parquet ]]
	assert_equal "$(files g | wc -l)" 2
	APPHUB_TIMESTORE_GRACE=0 run --separate-stderr -0 ts compact g
	assert_equal "$(files g)" "$(recorded g)"
	APPHUB_TIMESTORE_GRACE=soon run --separate-stderr -1 ts compact g
	assert_stderr_partial APPHUB_TIMESTORE_GRACE
}

@test "rm: the dataset's records and files go; an unknown one is exit 2" {
	put x 2024-01-01T01:00:00Z >/dev/null
	put x 2024-01-02T01:00:00Z >/dev/null
	put y 2024-01-01T01:00:00Z >/dev/null
	run --separate-stderr -0 ts rm x
	assert_output 'removed x (2 partitions, 2 rows)'
	[[ ! -e $APPHUB_HOME/timestore/x ]]
	run --separate-stderr -0 ts ls -q
	assert_output y
	assert_equal "$(sqlite3 "$APPHUB_HOME/apphub.db" "SELECT (SELECT count(*) FROM ts_partitions) || ' ' || (SELECT count(*) FROM ts_manifests) || ' ' || (SELECT count(*) FROM ts_schema_versions)")" '1 1 1'
	run --separate-stderr -2 ts rm x
	assert_stderr_partial "dataset 'x': not found"
	run --separate-stderr -0 ts rm y --json
	assert_equal "$(jq -c . <<<"$output")" '{"dataset":"y","partitions":1,"rows":1,"bytes":'"$(jq -n "$output | .bytes")"'}'
	run --separate-stderr -1 ts rm ../etc
	run --separate-stderr -129 ts rm
	# made again from scratch, with another schema
	printf '{"rows":[{"timestamp":"2024-01-01T00:00:00Z","s":"a"}]}' | ts ingest x - >/dev/null
	run --separate-stderr -0 ts show x --json
	assert_equal "$(jq -c '[.schemaVersion, [.fields[].name]]' <<<"$output")" '[1,["timestamp","s"]]'
}
