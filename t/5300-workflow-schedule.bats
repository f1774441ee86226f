#!/usr/bin/env bats
# Workflow schedules: from a definition and through `workflow schedule SLUG
# add|ls|pause|resume|rm`; `workflow tick --now T` makes one run per due
# window (catch-up or only the latest), two tickers at once never make two
# runs for one window; Europe/Berlin's DST nights; start and end windows.
#
# A new schedule's cursor is the real clock, so the tests give schedules a
# startWindow with catchUp, or tick at times after the real clock (2031+).
# Runs are only queued here: nothing drives them, no job is needed.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

setup_file() {
	[[ -x $BATS_TEST_DIRNAME/../apphub-workflow ]] || skip 'apphub-workflow is not built'
	[[ -f /usr/share/zoneinfo/Europe/Berlin ]] || skip 'no zoneinfo'
}

# add_wf SLUG [SCHEDULES-JSON]: a one-step workflow with those schedules.
add_wf() {
	jq -n --arg s "$1" --argjson sch "${2:-[]}" \
		'{slug: $s, steps: [{id: "a", jobSlug: "noop"}], schedules: $sch}' |
		apphub -q workflow add - >/dev/null
}

# ends SLUG: the window ends of the workflow's runs, oldest first, one a line.
ends() {
	apphub workflow runs "$1" --limit 1000 --json | jq -r '[.data[] | .trigger.window.end] | sort | .[]'
}

nruns() {
	apphub workflow runs "$@" --limit 1000 --json | jq '.data | length'
}

@test "schedules from a definition: listed with next run times under --now, updated and dropped with it" {
	add_wf nightly '[{"name":"night","cron":"30 2 * * *","timezone":"Europe/Berlin","parameters":{"k":"v"}},
		{"name":"hourly","cron":"@hourly"}]'
	run --separate-stderr -0 apphub workflow schedule nightly --now 2031-03-20T00:00:00Z --json
	assert_equal "$(jq -c '[.data[] | [.name, .cron, .timezone, .source, .paused, .catchUp, .nextRunAt]]' <<<"$output")" \
		'[["hourly","@hourly","UTC","definition",false,false,"2031-03-20T01:00:00.000Z"],["night","30 2 * * *","Europe/Berlin","definition",false,false,"2031-03-20T01:30:00.000Z"]]'
	assert_equal "$(jq -c '.data[1].parameters' <<<"$output")" '{"k":"v"}'
	# Berlin's spring night of 2031 (March 30): 02:30 does not happen; 03:00 CEST is 01:00Z
	run -0 apphub workflow schedule nightly ls --now 2031-03-29T12:00:00Z --json
	assert_equal "$(jq -r '.data[1].nextRunAt' <<<"$output")" 2031-03-30T01:00:00.000Z
	# autumn 2031-10-26: the first 02:30 (CEST)
	run -0 apphub workflow schedule nightly --now 2031-10-25T12:00:00Z --json
	assert_equal "$(jq -r '.data[1].nextRunAt' <<<"$output")" 2031-10-26T00:30:00.000Z
	# the text form
	run -0 apphub workflow schedule nightly --now 2031-07-01T00:00:00Z
	assert_line --index 0 --regexp '^NAME +CRON +TIMEZONE +STATE +NEXT RUN$'
	assert_line --index 2 --regexp '^night +30 2 \* \* \* +Europe/Berlin +active +2031-07-01T00:30:00.000Z$'
	run -0 apphub workflow ls --json
	assert_equal "$(jq -c '[.data[] | [.slug, .schedules]]' <<<"$output")" '[["nightly",2]]'
	# a new version without one of them drops it; an api schedule stays
	apphub -q workflow schedule nightly add mine --cron '@daily' >/dev/null
	add_wf nightly '[{"name":"night","cron":"45 2 * * *","timezone":"Europe/Berlin"}]'
	run -0 apphub workflow schedule nightly --json
	assert_equal "$(jq -c '[.data[] | [.name, .cron, .source]]' <<<"$output")" \
		'[["mine","@daily","api"],["night","45 2 * * *","definition"]]'
}

@test "schedule add, ls, pause, resume, rm; their events; not found and conflicts" {
	add_wf w
	run --separate-stderr -0 apphub workflow schedule w add h --cron '0 * * * *' --param x=1 \
		--start 2031-01-01T00:30:00Z --end 2031-01-01T05:00:00Z
	assert_output 'h: 0 * * * * (UTC) active, next run 2031-01-01T01:00:00.000Z'
	run -0 apphub workflow schedule w --json
	assert_equal "$(jq -c '.data[0] | [.name, .parameters, .startWindow, .endWindow, .source, .catchUp]' <<<"$output")" \
		'["h",{"x":1},"2031-01-01T00:30:00Z","2031-01-01T05:00:00Z","api",false]'
	run -0 apphub workflow schedule w add b --cron '@daily' --timezone Asia/Kolkata --catch-up --parameters-json '{"y":[1]}' --json
	assert_equal "$(jq -c '[.name, .timezone, .catchUp, .parameters]' <<<"$output")" '["b","Asia/Kolkata",true,{"y":[1]}]'
	run --separate-stderr -3 apphub workflow schedule w add h --cron '@daily'
	assert_stderr_partial "workflow 'w' already has a schedule 'h'"
	run -0 apphub workflow schedule w pause h
	assert_output 'h: 0 * * * * (UTC) paused, next run -'
	run -0 apphub workflow schedule w ls --json
	assert_equal "$(jq -c '[.data[] | [.name, .paused, .nextRunAt]] | sort' <<<"$output")" '[["b",false,"'"$(jq -r '.data[0].nextRunAt' <<<"$output")"'"],["h",true,null]]'
	run -0 apphub workflow schedule w resume h --json
	assert_equal "$(jq -c '[.paused, .nextRunAt]' <<<"$output")" '[false,"2031-01-01T01:00:00.000Z"]'
	run -0 apphub workflow schedule w rm h
	run -0 apphub workflow schedule w -q
	assert_output b
	run --separate-stderr -2 apphub workflow schedule w rm h
	assert_stderr_partial "workflow 'w' has no schedule 'h'"
	run --separate-stderr -2 apphub workflow schedule w pause zz
	run --separate-stderr -2 apphub workflow schedule w resume zz
	run --separate-stderr -2 apphub workflow schedule nope add x --cron '@daily'
	assert_stderr_partial "workflow 'nope' not found"
	run --separate-stderr -2 apphub workflow schedule nope
	run -0 apphub events --json
	assert_equal "$(jq -c '[.data[] | select(.type | startswith("workflow.schedule.")) | .type]' <<<"$output")" \
		'["workflow.schedule.added","workflow.schedule.added","workflow.schedule.paused","workflow.schedule.resumed","workflow.schedule.removed"]'
	# usage
	run --separate-stderr -129 apphub workflow schedule w add x
	run --separate-stderr -129 apphub workflow schedule w frobnicate x
	run --separate-stderr -129 apphub workflow schedule w pause
}

@test "a bad cron, an unknown or path-like zone, bad times: exit 1, nothing stored" {
	add_wf w
	run --separate-stderr -1 apphub workflow schedule w add b --cron '61 * * * *'
	assert_stderr_partial "schedule 'b': cron '61 * * * *': bad minute field '61'"
	run --separate-stderr -1 apphub workflow schedule w add b --cron '0 0 * * 8'
	assert_stderr_partial "bad day-of-week field '8'"
	run --separate-stderr -1 apphub workflow schedule w add b --cron '@reboot'
	for z in Mars/Olympus ../etc/passwd /etc/localtime Europe/../../etc; do
		run --separate-stderr -1 apphub workflow schedule w add b --cron '@daily' --timezone "$z"
		assert_stderr_partial "unknown time zone '$z'"
	done
	run --separate-stderr -1 apphub workflow schedule w add b --cron '@daily' --start yesterday
	assert_stderr_partial "startWindow must be an RFC 3339 time"
	run --separate-stderr -1 apphub workflow schedule w add b --cron '@daily' --start 2031-02-01T00:00:00Z --end 2031-01-01T00:00:00Z
	assert_stderr_partial "startWindow must be before endWindow"
	run --separate-stderr -1 apphub workflow schedule w add 'bad name' --cron '@daily'
	assert_stderr_partial "schedule name 'bad name'"
	run -0 apphub workflow schedule w --json
	assert_equal "$(jq -c .data <<<"$output")" '[]'
	run -0 apphub events --json
	assert_equal "$(jq '[.data[] | select(.type | startswith("workflow.schedule."))] | length' <<<"$output")" 0
	# in a definition: the whole definition is refused
	run --separate-stderr -1 add_wf bad '[{"name":"n","cron":"* * 32 * *"}]'
	run --separate-stderr -1 add_wf bad '[{"name":"n","cron":"@daily","timezone":"Nowhere/Land"}]'
	run --separate-stderr -2 apphub workflow show bad
	# a bad --now
	run --separate-stderr -1 apphub workflow tick --now garbage
	assert_stderr_partial "invalid time 'garbage'"
	run --separate-stderr -1 apphub workflow schedule w --now 2031-13-01T00:00:00Z
}

@test "tick: one run per due window, trigger and run key from the window; without catch-up only the latest" {
	add_wf w
	apphub -q workflow schedule w add h --cron '0 * * * *' --param x=1 >/dev/null
	run --separate-stderr -0 apphub workflow tick --now 2031-01-01T10:30:00Z --json
	assert_equal "$(jq -c '.runs | map(del(.runId))' <<<"$output")" \
		'[{"workflowSlug":"w","scheduleName":"h","window":{"start":"2031-01-01T09:00:00.000Z","end":"2031-01-01T10:00:00.000Z"}}]'
	id=$(jq -r '.runs[0].runId' <<<"$output")
	[[ $id =~ ^w-[0-9a-f]{12}$ ]]
	run -0 apphub workflow show "$id" --json
	assert_equal "$(jq -c '[.status, .trigger, .runKey, .parameters]' <<<"$output")" \
		'["pending",{"scheduleName":"h","type":"schedule","window":{"end":"2031-01-01T10:00:00.000Z","start":"2031-01-01T09:00:00.000Z"}},"schedule:h:2031-01-01T10:00:00.000Z",{"x":1}]'
	# the same time again: nothing new
	run -0 apphub workflow tick --now 2031-01-01T10:59:59Z --json
	assert_equal "$(jq -c .runs <<<"$output")" '[]'
	# five hours later, without catch-up: only the latest window
	run -0 apphub workflow tick --now 2031-01-01T15:00:00Z
	assert_output "w h: window 2031-01-01T14:00:00.000Z .. 2031-01-01T15:00:00.000Z: $(apphub workflow runs w -q --limit 1)"
	assert_equal "$(ends w | paste -sd' ')" "2031-01-01T10:00:00.000Z 2031-01-01T15:00:00.000Z"
	# the windows let go are not made later either
	run -0 apphub workflow tick --now 2031-01-01T15:10:00Z --json
	assert_equal "$(jq -c .runs <<<"$output")" '[]'
	assert_equal "$(nruns w)" 2
	run -0 apphub events --json
	assert_equal "$(jq '[.data[] | select(.type == "workflow.run.pending")] | length' <<<"$output")" 2
}

@test "tick with catch-up: up to 25 windows per tick, oldest first; the next tick the rest" {
	add_wf w '[{"name":"five","cron":"*/5 * * * *","startWindow":"2031-01-01T00:01:00Z","catchUp":true}]'
	# windows ending 00:05 .. 03:00: 36 of them
	run -0 apphub workflow tick --now 2031-01-01T03:02:00Z --json
	assert_equal "$(jq '.runs | length' <<<"$output")" 25
	assert_equal "$(jq -r '.runs[0].window | "\(.start) \(.end)"' <<<"$output")" "2031-01-01T00:00:00.000Z 2031-01-01T00:05:00.000Z"
	assert_equal "$(jq -r '.runs[24].window.end' <<<"$output")" "2031-01-01T02:05:00.000Z"
	# oldest first, each five minutes after the one before
	assert_equal "$(jq -c '[.runs[].window.end] == ([.runs[].window.end] | sort)' <<<"$output")" true
	run -0 apphub workflow tick --now 2031-01-01T03:02:00Z --json
	assert_equal "$(jq '.runs | length' <<<"$output")" 11
	assert_equal "$(jq -r '.runs[10].window.end' <<<"$output")" "2031-01-01T03:00:00.000Z"
	run -0 apphub workflow tick --now 2031-01-01T03:02:00Z --json
	assert_equal "$(jq '.runs | length' <<<"$output")" 0
	assert_equal "$(nruns w)" 36
	run -0 bash -c "apphub workflow runs w --limit 1000 --json | jq -r '.data[].runKey' | sort | uniq -d"
	assert_output ''
	# each run's window is the five minutes before its end
	run -0 apphub workflow runs w --limit 1000 --json
	assert_equal "$(jq '[.data[].trigger.window | ((.end | sub("\\.000Z$"; "Z") | fromdate) - (.start | sub("\\.000Z$"; "Z") | fromdate))] | unique' <<<"$output" | jq -c .)" '[300]'
}

@test "two tickers at once make exactly one run per window" {
	add_wf w '[{"name":"m","cron":"* * * * *","startWindow":"2031-01-01T00:00:30Z","catchUp":true},
		{"name":"latest","cron":"*/7 * * * *"}]'
	for k in 1 2 3 4 5 6; do
		now="2031-01-01T00:$(printf %02d $((k * 5))):00Z"
		apphub workflow tick --now "$now" >/dev/null &
		apphub workflow tick --now "$now" >/dev/null &
		apphub workflow tick --now "$now" >/dev/null &
		wait
	done
	# catch-up "m": windows ending 00:01 .. 00:30, each once
	run -0 apphub workflow runs w --limit 1000 --json
	assert_equal "$(jq '[.data[] | select(.trigger.scheduleName == "m")] | length' <<<"$output")" 30
	assert_equal "$(jq '[.data[] | select(.trigger.scheduleName == "m") | .runKey] | unique | length' <<<"$output")" 30
	# without catch-up, "*/7": the latest at each tick (00:05 -> 00:00, 00:10 -> 00:07,
	# 00:15 and 00:20 -> 00:14, 00:25 -> 00:21, 00:30 -> 00:28), each once
	assert_equal "$(jq -c '[.data[] | select(.trigger.scheduleName == "latest") | .trigger.window.end] | sort' <<<"$output")" \
		'["2031-01-01T00:00:00.000Z","2031-01-01T00:07:00.000Z","2031-01-01T00:14:00.000Z","2031-01-01T00:21:00.000Z","2031-01-01T00:28:00.000Z"]'
}

@test "an hourly schedule across Europe/Berlin's spring night: no run for the skipped hour" {
	add_wf w '[{"name":"h","cron":"0 * * * *","timezone":"Europe/Berlin","startWindow":"2026-03-28T22:30:00Z","catchUp":true},
		{"name":"d","cron":"30 2 * * *","timezone":"Europe/Berlin","startWindow":"2026-03-27T12:00:00Z","catchUp":true}]'
	for t in 2026-03-28T23:10:00Z 2026-03-29T00:10:00Z 2026-03-29T01:10:00Z 2026-03-29T02:10:00Z 2026-03-29T03:10:00Z; do
		apphub -q workflow tick --now "$t" >/dev/null
	done
	run -0 apphub workflow runs w --limit 1000 --json
	# local 00:00 CET, 01:00 CET, 03:00 CEST, 04:00, 05:00: one an hour of real time
	assert_equal "$(jq -c '[.data[] | select(.trigger.scheduleName == "h") | .trigger.window | [.start, .end]] | sort' <<<"$output")" \
		'[["2026-03-28T22:00:00.000Z","2026-03-28T23:00:00.000Z"],["2026-03-28T23:00:00.000Z","2026-03-29T00:00:00.000Z"],["2026-03-29T00:00:00.000Z","2026-03-29T01:00:00.000Z"],["2026-03-29T01:00:00.000Z","2026-03-29T02:00:00.000Z"],["2026-03-29T02:00:00.000Z","2026-03-29T03:00:00.000Z"]]'
	# the daily 02:30: once on the 28th (01:30Z), once on the 29th at the gap's end (01:00Z)
	assert_equal "$(jq -c '[.data[] | select(.trigger.scheduleName == "d") | .trigger.window.end] | sort' <<<"$output")" \
		'["2026-03-28T01:30:00.000Z","2026-03-29T01:00:00.000Z"]'
}

@test "an hourly schedule across Europe/Berlin's autumn night: the repeated hour runs once" {
	add_wf w '[{"name":"h","cron":"0 * * * *","timezone":"Europe/Berlin","startWindow":"2026-10-24T22:30:00Z","catchUp":true},
		{"name":"d","cron":"30 2 * * *","timezone":"Europe/Berlin","startWindow":"2026-10-24T12:00:00Z","catchUp":true}]'
	run -0 apphub workflow tick --now 2026-10-25T03:30:00Z --json
	# 01:00 CEST, 02:00 CEST, (02:00 CET skipped), 03:00 CET, 04:00 CET
	assert_equal "$(jq -c '[.runs[] | select(.scheduleName == "h") | .window.end]' <<<"$output")" \
		'["2026-10-24T23:00:00.000Z","2026-10-25T00:00:00.000Z","2026-10-25T02:00:00.000Z","2026-10-25T03:00:00.000Z"]'
	assert_equal "$(jq -c '[.runs[] | select(.scheduleName == "d") | .window.end]' <<<"$output")" '["2026-10-25T00:30:00.000Z"]'
	run -0 apphub workflow tick --now 2026-10-25T03:30:00Z --json
	assert_equal "$(jq -c .runs <<<"$output")" '[]'
}

@test "startWindow and endWindow: no window outside them" {
	add_wf w '[{"name":"h","cron":"0 * * * *","startWindow":"2031-01-01T02:30:00Z","endWindow":"2031-01-01T05:00:00Z","catchUp":true}]'
	run -0 apphub workflow schedule w --now 2031-01-01T00:00:00Z --json
	assert_equal "$(jq -r '.data[0].nextRunAt' <<<"$output")" 2031-01-01T03:00:00.000Z
	run -0 apphub workflow tick --now 2031-01-01T02:20:00Z --json
	assert_equal "$(jq -c .runs <<<"$output")" '[]'
	run -0 apphub workflow tick --now 2031-01-01T09:00:00Z --json
	assert_equal "$(jq -c '[.runs[].window.end]' <<<"$output")" \
		'["2031-01-01T03:00:00.000Z","2031-01-01T04:00:00.000Z","2031-01-01T05:00:00.000Z"]'
	run -0 apphub workflow tick --now 2031-01-02T09:00:00Z --json
	assert_equal "$(jq -c .runs <<<"$output")" '[]'
	run -0 apphub workflow schedule w --now 2031-01-01T09:00:00Z --json
	assert_equal "$(jq -c '.data[0].nextRunAt' <<<"$output")" null
	# without catch-up, a start in the future: nothing before it
	apphub -q workflow schedule w add later --cron '0 * * * *' --start 2031-06-01T00:00:00Z >/dev/null
	run -0 apphub workflow tick --now 2031-05-31T23:59:00Z --json
	assert_equal "$(jq -c .runs <<<"$output")" '[]'
	run -0 apphub workflow tick --now 2031-06-01T03:10:00Z --json
	assert_equal "$(jq -c '[.runs[] | select(.scheduleName == "later") | .window.end]' <<<"$output")" '["2031-06-01T03:00:00.000Z"]'
}

@test "without catch-up, a tick after endWindow still makes the last window in range once" {
	add_wf w
	apphub -q workflow schedule w add h --cron '0 * * * *' --start 2031-01-01T00:30:00Z --end 2031-01-01T05:00:00Z >/dev/null
	run -0 apphub workflow tick --now 2031-01-01T08:10:00Z --json
	assert_equal "$(jq -c '[.runs[].window.end]' <<<"$output")" '["2031-01-01T05:00:00.000Z"]'
}

@test "schedule rm says it removed the schedule" {
	add_wf w
	apphub -q workflow schedule w add h --cron '0 * * * *' >/dev/null
	run -0 apphub workflow schedule w rm h
	assert_output 'removed schedule h of w'
	apphub -q workflow schedule w add h --cron '0 * * * *' >/dev/null
	run -0 apphub workflow schedule w rm h --json
	assert_equal "$(jq -c '[.name, .removed]' <<<"$output")" '["h",true]'
}

@test "a paused schedule makes no run; resumed without catch-up it starts from then" {
	add_wf w '[{"name":"c","cron":"0 * * * *","startWindow":"2031-01-01T00:30:00Z","catchUp":true}]'
	apphub -q workflow schedule w add n --cron '0 * * * *' >/dev/null
	apphub -q workflow schedule w pause c >/dev/null
	apphub -q workflow schedule w pause n >/dev/null
	run -0 apphub workflow tick --now 2031-01-01T05:30:00Z --json
	assert_equal "$(jq -c .runs <<<"$output")" '[]'
	assert_equal "$(nruns w)" 0
	apphub -q workflow schedule w resume c >/dev/null
	run -0 apphub workflow tick --now 2031-01-01T05:30:00Z --json
	# catch-up keeps its windows: 01:00 .. 05:00
	assert_equal "$(jq -c '[.runs[] | .scheduleName] | unique' <<<"$output")" '["c"]'
	assert_equal "$(jq '.runs | length' <<<"$output")" 5
	apphub -q workflow schedule w resume n >/dev/null
	run -0 apphub workflow tick --now 2031-01-01T05:30:00Z --json
	assert_equal "$(jq -c '[.runs[] | [.scheduleName, .window.end]]' <<<"$output")" '[["n","2031-01-01T05:00:00.000Z"]]'
	# removed: nothing more
	apphub -q workflow schedule w rm n >/dev/null
	run -0 apphub workflow tick --now 2031-01-01T07:30:00Z --json
	assert_equal "$(jq -c '[.runs[] | .scheduleName] | unique' <<<"$output")" '["c"]'
}

@test "a schedule's run conflicts with a manual run of its key: no second run, the tick goes on" {
	add_wf w '[{"name":"h","cron":"0 * * * *","startWindow":"2031-01-01T00:30:00Z","catchUp":true}]'
	run -0 apphub workflow run w --detach --run-key schedule:h:2031-01-01T02:00:00.000Z --json
	manual=$(jq -r .id <<<"$output")
	run -0 apphub workflow tick --now 2031-01-01T03:30:00Z --json
	assert_equal "$(jq -c '[.runs[] | [.window.end, (.runId != null)]]' <<<"$output")" \
		'[["2031-01-01T01:00:00.000Z",true],["2031-01-01T02:00:00.000Z",false],["2031-01-01T03:00:00.000Z",true]]'
	assert_equal "$(nruns w)" 3
	run -0 apphub workflow tick --now 2031-01-01T03:30:00Z
	assert_output ''
}
