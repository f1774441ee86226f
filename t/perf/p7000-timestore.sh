#!/usr/bin/env bash
#
# p7000-timestore.sh: the timestore at ROWS rows beside DuckDB itself and
# InfluxDB 1.6, in the same run.
#
# ROWS rows (default 10,000,000) of (timestamp, three doubles a b c, a tag
# of 16 sensors), spread evenly over a month (2024-03-01 to 2024-03-31),
# are made by awk in batches of 100,000 and each batch is
#
#   ingest   `apphub timestore ingest perf BATCH.csv`, a whole process a
#            batch (rows/s; target >= 1,000,000), and the same rows written
#            to InfluxDB through its HTTP /write API in line protocol (a
#            POST a batch, by curl), for scale
#
# Then, each a whole process, the median of RUNS runs:
#
#   query    a per-minute downsample of the month with avg, min, max and
#            p95 of a (43,200 rows out, as CSV):
#              apphub   `apphub timestore query perf --every 1m --agg ...`
#              duckdb   the same SQL over the same Parquet files, run by
#                       DuckDB itself (t/helper/test-parquet: a C program
#                       that opens DuckDB, runs it and prints the rows)
#                       (target: apphub <= 1.2x)
#              influx   SELECT mean(a), min(a), max(a), percentile(a, 95)
#                       ... GROUP BY time(1m) fill(none), by curl
#                       (apphub should be faster)
#   day      the same for one day (1,440 rows out): what a chart asks
#
# InfluxDB (Debian's influxdb, 1.6) is started by the script on a loopback
# port with its own configuration and directories under the work directory,
# and stopped on exit. InfluxDB's percentile is the nearest rank, DuckDB's
# quantile_cont interpolates: the same work, not the same digits.
#
# Reported, never failed on. Environment: APPHUB (the binary; default
# ../../apphub from this script), PARQUET (t/helper/test-parquet), ROWS
# (a multiple of 100,000), RUNS (default 11), INFLUXD (influxd),
# NOINFLUX=1 skips InfluxDB, KEEP=1 keeps the work directory.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
APPHUB=${APPHUB:-$here/../../apphub}
PARQUET=${PARQUET:-$here/../helper/test-parquet}
ROWS=${ROWS:-10000000}
RUNS=${RUNS:-11}
INFLUXD=${INFLUXD:-influxd}
BATCH=100000
me=p7000-timestore

for b in "$APPHUB" "$PARQUET"; do
	[[ -x $b ]] || { echo "$me: no $b (run make all t/helper/test-parquet)" >&2; exit 1; }
done
((ROWS >= BATCH && ROWS % BATCH == 0)) || { echo "$me: ROWS must be a multiple of $BATCH" >&2; exit 1; }
if [[ ${NOINFLUX:-} != 1 ]]; then
	command -v "$INFLUXD" >/dev/null || { echo "$me: no influxd (apt install influxdb) or NOINFLUX=1" >&2; exit 1; }
	command -v curl >/dev/null || { echo "$me: curl is needed" >&2; exit 1; }
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/apphub-p7000.XXXXXX")
influx_pid=
cleanup() {
	[[ -z $influx_pid ]] || { kill "$influx_pid" 2>/dev/null; wait "$influx_pid" 2>/dev/null || true; }
	if [[ ${KEEP:-} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
unset XDG_STATE_HOME
export APPHUB_HOME=$work/state

now() { date +%s%N; }
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", (b - a) / 1e6 }'; }
# median_ms CMD...: the median wall time in ms of RUNS runs (after a warm-up run)
median_ms() {
	local -a t=()
	local i s
	"$@" >/dev/null 2>&1 || true
	for ((i = 0; i < RUNS; i++)); do
		s=${EPOCHREALTIME/./}
		"$@" >/dev/null 2>&1 || true
		t+=($(( ${EPOCHREALTIME/./} - s )))
	done
	printf '%s\n' "${t[@]}" | sort -n | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f\n", m / 1e3 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "-" }'; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", (t > 0 ? n * 1000 / t : 0) }'; }

# --- InfluxDB ------------------------------------------------------------------
port=
if [[ ${NOINFLUX:-} != 1 ]]; then
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	mkdir -p "$work/influx"
	cat >"$work/influx/influx.conf" <<-EOF
	reporting-disabled = true
	bind-address = "127.0.0.1:$((port + 1 > 65535 ? port - 1 : port + 1))"
	[meta]
	  dir = "$work/influx/meta"
	[data]
	  dir = "$work/influx/data"
	  wal-dir = "$work/influx/wal"
	  query-log-enabled = false
	  max-values-per-tag = 0
	  max-series-per-database = 0
	[http]
	  enabled = true
	  bind-address = "127.0.0.1:$port"
	  log-enabled = false
	  max-body-size = 0
	[monitor]
	  store-enabled = false
	[continuous_queries]
	  enabled = false
	[subscriber]
	  enabled = false
	EOF
	"$INFLUXD" run -config "$work/influx/influx.conf" >"$work/influx/log" 2>&1 3>&- &
	influx_pid=$!
	for _ in $(seq 1 100); do
		curl -fsS -o /dev/null "http://127.0.0.1:$port/ping" 2>/dev/null && break
		sleep 0.1
	done
	curl -fsS -o /dev/null "http://127.0.0.1:$port/ping" ||
		{ echo "$me: influxd did not start:" >&2; tail -5 "$work/influx/log" >&2; exit 1; }
	curl -fsS -o /dev/null -XPOST "http://127.0.0.1:$port/query" --data-urlencode 'q=CREATE DATABASE perf'
	echo "$me: $("$INFLUXD" version 2>&1 | head -1) on 127.0.0.1:$port"
fi

# --- data and ingest -------------------------------------------------------------
# batch B: rows B*BATCH.. spread over the month, as CSV (epoch ms) and line protocol (ns)
batch() {
	awk -v b="$1" -v n="$BATCH" -v total="$ROWS" -v csv="$work/b.csv" -v lp="$work/b.lp" 'BEGIN {
		base = 1709251200000	# 2024-03-01T00:00:00Z, ms
		span = 30 * 86400 * 1000
		print "timestamp,a,b,c,tag" >csv
		for (i = 0; i < n; i++) {
			k = b * n + i
			ms = base + int(k * span / total)
			a = (k * 7919) % 10000 / 100; bb = (k * 104729) % 10000 / 100 - 50; c = (k % 997) / 997
			printf "%.0f,%.2f,%.2f,%.6f,sensor-%d\n", ms, a, bb, c, k % 16 >csv
			printf "m,tag=sensor-%d a=%.2f,b=%.2f,c=%.6f %.0f000000\n", k % 16, a, bb, c, ms >lp
		}
	}'
}
batches=$((ROWS / BATCH))
ingest_ms=0
influx_ms=0
for ((b = 0; b < batches; b++)); do
	batch "$b"
	t0=$(now)
	"$APPHUB" -q timestore ingest perf "$work/b.csv" >/dev/null
	ingest_ms=$((ingest_ms + $(ms_since "$t0")))
	if [[ -n $port ]]; then
		t0=$(now)
		curl -fsS -XPOST "http://127.0.0.1:$port/write?db=perf&precision=ns" --data-binary @"$work/b.lp"
		influx_ms=$((influx_ms + $(ms_since "$t0")))
	fi
done
rm -f "$work/b.csv" "$work/b.lp"
parts=$("$APPHUB" -q timestore partitions perf | wc -l)
bytes=$(du -sm "$APPHUB_HOME/timestore" | cut -f1)

# --- the queries -------------------------------------------------------------------
paths=$("$APPHUB" --json timestore partitions perf |
	python3 -c 'import json, sys; print(", ".join("'"'"'%s'"'"'" % p["path"] for p in json.load(sys.stdin)["partitions"]))')
# range FROM TO: the apphub command, the SQL, the InfluxQL
a_cmd() { echo "$APPHUB" timestore query perf --from "$1" --to "$2" --every 1m --agg avg:a --agg min:a --agg max:a --agg p95:a --format csv; }
d_sql() {
	printf "SELECT time_bucket(INTERVAL '1 minute', \"timestamp\") AS \"timestamp\", avg(\"a\") AS avg_a,"
	printf " min(\"a\") AS min_a, max(\"a\") AS max_a, quantile_cont(\"a\", 0.95) AS p95_a"
	printf " FROM read_parquet([%s], union_by_name = true)" "$paths"
	printf " WHERE \"timestamp\" >= TIMESTAMP '%s' AND \"timestamp\" < TIMESTAMP '%s' GROUP BY 1 ORDER BY 1" "$1" "$2"
}
i_ql() { printf "SELECT mean(a), min(a), max(a), percentile(a, 95) FROM m WHERE time >= '%s' AND time < '%s' GROUP BY time(1m) fill(none)" "$1" "$2"; }
influx_query() { curl -fsS -G "http://127.0.0.1:$port/query" --data-urlencode db=perf --data-urlencode "q=$1"; }

echo
echo "$me: $ROWS rows in $parts partitions ($bytes MB of Parquet); whole processes, medians of $RUNS runs (ms)"
printf '%-6s %-34s %10s %10s %8s %10s %8s\n' test "range (rows out)" apphub duckdb ratio influx ratio
row() { # NAME FROM TO
	local -a a
	local d_s am dm im=- n ir=-
	read -r -a a <<<"$(a_cmd "$2" "$3")"
	d_s=$(d_sql "${2%Z}" "${3%Z}")
	n=$(("$(${a[@]} | wc -l)" - 1))
	[[ $("$PARQUET" "$d_s" | wc -l) == "$n" ]] || echo "$me: $1: DuckDB's rows differ from apphub's $n" >&2
	am=$(median_ms "${a[@]}")
	dm=$(median_ms "$PARQUET" "$d_s")
	if [[ -n $port ]]; then
		local got
		got=$(influx_query "$(i_ql "$2" "$3")" |
			python3 -c 'import json, sys; r = json.load(sys.stdin)["results"][0]; print(sum(len(s["values"]) for s in r.get("series", [])))')
		[[ $got == "$n" ]] || echo "$me: $1: InfluxDB answered $got rows, apphub $n" >&2
		im=$(median_ms influx_query "$(i_ql "$2" "$3")")
		ir=$(ratio "$am" "$im")
	fi
	printf '%-6s %-34s %10s %10s %8s %10s %8s\n' "$1" "$2..${3:5:5} ($n)" "$am" "$dm" \
		"$(ratio "$am" "$dm")" "$im" "$ir"
}
row month 2024-03-01T00:00:00Z 2024-03-31T00:00:00Z
row day 2024-03-15T00:00:00Z 2024-03-16T00:00:00Z
start=$(median_ms "$APPHUB" timestore ls)
printf '%-6s %-34s %10s\n' start "apphub timestore ls (DuckDB loaded)" "$start"

echo
printf 'ingest  %s rows in %s batches of %s, a process a batch: %s ms, %s rows/s (target >= 1000000)\n' \
	"$ROWS" "$batches" "$BATCH" "$ingest_ms" "$(rate "$ROWS" "$ingest_ms")"
[[ -z $port ]] ||
	printf 'ingest  InfluxDB: the same rows through /write, a POST a batch: %s ms, %s rows/s\n' \
		"$influx_ms" "$(rate "$ROWS" "$influx_ms")"
