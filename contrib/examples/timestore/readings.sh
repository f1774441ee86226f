#!/bin/sh
# readings.sh [START]: a week of per-minute readings of three sensors as CSV
# on stdout (timestamp,temperature,humidity,sensor), from START (yyyy-mm-dd,
# UTC; by default the week that ended at midnight today).  The same START
# gives the same rows, byte for byte: `make run` ingests them with an
# idempotency key of the start, so a second run writes nothing.
#
#	contrib/examples/timestore/readings.sh 2026-11-02 |
#		apphub timestore ingest example-readings - --format csv
set -eu

start=${1:-$(date -u -d '7 days ago' +%Y-%m-%d)}
case $start in
[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]) ;;
*)
	echo "usage: readings.sh [yyyy-mm-dd]" >&2
	exit 129
	;;
esac

exec awk -v start="$start" -v days="${READINGS_DAYS:-7}" '
# Days since 1970-01-01 of a civil date, and back (proleptic Gregorian).
function days_from_civil(y, m, d,    era, yoe, doy, doe) {
	y -= m <= 2
	era = int((y >= 0 ? y : y - 399) / 400)
	yoe = y - era * 400
	doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
	doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
	return era * 146097 + doe - 719468
}
function civil(z,    era, doe, yoe, y, doy, mp, d, m) {
	z += 719468
	era = int((z >= 0 ? z : z - 146096) / 146097)
	doe = z - era * 146097
	yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
	y = yoe + era * 400
	doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
	mp = int((5 * doy + 2) / 153)
	d = doy - int((153 * mp + 2) / 5) + 1
	m = mp + (mp < 10 ? 3 : -9)
	return sprintf("%04d-%02d-%02d", y + (m <= 2), m, d)
}
# Park-Miller: exact in doubles, so every awk gives the same numbers.
function noise() {
	seed = (seed * 16807) % 2147483647
	return seed / 2147483647 - 0.5
}
BEGIN {
	split(start, p, "-")
	day0 = days_from_civil(p[1] + 0, p[2] + 0, p[3] + 0)
	n = split("greenhouse cellar attic", sensor, " ")
	split("24 12 18", base, " ")
	split("6 1 9", amp, " ")
	split("70 85 45", wet, " ")
	seed = 42
	pi = atan2(0, -1)
	print "timestamp,temperature,humidity,sensor"
	for (d = 0; d < days; d++) {
		date = civil(day0 + d)
		for (min = 0; min < 1440; min++) {
			# Warmest at 15:00, coolest at 03:00.
			c = sin(2 * pi * (min - 540) / 1440)
			for (s = 1; s <= n; s++) {
				t = base[s] + amp[s] * c + d * 0.1 + noise()
				h = wet[s] - amp[s] * c + 2 * noise()
				printf "%sT%02d:%02d:00Z,%.2f,%.1f,%s\n", date, int(min / 60), min % 60, t, h, sensor[s]
			}
		}
	}
}'
