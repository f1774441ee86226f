#!/usr/bin/env bash
#
# p7020-timestore-query.sh: the timestore's downsample, as a whole process.
#
# Ingests BATCHES batches of 100,000 rows of (timestamp, three doubles, a
# string tag), a row every quarter second (100 batches: 10,000,000 rows
# over 29 days, in Parquet partitions of a batch and a UTC day each), then
# times a per-minute downsample with avg, min, max and p95 over the whole
# month as a whole `apphub timestore query ... --format csv` process
# (exec, DuckDB opened, the records read, the query compiled and run, the
# rows printed) beside the same SQL (--explain's, its values written in)
# run directly by DuckDB over the same files, one process too
# (t/helper/test-parquet, which prints the rows tab-separated). hyperfine
# when there is one, else RUNS runs each, the best taken. Target
# (reported, never failed on): apphub / duckdb <= 1.2.
#
# Environment: APPHUB (default ../../apphub from this script), BATCHES
# (default 100), RUNS (default 5), KEEP=1 keeps the work dir.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
APPHUB=${APPHUB:-$here/../../apphub}
PARQUET=${PARQUET:-$here/../helper/test-parquet}
BATCHES=${BATCHES:-100}
RUNS=${RUNS:-5}
ROWS=100000

for b in "$APPHUB" "$PARQUET"; do
	if [[ ! -x $b ]]; then
		echo "p7020-timestore-query: no $b (run make all t/helper/test-parquet)" >&2
		exit 1
	fi
done
work=$(mktemp -d)
[[ ${KEEP:-} == 1 ]] || trap 'rm -rf "$work"' EXIT
export APPHUB_HOME=$work/state

s=$(date +%s)
for ((b = 0; b < BATCHES; b++)); do
	awk -v b="$b" -v rows="$ROWS" 'BEGIN {
		base = 1709251200000	# 2024-03-01T00:00:00Z, ms
		print "timestamp,a,b,c,tag"
		for (i = 0; i < rows; i++) {
			n = b * rows + i
			# %.0f, as mawk stops %d at 2^31 - 1
			printf "%.0f,%.2f,%.2f,%.6f,sensor-%d\n", base + n * 250, (n * 7919) % 10000 / 100,
				(n * 104729) % 10000 / 100 - 50, (n % 997) / 997, n % 16
		}
	}' >"$work/batch.csv"
	"$APPHUB" timestore ingest perf "$work/batch.csv" --format csv -q >/dev/null
done
e=$(date +%s)
parts=$("$APPHUB" timestore partitions perf --json | jq '.partitions | length')
printf 'rows: %d in %d batches (%d partitions), ingested in %d s\n' $((BATCHES * ROWS)) \
	"$BATCHES" "$parts" $((e - s))

FROM=2024-03-01T00:00:00Z
TO=2024-04-01T00:00:00Z
query=("$APPHUB" timestore query perf --from "$FROM" --to "$TO" --every 1m --agg avg:a \
	--agg min:a --agg max:a --agg p95:a --format csv)
# the same SQL, its two bound times written in
sql=$("${query[@]}" --explain | jq -r '.sql' |
	sed "0,/?/s//TIMESTAMP '2024-03-01 00:00:00'/; 0,/?/s//TIMESTAMP '2024-04-01 00:00:00'/")
printf 'sql: %s\n' "$(sed 's/read_parquet(\[[^]]*\]/read_parquet([...]/' <<<"$sql")"
a_rows=$("${query[@]}" | wc -l)
d_rows=$("$PARQUET" "$sql" | wc -l)
printf 'rows out: apphub %d (with its header), duckdb %d\n' "$a_rows" "$d_rows"

# best of RUNS, in ms
best() {
	local i s e t min=
	for ((i = 0; i < RUNS; i++)); do
		s=$(date +%s%N)
		"$@" >/dev/null
		e=$(date +%s%N)
		t=$(((e - s) / 1000000))
		[[ -z $min || $t -lt $min ]] && min=$t
	done
	echo "$min"
}

a_ms=$(best "${query[@]}")
d_ms=$(best "$PARQUET" "$sql")
printf 'apphub timestore query  %5d ms  (best of %d)\n' "$a_ms" "$RUNS"
printf 'duckdb, the same SQL    %5d ms  (best of %d)\n' "$d_ms" "$RUNS"
awk -v a="$a_ms" -v d="$d_ms" 'BEGIN { printf "ratio apphub / duckdb: %.2f (target <= 1.2)\n", a / d }'
if command -v hyperfine >/dev/null && [[ ${HYPERFINE:-1} == 1 ]]; then
	printf -v q '%q ' "${query[@]}"
	printf -v d '%q %q' "$PARQUET" "$sql"
	hyperfine -N -w 2 -r "$((RUNS * 2))" -n apphub "$q" -n duckdb "$d" 2>&1 | sed 's/^/  /'
fi
