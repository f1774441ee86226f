# Helpers for the ingest tests (t/2xxx): repositories with given files,
# and the same repositories served over git:// and http:// on loopback.

# ingest_setup: common_setup, and REPOS, the test's empty directory for
# repositories, spelled as its real path (as apphub and libgit2 see it).
ingest_setup() {
	common_setup
	REPOS=$(cd "$BATS_TEST_TMPDIR" && pwd -P)/repos
	mkdir -p "$REPOS"
}

# commit_files DIR PATH CONTENT [PATH CONTENT]...
# Creates the repository DIR (branch main) when needed, writes the files
# and commits them.
commit_files() {
	local dir=$1
	shift
	if [[ ! -d $dir/.git ]]; then
		mkdir -p "$dir"
		git -C "$dir" init -q -b main
	fi
	while (($# >= 2)); do
		mkdir -p "$(dirname "$dir/$1")"
		printf '%s\n' "$2" >"$dir/$1"
		shift 2
	done
	git -C "$dir" add -A
	git -C "$dir" commit -q --allow-empty -m "commit $RANDOM"
}

# ingest_app ID REPO [apps add options...]: registers and ingests once.
ingest_app() {
	local id=$1 repo=$2
	shift 2
	apphub -q apps add "$repo" --id "$id" "$@"
	apphub -q ingest "$id"
}

# app_field ID FIELD: one field of `apphub apps show --json`.
app_field() {
	apphub apps show "$1" --json | jq -r ".$2"
}

# app_tags ID: the app's tags as "k:v(source)" sorted, space separated.
app_tags() {
	apphub apps show "$1" --json | jq -r '[.tags[] | "\(.key):\(.value)(\(.source))"] | join(" ")'
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
	local i
	for ((i = 0; i < 100; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "nothing listens on port $1" >&2
	return 1
}

# start_git_daemon ROOT: serves ROOT's repositories at git://127.0.0.1:$GIT_PORT/
start_git_daemon() {
	GIT_PORT=$(free_port)
	git daemon --reuseaddr --export-all --base-path="$1" --listen=127.0.0.1 \
		--port="$GIT_PORT" "$1" 3>&- >/dev/null 2>&1 &
	GIT_DAEMON_PID=$!
	wait_port "$GIT_PORT"
}

# start_http ROOT [SECONDS]: serves ROOT's repositories at http://127.0.0.1:$HTTP_PORT/
start_http() {
	local portfile=$BATS_TEST_TMPDIR/http.port
	rm -f "$portfile"
	python3 "$BATS_TEST_DIRNAME/test_helper/git-http-server.py" "$1" "$portfile" ${2:+"$2"} \
		3>&- >/dev/null 2>&1 &
	HTTP_PID=$!
	local i
	for ((i = 0; i < 200; i++)); do
		[[ -s $portfile ]] && break
		sleep 0.05
	done
	HTTP_PORT=$(cat "$portfile")
	wait_port "$HTTP_PORT"
}

stop_servers() {
	[[ -n ${GIT_DAEMON_PID:-} ]] && kill "$GIT_DAEMON_PID" 2>/dev/null && wait "$GIT_DAEMON_PID" 2>/dev/null
	[[ -n ${HTTP_PID:-} ]] && kill "$HTTP_PID" 2>/dev/null && wait "$HTTP_PID" 2>/dev/null
	GIT_DAEMON_PID= HTTP_PID=
	return 0
}

# wait_app_status ID STATUS: until app ID's status is STATUS (10 s at most).
wait_app_status() {
	local i
	for i in $(seq 100); do
		[[ $(sqlite3 "$(db_path)" "SELECT status FROM apps WHERE id = '$1'") == "$2" ]] && return 0
		sleep 0.1
	done
	return 1
}
