#!/usr/bin/env bash
#
# p7010-timestore-ingest.sh: the timestore's ingest throughput.
#
# Builds BATCHES files of 100,000 rows each of (timestamp, three doubles, a
# string tag), a row every half second (so a batch spans about 14 hours and
# some batches two UTC days), as csv and as ndjson, then ingests them one
# after another into a fresh state directory, each as a whole `apphub
# timestore ingest` process (exec, DuckDB opened, parse, Parquet written,
# fsync, manifest committed), and reports rows/s for each format beside
# DuckDB itself converting the same csv files to zstd Parquet
# (t/helper/test-parquet: COPY (FROM read_csv(...)) TO ...), one process a
# file (ratio = apphub / duckdb, in time). Target (reported, never failed
# on): csv >= 1,000,000 rows/s.
#
# Environment: APPHUB (default ../../apphub from this script), BATCHES
# (default 10), KEEP=1 keeps the work dir.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
APPHUB=${APPHUB:-$here/../../apphub}
PARQUET=${PARQUET:-$here/../helper/test-parquet}
BATCHES=${BATCHES:-10}
ROWS=100000

for b in "$APPHUB" "$PARQUET"; do
	if [[ ! -x $b ]]; then
		echo "p7010-timestore-ingest: no $b (run make all t/helper/test-parquet)" >&2
		exit 1
	fi
done
work=$(mktemp -d)
[[ ${KEEP:-} == 1 ]] || trap 'rm -rf "$work"' EXIT

awk -v batches="$BATCHES" -v rows="$ROWS" -v dir="$work" 'BEGIN {
	base = 1709251200	# 2024-03-01T00:00:00Z
	for (b = 0; b < batches; b++) {
		csv = dir "/b" b ".csv"; nd = dir "/b" b ".ndjson"
		print "timestamp,a,b,c,tag" >csv
		for (i = 0; i < rows; i++) {
			# written with %.0f: mawk stops %d at 2^31 - 1 (every row was 1970-01-25)
			ms = (base + (b * rows + i) / 2) * 1000
			a = (i * 7919) % 10000 / 100; bb = (i * 104729) % 10000 / 100 - 50; c = (i % 997) / 997
			tag = "sensor-" (i % 16)
			printf "%.0f,%.2f,%.2f,%.6f,%s\n", ms, a, bb, c, tag >csv
			printf "{\"timestamp\":%.0f,\"a\":%.2f,\"b\":%.2f,\"c\":%.6f,\"tag\":\"%s\"}\n", ms, a, bb, c, tag >nd
		}
		close(csv); close(nd)
	}
}'

now_ns() { date +%s%N; }

# run FORMAT: ms to ingest every batch of that format into a new state
run() {
	local fmt=$1 s e b
	export APPHUB_HOME=$work/state-$fmt
	# the dataset made first, so that every timed batch finds its schema
	"$APPHUB" timestore ingest perf "$work/b0.$fmt" -q >/dev/null
	"$APPHUB" timestore rm perf >/dev/null
	s=$(now_ns)
	for ((b = 0; b < BATCHES; b++)); do
		"$APPHUB" timestore ingest perf "$work/b$b.$fmt" -q >/dev/null
	done
	e=$(now_ns)
	echo $(((e - s) / 1000000))
}

peer() {
	local s e b
	s=$(now_ns)
	for ((b = 0; b < BATCHES; b++)); do
		"$PARQUET" "COPY (FROM read_csv('$work/b$b.csv', header = true, columns = {'timestamp': 'BIGINT', 'a': 'DOUBLE', 'b': 'DOUBLE', 'c': 'DOUBLE', 'tag': 'VARCHAR'})) TO '$work/peer$b.parquet' (FORMAT parquet, COMPRESSION zstd)" >/dev/null
	done
	e=$(now_ns)
	echo $(((e - s) / 1000000))
}

total=$((BATCHES * ROWS))
csv_ms=$(run csv)
nd_ms=$(run ndjson)
peer_ms=$(peer)
rate() { echo $((total * 1000 / ($1 > 0 ? $1 : 1))); }
printf 'rows: %d in %d batches of %d\n' "$total" "$BATCHES" "$ROWS"
printf 'csv     %6d ms  %9d rows/s  (target >= 1000000)\n' "$csv_ms" "$(rate "$csv_ms")"
printf 'ndjson  %6d ms  %9d rows/s\n' "$nd_ms" "$(rate "$nd_ms")"
printf 'duckdb  %6d ms  %9d rows/s  (csv to parquet, a process a file)\n' "$peer_ms" "$(rate "$peer_ms")"
awk -v a="$csv_ms" -v p="$peer_ms" 'BEGIN { printf "ratio csv / duckdb: %.2f\n", a / p }'
