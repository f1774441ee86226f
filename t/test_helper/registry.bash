# A real OCI registry (Debian's docker-registry) on a free loopback port.
#
#   start_registry [HTPASSWD-FILE]   sets REGISTRY (host:port); basic auth with the file
#   stop_registry

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_registry() {
	local dir=$BATS_TEST_TMPDIR/registry port i
	mkdir -p "$dir/storage"
	port=$(free_port)
	{
		echo 'version: 0.1'
		echo 'log: {level: error, accesslog: {disabled: true}}'
		echo 'storage:'
		echo "  filesystem: {rootdirectory: $dir/storage}"
		echo '  delete: {enabled: true}'
		echo "http: {addr: 127.0.0.1:$port}"
		if [ -n "${1:-}" ]; then
			echo 'auth:'
			echo "  htpasswd: {realm: apphub-test, path: $1}"
		fi
	} >"$dir/config.yml"
	docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 3>&- &
	echo $! >"$dir/pid"
	REGISTRY=127.0.0.1:$port
	for i in $(seq 100); do
		curl -s -o /dev/null "http://$REGISTRY/v2/" && return 0
		sleep 0.1
	done
	cat "$dir/log" >&2
	return 1
}

stop_registry() {
	local pid=$BATS_TEST_TMPDIR/registry/pid
	if [ -f "$pid" ]; then
		kill "$(cat "$pid")" 2>/dev/null || true
		wait "$(cat "$pid")" 2>/dev/null || true
		rm -f "$pid"
	fi
}
