#!/usr/bin/env bats
# The timestore example of `make run`: contrib/examples/timestore/readings.sh
# writes a week of per-minute readings of three sensors; they are ingested
# into example-readings with an idempotency key (a second run writes
# nothing) and downsampled hourly, as the Makefile's run target does.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

READINGS="$BATS_TEST_DIRNAME/../contrib/examples/timestore/readings.sh"
START=2026-11-02

setup() {
	common_setup
	cd "$BATS_TEST_TMPDIR"
}

# ingest: the run target's ingest of the week that starts on $START
ingest() {
	"$READINGS" "$START" | apphub "$@" timestore ingest example-readings - --format csv \
		--idempotency-key "example-readings-$START"
}

# day_query DAY [OPTION...]: the run target's query, of the greenhouse on DAY,
# with OPTION... after it
day_query() {
	local day=$1 next
	shift
	next=$(date -u -d "$day + 1 day" +%Y-%m-%d)
	apphub timestore query example-readings --from "${day}T00:00:00Z" \
		--to "${next}T00:00:00Z" --filter 'sensor = greenhouse' --every 1h \
		--agg avg:temperature --agg max:temperature --agg p95:temperature "$@"
}

@test "readings.sh: a week of per-minute readings of three sensors, the same each time" {
	run -0 --separate-stderr "$READINGS" "$START"
	assert_stderr ''
	assert_line --index 0 'timestamp,temperature,humidity,sensor'
	[ "${#lines[@]}" -eq $((1 + 7 * 1440 * 3)) ]
	assert_line --index 1 --regexp '^2026-11-02T00:00:00Z,[0-9]+\.[0-9]{2},[0-9]+\.[0-9],greenhouse$'
	assert_line --index 3 --regexp '^2026-11-02T00:00:00Z,.*,attic$'
	assert_line --index 4 --regexp '^2026-11-02T00:01:00Z,.*,greenhouse$'
	assert_line --index $((7 * 1440 * 3)) --regexp '^2026-11-08T23:59:00Z,.*,attic$'
	printf '%s\n' "${lines[@]}" >first.csv
	"$READINGS" "$START" >second.csv
	cmp first.csv second.csv
	# Each sensor, each minute, once: no gaps, no repeats.
	run -0 awk -F, 'NR > 1 { n[$4]++; seen[$1 "," $4]++ }
		END { for (s in n) print s, n[s]; for (k in seen) if (seen[k] != 1) print "twice", k }' first.csv
	assert_line 'greenhouse 10080'
	assert_line 'cellar 10080'
	assert_line 'attic 10080'
	refute_line --partial twice
}

@test "readings.sh: month and year ends, leap days; a bad start is a usage error" {
	run -0 sh -c '"$1" 2024-12-28 | tail -n +2 | cut -c1-10 | uniq' sh "$READINGS"
	assert_output "$(printf '%s\n' 2024-12-28 2024-12-29 2024-12-30 2024-12-31 2025-01-01 \
		2025-01-02 2025-01-03)"
	run -0 sh -c '"$1" 2024-02-27 | tail -n +2 | cut -c1-10 | uniq' sh "$READINGS"
	assert_line 2024-02-29
	assert_line 2024-03-04
	run -129 --separate-stderr "$READINGS" 'next monday'
	assert_stderr_partial 'usage: readings.sh'
	assert_output ''
}

@test "make run's ingest: a week in seven day partitions, once" {
	run -0 --separate-stderr ingest --json
	[ "$(jq -r '.rows' <<<"$output")" = 30240 ]
	[ "$(jq -r '.idempotent' <<<"$output")" = false ]
	[ "$(jq -r '[.manifests[].shard] | join(" ")' <<<"$output")" = \
		'2026-11-02 2026-11-03 2026-11-04 2026-11-05 2026-11-06 2026-11-07 2026-11-08' ]
	first=$(jq -c '.manifests' <<<"$output")

	# A second `make run` writes nothing and answers the same manifests.
	run -0 --separate-stderr ingest --json
	[ "$(jq -r '.idempotent' <<<"$output")" = true ]
	[ "$(jq -c '.manifests' <<<"$output")" = "$first" ]

	run -0 --separate-stderr apphub --json timestore show example-readings
	[ "$(jq -r '.rows' <<<"$output")" = 30240 ]
	[ "$(jq -r '.partitions | length' <<<"$output")" = 7 ]
	[ "$(jq -r '.start' <<<"$output")" = 2026-11-02T00:00:00Z ]
	[ "$(jq -r '.end' <<<"$output")" = 2026-11-08T23:59:00Z ]
	[ "$(jq -c '[.fields[] | "\(.name):\(.type)"]' <<<"$output")" = \
		'["timestamp:timestamp","temperature:double","humidity:double","sensor:string"]' ]
	[ "$(find "$APPHUB_HOME/timestore/example-readings" -name '*.parquet' | wc -l)" -eq 7 ]
	run -0 apphub -q timestore ls
	assert_output example-readings
}

@test "make run's query: the greenhouse's hourly avg, max and p95 of a day" {
	ingest -q >/dev/null
	"$READINGS" "$START" >week.csv

	run -0 --separate-stderr day_query 2026-11-08 --json
	[ "$(jq -r '.mode' <<<"$output")" = downsampled ]
	[ "$(jq -r '[.columns[].name] | join(" ")' <<<"$output")" = \
		'timestamp avg_temperature max_temperature p95_temperature' ]
	[ "$(jq -r '.rows | length' <<<"$output")" = 24 ]
	[ "$(jq -r '.rows[0].timestamp' <<<"$output")" = 2026-11-08T00:00:00Z ]
	[ "$(jq -r '.rows[23].timestamp' <<<"$output")" = 2026-11-08T23:00:00Z ]
	jq -r '.rows[] | "\(.timestamp) \(.avg_temperature) \(.max_temperature) \(.p95_temperature)"' \
		<<<"$output" >answer

	# The same, from the CSV: each hour's mean and maximum, and the p95
	# between them.
	awk -F, '$1 ~ /^2026-11-08T/ && $4 == "greenhouse" {
			h = substr($1, 1, 13); sum[h] += $2; n[h]++
			if (!(h in max) || $2 > max[h]) max[h] = $2
		}
		END { for (h in n) printf "%s:00:00Z %.6f %.2f\n", h, sum[h] / n[h], max[h] }' \
		week.csv | sort >expected
	[ "$(wc -l <expected)" -eq 24 ]
	run -0 awk 'NR == FNR { avg[$1] = $2; max[$1] = $3; next }
		{
			d = $2 - avg[$1]; if (d < 0) d = -d
			if (d > 1e-6) print "avg", $1, $2, avg[$1]
			if ($3 + 0 != max[$1] + 0) print "max", $1, $3, max[$1]
			if ($4 + 0 > $3 + 0 || $4 + 0 < $2 - 1) print "p95", $1, $4
			n++
		}
		END { print n, "hours" }' expected answer
	assert_output '24 hours'

	# Six of them, as make run prints them: a table with a header.
	run -0 --separate-stderr day_query 2026-11-08 --limit 6
	[ "${#lines[@]}" -eq 7 ]
	assert_line --index 0 --regexp '^timestamp +avg_temperature +max_temperature +p95_temperature$'
	assert_line --index 6 --regexp '^2026-11-08T05:00:00Z '

	# A day of each sensor: 1440 rows.
	run -0 --separate-stderr apphub --json timestore query example-readings \
		--from 2026-11-05T00:00:00Z --to 2026-11-06T00:00:00Z --every 1d --agg count \
		--filter 'sensor = cellar'
	[ "$(jq -r '.rows[0].count' <<<"$output")" = 1440 ]
}

@test "the Makefile's run target ingests and queries as this test does" {
	mk="$BATS_TEST_DIRNAME/../Makefile"
	grep -q 'contrib/examples/timestore/readings.sh "$$start"' "$mk"
	grep -q 'timestore ingest example-readings - --format csv' "$mk"
	grep -q -- '--idempotency-key "example-readings-$$start"' "$mk"
	grep -q -- "--filter 'sensor = greenhouse'" "$mk"
	grep -q -- '--every 1h --agg avg:temperature --agg max:temperature --agg p95:temperature' "$mk"
}
