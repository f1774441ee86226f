# A real OCI registry (Debian's docker-registry) on a free loopback port.
#
#   start_registry [HTPASSWD-FILE]   sets REGISTRY (host:port); basic auth with the file
#   start_token_registry USER:PASS   the same with bearer tokens from t/helper/token-server.py
#                                    (TOKEN_LOG: what it was asked)
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
		if [ -n "${REGISTRY_TOKEN_REALM:-}" ]; then
			echo 'auth:'
			echo "  token: {realm: $REGISTRY_TOKEN_REALM, service: apphub-registry, issuer: apphub-test-issuer, rootcertbundle: $dir/token-cert.pem}"
		elif [ -n "${1:-}" ]; then
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

# A key and certificate the registry trusts, a token service signing with
# them, and the registry asking for its tokens.
start_token_registry() {
	local dir=$BATS_TEST_TMPDIR/registry i
	mkdir -p "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/token-key.pem" \
		-out "$dir/token-cert.pem" -days 1 -subj /CN=apphub-test-issuer 2>/dev/null
	TOKEN_LOG=$dir/token.log
	: >"$TOKEN_LOG"
	python3 "$BATS_TEST_DIRNAME/helper/token-server.py" "$dir/token-port" "$dir/token-key.pem" \
		"$dir/token-cert.pem" apphub-test-issuer "$1" "$TOKEN_LOG" 3>&- &
	echo $! >"$dir/token-pid"
	for i in $(seq 100); do
		[ -f "$dir/token-port" ] && break
		sleep 0.05
	done
	REGISTRY_TOKEN_REALM=http://127.0.0.1:$(cat "$dir/token-port")/token start_registry
}

stop_registry() {
	local pid
	for pid in "$BATS_TEST_TMPDIR/registry/pid" "$BATS_TEST_TMPDIR/registry/token-pid"; do
		if [ -f "$pid" ]; then
			kill "$(cat "$pid")" 2>/dev/null || true
			wait "$(cat "$pid")" 2>/dev/null || true
			rm -f "$pid"
		fi
	done
}
