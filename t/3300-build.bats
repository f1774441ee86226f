#!/usr/bin/env bats
# apphub image build: the native engine (RUN under bwrap, COPY/ADD, the
# config, multi-stage, the layer cache, failures), and --engine podman.

bats_require_minimum_version 1.5.0

load 'test_helper/common'

setup_file() {
	[[ -x $BATS_TEST_DIRNAME/../apphub-image ]] || skip 'apphub-image is not built'
	command -v bwrap >/dev/null || skip 'bwrap is not installed'
	# The busybox base, made once and copied into each test's state.
	BASE_STATE=$BATS_FILE_TMPDIR/base
	export BASE_STATE
	PATH="$BATS_TEST_DIRNAME/..:$PATH" APPHUB_HOME=$BASE_STATE \
		"$BATS_TEST_DIRNAME/../contrib/base-images/busybox.sh" >/dev/null
}

setup() {
	common_setup
	mkdir -p "$APPHUB_HOME"
	cp -R "$BASE_STATE/images" "$APPHUB_HOME/images"
	T=$(cd "$BATS_TEST_TMPDIR" && pwd -P)
	C=$T/ctx
	mkdir -p "$C"
}

teardown() {
	[[ -n ${SERVER_PID:-} ]] && kill "$SERVER_PID" 2>/dev/null
	return 0
}

# steps_cached JSON: the cached flags, one per line.
steps_cached() {
	jq -r '.steps[] | "\(.line) \(.cached)"' <<<"$1"
}

@test "image build: usage errors" {
	run -129 apphub image build "$C"
	assert_output --partial '-t <name:tag> is required'
	run -129 apphub image build -t x:1
	assert_output --partial 'a context directory is required'
	run -129 apphub image build -t x:1 --timeout soon "$C"
	assert_output --partial 'invalid --timeout'
	echo 'FROM scratch' >"$C/Dockerfile"
	run -1 apphub image build -t x:1 --network bridge "$C"
	assert_output --partial "invalid network 'bridge'"
	run -1 apphub image build -t x:1 --engine kaniko "$C"
	assert_output --partial "invalid engine 'kaniko'"
}

@test "the static-site example builds FROM apphub/busybox and serves its files" {
	run --separate-stderr -0 apphub -q image build -t static-site:1 --json \
		"$BATS_TEST_DIRNAME/../contrib/examples/static-site"
	run -0 jq -r '.image, .engine, (.steps | length)' <<<"$output"
	assert_output $'static-site:1\nnative\n4'
	run -0 apphub image inspect static-site:1 --json
	run -0 jq -c '.config.Cmd, .config.ExposedPorts' <<<"$output"
	assert_output $'["httpd","-f","-p","8080","-h","/www"]\n{"8080/tcp":{}}'
	apphub image unpack static-site:1 "$T/root"
	[ -f "$T/root/www/index.html" ]
	[ -x "$T/root/bin/busybox" ]
}

@test "RUN COPY ENV WORKDIR USER EXPOSE CMD ... into layers and the config" {
	mkdir -p "$C/src/sub"
	echo one >"$C/src/a.txt"
	echo two >"$C/src/sub/b.txt"
	cat >"$C/Dockerfile" <<'EOF'
FROM apphub/busybox:latest
ARG VERSION=1.0
ENV APP=demo GREETING="hello world"
LABEL org.example.version=$VERSION maintainer=me
WORKDIR /app
COPY src/ ./
COPY --chmod=0600 src/a.txt /etc/a.conf
RUN echo 'app:x:1000:1000::/app:/bin/sh' >>/etc/passwd && \
    echo "$APP $VERSION" >/app/built.txt && chown 1000 /app && rm /bin/vi
USER app
RUN id -u >/app/uid.txt; id -u
EXPOSE 8080 9000/udp
VOLUME /data
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s CMD wget -q -O- http://localhost:8080/ || exit 1
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["httpd -f -p 8080"]
EOF
	run --separate-stderr -0 apphub -q image build -t demo:1 "$C"
	run -0 apphub image inspect demo:1 --json
	local cfg=$output
	run -0 jq -c '.config.Env' <<<"$cfg"
	assert_output '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","APP=demo","GREETING=hello world"]'
	run -0 jq -r '.config.WorkingDir, .config.User, .config.StopSignal' <<<"$cfg"
	assert_output $'/app\napp\nSIGTERM'
	run -0 jq -c '.config.ExposedPorts, .config.Volumes, .config.Labels, .config.Entrypoint, .config.Cmd' <<<"$cfg"
	assert_output $'{"8080/tcp":{},"9000/udp":{}}\n{"/data":{}}\n{"org.example.version":"1.0","maintainer":"me"}\n["/bin/sh","-c"]\n["httpd -f -p 8080"]'
	run -0 jq -c '.config.Healthcheck' <<<"$cfg"
	assert_output '{"Test":["CMD-SHELL","wget -q -O- http://localhost:8080/ || exit 1"],"Interval":30000000000}'
	run -0 jq -r '[.history[] | select(.created_by | startswith("RUN")) | .empty_layer // false] | @csv' <<<"$cfg"
	assert_output 'false,false'
	apphub image unpack demo:1 "$T/root"
	[ "$(cat "$T/root/app/a.txt")" = one ]
	[ "$(cat "$T/root/app/sub/b.txt")" = two ]
	[ "$(cat "$T/root/app/built.txt")" = 'demo 1.0' ]
	[ "$(cat "$T/root/app/uid.txt")" = 1000 ]
	[ "$(stat -c %a "$T/root/etc/a.conf")" = 600 ]
	# the deletion is a whiteout in the RUN's layer
	[ ! -e "$T/root/bin/vi" ]
	[ -e "$T/root/bin/ls" ]
}

@test "--build-arg and --target; multi-stage with COPY --from a stage and an image" {
	cat >"$C/Dockerfile" <<'EOF'
FROM apphub/busybox:latest AS build
ARG FLAVOUR=plain
RUN mkdir /out && echo "$FLAVOUR" >/out/flavour && echo x >/out/extra
FROM build AS test
RUN echo tested >/out/tested
FROM scratch
COPY --from=build /out/flavour /flavour
COPY --from=apphub/busybox:latest /bin/busybox /bin/busybox
COPY --from=0 /out/extra /extra
EOF
	run --separate-stderr -0 apphub -q image build -t multi:1 --build-arg FLAVOUR=spicy --json "$C"
	run -0 jq -r '[.steps[].line] | map(tostring) | join(" ")' <<<"$output"
	# the test stage is not needed, so not built
	refute_output --partial '5'
	apphub image unpack multi:1 "$T/root"
	[ "$(cat "$T/root/flavour")" = spicy ]
	[ "$(cat "$T/root/extra")" = x ]
	[ -x "$T/root/bin/busybox" ]
	[ ! -e "$T/root/bin/sh" ]
	run --separate-stderr -0 apphub -q image build -t multi:test --target test "$C"
	apphub image unpack multi:test "$T/root2"
	[ "$(cat "$T/root2/out/tested")" = tested ]
	[ "$(cat "$T/root2/out/flavour")" = plain ]
}

@test ".dockerignore is honoured, exceptions included" {
	mkdir -p "$C/logs" "$C/src"
	echo a >"$C/src/keep.txt"
	echo b >"$C/src/drop.log"
	echo c >"$C/logs/x.log"
	echo d >"$C/logs/important.log"
	echo secret >"$C/.env"
	printf '**/*.log\n!logs/important.log\n.env\n' >"$C/.dockerignore"
	printf 'FROM scratch\nCOPY . /ctx/\n' >"$C/Dockerfile"
	run --separate-stderr -0 apphub -q image build -t ign:1 "$C"
	apphub image unpack ign:1 "$T/root"
	[ -f "$T/root/ctx/src/keep.txt" ]
	[ ! -e "$T/root/ctx/src/drop.log" ]
	[ ! -e "$T/root/ctx/logs/x.log" ]
	[ -f "$T/root/ctx/logs/important.log" ]
	[ ! -e "$T/root/ctx/.env" ]
	# an excluded source named on its own is not found
	printf 'FROM scratch\nCOPY .env /\n' >"$C/Dockerfile"
	run -1 apphub -q image build -t ign:2 "$C"
	assert_output --partial "Dockerfile:2: COPY: '.env': no such file in the build context (or excluded by .dockerignore)"
}

@test "an unchanged rebuild is entirely cached; a one-file change rebuilds from its COPY on" {
	mkdir -p "$C/a" "$C/b"
	echo 1 >"$C/a/one"
	echo 2 >"$C/b/two"
	cat >"$C/Dockerfile" <<'EOF'
FROM apphub/busybox:latest
RUN echo base >/base && echo "$(date +%s%N)" >/stamp1
COPY a/ /a/
RUN cat /a/one >/from-a
COPY b/ /b/
RUN cat /b/two >/from-b && echo "$(date +%s%N)" >/stamp2
CMD ["sh"]
EOF
	run --separate-stderr -0 apphub -q image build -t cache:1 --json "$C"
	local first=$output layers
	run -0 steps_cached "$first"
	assert_output $'1 true\n2 false\n3 false\n4 false\n5 false\n6 false\n7 false'
	layers=$(apphub image inspect cache:1 --json | jq -c .rootfs.diff_ids)
	run --separate-stderr -0 apphub -q image build -t cache:1 --json "$C"
	run -0 jq '[.steps[] | select(.cached | not)] | length' <<<"$output"
	assert_output 0
	# entirely cached, it is the same file system; with the times fixed by
	# SOURCE_DATE_EPOCH (the config's only other change), the same image
	assert_equal "$(apphub image inspect cache:1 --json | jq -c .rootfs.diff_ids)" "$layers"
	run --separate-stderr -0 env SOURCE_DATE_EPOCH=1700000000 apphub -q image build -t cache:2 --json "$C"
	first=$output
	run --separate-stderr -0 env SOURCE_DATE_EPOCH=1700000000 apphub -q image build -t cache:2 --json "$C"
	assert_equal "$(jq -r .digest <<<"$output")" "$(jq -r .digest <<<"$first")"
	# one file under b/ changes: the COPY b/ and what follows run again
	echo 22 >"$C/b/two"
	run --separate-stderr -0 apphub -q image build -t cache:1 --json "$C"
	run -0 steps_cached "$output"
	assert_output $'1 true\n2 true\n3 true\n4 true\n5 false\n6 false\n7 false'
	apphub image unpack cache:1 "$T/root"
	[ "$(cat "$T/root/from-b")" = 22 ]
	[ "$(cat "$T/root/from-a")" = 1 ]
	# a mode change is a change too
	chmod 600 "$C/a/one"
	run --separate-stderr -0 apphub -q image build -t cache:1 --json "$C"
	run -0 steps_cached "$output"
	assert_line '3 false'
	assert_line '2 true'
	# --no-cache runs everything
	run --separate-stderr -0 apphub -q image build -t cache:1 --no-cache --json "$C"
	run -0 jq '[.steps[1:][] | select(.cached)] | length' <<<"$output"
	assert_output 0
	# nothing is left in build-tmp
	run -0 find "$APPHUB_HOME/build-tmp" -mindepth 1
	assert_output ''
}

@test "a failing RUN names its line and shows the log tail" {
	printf 'FROM apphub/busybox:latest\nENV X=1\nRUN echo first-line && echo "the reason it broke" >&2 && exit 3\n' \
		>"$C/Dockerfile"
	run -1 apphub -q image build -t fail:1 "$C"
	assert_output --partial 'Dockerfile:3: RUN exited with status 3: first-line'
	assert_output --partial 'the reason it broke'
	run -0 find "$APPHUB_HOME/build-tmp" -mindepth 1
	assert_output ''
	run -2 apphub image inspect fail:1
}

@test "a RUN that hangs times out" {
	local mark=hang-$$-$RANDOM
	printf 'FROM apphub/busybox:latest\nRUN echo started; sleep 60; echo %s\n' "$mark" >"$C/Dockerfile"
	SECONDS=0
	run -1 apphub -q image build -t hang:1 --timeout 1s "$C"
	assert_output --partial 'Dockerfile:2: RUN timed out after 1 s: started'
	[ "$SECONDS" -lt 20 ]
	# nothing of the RUN is left running
	run -1 pgrep -f "$mark"
	run -0 find "$APPHUB_HOME/build-tmp" -mindepth 1
	assert_output ''
}

@test "COPY sources escaping the context are refused" {
	echo secret >"$T/outside"
	ln -s "$T/outside" "$C/link-out"
	ln -s ../outside "$C/rel-out"
	echo ok >"$C/ok"
	for src in ../outside /etc/passwd link-out rel-out; do
		printf 'FROM scratch\nCOPY ok /ok\nCOPY %s /x\n' "$src" >"$C/Dockerfile"
		run -1 apphub -q image build -t esc:1 "$C"
		assert_output --regexp "Dockerfile:3: COPY: .*(outside the build context|points outside|leads outside the repository)"
	done
	run -2 apphub image inspect esc:1
}

@test "ADD extracts a local tar and refuses a URL" {
	mkdir -p "$T/arch/d"
	echo inside >"$T/arch/d/f"
	tar -czf "$C/a.tgz" -C "$T/arch" d
	printf 'FROM scratch\nADD a.tgz /opt/\n' >"$C/Dockerfile"
	run --separate-stderr -0 apphub -q image build -t add:1 "$C"
	apphub image unpack add:1 "$T/root"
	[ "$(cat "$T/root/opt/d/f")" = inside ]
	printf 'FROM scratch\nADD https://example.com/x.tgz /opt/\n' >"$C/Dockerfile"
	run -1 apphub -q image build -t add:2 "$C"
	assert_output --partial 'Dockerfile:2: ADD from a URL'
	python3 -c '
import tarfile, io, sys
t = tarfile.open(sys.argv[1], "w")
i = tarfile.TarInfo("../evil"); data = b"x"; i.size = 1
t.addfile(i, io.BytesIO(data)); t.close()' "$C/evil.tar"
	printf 'FROM scratch\nADD evil.tar /opt/\n' >"$C/Dockerfile"
	run -1 apphub -q image build -t add:3 "$C"
	assert_output --partial "Dockerfile:2: ADD: 'evil.tar': member '../evil' refused"
}

@test "RUN heredocs" {
	cat >"$C/Dockerfile" <<'EOF'
FROM apphub/busybox:latest
RUN <<EOT
echo from-heredoc >/h1
echo second >>/h1
EOT
RUN cat <<A >/h2 && cat <<B >/h3
alpha
A
beta
B
EOF
	run --separate-stderr -0 apphub -q image build -t here:1 "$C"
	apphub image unpack here:1 "$T/root"
	[ "$(cat "$T/root/h1")" = $'from-heredoc\nsecond' ]
	[ "$(cat "$T/root/h2")" = alpha ]
	[ "$(cat "$T/root/h3")" = beta ]
}

@test "BuildKit's dialect in the image: EXPOSE split after substitution, ADD --unpack, CRLF heredocs, << EOF, \${v##p}" {
	mkdir -p "$T/arch/d"
	echo inside >"$T/arch/d/f"
	tar -czf "$C/a.tgz" -C "$T/arch" d
	printf '%s\n' 'FROM apphub/busybox:latest' 'ARG PORTS="80 443/udp" ARCHIVE=dist/a.tgz' \
		'EXPOSE $PORTS 127.0.0.1:8080:8081' 'ADD --unpack=false a.tgz /kept/' \
		'ADD --unpack=true a.tgz /opened/' 'ENV NAME=${ARCHIVE##*/}' \
		'RUN << EOF' 'echo $NAME >/name' 'EOF' >"$C/Dockerfile"
	printf 'COPY <<EOF /crlf.txt\r\none\r\ntwo\r\nEOF\r\n' >>"$C/Dockerfile"
	run --separate-stderr -0 apphub -q image build -t dialect:1 "$C"
	run -0 apphub image inspect dialect:1 --json
	run -0 jq -cS '.config.ExposedPorts, (.config.Env | map(select(startswith("NAME="))))' <<<"$output"
	assert_output $'{"443/udp":{},"80/tcp":{},"8081/tcp":{}}\n["NAME=a.tgz"]'
	apphub image unpack dialect:1 "$T/root"
	cmp "$C/a.tgz" "$T/root/kept/a.tgz"
	[ "$(cat "$T/root/opened/d/f")" = inside ]
	[ "$(cat "$T/root/name")" = a.tgz ]
	[ "$(od -An -c "$T/root/crlf.txt" | tr -s ' ')" = ' o n e \r \n t w o \r \n' ]
}

@test "an ONBUILD RUN heredoc runs its body in the child, as BuildKit keeps it" {
	mkdir -p "$C/base" "$C/app"
	printf '%s\n' 'FROM apphub/busybox:latest' 'ONBUILD RUN <<EOF' 'echo "hello world" >>/dest' 'EOF' \
		'ENV AFTER=1' >"$C/base/Dockerfile"
	run --separate-stderr -0 apphub -q image build -t onhere:1 "$C/base"
	run -0 apphub image inspect onhere:1 --json
	run -0 jq -c '.config.OnBuild, (.config.Env | map(select(startswith("AFTER="))))' <<<"$output"
	assert_output $'["RUN <<EOF\\necho \\"hello world\\" >>/dest\\nEOF"]\n["AFTER=1"]'
	printf 'FROM onhere:1\n' >"$C/app/Dockerfile"
	run --separate-stderr -0 apphub -q image build -t onhere-child:1 "$C/app"
	apphub image unpack onhere-child:1 "$T/root"
	[ "$(cat "$T/root/dest")" = 'hello world' ]
}

@test "--network none: RUN cannot reach a loopback server on the host" {
	command -v python3 >/dev/null || skip 'python3 is missing'
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	mkdir -p "$T/www"
	echo reachable >"$T/www/index.html"
	python3 -m http.server "$port" --bind 127.0.0.1 --directory "$T/www" >/dev/null 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 50); do
		curl -sf "http://127.0.0.1:$port/" >/dev/null && break
		sleep 0.1
	done
	# (busybox wget crashes in a bare root; nc speaks the HTTP instead)
	printf 'FROM apphub/busybox:latest\nRUN printf "GET /index.html HTTP/1.0\\r\\n\\r\\n" | nc 127.0.0.1 %s >/got && grep -q reachable /got\n' "$port" \
		>"$C/Dockerfile"
	run -1 apphub -q image build -t net:1 "$C"
	assert_output --partial "Dockerfile:2: RUN exited with status 1: nc: can't connect"
	run -0 apphub -q image build -t net:1 --network host "$C"
	apphub image unpack net:1 "$T/root"
	grep -q reachable "$T/root/got"
}

@test "a missing bwrap is a clear error" {
	printf 'FROM apphub/busybox:latest\nRUN true\n' >"$C/Dockerfile"
	mkdir -p "$T/bin"
	ln -s "$(command -v apphub-image)" "$T/bin/apphub-image" 2>/dev/null ||
		ln -s "$BATS_TEST_DIRNAME/../apphub-image" "$T/bin/apphub-image"
	PATH=$T/bin run -1 "$BATS_TEST_DIRNAME/../apphub" -q image build -t nobwrap:1 "$C"
	assert_output --partial 'bwrap not found on PATH'
}

@test "the podman engine builds the same Dockerfile" {
	command -v podman >/dev/null || skip 'podman is not installed'
	podman --cgroup-manager=cgroupfs info >/dev/null 2>&1 || skip 'podman cannot run here'
	mkdir -p "$C/src"
	echo one >"$C/src/a.txt"
	cat >"$C/Dockerfile" <<'EOF'
FROM apphub/busybox:latest
WORKDIR /app
COPY src/ ./
RUN echo built >/app/built.txt
ENV APP=demo
CMD ["cat", "/app/built.txt"]
EOF
	run --separate-stderr -0 apphub -q image build -t viapodman:1 --engine podman --json "$C"
	run -0 jq -r .engine <<<"$output"
	assert_output podman
	apphub image unpack viapodman:1 "$T/root"
	[ "$(cat "$T/root/app/a.txt")" = one ]
	[ "$(cat "$T/root/app/built.txt")" = built ]
	run -0 apphub image inspect viapodman:1 --json
	run -0 jq -c '.config.Cmd' <<<"$output"
	assert_output '["cat","/app/built.txt"]'
	# APPHUB_BUILD_ENGINE picks the default
	APPHUB_BUILD_ENGINE=podman run --separate-stderr -0 apphub -q image build -t viapodman:2 --json "$C"
	run -0 jq -r .engine <<<"$output"
	assert_output podman
}

@test "APPHUB_BUILD_TMPDIR holds the root file systems instead of build-tmp" {
	mkdir -p "$T/fast"
	printf 'FROM apphub/busybox:latest\nRUN echo x >/x\n' >"$C/Dockerfile"
	APPHUB_BUILD_TMPDIR=$T/fast run --separate-stderr -0 apphub -q image build -t tmpdir:1 "$C"
	[ -d "$T/fast/apphub-build-tmp" ]
	run -0 find "$T/fast/apphub-build-tmp" -mindepth 1
	assert_output ''
	[ ! -e "$APPHUB_HOME/build-tmp" ] || [ -z "$(ls -A "$APPHUB_HOME/build-tmp")" ]
}

@test "RUN under USER runs as that uid and gid; the layer records them as owners" {
	[[ $(id -u) == 0 ]] || skip 'needs root (other users map RUN users to themselves)'
	cat >"$C/Dockerfile" <<'EOF2'
FROM apphub/busybox:latest
RUN echo 'app:x:1000:1000::/home/app:/bin/sh' >>/etc/passwd && \
    echo 'app:x:1000:' >>/etc/group && echo 'web:x:77:' >>/etc/group && \
    mkdir -p /home/app /srv && chown app:app /home/app && chmod 1777 /srv
USER app
RUN id -u >/home/app/uid && id -g >/home/app/gid && mkdir /home/app/d && touch /srv/by-app
USER 1234:web
RUN id >/srv/ids && touch /srv/by-1234 && (touch /home/app/nope 2>/dev/null || echo refused >/srv/refused)
USER root
RUN touch /srv/by-root
EOF2
	run --separate-stderr -0 apphub -q image build -t users:1 "$C"
	apphub image unpack users:1 "$T/root"
	[ "$(cat "$T/root/home/app/uid") $(cat "$T/root/home/app/gid")" = '1000 1000' ]
	[ "$(stat -c %u:%g "$T/root/home/app/uid")" = 1000:1000 ]
	[ "$(stat -c %u:%g "$T/root/home/app/d")" = 1000:1000 ]
	[ "$(stat -c %u:%g "$T/root/srv/by-app")" = 1000:1000 ]
	[ "$(stat -c %u:%g "$T/root/srv/by-1234")" = 1234:77 ]
	run -0 cat "$T/root/srv/ids"
	assert_output --partial 'uid=1234 gid=77(web)'
	[ "$(cat "$T/root/srv/refused")" = refused ]
	[ ! -e "$T/root/home/app/nope" ]
	[ "$(stat -c %u:%g "$T/root/srv/by-root")" = 0:0 ]
	# the same without overlay mounts
	APPHUB_BUILD_OVERLAY=0 run --separate-stderr -0 apphub -q image build --no-cache -t users:2 "$C"
	apphub image unpack users:2 "$T/root2"
	[ "$(stat -c %u:%g "$T/root2/srv/by-1234")" = 1234:77 ]
	[ "$(stat -c %u:%g "$T/root2/home/app/d")" = 1000:1000 ]
}

@test "COPY --chown names a user a RUN before it added, with and without overlay mounts" {
	echo hello >"$C/f"
	cat >"$C/Dockerfile" <<'EOF2'
FROM apphub/busybox:latest
RUN echo 'app:x:1234:1234::/home/app:/bin/sh' >>/etc/passwd && echo 'app:x:1234:' >>/etc/group
COPY --chown=app f /f
COPY --chown=app:root f /g
EOF2
	run --separate-stderr -0 apphub -q image build -t chown:1 "$C"
	apphub image unpack chown:1 "$T/root"
	[ "$(stat -c %u:%g "$T/root/f")" = 1234:1234 ]
	[ "$(stat -c %u:%g "$T/root/g")" = 1234:0 ]
	APPHUB_BUILD_OVERLAY=0 run --separate-stderr -0 apphub -q image build --no-cache -t chown:2 "$C"
	apphub image unpack chown:2 "$T/root2"
	[ "$(stat -c %u:%g "$T/root2/f")" = 1234:1234 ]
}

@test "overlay and copied roots give the same layers: deletions, replacements, links" {
	[[ $(id -u) == 0 ]] || skip 'overlay mounts need root'
	mkdir -p "$C/files/sub"
	echo one >"$C/files/a"
	echo two >"$C/files/sub/b"
	cat >"$C/Dockerfile" <<'EOF2'
FROM apphub/busybox:latest
RUN mkdir -p /t/dir/keep /t/gone /t/becomes-file /t/opaque && echo x >/t/dir/f && \
    echo y >/t/gone/f && echo z >/t/opaque/old && echo w >/t/file-to-dir && \
    ln -s dir /t/link && echo l >/t/hard1 && ln /t/hard1 /t/hard2
COPY files/ /t/copied/
RUN rm -rf /t/gone /t/becomes-file /bin/vi && echo f >/t/becomes-file && \
    rm -rf /t/opaque && mkdir /t/opaque && echo n >/t/opaque/new && \
    rm /t/file-to-dir && mkdir /t/file-to-dir && chmod 700 /t/dir/keep && \
    echo more >>/t/dir/f && ln -sfn keep /t/link && ln /t/dir/f /t/dir/f-link && \
    echo changed >/t/copied/a && rm /t/copied/sub/b && touch /t/unchanged-mtime
RUN true
EOF2
	export SOURCE_DATE_EPOCH=1700000000
	run --separate-stderr -0 apphub -q image build --json -t same:ovl "$C"
	APPHUB_BUILD_OVERLAY=0 run --separate-stderr -0 apphub -q image build --json --no-cache \
		-t same:copy "$C"
	run -0 apphub image inspect same:ovl --json
	ovl=$(jq -c '.rootfs.diff_ids' <<<"$output")
	run -0 apphub image inspect same:copy --json
	copy=$(jq -c '.rootfs.diff_ids' <<<"$output")
	[ "$ovl" = "$copy" ]
	apphub image unpack same:ovl "$T/root"
	[ "$(cat "$T/root/t/opaque/new")" = n ]
	[ ! -e "$T/root/t/opaque/old" ]
	[ ! -e "$T/root/t/gone" ]
	[ -d "$T/root/t/file-to-dir" ]
	[ "$(cat "$T/root/t/becomes-file")" = f ]
	[ "$(readlink "$T/root/t/link")" = keep ]
	[ "$(stat -c %a "$T/root/t/dir/keep")" = 700 ]
	[ "$(stat -c %i "$T/root/t/dir/f")" = "$(stat -c %i "$T/root/t/dir/f-link")" ]
	[ "$(cat "$T/root/t/copied/a")" = changed ]
	[ ! -e "$T/root/t/copied/sub/b" ]
	[ ! -e "$T/root/bin/vi" ]
	# a cached layer under a step that runs (the layers' directories are shared)
	sed -i 's/^RUN true$/RUN echo again >\/t\/again/' "$C/Dockerfile"
	run --separate-stderr -0 apphub -q image build --json -t same:ovl2 "$C"
	APPHUB_BUILD_OVERLAY=0 run --separate-stderr -0 apphub -q image build --json --no-cache \
		-t same:copy2 "$C"
	run -0 apphub image inspect same:ovl2 --json
	ovl=$(jq -c '.rootfs.diff_ids' <<<"$output")
	run -0 apphub image inspect same:copy2 --json
	copy=$(jq -c '.rootfs.diff_ids' <<<"$output")
	[ "$ovl" = "$copy" ]
}

@test "ONBUILD triggers of the base run right after FROM, in order, and are not inherited" {
	mkdir -p "$C/base" "$C/app"
	cat >"$C/base/Dockerfile" <<'EOF2'
FROM apphub/busybox:latest
ENV DEST=/srv/app
ONBUILD RUN mkdir -p $DEST && echo first >$DEST/order
ONBUILD COPY . $DEST/src/
ONBUILD RUN echo second >>$DEST/order && ls $DEST/src >$DEST/listing
CMD ["sh"]
EOF2
	run --separate-stderr -0 apphub -q image build -t onbase:1 "$C/base"
	run -0 apphub image inspect onbase:1 --json
	run -0 jq -c '.config.OnBuild' <<<"$output"
	assert_output '["RUN mkdir -p $DEST && echo first >$DEST/order","COPY . $DEST/src/","RUN echo second >>$DEST/order && ls $DEST/src >$DEST/listing"]'
	echo hello >"$C/app/hello.txt"
	cat >"$C/app/Dockerfile" <<'EOF2'
FROM onbase:1
RUN echo third >>/srv/app/order
ONBUILD RUN echo grandchild
EOF2
	run --separate-stderr -0 apphub -q image build --json -t onchild:1 "$C/app"
	run -0 jq -r '[.steps[] | "\(.line) \(.instruction)"] | .[]' <<<"$output"
	assert_output $'1 FROM onbase:1\n1 RUN mkdir -p $DEST && echo first >$DEST/order\n1 COPY . $DEST/src/\n1 RUN echo second >>$DEST/order && ls $DEST/src >$DEST/listing\n2 RUN echo third >>/srv/app/order\n3 ONBUILD RUN echo grandchild'
	apphub image unpack onchild:1 "$T/root"
	[ "$(cat "$T/root/srv/app/order")" = $'first\nsecond\nthird' ]
	[ "$(cat "$T/root/srv/app/src/hello.txt")" = hello ]
	run -0 cat "$T/root/srv/app/listing"
	assert_output $'Dockerfile\nhello.txt'
	run -0 apphub image inspect onchild:1 --json
	run -0 jq -c '.config.OnBuild' <<<"$output"
	assert_output '["RUN echo grandchild"]'
	# a rebuild takes the triggers from the cache
	run --separate-stderr -0 apphub -q image build --json -t onchild:1 "$C/app"
	run -0 jq -r '[.steps[].cached] | all' <<<"$output"
	assert_output true
	# a failing trigger names the FROM line
	printf 'FROM apphub/busybox:latest\nONBUILD RUN exit 3\n' >"$C/base/Dockerfile"
	run --separate-stderr -0 apphub -q image build -t onbase:2 "$C/base"
	printf '# child\nFROM onbase:2\nRUN true\n' >"$C/app/Dockerfile"
	run -1 apphub -q image build -t onchild:2 "$C/app"
	assert_output --partial 'Dockerfile:2: RUN exited with status 3'
	# the ONBUILD that is not allowed is refused when the base is built
	printf 'FROM scratch\nONBUILD ONBUILD RUN true\n' >"$C/base/Dockerfile"
	run -1 apphub -q image build -t onbase:3 "$C/base"
	assert_output --partial "Dockerfile:2: ONBUILD isn't allowed as an ONBUILD trigger"
}

@test "unpacked layers are shared by builds and removed with their images" {
	[[ $(id -u) == 0 ]] || skip 'overlay mounts need root'
	printf 'FROM apphub/busybox:latest\nRUN echo a >/a\n' >"$C/Dockerfile"
	run --separate-stderr -0 apphub -q image build -t un:1 "$C"
	base=$(apphub image inspect apphub/busybox:latest --json | jq -r '.rootfs.diff_ids | length')
	[ "$base" -ge 1 ]
	run -0 ls "$APPHUB_HOME/images/unpacked"
	[ "${#lines[@]}" -ge 1 ]
	before=$(ls "$APPHUB_HOME/images/unpacked")
	printf 'FROM apphub/busybox:latest\nRUN echo b >/b\n' >"$C/Dockerfile"
	run --separate-stderr -0 apphub -q image build -t un:2 "$C"
	[ "$(ls "$APPHUB_HOME/images/unpacked")" = "$before" ]
	# nothing half made is left
	run -0 find "$APPHUB_HOME/images/unpacked" -maxdepth 1 -name '.tmp-*'
	assert_output ''
	apphub -q image rm un:1 un:2 apphub/busybox:latest
	run -0 ls "$APPHUB_HOME/images/unpacked"
	assert_output ''
}

@test "USER reads a passwd entry with empty fields as a launch does" {
	[[ $(id -u) == 0 ]] || skip 'needs root (other users map RUN users to themselves)'
	# an empty password field: each field is where it is, not the next one
	cat >"$C/Dockerfile" <<'EOF2'
FROM apphub/busybox:latest
RUN echo 'app::1000:1001::/home/app:/bin/sh' >>/etc/passwd && mkdir /out && chmod 1777 /out
USER app
RUN id -u >/out/uid && id -g >/out/gid
EOF2
	run --separate-stderr -0 apphub -q image build -t emptyfield:1 "$C"
	apphub image unpack emptyfield:1 "$T/root"
	[ "$(cat "$T/root/out/uid") $(cat "$T/root/out/gid")" = '1000 1001' ]
}
