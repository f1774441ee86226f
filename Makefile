# apphub — see README.md. `make run` and `make check` are the two set-up
# commands: each installs what it needs (make deps), builds, then runs.

VERSION = 0.1.0
PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
LIBEXECDIR = $(PREFIX)/libexec/apphub
MANDIR = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR = $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR = $(PREFIX)/share/fish/vendor_completions.d

MAKEFLAGS += --no-builtin-rules
.SUFFIXES:

CC ?= cc
AR ?= ar
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g

WARNINGS = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral
ifdef DEVELOPER
WARNINGS += -Werror
endif
ifdef SANITIZE
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

# Every library's headers for every object; what a program links is its own (<program>_PKGS).
ALL_PKGS = sqlite3 jansson libgit2 yaml-0.1 libarchive libcrypto libcurl libseccomp \
	libmicrohttpd libcmark
ALL_CFLAGS = -std=gnu11 $(CFLAGS) $(WARNINGS) -D_GNU_SOURCE -DAPPHUB_VERSION='"$(VERSION)"' \
	-DLIBEXECDIR='"$(LIBEXECDIR)"' -I. $(shell $(PKG_CONFIG) --cflags $(ALL_PKGS) 2>/dev/null)

# DuckDB's C API, for apphub-timestore only. Debian 12 has no DuckDB, so it
# comes from the npm registry, pinned: the Node bindings' package carries
# libduckdb.so, the duckdb package's source tree the matching duckdb.h.
DUCKDB_VERSION = 1.4.4
DUCKDB_BINDINGS_VERSION = 1.4.4-r.1
DUCKDB_DIR = third_party/duckdb
ALL_CFLAGS += -isystem $(DUCKDB_DIR)

# lib/ in its layers (DESIGN.md §3): each group uses only the groups above
# it, and no module of a group uses another in a cycle (t/0020-layers.bats).
UTIL_OBJS += lib/base64.o
UTIL_OBJS += lib/cgroup.o
UTIL_OBJS += lib/env.o
UTIL_OBJS += lib/err.o
UTIL_OBJS += lib/exec-path.o
UTIL_OBJS += lib/fsutil.o
UTIL_OBJS += lib/json-arena.o
UTIL_OBJS += lib/json-schema.o
UTIL_OBJS += lib/log-page.o
UTIL_OBJS += lib/netcheck.o
UTIL_OBJS += lib/params.o
UTIL_OBJS += lib/parse-options.o
UTIL_OBJS += lib/parse.o
UTIL_OBJS += lib/random-id.o
UTIL_OBJS += lib/repopath.o
UTIL_OBJS += lib/run-command.o
UTIL_OBJS += lib/seccomp.o
UTIL_OBJS += lib/strbuf.o
UTIL_OBJS += lib/timestore-compile.o
UTIL_OBJS += lib/timestore-schema.o
UTIL_OBJS += lib/timeutil.o
UTIL_OBJS += lib/tmpdir.o
UTIL_OBJS += lib/tz.o
UTIL_OBJS += lib/usage.o
UTIL_OBJS += lib/utf8.o
UTIL_OBJS += lib/yaml-json.o

STATE_OBJS += lib/ctx.o
STATE_OBJS += lib/events.o
STATE_OBJS += lib/fts-stem.o
STATE_OBJS += lib/runner.o
STATE_OBJS += lib/state.o
STATE_OBJS += lib/work.o

RECORD_OBJS += lib/apps.o
RECORD_OBJS += lib/builds.o
RECORD_OBJS += lib/history.o
RECORD_OBJS += lib/job-runs.o
RECORD_OBJS += lib/jobs.o
RECORD_OBJS += lib/launch.o
RECORD_OBJS += lib/metastore.o
RECORD_OBJS += lib/search.o
RECORD_OBJS += lib/tags.o
RECORD_OBJS += lib/timestore.o
RECORD_OBJS += lib/workflows.o

ENGINE_OBJS += lib/analyze.o
ENGINE_OBJS += lib/build-copy.o
ENGINE_OBJS += lib/build-engines.o
ENGINE_OBJS += lib/build-rootfs.o
ENGINE_OBJS += lib/build-run.o
ENGINE_OBJS += lib/build-worker.o
ENGINE_OBJS += lib/build.o
ENGINE_OBJS += lib/cron.o
ENGINE_OBJS += lib/bundle-init.o
ENGINE_OBJS += lib/bundle-package.o
ENGINE_OBJS += lib/bundle.o
ENGINE_OBJS += lib/dag.o
ENGINE_OBJS += lib/derive.o
ENGINE_OBJS += lib/dockerfile.o
ENGINE_OBJS += lib/dockerignore.o
ENGINE_OBJS += lib/duck.o
ENGINE_OBJS += lib/fetch-local.o
ENGINE_OBJS += lib/hooks.o
ENGINE_OBJS += lib/http-call.o
ENGINE_OBJS += lib/image-layer.o
ENGINE_OBJS += lib/image-names.o
ENGINE_OBJS += lib/image-transfer.o
ENGINE_OBJS += lib/image.o
ENGINE_OBJS += lib/ingest.o
ENGINE_OBJS += lib/job-exec.o
ENGINE_OBJS += lib/job-worker.o
ENGINE_OBJS += lib/launch-relay.o
ENGINE_OBJS += lib/launch-rootfs.o
ENGINE_OBJS += lib/launch-run.o
ENGINE_OBJS += lib/markdown.o
ENGINE_OBJS += lib/metastore-filter.o
ENGINE_OBJS += lib/metastore-index.o
ENGINE_OBJS += lib/registry.o
ENGINE_OBJS += lib/sandbox.o
ENGINE_OBJS += lib/sign.o
ENGINE_OBJS += lib/template.o
ENGINE_OBJS += lib/timestore-ingest.o
ENGINE_OBJS += lib/timestore-parse.o
ENGINE_OBJS += lib/timestore-query.o
ENGINE_OBJS += lib/timestore-rows.o
ENGINE_OBJS += lib/workflow-def.o
ENGINE_OBJS += lib/workflow-driver.o
ENGINE_OBJS += lib/workflow-sched.o

OPS_OBJS += lib/ops-apps.o
OPS_OBJS += lib/ops-build-worker.o
OPS_OBJS += lib/ops-builds.o
OPS_OBJS += lib/ops-dockerfile.o
OPS_OBJS += lib/ops-events.o
OPS_OBJS += lib/ops-gc.o
OPS_OBJS += lib/ops-history.o
OPS_OBJS += lib/ops-hooks.o
OPS_OBJS += lib/ops-image.o
OPS_OBJS += lib/ops-ingest.o
OPS_OBJS += lib/ops-job-files.o
OPS_OBJS += lib/ops-job-runs.o
OPS_OBJS += lib/ops-job-test.o
OPS_OBJS += lib/ops-jobs.o
OPS_OBJS += lib/ops-launch-supervise.o
OPS_OBJS += lib/ops-launch.o
OPS_OBJS += lib/ops-metastore.o
OPS_OBJS += lib/ops-search.o
OPS_OBJS += lib/ops-tags.o
OPS_OBJS += lib/ops-timestore.o
OPS_OBJS += lib/ops-timestore-remote.o
OPS_OBJS += lib/ops-workflows.o

FRONT_OBJS += lib/api.o
FRONT_OBJS += lib/auth.o
FRONT_OBJS += lib/http.o
FRONT_OBJS += lib/ops.o
FRONT_OBJS += lib/remote.o
FRONT_OBJS += lib/serve.o
FRONT_OBJS += lib/web-assets.o
FRONT_OBJS += lib/web.o

LAYERS = UTIL STATE RECORD ENGINE OPS FRONT
LIB_OBJS = $(foreach l,$(LAYERS),$($(l)_OBJS))
LIB = lib/libapphub.a

# The programs: apphub, which links only what the catalogue commands need
# (DESIGN.md §1), and its helpers apphub-<command>, each with its heavy
# library. For each: its command files, its commands (name, or
# name=function), its operation modules (ops_<module>[]) and its libraries.
# The linker takes from $(LIB) only what these reach.
PROGRAMS = apphub apphub-build apphub-image apphub-ingest apphub-jobs apphub-launch apphub-remote apphub-serve \
	apphub-timestore apphub-workflow

LIGHT_OPS = apps builds events gc history launch metastore search tags
LIGHT_PKGS = sqlite3 jansson
# The search index's English stemmer (lib/fts-stem.c), for every program
# that opens the state; libstemmer has no pkg-config file.
LIGHT_LIBS = -lstemmer
# The programs carry SQLite, jansson and the stemmer whole: a process that
# loads and relocates no shared copy starts sooner (a metastore get,
# start to end: 2.23 ms linked to the shared libraries, 1.95 ms).
LIGHT_STATIC = -Wl,-Bstatic -lsqlite3 -ljansson -lstemmer -Wl,-Bdynamic -lm -ldl -lpthread

apphub_OBJS = cmd/apps.o cmd/events.o cmd/gc.o cmd/launch.o cmd/metastore.o
apphub_CMDS = apps events gc launch metastore
apphub_OPS = $(LIGHT_OPS)
apphub_PKGS = $(LIGHT_PKGS)

apphub-build_OBJS = cmd/build.o
apphub-build_CMDS = build
apphub-build_OPS = $(LIGHT_OPS) build_worker dockerfile
apphub-build_PKGS = $(LIGHT_PKGS) libgit2 libarchive libcrypto libcurl libseccomp
apphub-build_LIBS = -lpthread

apphub-image_OBJS = cmd/image.o
apphub-image_CMDS = image
apphub-image_OPS = $(LIGHT_OPS) image image_build
apphub-image_PKGS = $(LIGHT_PKGS) libarchive libcrypto libcurl libseccomp

apphub-ingest_OBJS = cmd/ingest.o
apphub-ingest_CMDS = ingest
apphub-ingest_OPS = $(LIGHT_OPS) ingest
apphub-ingest_PKGS = $(LIGHT_PKGS) libgit2 yaml-0.1 libcmark

# Job bundles: packaging, signing, publishing (libarchive, OpenSSL) and
# their runs in the sandbox (libseccomp).
apphub-jobs_OBJS = cmd/jobs.o
apphub-jobs_CMDS = jobs
apphub-jobs_OPS = $(LIGHT_OPS) job_files job_runs job_test jobs
apphub-jobs_PKGS = $(LIGHT_PKGS) libarchive libcrypto libseccomp

# The launches' supervisor: it starts with every launch and stays as long,
# so it links only the light libraries; the image store's work is
# apphub-image's, which it runs when an image is not unpacked yet.
apphub-launch_OBJS = cmd/launch.o
apphub-launch_CMDS = launch
apphub-launch_OPS = $(LIGHT_OPS) launch_supervise
apphub-launch_PKGS = $(LIGHT_PKGS) libseccomp

# --server's HTTP exchange: libcurl stays out of the light binary.
apphub-remote_OBJS = cmd/remote.o
apphub-remote_CMDS = remote
apphub-remote_OPS =
apphub-remote_PKGS = $(LIGHT_PKGS) libcurl

# Workflows: definitions in YAML (libyaml), service steps over HTTP
# (libcurl) and job steps run as apphub-jobs runs them.
apphub-workflow_OBJS = cmd/workflow.o
apphub-workflow_CMDS = workflow
apphub-workflow_OPS = $(LIGHT_OPS) job_runs workflows
apphub-workflow_PKGS = $(LIGHT_PKGS) yaml-0.1 libarchive libcrypto libcurl libseccomp
apphub-workflow_LIBS = -lpthread

# The timestore: DuckDB (libduckdb, from the npm registry: see DUCKDB below)
# reads and writes its Parquet partitions. Nothing else links it; serve asks
# a long-lived apphub-timestore for its operations.
apphub-timestore_OBJS = cmd/timestore.o
apphub-timestore_CMDS = timestore timestore-serve=timestore_serve
apphub-timestore_OPS = $(LIGHT_OPS) timestore
apphub-timestore_PKGS = $(LIGHT_PKGS)
apphub-timestore_LIBS = -L$(DUCKDB_DIR) -lduckdb -Wl,-rpath,'$$ORIGIN:$$ORIGIN/$(DUCKDB_DIR)' -lm
apphub-timestore_DEPS = $(DUCKDB_DIR)/libduckdb.so

# serve carries every operation module, and libmicrohttpd.
apphub-serve_OBJS = cmd/serve.o
apphub-serve_CMDS = serve
apphub-serve_OPS = $(LIGHT_OPS) build_worker dockerfile hooks image image_build ingest job_files job_runs job_test jobs serve timestore_remote web workflows
apphub-serve_PKGS = $(LIGHT_PKGS) libgit2 yaml-0.1 libarchive libcrypto libcurl libseccomp \
	libmicrohttpd libcmark
apphub-serve_LIBS = -lpthread

PROGRAM_OBJS = apphub.o cmd/common.o $(foreach p,$(PROGRAMS),gen/$(p).o $($(p)_OBJS))

# The page (web/), embedded in apphub-serve only.
WEB_FILES = web/index.html web/app.css web/app.js web/core.js web/nav.js web/forms.js \
	web/jobs.js web/workflows.js web/dag.js web/records.js web/datasets.js web/favicon.svg

# Debian packages that building, testing and `make run` need.
DEBIAN_PACKAGES = build-essential pkg-config git jq sqlite3 libsqlite3-dev libjansson-dev \
	libgit2-dev libcurl4-openssl-dev libarchive-dev libssl-dev libmicrohttpd-dev \
	libyaml-dev libseccomp-dev bubblewrap bats bats-support bats-assert mandoc zsh fish hyperfine wrk nginx \
	busybox-static skopeo podman runc docker-registry apache2-utils debootstrap libcmark-dev chromium \
	libstemmer-dev nodejs python3 tzdata

all: $(PROGRAMS)

$(LIB): $(LIB_OBJS)
	$(RM) $@ && $(AR) rcs $@ $(LIB_OBJS)

define program
$(1): apphub.o gen/$(1).o $$($(1)_OBJS) cmd/common.o $$(LIB) $$($(1)_DEPS)
	$$(CC) $$(LDFLAGS) -Wl,-O1,--as-needed -o $$@ apphub.o gen/$(1).o $$($(1)_OBJS) cmd/common.o \
		$$(LIB) $$(filter-out -lsqlite3 -ljansson,$$(shell $$(PKG_CONFIG) --libs $$($(1)_PKGS) 2>/dev/null)) \
		$$(LIGHT_STATIC) $$($(1)_LIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call program,$(p))))

# gen/<program>.c: the commands and operation modules the program carries.
$(PROGRAMS:%=gen/%.c): gen/%.c: Makefile
	@mkdir -p gen
	@{ echo '/* Generated by the Makefile: what $* carries. */'; \
	  echo '#include "cmd/cmd.h"'; echo '#include "lib/ops.h"'; echo; \
	  echo 'const struct builtin builtins[] = {'; \
	  for c in $($*_CMDS); do echo "	{ \"$${c%%=*}\", cmd_$${c#*=} },"; done; \
	  echo '};'; \
	  echo 'const unsigned builtins_nr = sizeof(builtins) / sizeof(builtins[0]);'; echo; \
	  echo 'const struct ah_op *const ah_op_table[] = {'; \
	  for o in $($*_OPS); do echo "	ops_$$o,"; done; \
	  echo '	NULL,'; echo '};'; } >$@+ && mv -f $@+ $@

%.o: %.c
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<


lib/web-assets.c: web/embed.sh $(WEB_FILES)
	sh web/embed.sh $(WEB_FILES) >$@+ && mv -f $@+ $@

# The layers, for t/0020-layers.bats: one line per layer, its objects.
print-layers:
	@$(foreach l,$(LAYERS),echo '$(l): $($(l)_OBJS)';)

# The parsers driven from the tests (t/3000-dockerfile.bats, t/2150-readme.bats), and
# a job handler stopped (t/4100-jobs-sandbox.bats).
t/helper/test-tool: t/helper/test-tool.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ t/helper/test-tool.o $(LIB) \
		$(shell $(PKG_CONFIG) --libs $(LIGHT_PKGS) libcmark libseccomp libarchive libcrypto yaml-0.1 \
		libcurl 2>/dev/null) $(LIGHT_LIBS)

# The timestore's files read back by DuckDB itself (t/7000-timestore-ingest.bats).
t/helper/test-parquet: t/helper/test-parquet.c $(DUCKDB_DIR)/libduckdb.so
	$(CC) $(CFLAGS) -I$(DUCKDB_DIR) -o $@ t/helper/test-parquet.c -L$(DUCKDB_DIR) -lduckdb \
		-Wl,-rpath,'$$ORIGIN/../../$(DUCKDB_DIR)'

-include $(LIB_OBJS:.o=.d) $(PROGRAM_OBJS:.o=.d) t/helper/test-tool.d

# npm pack fetches a package's tarball without installing it (or running
# its scripts); the two files are all that is kept.
$(DUCKDB_DIR)/libduckdb.so $(DUCKDB_DIR)/duckdb.h: $(DUCKDB_DIR)/.version-$(DUCKDB_BINDINGS_VERSION)
$(DUCKDB_DIR)/.version-$(DUCKDB_BINDINGS_VERSION):
	@command -v npm >/dev/null || { sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends nodejs npm; }
	@echo "make: fetching DuckDB $(DUCKDB_VERSION) from the npm registry"
	@rm -rf $(DUCKDB_DIR) && mkdir -p $(DUCKDB_DIR)/pack && \
	(cd $(DUCKDB_DIR)/pack && npm pack --silent @duckdb/node-bindings-linux-x64@$(DUCKDB_BINDINGS_VERSION) \
		duckdb@$(DUCKDB_VERSION) >/dev/null) && \
	tar -xzf $(DUCKDB_DIR)/pack/duckdb-node-bindings-linux-x64-$(DUCKDB_BINDINGS_VERSION).tgz \
		-C $(DUCKDB_DIR) --strip-components=1 package/libduckdb.so && \
	tar -xzf $(DUCKDB_DIR)/pack/duckdb-$(DUCKDB_VERSION).tgz -C $(DUCKDB_DIR) --strip-components=5 \
		package/src/duckdb/src/include/duckdb.h && \
	rm -rf $(DUCKDB_DIR)/pack && touch $@
# Every object may include duckdb.h; only the timestore's do.
$(LIB_OBJS) $(PROGRAM_OBJS): | $(DUCKDB_DIR)/duckdb.h

# Installs the missing packages only, so a ready machine pays one dpkg-query.
deps: $(DUCKDB_DIR)/.version-$(DUCKDB_BINDINGS_VERSION)
	@missing=$$(dpkg-query -W -f='$${Package} $${Status}\n' $(DEBIAN_PACKAGES) 2>/dev/null | \
		awk '$$NF == "installed" { ok[$$1] = 1 } END { n = split("$(DEBIAN_PACKAGES)", p, " "); \
		for (i = 1; i <= n; i++) if (!(p[i] in ok)) printf "%s ", p[i] }'); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing $$missing"; \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# node and npm for the browser tests (t/web): any node >= 20 will do.
	@command -v npm >/dev/null || { sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends nodejs npm; }
	@[ t/web/node_modules/.package-lock.json -nt t/web/package-lock.json ] || \
		(cd t/web && npm ci --no-audit --no-fund --loglevel=error)

check: deps
	@$(MAKE) -s --no-print-directory all t/helper/test-tool t/helper/test-parquet
	@t/run-tests

# The main job on the embedded default: the example apps registered, ingested,
# built (the base images made when missing; Debian's with debootstrap) and
# launched, the example jobs packaged, published and run once with their
# sample input, the example workflows added and run once, then apphub serve
# on 127.0.0.1:4000 in the foreground (Ctrl-C stops).
RUN_DIR = .run
RUN_LISTEN = 127.0.0.1:4000
DEBIAN_MIRROR = http://deb.debian.org/debian
run: deps
	@$(MAKE) -s --no-print-directory all
	@rm -rf $(RUN_DIR)/repos
	@contrib/examples/make-repos.sh $(RUN_DIR)/repos >/dev/null
	@for repo in $(RUN_DIR)/repos/*; do \
		./apphub -C $(RUN_DIR)/state -q apps add "$$repo" --update --tag example:true || exit 1; \
	done
	@./apphub -C $(RUN_DIR)/state ingest
	@if [ -x ./apphub-build ]; then \
		PATH="$$PWD:$$PATH"; APPHUB_HOME="$$PWD/$(RUN_DIR)/state"; export PATH APPHUB_HOME; \
		apphub image inspect apphub/busybox:latest >/dev/null 2>&1 || \
			contrib/base-images/busybox.sh >/dev/null || exit 1; \
		if ! apphub image inspect apphub/debian:bookworm >/dev/null 2>&1; then \
			if ! command -v debootstrap >/dev/null 2>&1 && [ ! -x /usr/sbin/debootstrap ]; then \
				echo "make run: no debootstrap: node-hello and python-notes will not build"; \
			elif ! curl -fsS -o /dev/null --max-time 10 $(DEBIAN_MIRROR)/dists/bookworm/Release; then \
				echo "make run: $(DEBIAN_MIRROR) is out of reach: node-hello and python-notes will not build"; \
			else \
				echo "make run: making apphub/debian:bookworm with debootstrap (once; a few minutes)"; \
				MIRROR=$(DEBIAN_MIRROR) contrib/base-images/debian.sh >/dev/null || \
					echo "make run: no Debian base: node-hello and python-notes will not build"; \
			fi; \
		fi; \
		apphub build || echo "make run: not every example built (apphub build ls <id>)"; \
		for app in static-site node-hello python-notes; do \
			for l in $$(apphub -q launch ls $$app --status running 2>/dev/null); do \
				apphub -q launch stop $$l; \
			done; \
			url=$$(apphub -q launch $$app --ttl 2h --json 2>/dev/null | \
				sed -n 's/.*"previewUrl": *"\([^"]*\)".*/\1/p'); \
			if [ -n "$$url" ]; then echo "launched $$app: $$url (for 2 hours; apphub launch ls)"; \
			else echo "make run: $$app did not launch (apphub launch ls $$app)"; fi; \
		done; \
	fi
	@if [ -x ./apphub-jobs ]; then \
		mkdir -p $(RUN_DIR)/jobs; \
		for dir in contrib/examples/jobs/*/; do \
			dir=$${dir%/}; job=$$(basename "$$dir"); \
			tgz=$(RUN_DIR)/jobs/$$job-$$(jq -r .version "$$dir/manifest.json").tgz; \
			if ! ./apphub -C $(RUN_DIR)/state -q jobs package "$$dir" --force --out $(RUN_DIR)/jobs >/dev/null || \
				! ./apphub -C $(RUN_DIR)/state -q jobs publish "$$tgz"; then \
				echo "make run: job $$job was not published (apphub jobs publish $$dir)"; \
				continue; \
			fi; \
			if out=$$(./apphub -C $(RUN_DIR)/state --json jobs run "$$job" \
				--input-json "$$(cat "$$dir/tests/sample-input.json")" 2>$(RUN_DIR)/jobs/$$job.err); then \
				echo "ran job $$job: $$(printf '%s' "$$out" | jq -c '.result? // .' 2>/dev/null)"; \
			else \
				echo "make run: job $$job failed: $$(tail -n 1 $(RUN_DIR)/jobs/$$job.err) (apphub jobs runs $$job)"; \
			fi; \
		done; \
	fi
	@# A week of per-minute readings up to midnight, once a week (the key is its start).
	@if [ -x ./apphub-timestore ]; then \
		start=$$(date -u -d '7 days ago' +%Y-%m-%d); day=$$(date -u -d '1 day ago' +%Y-%m-%d); \
		today=$$(date -u +%Y-%m-%d); \
		if contrib/examples/timestore/readings.sh "$$start" | \
			./apphub -C $(RUN_DIR)/state -q timestore ingest example-readings - --format csv \
				--idempotency-key "example-readings-$$start" >/dev/null; then \
			echo "timestore example-readings, $$start to $$day: the greenhouse's hourly temperature on $$day (first hours):"; \
			./apphub -C $(RUN_DIR)/state timestore query example-readings \
				--from "$${day}T00:00:00Z" --to "$${today}T00:00:00Z" --filter 'sensor = greenhouse' \
				--every 1h --agg avg:temperature --agg max:temperature --agg p95:temperature --limit 6 | \
				sed 's/^/  /'; \
		else \
			echo "make run: the timestore example was not ingested (apphub timestore ls)"; \
		fi; \
	fi
	@# The hub serves before the workflows run: word-stats saves its result in its metastore.
	@./apphub -C $(RUN_DIR)/state serve --listen $(RUN_LISTEN) & echo $$! >$(RUN_DIR)/serve.pid; \
		for i in $$(seq 100); do \
			./apphub --server http://$(RUN_LISTEN) -q metastore ls >/dev/null 2>&1 && break; \
			sleep 0.1; \
		done
	@if [ -x ./apphub-workflow ] && [ -x ./apphub-jobs ]; then \
		mkdir -p $(RUN_DIR)/workflows; \
		for def in contrib/examples/workflows/*.yaml contrib/examples/workflows/*.json; do \
			[ -f "$$def" ] || continue; \
			wf=$$(basename "$$def"); wf=$${wf%.*}; \
			if ! ./apphub -C $(RUN_DIR)/state -q workflow add "$$def" 2>$(RUN_DIR)/workflows/$$wf.err; then \
				echo "make run: workflow $$wf was not added: $$(tail -n 1 $(RUN_DIR)/workflows/$$wf.err)"; \
				continue; \
			fi; \
			if out=$$(./apphub -C $(RUN_DIR)/state --json workflow run "$$wf" 2>$(RUN_DIR)/workflows/$$wf.err); then \
				echo "ran workflow $$wf: $$(printf '%s' "$$out" | \
					jq -r '"\(.status) in \(.durationMs)ms, \(.metrics.completedSteps)/\(.metrics.totalSteps) steps: \(.output | tojson)"' \
					2>/dev/null)"; \
			else \
				echo "make run: workflow $$wf failed: $$(tail -n 1 $(RUN_DIR)/workflows/$$wf.err) (apphub workflow runs $$wf)"; \
			fi; \
		done; \
	fi
	@echo
	@./apphub -C $(RUN_DIR)/state apps ls
	@echo
	@echo "Serving http://$(RUN_LISTEN)/ (state in $(RUN_DIR)/state). Try:"
	@echo "  curl -s 'http://$(RUN_LISTEN)/apps?q=example:true' | jq"
	@echo "  curl -s 'http://$(RUN_LISTEN)/tags/suggest?prefix=run' | jq"
	@echo "  curl -sN http://$(RUN_LISTEN)/events -H 'Accept: text/event-stream'"
	@echo "  curl -s http://$(RUN_LISTEN)/jobs | jq"
	@echo "  curl -s http://$(RUN_LISTEN)/workflows | jq"
	@echo "  curl -s http://$(RUN_LISTEN)/records/examples/word-stats | jq"
	@echo "  curl -s http://$(RUN_LISTEN)/datasets/example-readings/query -H 'Content-Type: application/json' -d '{\"timeRange\": {\"start\": \"$$(date -u -d yesterday +%FT00:00:00Z)\", \"end\": \"$$(date -u +%FT00:00:00Z)\"}, \"downsample\": {\"intervalUnit\": \"hour\", \"aggregations\": [{\"fn\": \"avg\", \"column\": \"temperature\"}]}}' | jq"
	@# Until it stops (Ctrl-C reaches it too).
	@pid=$$(cat $(RUN_DIR)/serve.pid); while kill -0 $$pid 2>/dev/null; do sleep 1; done

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 755 apphub $(DESTDIR)$(BINDIR)/apphub
	for h in $(filter-out apphub,$(PROGRAMS)); do install -m 755 $$h $(DESTDIR)$(LIBEXECDIR)/$$h || exit 1; done
	install -m 644 $(DUCKDB_DIR)/libduckdb.so $(DESTDIR)$(LIBEXECDIR)/libduckdb.so
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 completions/apphub.bash $(DESTDIR)$(BASHCOMPDIR)/apphub
	install -m 644 completions/_apphub $(DESTDIR)$(ZSHCOMPDIR)/_apphub
	install -m 644 completions/apphub.fish $(DESTDIR)$(FISHCOMPDIR)/apphub.fish

# libFuzzer over the name parsers (clang): make fuzz FUZZTIME=60
FUZZTIME = 30
# lib/yaml-json.c is left to the targets that link libyaml.
FUZZ_SRCS = $(filter-out lib/yaml-json.c,$(UTIL_OBJS:.o=.c)) $(STATE_OBJS:.o=.c) $(RECORD_OBJS:.o=.c)
FUZZ_CFLAGS = -std=gnu11 -g -O1 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
	$(shell $(PKG_CONFIG) --cflags $(ALL_PKGS) 2>/dev/null)
t/fuzz/fuzz-names: t/fuzz/fuzz-names.c $(FUZZ_SRCS)
	clang $(FUZZ_CFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs $(LIGHT_PKGS) libseccomp libcrypto) \
		$(LIGHT_LIBS)
t/fuzz/fuzz-dockerfile: t/fuzz/fuzz-dockerfile.c lib/dockerfile.c lib/dockerignore.c \
		lib/strbuf.c lib/err.c lib/usage.c lib/utf8.c
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		$(shell $(PKG_CONFIG) --cflags jansson) -o $@ $^ $(shell $(PKG_CONFIG) --libs jansson)
t/fuzz/fuzz-readme: t/fuzz/fuzz-readme.c lib/markdown.c lib/strbuf.c lib/usage.c lib/utf8.c
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		$(shell $(PKG_CONFIG) --cflags libcmark) -o $@ $^ $(shell $(PKG_CONFIG) --libs libcmark)
# The tag files and the manifests through lib/analyze.c's and lib/derive.c's
# readers (ah_analyze).
FUZZ_ANALYZE_SRCS = $(FUZZ_SRCS) lib/analyze.c lib/derive.c lib/dockerfile.c lib/markdown.c \
	lib/yaml-json.c
t/fuzz/fuzz-tagfile t/fuzz/fuzz-package: %: %.c t/fuzz/memtree.h $(FUZZ_ANALYZE_SRCS)
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_ANALYZE_SRCS) \
		$(shell $(PKG_CONFIG) --libs $(LIGHT_PKGS) libseccomp libcrypto yaml-0.1 libcmark) $(LIGHT_LIBS)
FUZZ_OCI_SRCS = $(FUZZ_SRCS) lib/image.c lib/image-layer.c lib/image-names.c lib/image-transfer.c
t/fuzz/fuzz-oci: t/fuzz/fuzz-oci.c $(FUZZ_OCI_SRCS)
	clang $(FUZZ_CFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs $(apphub-image_PKGS)) $(LIGHT_LIBS)
# The search index's tokenizer (lib/fts-stem.c) inside FTS5.
t/fuzz/fuzz-search: t/fuzz/fuzz-search.c lib/fts-stem.c
	clang $(FUZZ_CFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs sqlite3) $(LIGHT_LIBS)
# A job's parametersSchema (lib/json-schema.c).
t/fuzz/fuzz-schema: t/fuzz/fuzz-schema.c lib/json-schema.c lib/params.c lib/parse.c lib/strbuf.c \
		lib/usage.c lib/err.c lib/utf8.c
	clang $(FUZZ_CFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs jansson)
# A job handler's fd-3 progress lines (lib/job-exec.c).
t/fuzz/fuzz-progress: t/fuzz/fuzz-progress.c $(FUZZ_SRCS) lib/job-exec.c lib/sandbox.c
	clang $(FUZZ_CFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs $(LIGHT_PKGS) libseccomp libcrypto) \
		$(LIGHT_LIBS)
# A job bundle's manifest and its .tgz read back (lib/bundle.c).
t/fuzz/fuzz-bundle: t/fuzz/fuzz-bundle.c $(FUZZ_OCI_SRCS) lib/bundle.c
	clang $(FUZZ_CFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs $(apphub-image_PKGS)) $(LIGHT_LIBS)
# A workflow's templates and step graph (lib/template.c, lib/dag.c).
t/fuzz/fuzz-template: t/fuzz/fuzz-template.c lib/template.c lib/dag.c lib/strbuf.c lib/usage.c \
		lib/err.c
	clang $(FUZZ_CFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs jansson)
# YAML as JSON and a workflow definition checked (lib/yaml-json.c, lib/workflow-def.c).
FUZZ_WORKFLOW_SRCS = lib/yaml-json.c lib/workflow-def.c lib/dag.c lib/template.c lib/cron.c lib/tz.c lib/timeutil.c lib/fsutil.c \
	lib/json-schema.c lib/params.c lib/parse.c lib/strbuf.c lib/usage.c lib/err.c lib/utf8.c
t/fuzz/fuzz-yaml t/fuzz/fuzz-workflow-def: %: %.c $(FUZZ_WORKFLOW_SRCS)
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_WORKFLOW_SRCS) $(shell $(PKG_CONFIG) --libs jansson yaml-0.1)
# A time zone's TZif bytes (lib/tz.c) and cron expressions matched in UTC and Europe/Berlin
# (lib/cron.c).
t/fuzz/fuzz-tzif: t/fuzz/fuzz-tzif.c lib/tz.c lib/timeutil.c lib/fsutil.c lib/strbuf.c lib/usage.c lib/err.c
	clang $(FUZZ_CFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs jansson)
t/fuzz/fuzz-cron: t/fuzz/fuzz-cron.c lib/cron.c lib/tz.c lib/timeutil.c lib/fsutil.c \
		lib/strbuf.c lib/usage.c lib/err.c
	clang $(FUZZ_CFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs jansson)
# A metastore search's filter, q, sort and projection compiled and prepared (lib/metastore-filter.c).
# The state's SQL functions (ah_contains) come with lib/state.c.
t/fuzz/fuzz-mfilter: t/fuzz/fuzz-mfilter.c lib/metastore-filter.c $(FUZZ_SRCS)
	clang $(FUZZ_CFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs $(LIGHT_PKGS) libseccomp libcrypto) \
		$(LIGHT_LIBS)
# The timestore's ingest parsers, json, ndjson and csv (lib/timestore-parse.c): no DuckDB.
t/fuzz/fuzz-tsingest: t/fuzz/fuzz-tsingest.c lib/timestore-parse.c lib/timestore-schema.c \
		lib/timeutil.c lib/env.c lib/parse.c lib/strbuf.c lib/usage.c lib/err.c
	clang $(FUZZ_CFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs jansson)
# The timestore's query terms and parameters compiled to SQL (lib/timestore-compile.c): no DuckDB.
t/fuzz/fuzz-tsquery: t/fuzz/fuzz-tsquery.c lib/timestore-compile.c lib/timestore-schema.c \
		lib/timeutil.c lib/env.c lib/parse.c lib/strbuf.c lib/usage.c lib/err.c
	clang $(FUZZ_CFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs jansson)
fuzz: t/fuzz/fuzz-names t/fuzz/fuzz-dockerfile t/fuzz/fuzz-readme t/fuzz/fuzz-tagfile \
		t/fuzz/fuzz-package t/fuzz/fuzz-oci t/fuzz/fuzz-search t/fuzz/fuzz-schema \
		t/fuzz/fuzz-progress t/fuzz/fuzz-bundle t/fuzz/fuzz-template t/fuzz/fuzz-yaml \
		t/fuzz/fuzz-workflow-def t/fuzz/fuzz-tzif t/fuzz/fuzz-cron t/fuzz/fuzz-mfilter \
		t/fuzz/fuzz-tsingest t/fuzz/fuzz-tsquery
	mkdir -p t/fuzz/corpus-names t/fuzz/corpus-dockerfile t/fuzz/corpus-readme \
		t/fuzz/corpus-tagfile t/fuzz/corpus-package t/fuzz/corpus-oci t/fuzz/corpus-search \
		t/fuzz/corpus-schema t/fuzz/corpus-progress t/fuzz/corpus-bundle t/fuzz/corpus-template \
		t/fuzz/corpus-yaml t/fuzz/corpus-workflow-def t/fuzz/corpus-tzif t/fuzz/corpus-cron \
		t/fuzz/corpus-mfilter t/fuzz/corpus-tsingest t/fuzz/corpus-tsquery
	t/fuzz/fuzz-names -max_total_time=$(FUZZTIME) -max_len=512 t/fuzz/corpus-names t/fuzz/seeds-names
	t/fuzz/fuzz-dockerfile -max_total_time=$(FUZZTIME) -max_len=4096 \
		-dict=t/fuzz/dockerfile.dict t/fuzz/corpus-dockerfile t/fuzz/seeds-dockerfile \
		t/fixtures/dockerfile
	t/fuzz/fuzz-readme -max_total_time=$(FUZZTIME) -max_len=8192 t/fuzz/corpus-readme
	t/fuzz/fuzz-tagfile -max_total_time=$(FUZZTIME) -max_len=8192 t/fuzz/corpus-tagfile \
		t/fuzz/seeds-tagfile
	t/fuzz/fuzz-package -max_total_time=$(FUZZTIME) -max_len=8192 t/fuzz/corpus-package \
		t/fuzz/seeds-package
	t/fuzz/fuzz-oci -max_total_time=$(FUZZTIME) -max_len=65536 t/fuzz/corpus-oci t/fuzz/seeds-oci
	t/fuzz/fuzz-search -max_total_time=$(FUZZTIME) -max_len=4096 t/fuzz/corpus-search
	t/fuzz/fuzz-schema -max_total_time=$(FUZZTIME) -max_len=4096 t/fuzz/corpus-schema \
		t/fuzz/seeds-schema
	t/fuzz/fuzz-progress -max_total_time=$(FUZZTIME) -max_len=4096 t/fuzz/corpus-progress \
		t/fuzz/seeds-progress
	t/fuzz/fuzz-bundle -max_total_time=$(FUZZTIME) -max_len=65536 t/fuzz/corpus-bundle \
		t/fuzz/seeds-bundle
	t/fuzz/fuzz-template -max_total_time=$(FUZZTIME) -max_len=8192 t/fuzz/corpus-template \
		t/fuzz/seeds-template
	t/fuzz/fuzz-yaml -max_total_time=$(FUZZTIME) -max_len=8192 t/fuzz/corpus-yaml t/fuzz/seeds-yaml
	t/fuzz/fuzz-workflow-def -max_total_time=$(FUZZTIME) -max_len=8192 \
		t/fuzz/corpus-workflow-def t/fuzz/seeds-workflow-def
	t/fuzz/fuzz-tzif -max_total_time=$(FUZZTIME) -max_len=8192 t/fuzz/corpus-tzif \
		t/fuzz/seeds-tzif
	t/fuzz/fuzz-cron -max_total_time=$(FUZZTIME) -max_len=300 t/fuzz/corpus-cron \
		t/fuzz/seeds-cron
	t/fuzz/fuzz-mfilter -max_total_time=$(FUZZTIME) -max_len=4096 t/fuzz/corpus-mfilter \
		t/fuzz/seeds-mfilter
	t/fuzz/fuzz-tsingest -max_total_time=$(FUZZTIME) -max_len=8192 t/fuzz/corpus-tsingest \
		t/fuzz/seeds-tsingest
	t/fuzz/fuzz-tsquery -max_total_time=$(FUZZTIME) -max_len=4096 t/fuzz/corpus-tsquery \
		t/fuzz/seeds-tsquery

clean:
	rm -f $(PROGRAMS) *.o */*.o */*.d *.d $(LIB) gen/*.c t/fuzz/fuzz-names lib/web-assets.c
	rm -f t/helper/test-tool t/helper/test-parquet t/helper/*.o t/helper/*.d t/fuzz/fuzz-dockerfile t/fuzz/fuzz-readme \
		t/fuzz/fuzz-tagfile t/fuzz/fuzz-package t/fuzz/fuzz-oci t/fuzz/fuzz-search t/fuzz/fuzz-schema \
		t/fuzz/fuzz-progress t/fuzz/fuzz-bundle t/fuzz/fuzz-template t/fuzz/fuzz-yaml \
		t/fuzz/fuzz-workflow-def t/fuzz/fuzz-tzif t/fuzz/fuzz-cron t/fuzz/fuzz-mfilter \
		t/fuzz/fuzz-tsingest t/fuzz/fuzz-tsquery

.PHONY: all deps check run install clean fuzz print-layers
