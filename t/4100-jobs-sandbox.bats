#!/usr/bin/env bats
# apphub jobs test: a bundle's handler run under the sandbox of a real run
# (issue 13, items 2, 4 and 8): the handler contract for exec, node and
# python; what the handler cannot reach (host files, the state directory,
# loopback services without the network capability); the timeout, memory
# and output caps; fd-3 metrics and outputs; files left as outputs.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

setup_file() {
	command -v bwrap >/dev/null || skip 'bwrap is not installed'
}

setup() {
	common_setup
	T=$BATS_TEST_TMPDIR
	B=$T/bundle
	mkdir -p "$B"
}

teardown() {
	[ -z "${HOSTPID:-}" ] || kill "$HOSTPID" 2>/dev/null || true
}

# bundle RUNTIME ENTRY [MANIFEST-JSON-TO-MERGE]: $B's apphub.bundle.json and manifest.json
bundle() {
	jq -n --arg e "$2" '{slug: "t", entry: $e}' >"$B/apphub.bundle.json"
	jq -n --arg r "$1" --arg e "$2" --argjson x "${3:-{\}}" \
		'{name: "t", version: "1.0.0", runtime: $r, entry: $e} + $x' >"$B/manifest.json"
}

# gives PARAMETERS RESULT LOG: the handler of $B, given PARAMETERS, returns RESULT and logs LOG
gives() {
	run --separate-stderr -0 apphub jobs test "$B" --input-json "$1"
	local log=$stderr
	run -0 jq -c . <<<"$output"
	assert_output "$2"
	stderr=$log assert_stderr "$3"
}

# script BODY...: $B/run.sh, an exec handler (sh)
script() {
	printf '%s\n' '#!/bin/sh' "$@" >"$B/run.sh"
	chmod 755 "$B/run.sh"
	bundle exec run.sh "${MANIFEST:-{\}}"
}

@test "an exec handler gets its input on stdin and returns its result on stdout, as an unprivileged user" {
	script 'in=$(cat)' 'echo "a log line" >&2' \
		'printf "{\"input\": %s, \"uid\": %s, \"cwd\": \"%s\"}\n" "$in" "$(id -u)" "$PWD"'
	run --separate-stderr -0 apphub jobs test "$B" --input-json '{"n": 7}'
	run -0 jq -c '[.input.parameters.n, .input.job.slug, .input.job.version, .input.run.attempt, .uid != 0, .cwd]' <<<"$output"
	assert_output '[7,"t","1.0.0",1,true,"/work"]'
	assert_stderr 'a log line'
}

@test "a node handler's default export gets the parameters and a context; console.log is its log" {
	cat >"$B/index.mjs" <<'JS'
export default async function (ctx) {
	console.log('from console.log');
	ctx.logger('from logger', { k: 1 });
	await new Promise((r) => setTimeout(r, 10));
	return { doubled: ctx.parameters.x * 2, slug: ctx.job.slug };
}
JS
	bundle node index.mjs
	gives '{"x": 21}' '{"doubled":42,"slug":"t"}' $'from console.log\nfrom logger {"k":1}'
}

@test "a node handler exported as handler (CommonJS) runs too" {
	printf '%s\n' 'exports.handler = (ctx) => ({ got: ctx.parameters });' >"$B/index.js"
	bundle node index.js
	run -0 apphub --json jobs test "$B" --input-json '{"a": [1, 2]}'
	run -0 jq -c .result <<<"$output"
	assert_output '{"got":{"a":[1,2]}}'
}

@test "a python handler (async) gets its parameters; print is its log" {
	cat >"$B/main.py" <<'PY'
import asyncio
async def handler(ctx):
    print("from print")
    ctx.logger("from logger")
    await asyncio.sleep(0.01)
    return {"sum": sum(ctx.parameters["numbers"]), "slug": ctx["job"]["slug"]}
PY
	bundle python main.py
	gives '{"numbers": [1, 2, 3.5]}' '{"sum":6.5,"slug":"t"}' $'from print\nfrom logger'
}

@test "the input comes from --input FILE, else the bundle's sample input file" {
	script 'cat'
	mkdir -p "$B/tests"
	echo '{"parameters": {"from": "sample"}}' >"$B/tests/sample-input.json"
	run -0 apphub jobs test "$B"
	run -0 jq -c .parameters <<<"$output"
	assert_output '{"from":"sample"}'
	echo '{"from": "file"}' >"$T/in.json"
	run -0 apphub jobs test "$B" --input "$T/in.json"
	run -0 jq -c .parameters <<<"$output"
	assert_output '{"from":"file"}'
	run -1 apphub jobs test "$B" --input-json '{"x":'
	assert_output --partial 'invalid --input-json'
}

@test "a handler cannot read a host file, /etc/shadow or the state directory, nor write its bundle" {
	echo host-secret >"$T/secret"
	chmod 644 "$T/secret"
	mkdir -p "$APPHUB_HOME" && echo state-secret >"$APPHUB_HOME/marker"
	script "for f in '$T/secret' /etc/shadow '$APPHUB_HOME/marker' /root/.bash_history; do" \
		'  cat "$f" >&2 2>/dev/null && echo "READ $f" >&2' \
		'done' \
		'echo x >/bundle/written 2>/dev/null && echo WROTE-BUNDLE >&2' \
		'echo x >/usr/written 2>/dev/null && echo WROTE-USR >&2' \
		'ls /etc | tr "\n" " " >&2' \
		'echo "{}"'
	run --separate-stderr -0 apphub jobs test "$B"
	refute [ -e "$B/written" ]
	[[ "$stderr" != *READ* && "$stderr" != *secret* && "$stderr" != *WROTE* ]] || fail "$stderr"
	[[ "$stderr" != *shadow* ]] || fail "the sandbox's /etc has shadow: $stderr"
}

@test "a loopback server is out of reach without the network capability, and reachable with it" {
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	mkdir -p "$T/srv" && echo host-only >"$T/srv/index.html"
	python3 -m http.server "$port" --bind 127.0.0.1 --directory "$T/srv" >/dev/null 2>&1 3>&- &
	HOSTPID=$!
	for i in $(seq 50); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
	cat >"$B/main.py" <<'PY'
import urllib.request
def handler(ctx):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/" % ctx.parameters["port"], timeout=3) as r:
            return {"got": r.read().decode().strip()}
    except Exception as e:
        return {"error": str(e)}
PY
	bundle python main.py
	run -0 apphub jobs test "$B" --input-json "{\"port\": $port}"
	refute_output --partial host-only
	assert_output --partial error
	bundle python main.py '{"capabilities": ["network"]}'
	run -0 apphub jobs test "$B" --input-json "{\"port\": $port}"
	run -0 jq -r .got <<<"$output"
	assert_output host-only
}

@test "a timeout ends the handler and its grandchildren" {
	MANIFEST='{"timeoutMs": 1000}' script 'sleep 1043 &' '(sleep 1044 &)' 'sleep 1045'
	run --separate-stderr -1 apphub jobs test "$B"
	assert_stderr 'apphub: jobs test: timed out after 1 s'
	run -1 pgrep -f 'sleep 104[345]'
}

@test "a memory limit is enforced" {
	[ "$(id -u)" = 0 ] || skip 'the cgroup limit needs root'
	printf '%s\n' 'def handler(ctx):' '    x = bytearray(400 * 1024 * 1024)' '    return len(x)' >"$B/main.py"
	bundle python main.py '{"limits": {"memory": "64M"}}'
	run --separate-stderr -1 apphub jobs test "$B"
	assert_stderr_partial 'apphub: jobs test: ran out of memory (limit 64 MiB)'
}

@test "a handler whose stdout is not JSON fails saying so" {
	script 'echo "not json"'
	run --separate-stderr -1 apphub jobs test "$B"
	assert_stderr_partial "apphub: jobs test: handler's result is not JSON"
}

@test "a result over 1 MiB fails" {
	script 'printf "\"" ; head -c 1100000 /dev/zero | tr "\0" a; printf "\"\n"'
	run --separate-stderr -1 apphub jobs test "$B"
	assert_stderr 'apphub: jobs test: result is larger than 1 MiB'
}

@test "a log over 16 MiB keeps its tail" {
	script 'echo FIRST >&2' 'head -c 18000000 /dev/zero | tr "\0" x >&2' 'echo >&2' 'echo LAST-LINE >&2' 'echo 1'
	apphub --json jobs test "$B" >"$T/out" 2>"$T/err"
	run -0 jq -c '[.result, .logTruncated, .logSize > 16777216]' "$T/out"
	assert_output '[1,true,true]'
	run -0 tail -n 1 "$T/err"
	assert_output LAST-LINE
	run -0 grep -c 'the log was longer than 16 MiB' "$T/err"
}

@test "fd-3 metrics and outputs, and the files left in the work directory, come back" {
	script 'echo report >/work/report.txt' 'mkdir -p /work/sub && echo left >/work/sub/left.txt' \
		'ln -s /etc/passwd /work/link' \
		'echo "{\"type\":\"metric\",\"name\":\"rows\",\"value\":12}" >&3' \
		'echo "{\"type\":\"output\",\"name\":\"the report\",\"path\":\"/work/report.txt\"}" >&3' \
		'echo "not json" >&3' \
		'echo "{\"type\":\"output\",\"name\":\"x\",\"path\":\"/etc/passwd\"}" >&3' \
		'echo null'
	run --separate-stderr -0 apphub --json jobs test "$B"
	run -0 jq -c '[.outputs[] | [.type, .name, .data // .size]]' <<<"$output"
	assert_output '[["metric","rows",12],["file","the report",7],["file","sub/left.txt",5]]'
	assert_stderr_partial 'apphub: fd 3: line 3 ignored'
	assert_stderr_partial 'apphub: fd 3: line 4 ignored'
}

@test "the node and python contexts' update() reports metrics and outputs on fd 3" {
	cat >"$B/index.mjs" <<'JS'
import fs from 'node:fs';
export default (ctx) => {
	fs.writeFileSync('out.csv', 'a,b\n');
	ctx.update({ metrics: { done: 3 }, outputs: [{ name: 'csv', path: 'out.csv' }] });
	return 'ok';
};
JS
	bundle node index.mjs
	run -0 apphub --json jobs test "$B"
	run -0 jq -c '[.result, (.outputs[] | [.type, .name, .data // .size])]' <<<"$output"
	assert_output '["ok",["metric","done",3],["file","csv",4]]'
	printf '%s\n' 'def handler(ctx):' '    ctx.update({"metrics": {"ratio": 0.5}})' '    return None' >"$B/main.py"
	bundle python main.py
	run -0 apphub --json jobs test "$B"
	run -0 jq -c '[.result, (.outputs[] | [.type, .name, .data])]' <<<"$output"
	assert_output '[null,["metric","ratio",0.5]]'
}

@test "a handler that exits with a status other than 0 fails" {
	script 'echo "it broke" >&2' 'exit 3'
	run --separate-stderr -1 apphub jobs test "$B"
	assert_stderr $'it broke\napphub: jobs test: handler exited with status 3'
	printf '%s\n' 'export default () => { throw new Error("node broke"); };' >"$B/index.mjs"
	bundle node index.mjs
	run --separate-stderr -1 apphub jobs test "$B"
	assert_stderr_partial 'node broke'
	assert_stderr_partial 'apphub: jobs test: handler exited with status 1'
}

@test "an exec entry that is not executable is refused naming it" {
	script 'echo 1'
	chmod 644 "$B/run.sh"
	run -1 apphub jobs test "$B"
	assert_output --partial "entry 'run.sh'"
	assert_output --partial 'not executable'
}

@test "a stop (a cancel) ends the handler and its grandchildren" {
	script 'sleep 1046 &' '(sleep 1047 &)' 'echo started >&2' 'sleep 1048'
	mkdir -p "$T/work"
	run -0 "$BATS_TEST_DIRNAME/helper/test-tool" job-stop "$B" "$T/work" 500
	assert_output --partial '{"ok":false,"stopped":true,"message":"canceled"}'
	run -1 pgrep -f 'sleep 104[678]'
}
