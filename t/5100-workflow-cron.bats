#!/usr/bin/env bats
# Cron expressions and time zones (lib/cron.c, lib/tz.c) through test-tool:
# the parser's errors naming each field, macros, lists, ranges, steps and
# names, Vixie's OR rule, month lengths, next and prev; DST in
# Europe/Berlin, America/New_York and odd zones; offsets against GNU date;
# zone names that reach outside the zoneinfo directory.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

setup_file() {
	[[ -x $BATS_TEST_DIRNAME/helper/test-tool ]] || skip 'test-tool is not built'
	[[ -f /usr/share/zoneinfo/Europe/Berlin ]] || skip 'no zoneinfo'
}

T() {
	"$BATS_TEST_DIRNAME/helper/test-tool" "$@"
}

# next EXPR TZ AFTER [N]: the occurrences on one line, space-separated, seconds only.
next() {
	T cron-next "$@" | sed 's/\.000Z$/Z/' | paste -sd' '
}

prev() {
	T cron-prev "$@" | sed 's/\.000Z$/Z/'
}

@test "cron: each bad field is refused naming the field and the expression" {
	local -A bad=(
		['60 * * * *']="bad minute field '60'"
		['-1 * * * *']="bad minute field '-1'"
		['*/0 * * * *']="bad minute field '*/0'"
		['5-1 * * * *']="bad minute field '5-1'"
		['1-2-3 * * * *']="bad minute field '1-2-3'"
		['1/2/3 * * * *']="bad minute field '1/2/3'"
		['x * * * *']="bad minute field 'x'"
		['* 24 * * *']="bad hour field '24'"
		['* * 0 * *']="bad day-of-month field '0'"
		['* * 32 * *']="bad day-of-month field '32'"
		['0 0 L * *']="bad day-of-month field 'L'"
		['* * ? * *']="bad day-of-month field '?'"
		['* * * 0 *']="bad month field '0'"
		['* * * 13 *']="bad month field '13'"
		['* * * foo *']="bad month field 'foo'"
		['* * * * 8']="bad day-of-week field '8'"
		['* * * * mon-']="bad day-of-week field 'mon-'"
		['* * * * sunday']="bad day-of-week field 'sunday'"
	)
	local e
	for e in "${!bad[@]}"; do
		run --separate-stderr -1 T cron-next "$e" UTC 2026-01-01T00:00:00Z
		assert_stderr "error 400 invalid: cron '$e': ${bad[$e]}"
		assert_stdout_empty
	done
}

@test "cron: the wrong number of fields, unknown macros and an overlong expression" {
	run --separate-stderr -1 T cron-next '* * * *' UTC 2026-01-01T00:00:00Z
	assert_stderr_partial "cron '* * * *': day-of-week field missing"
	run --separate-stderr -1 T cron-next '' UTC 2026-01-01T00:00:00Z
	assert_stderr_partial "minute field missing"
	run --separate-stderr -1 T cron-next '* * * * * *' UTC 2026-01-01T00:00:00Z
	assert_stderr_partial "more than five fields"
	for m in @reboot @every @DAILY @; do
		run --separate-stderr -1 T cron-next "$m" UTC 2026-01-01T00:00:00Z
		assert_stderr_partial "cron '$m': unknown macro"
	done
	run --separate-stderr -1 T cron-next "$(printf '1,%.0s' {1..200})1 * * * *" UTC 2026-01-01T00:00:00Z
	assert_stderr_partial "too long"
}

@test "cron: an empty element of a list is a bad field" {
	for e in '1,,2 * * * *' '1, * * * *' ',1 * * * *' '0 0 * * mon,'; do
		run --separate-stderr -1 T cron-next "$e" UTC 2026-01-01T00:00:00Z
		assert_stderr_regex "cron '.*': bad (minute|day-of-week) field"
	done
}

@test "cron: macros" {
	assert_equal "$(next @hourly UTC 2026-01-01T00:00:00Z 2)" "2026-01-01T01:00:00Z 2026-01-01T02:00:00Z"
	assert_equal "$(next @daily UTC 2026-01-01T00:00:00Z)" "2026-01-02T00:00:00Z"
	assert_equal "$(next @midnight UTC 2026-01-01T12:00:00Z)" "2026-01-02T00:00:00Z"
	# 2026-01-01 is a Thursday: the first Sunday is the 4th
	assert_equal "$(next @weekly UTC 2026-01-01T00:00:00Z 2)" "2026-01-04T00:00:00Z 2026-01-11T00:00:00Z"
	assert_equal "$(next @monthly UTC 2026-01-15T00:00:00Z 2)" "2026-02-01T00:00:00Z 2026-03-01T00:00:00Z"
	assert_equal "$(next @yearly UTC 2026-01-01T00:00:00Z)" "2027-01-01T00:00:00Z"
	assert_equal "$(next @annually UTC 2026-06-01T00:00:00Z)" "2027-01-01T00:00:00Z"
	# in a zone: local midnight
	assert_equal "$(next @daily Europe/Berlin 2026-01-01T00:00:00Z)" "2026-01-01T23:00:00Z"
}

@test "cron: lists, ranges, steps and names; 7 is Sunday" {
	assert_equal "$(next '1-10/3 * * * *' UTC 2026-01-01T00:00:00Z 5)" \
		"2026-01-01T00:01:00Z 2026-01-01T00:04:00Z 2026-01-01T00:07:00Z 2026-01-01T00:10:00Z 2026-01-01T01:01:00Z"
	assert_equal "$(next '*/20 */12 * * *' UTC 2026-01-01T00:00:00Z 4)" \
		"2026-01-01T00:20:00Z 2026-01-01T00:40:00Z 2026-01-01T12:00:00Z 2026-01-01T12:20:00Z"
	assert_equal "$(next '5,35 1,13 * * *' UTC 2026-01-01T00:00:00Z 4)" \
		"2026-01-01T01:05:00Z 2026-01-01T01:35:00Z 2026-01-01T13:05:00Z 2026-01-01T13:35:00Z"
	# names in any case, and ranges of them
	assert_equal "$(next '0 0 * * Mon-Fri' UTC 2026-01-02T00:00:00Z 3)" \
		"2026-01-05T00:00:00Z 2026-01-06T00:00:00Z 2026-01-07T00:00:00Z"
	assert_equal "$(next '0 0 1 JAN-mar *' UTC 2026-01-02T00:00:00Z 3)" \
		"2026-02-01T00:00:00Z 2026-03-01T00:00:00Z 2027-01-01T00:00:00Z"
	assert_equal "$(next '5 4 * * sun,wed' UTC 2026-01-01T00:00:00Z 3)" \
		"2026-01-04T04:05:00Z 2026-01-07T04:05:00Z 2026-01-11T04:05:00Z"
	# 0 and 7 are both Sunday
	assert_equal "$(next '0 0 * * 7' UTC 2026-01-01T00:00:00Z 2)" "2026-01-04T00:00:00Z 2026-01-11T00:00:00Z"
	assert_equal "$(next '0 0 * * 0' UTC 2026-01-01T00:00:00Z 2)" "2026-01-04T00:00:00Z 2026-01-11T00:00:00Z"
	assert_equal "$(next '0 0 * * 5-7' UTC 2026-01-01T00:00:00Z 4)" \
		"2026-01-02T00:00:00Z 2026-01-03T00:00:00Z 2026-01-04T00:00:00Z 2026-01-09T00:00:00Z"
	# a step over the days of the week: Sun, Tue, Thu, Sat
	assert_equal "$(next '0 0 * * */2' UTC 2026-01-01T00:00:00Z 4)" \
		"2026-01-03T00:00:00Z 2026-01-04T00:00:00Z 2026-01-06T00:00:00Z 2026-01-08T00:00:00Z"
	# blanks between fields are any run of spaces and tabs
	assert_equal "$(next "  0 	 0 * *   * " UTC 2026-01-01T00:00:00Z)" "2026-01-02T00:00:00Z"
}

@test "cron: day-of-month and day-of-week both restricted match either (Vixie)" {
	# the 13th, or any Friday
	assert_equal "$(next '0 0 13 * 5' UTC 2026-01-01T00:00:00Z 5)" \
		"2026-01-02T00:00:00Z 2026-01-09T00:00:00Z 2026-01-13T00:00:00Z 2026-01-16T00:00:00Z 2026-01-23T00:00:00Z"
	# one of them '*': only the other counts
	assert_equal "$(next '0 0 13 * *' UTC 2026-01-01T00:00:00Z 2)" "2026-01-13T00:00:00Z 2026-02-13T00:00:00Z"
	assert_equal "$(next '0 0 * * 5' UTC 2026-01-01T00:00:00Z 2)" "2026-01-02T00:00:00Z 2026-01-09T00:00:00Z"
	# Feb 29, or any Monday of February
	assert_equal "$(next '0 0 29 2 1' UTC 2026-01-01T00:00:00Z 2)" "2026-02-02T00:00:00Z 2026-02-09T00:00:00Z"
}

@test "cron: month lengths and Feb 29" {
	assert_equal "$(next '0 0 31 * *' UTC 2026-01-01T00:00:00Z 7)" \
		"2026-01-31T00:00:00Z 2026-03-31T00:00:00Z 2026-05-31T00:00:00Z 2026-07-31T00:00:00Z 2026-08-31T00:00:00Z 2026-10-31T00:00:00Z 2026-12-31T00:00:00Z"
	assert_equal "$(next '0 0 */10 * *' UTC 2026-01-01T00:00:00Z 4)" \
		"2026-01-11T00:00:00Z 2026-01-21T00:00:00Z 2026-01-31T00:00:00Z 2026-02-01T00:00:00Z"
	assert_equal "$(next '0 0 29 2 *' UTC 2026-01-01T00:00:00Z 3)" \
		"2028-02-29T00:00:00Z 2032-02-29T00:00:00Z 2036-02-29T00:00:00Z"
	# 2100 is not a leap year, 2000 was
	assert_equal "$(next '0 0 29 2 *' UTC 2096-03-01T00:00:00Z)" "none"
	assert_equal "$(next '0 0 29 2 *' UTC 1999-01-01T00:00:00Z)" "2000-02-29T00:00:00Z"
	assert_equal "$(prev '0 0 29 2 *' UTC 2026-01-01T00:00:00Z)" "2024-02-29T00:00:00Z"
	# Feb 29 in Berlin is Feb 28 23:00 UTC
	assert_equal "$(next '0 0 29 2 *' Europe/Berlin 2026-01-01T00:00:00Z)" "2028-02-28T23:00:00Z"
	# dates that never happen: none, and quickly
	assert_equal "$(next '* * 30 2 *' Europe/Berlin 2026-01-01T00:00:00Z)" "none"
	assert_equal "$(prev '* * 31 4 *' UTC 2026-01-01T00:00:00Z)" "none"
	assert_equal "$(next '0 0 31 4,6,9,11 *' UTC 2026-01-01T00:00:00Z)" "none"
}

@test "cron: next and prev are strictly after and before" {
	assert_equal "$(next '0 * * * *' UTC 2026-01-01T00:00:00Z)" "2026-01-01T01:00:00Z"
	assert_equal "$(next '0 * * * *' UTC 2025-12-31T23:59:59.999Z)" "2026-01-01T00:00:00Z"
	assert_equal "$(prev '0 * * * *' UTC 2026-01-01T00:00:00Z)" "2025-12-31T23:00:00Z"
	assert_equal "$(prev '0 * * * *' UTC 2026-01-01T00:00:00.001Z)" "2026-01-01T00:00:00Z"
	# across a year's end, with an offset in the given time
	assert_equal "$(next '59 23 31 12 *' UTC 2026-12-31T23:59:00+00:00 2)" "2027-12-31T23:59:00Z 2028-12-31T23:59:00Z"
	assert_equal "$(prev '0 12 * * 1' UTC 2026-01-01T00:00:00+05:00)" "2025-12-29T12:00:00Z"
	# next of prev is the same instant
	p=$(prev '17 3 * * 2' Europe/Berlin 2026-06-01T00:00:00Z)
	assert_equal "$(next '17 3 * * 2' Europe/Berlin "$(date -u -d "$p - 1 second" +%FT%TZ)")" "$p"
}

@test "Europe/Berlin, spring 2026-03-29: 02:00-03:00 local is skipped" {
	# a daily 02:30 fires once that day, at the end of the gap (03:00 CEST = 01:00Z)
	assert_equal "$(next '30 2 * * *' Europe/Berlin 2026-03-28T12:00:00Z 3)" \
		"2026-03-29T01:00:00Z 2026-03-30T00:30:00Z 2026-03-31T00:30:00Z"
	# every 15 minutes: 02:00 .. 02:45 local collapse into one run at 01:00Z
	assert_equal "$(next '*/15 * * * *' Europe/Berlin 2026-03-29T00:30:00Z 6)" \
		"2026-03-29T00:45:00Z 2026-03-29T01:00:00Z 2026-03-29T01:15:00Z 2026-03-29T01:30:00Z 2026-03-29T01:45:00Z 2026-03-29T02:00:00Z"
	# hourly: 01:00 CET, then 03:00 CEST; no 02:00
	assert_equal "$(next '0 * * * *' Europe/Berlin 2026-03-28T23:30:00Z 3)" \
		"2026-03-29T00:00:00Z 2026-03-29T01:00:00Z 2026-03-29T02:00:00Z"
	# prev sees the same occurrence
	assert_equal "$(prev '30 2 * * *' Europe/Berlin 2026-03-29T01:00:01Z)" "2026-03-29T01:00:00Z"
	assert_equal "$(prev '30 2 * * *' Europe/Berlin 2026-03-29T01:00:00Z)" "2026-03-28T01:30:00Z"
	assert_equal "$(T tz-offset Europe/Berlin 2026-03-29T00:59:59Z 2026-03-29T01:00:00Z | paste -sd' ')" "3600 7200"
}

@test "Europe/Berlin, autumn 2026-10-25: 02:00-03:00 local happens twice, runs once" {
	# a daily 02:30 fires once, the first time (02:30 CEST = 00:30Z)
	assert_equal "$(next '30 2 * * *' Europe/Berlin 2026-10-24T12:00:00Z 3)" \
		"2026-10-25T00:30:00Z 2026-10-26T01:30:00Z 2026-10-27T01:30:00Z"
	# hourly at minute 0: 02:00 CEST (00:00Z), 03:00 CET (02:00Z); not 02:00 CET (01:00Z)
	assert_equal "$(next '0 * * * *' Europe/Berlin 2026-10-24T22:30:00Z 5)" \
		"2026-10-24T23:00:00Z 2026-10-25T00:00:00Z 2026-10-25T02:00:00Z 2026-10-25T03:00:00Z 2026-10-25T04:00:00Z"
	assert_equal "$(next '*/15 * * * *' Europe/Berlin 2026-10-25T00:40:00Z 3)" \
		"2026-10-25T00:45:00Z 2026-10-25T02:00:00Z 2026-10-25T02:15:00Z"
	assert_equal "$(prev '0 * * * *' Europe/Berlin 2026-10-25T02:00:00Z)" "2026-10-25T00:00:00Z"
	assert_equal "$(prev '30 2 * * *' Europe/Berlin 2026-10-25T02:00:00Z)" "2026-10-25T00:30:00Z"
	assert_equal "$(T tz-offset Europe/Berlin 2026-10-25T00:59:59Z 2026-10-25T01:00:00Z | paste -sd' ')" "7200 3600"
}

@test "America/New_York: its own dates and hours; Asia/Kolkata +05:30; Pacific/Kiritimati +14" {
	# spring 2026-03-08, 02:00 -> 03:00 EDT: 02:30 fires at 03:00 EDT = 07:00Z
	assert_equal "$(next '30 2 * * *' America/New_York 2026-03-07T12:00:00Z 3)" \
		"2026-03-08T07:00:00Z 2026-03-09T06:30:00Z 2026-03-10T06:30:00Z"
	# autumn 2026-11-01, 01:00-02:00 twice: 01:30 once, EDT (05:30Z)
	assert_equal "$(next '30 1 * * *' America/New_York 2026-10-31T12:00:00Z 3)" \
		"2026-11-01T05:30:00Z 2026-11-02T06:30:00Z 2026-11-03T06:30:00Z"
	# Berlin is still on CET on New York's spring day: no gap there
	assert_equal "$(next '30 2 * * *' Europe/Berlin 2026-03-07T12:00:00Z)" "2026-03-08T01:30:00Z"
	assert_equal "$(next '0 9 * * *' Asia/Kolkata 2026-01-01T00:00:00Z 2)" "2026-01-01T03:30:00Z 2026-01-02T03:30:00Z"
	assert_equal "$(next '15 0 * * *' Asia/Kolkata 2026-07-01T00:00:00Z)" "2026-07-01T18:45:00Z"
	assert_equal "$(T tz-offset Asia/Kolkata 2026-01-01T00:00:00Z)" 19800
	# Kiritimati's midnight is 10:00Z the day before; its new year comes first on Earth
	assert_equal "$(next '0 0 * * *' Pacific/Kiritimati 2026-01-01T00:00:00Z 2)" "2026-01-01T10:00:00Z 2026-01-02T10:00:00Z"
	assert_equal "$(next '0 0 1 1 *' Pacific/Kiritimati 2026-06-01T00:00:00Z)" "2026-12-31T10:00:00Z"
	assert_equal "$(T tz-offset Pacific/Kiritimati 2026-06-01T00:00:00Z)" 50400
	# a weekday in a zone across UTC's date line: Monday 08:00 in Kiritimati is Sunday 18:00Z
	assert_equal "$(next '0 8 * * 1' Pacific/Kiritimati 2026-01-01T00:00:00Z)" "2026-01-04T18:00:00Z"
}

@test "Pacific/Apia skipped 2011-12-30 entirely: that day's run is at the first instant after" {
	assert_equal "$(next '0 12 30 12 *' Pacific/Apia 2011-01-01T00:00:00Z 2)" \
		"2011-12-30T10:00:00Z 2012-12-29T22:00:00Z"
	# Mondays across the jump: Dec 26 at -10, then Jan 2 at +14
	assert_equal "$(next '0 0 * * 1' Pacific/Apia 2011-12-25T00:00:00Z 2)" "2011-12-26T10:00:00Z 2012-01-01T10:00:00Z"
}

@test "tz-offset matches GNU date from 1901 to 2450 in many zones (the POSIX footer after the last transition)" {
	# every 37 days and an hour, and hours around each year's spring change out to 2425
	insts=$(awk 'BEGIN { srand(14)
		for (s = -2145916800; s < 15149000000; s += 86400 * 37 + 3607) printf "%d\n", s
		for (y = 0; y < 400; y++) { b = 1774746000 + y * 31556952
			for (k = -3; k <= 3; k++) printf "%d\n", b + k * 3600 + int(rand() * 3600) } }')
	[[ $(wc -l <<<"$insts") -gt 8000 ]]
	for z in Europe/Berlin America/New_York Asia/Kolkata Pacific/Kiritimati Europe/London \
		Europe/Dublin America/Nuuk Asia/Jerusalem America/Santiago Pacific/Chatham \
		Australia/Lord_Howe Australia/Sydney Africa/Casablanca America/Sao_Paulo UTC; do
		[[ -f /usr/share/zoneinfo/$z ]] || continue
		ours=$(printf '@%s\n' $insts | xargs "$BATS_TEST_DIRNAME/helper/test-tool" tz-offset "$z")
		theirs=$(printf '@%s\n' $insts | TZ=$z date -f - +%::z |
			awk '{ s = substr($1, 1, 1) == "-" ? -1 : 1; split(substr($1, 2), p, ":")
				print s * (p[1] * 3600 + p[2] * 60 + p[3]) }')
		[[ $(wc -l <<<"$ours") == $(wc -l <<<"$insts") ]]
		run diff <(paste <(echo "$insts") <(echo "$ours")) <(paste <(echo "$insts") <(echo "$theirs"))
		[[ $status == 0 ]] || fail "$z: our offsets (<) differ from GNU date's (>): ${output:0:400}"
	done
	# Berlin after its last transition: CEST in July 2400, CET in January 2400
	assert_equal "$(T tz-offset Europe/Berlin 2400-07-01T00:00:00Z 2400-01-15T00:00:00Z | paste -sd' ')" "7200 3600"
}

@test "zone names: unknown ones and paths out of the zoneinfo directory are refused" {
	for z in Mars/Olympus Nope Europe utc ../etc/passwd /etc/localtime Europe/../../etc \
		Europe/../Europe/Berlin ./UTC . .. Europe/. Europe/Berlin/ Europe//Berlin \
		'Europe/Ber lin' 'Europe/Berlin;' '' "$(printf 'x%.0s' {1..300})"; do
		run --separate-stderr -1 T tz-offset "$z" 2026-07-01T00:00:00Z
		assert_stderr_partial "unknown time zone '${z:0:60}"
		assert_stdout_empty
	done
	# a file that is there but is not TZif
	run --separate-stderr -1 T tz-offset zone.tab 2026-07-01T00:00:00Z
	assert_stderr_partial "unknown time zone 'zone.tab'"
	for z in UTC Etc/UTC Z; do
		assert_equal "$(T tz-offset "$z" 2026-07-01T00:00:00Z)" 0
	done
	assert_equal "$(T tz-offset Etc/GMT+5 2026-07-01T00:00:00Z)" -18000
}

@test "TZDIR: a zone file that is not TZif, truncated, or a link to /etc/passwd is refused" {
	d=$BATS_TEST_TMPDIR/zi
	mkdir -p "$d/Test"
	cp /usr/share/zoneinfo/Europe/Berlin "$d/Test/Good"
	head -c 60 /usr/share/zoneinfo/Europe/Berlin >"$d/Test/Short"
	head -c 1000 /usr/share/zoneinfo/Europe/Berlin >"$d/Test/Cut"
	echo 'not a zone' >"$d/Test/Text"
	ln -s /etc/passwd "$d/Test/Passwd"
	: >"$d/Test/Empty"
	assert_equal "$(TZDIR=$d T tz-offset Test/Good 2026-07-01T00:00:00Z)" 7200
	for z in Test/Short Test/Cut Test/Text Test/Passwd Test/Empty Test; do
		run --separate-stderr -1 env TZDIR="$d" "$BATS_TEST_DIRNAME/helper/test-tool" tz-offset "$z" 2026-07-01T00:00:00Z
		assert_stderr_partial "time zone '$z'"
	done
	# a file over the size limit is not read
	head -c $((300 << 10)) /dev/zero >"$d/Test/Huge"
	run --separate-stderr -1 env TZDIR="$d" "$BATS_TEST_DIRNAME/helper/test-tool" tz-offset Test/Huge 2026-07-01T00:00:00Z
	assert_stderr_partial "time zone 'Test/Huge'"
}

@test "schedule-check: defaults filled in; each field checked by name" {
	run -0 T schedule-check '{"name":"nightly","cron":"@daily"}'
	assert_output '{"catchUp":false,"cron":"@daily","endWindow":null,"name":"nightly","parameters":{},"startWindow":null,"timezone":"UTC"}'
	run -0 T schedule-check '{"name":"a.b_c-1","cron":"0 2 * * *","timezone":"Europe/Berlin","startWindow":"2026-01-01T00:00:00Z","endWindow":"2026-12-31T00:00:00+01:00","catchUp":true,"parameters":{"a":1}}'
	assert_output '{"catchUp":true,"cron":"0 2 * * *","endWindow":"2026-12-31T00:00:00+01:00","name":"a.b_c-1","parameters":{"a":1},"startWindow":"2026-01-01T00:00:00Z","timezone":"Europe/Berlin"}'
	run -0 T schedule-check "{\"name\":\"$(printf 'a%.0s' {1..64})\",\"cron\":\"@daily\"}"
	local -A bad=(
		['{"cron":"@daily"}']="schedule name ''"
		['{"name":"-x","cron":"@daily"}']="schedule name '-x'"
		['{"name":"a b","cron":"@daily"}']="schedule name 'a b'"
		["{\"name\":\"$(printf 'a%.0s' {1..65})\",\"cron\":\"@daily\"}"]="schedule name 'aaaa"
		['{"name":"a"}']="schedule 'a': cron is required"
		['{"name":"a","cron":5}']="schedule 'a': cron is required"
		['{"name":"a","cron":"61 * * * *"}']="schedule 'a': cron '61 * * * *': bad minute field '61'"
		['{"name":"a","cron":"@daily","timezone":"Mars/Olympus"}']="schedule 'a': unknown time zone 'Mars/Olympus'"
		['{"name":"a","cron":"@daily","timezone":"../etc/passwd"}']="unknown time zone '../etc/passwd'"
		['{"name":"a","cron":"@daily","startWindow":"yesterday"}']="startWindow must be an RFC 3339 time"
		['{"name":"a","cron":"@daily","endWindow":"2026-02-30T00:00:00Z"}']="endWindow must be an RFC 3339 time"
		['{"name":"a","cron":"@daily","startWindow":"2026-02-01T00:00:00Z","endWindow":"2026-01-01T00:00:00Z"}']="startWindow must be before endWindow"
		['{"name":"a","cron":"@daily","startWindow":"2026-02-01T00:00:00Z","endWindow":"2026-02-01T01:00:00+01:00"}']="startWindow must be before endWindow"
		['{"name":"a","cron":"@daily","catchUp":"yes"}']="catchUp must be true or false"
		['{"name":"a","cron":"@daily","parameters":[]}']="parameters must be an object"
		['{"name":"a","cron":"@daily","bogus":1}']="unknown field 'bogus'"
		['[]']="schedule: must be an object"
	)
	local j
	for j in "${!bad[@]}"; do
		run --separate-stderr -1 T schedule-check "$j"
		assert_stderr_partial "error 400 invalid: "
		assert_stderr_partial "${bad[$j]}"
		assert_stdout_empty
	done
}
