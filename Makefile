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

CC ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
# The light binary links only what the catalogue commands need (DESIGN.md §1).
LIGHT_PKGS = sqlite3 jansson

WARNINGS = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral
ifdef DEVELOPER
WARNINGS += -Werror
endif
ifdef SANITIZE
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

ALL_CFLAGS = -std=gnu11 $(CFLAGS) $(WARNINGS) -D_GNU_SOURCE -DAPPHUB_VERSION='"$(VERSION)"' \
	-DLIBEXECDIR='"$(LIBEXECDIR)"' $(shell $(PKG_CONFIG) --cflags $(LIGHT_PKGS) 2>/dev/null)
LIGHT_LIBS = $(shell $(PKG_CONFIG) --libs $(LIGHT_PKGS) 2>/dev/null)
# Helpers: apphub-<command>, the same main and table with a heavy library.
INGEST_PKGS = $(LIGHT_PKGS) libgit2 yaml-0.1
INGEST_CFLAGS = -DAPPHUB_WITH_INGEST $(shell $(PKG_CONFIG) --cflags $(INGEST_PKGS) 2>/dev/null)
INGEST_LIBS = $(shell $(PKG_CONFIG) --libs $(INGEST_PKGS) 2>/dev/null)
# apphub-image: the image store and the registry client (libarchive, OpenSSL, libcurl).
IMAGE_PKGS = $(LIGHT_PKGS) libarchive libcrypto libcurl libseccomp
IMAGE_CFLAGS = -DAPPHUB_WITH_IMAGE $(shell $(PKG_CONFIG) --cflags $(IMAGE_PKGS) 2>/dev/null)
IMAGE_LIBS = $(shell $(PKG_CONFIG) --libs $(IMAGE_PKGS) 2>/dev/null)
# serve carries every operation module, ingest's included, and libmicrohttpd.
SERVE_PKGS = $(INGEST_PKGS) libmicrohttpd libcmark
SERVE_CFLAGS = -DAPPHUB_WITH_SERVE $(shell $(PKG_CONFIG) --cflags $(SERVE_PKGS) 2>/dev/null)
SERVE_LIBS = $(shell $(PKG_CONFIG) --libs $(SERVE_PKGS) 2>/dev/null) -lpthread
# apphub-build: apps built from their mirrors (libgit2) by the engine (lib/build.c).
BUILD_PKGS = $(LIGHT_PKGS) libgit2 libarchive libcrypto libcurl libseccomp
BUILD_CFLAGS = -DAPPHUB_WITH_BUILD $(shell $(PKG_CONFIG) --cflags $(BUILD_PKGS) 2>/dev/null)
BUILD_LIBS = $(shell $(PKG_CONFIG) --libs $(BUILD_PKGS) 2>/dev/null) -lpthread

LIB_OBJS = lib/apps.o lib/env.o lib/err.o lib/events.o lib/fsutil.o lib/history.o lib/ops.o lib/parse-options.o lib/search.o \
	lib/netcheck.o lib/repopath.o lib/state.o lib/strbuf.o lib/tags.o lib/timeutil.o lib/usage.o lib/work.o lib/builds.o \
	lib/launch.o lib/parse.o lib/tmpdir.o lib/cgroup.o
CMD_OBJS = cmd/apps.o cmd/common.o cmd/events.o cmd/gc.o remote-op.o cmd/launch.o
OBJS = apphub.o $(CMD_OBJS) $(LIB_OBJS)
HELPERS =
ifneq ($(wildcard cmd/ingest.c),)
HELPERS += apphub-ingest
INGEST_OBJS = apphub-ingest.o lib/ops-ingest.o cmd/ingest.o worker-pool.o lib/ingest.o lib/analyze.o lib/markdown.o \
	$(CMD_OBJS) $(filter-out lib/ops.o,$(LIB_OBJS))
endif
ifneq ($(wildcard cmd/image.c),)
HELPERS += apphub-image
IMAGE_OBJS = apphub-image.o lib/ops-image.o cmd/image.o lib/image.o lib/registry.o \
	lib/build.o lib/sandbox.o lib/seccomp.o lib/dockerfile.o lib/dockerignore.o \
	$(CMD_OBJS) $(filter-out lib/ops.o,$(LIB_OBJS))
endif
HELPERS += apphub-remote
# apphub-launch: the launches' supervisor. It links only the light libraries
# (it starts with every launch and stays as long): the image store's work is
# apphub-image's, which it runs when an image is not unpacked yet.
HELPERS += apphub-launch
LAUNCH_OBJS = apphub.o cmd/launch-helper.o lib/launch-run.o lib/seccomp.o \
	$(filter-out cmd/launch.o,$(CMD_OBJS)) $(LIB_OBJS)
ifneq ($(wildcard cmd/serve.c),)
HELPERS += apphub-serve
SERVE_OBJS = apphub-serve.o lib/ops-serve.o cmd/serve.o lib/http.o lib/api.o lib/auth.o \
	lib/hooks.o lib/ingest.o lib/analyze.o lib/markdown.o lib/web.o lib/web-assets.o $(CMD_OBJS) \
	$(filter-out lib/ops.o,$(LIB_OBJS))
endif
ifneq ($(wildcard lib/build.c),)
BUILD_ENGINE_OBJS = lib/build.o $(patsubst %.c,%.o,$(wildcard lib/sandbox.c)) lib/seccomp.o lib/image.o \
	lib/registry.o lib/dockerfile.o lib/dockerignore.o
HELPERS += apphub-build
BUILD_OBJS = apphub-build.o lib/ops-build.o cmd/build.o worker-pool.o lib/build-worker.o $(BUILD_ENGINE_OBJS) \
	$(CMD_OBJS) $(filter-out lib/ops.o,$(LIB_OBJS))
# serve's workers build too.
SERVE_OBJS := $(filter-out $(BUILD_ENGINE_OBJS),$(SERVE_OBJS)) lib/build-worker.o \
	$(BUILD_ENGINE_OBJS)
SERVE_LIBS += $(shell $(PKG_CONFIG) --libs libarchive libcrypto libcurl libseccomp 2>/dev/null)
cmd/serve.o: ALL_CFLAGS += -DAPPHUB_WITH_BUILD
endif
# The page (web/), embedded in apphub-serve only.
WEB_FILES = web/index.html web/app.css web/app.js web/favicon.svg

# Debian packages that building, testing and `make run` need.
DEBIAN_PACKAGES = build-essential pkg-config git jq sqlite3 libsqlite3-dev libjansson-dev \
	libgit2-dev libcurl4-openssl-dev libarchive-dev libssl-dev libmicrohttpd-dev \
	libyaml-dev libseccomp-dev bubblewrap bats bats-support bats-assert mandoc zsh fish hyperfine wrk nginx \
	busybox-static skopeo podman runc docker-registry apache2-utils debootstrap libcmark-dev chromium

all: apphub $(HELPERS)

apphub: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LIGHT_LIBS)

apphub-ingest: $(INGEST_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(INGEST_OBJS) $(INGEST_LIBS)

apphub-image: $(IMAGE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(IMAGE_OBJS) $(IMAGE_LIBS)

apphub-build: $(BUILD_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(BUILD_OBJS) $(BUILD_LIBS)

apphub-launch: $(LAUNCH_OBJS)
	$(CC) $(LDFLAGS) -Wl,-O1,--as-needed -o $@ $(LAUNCH_OBJS) $(LIGHT_LIBS) \
		$(shell $(PKG_CONFIG) --libs libseccomp 2>/dev/null)

apphub-serve: $(SERVE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(SERVE_OBJS) $(SERVE_LIBS)

# --server's HTTP exchange: libcurl stays out of the light binary.
apphub-remote: remote.o
	$(CC) $(LDFLAGS) -o $@ remote.o $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null)

%.o: %.c
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

apphub-ingest.o: apphub.c
	$(CC) $(ALL_CFLAGS) $(INGEST_CFLAGS) -MMD -MP -c -o $@ $<
lib/ops-ingest.o: lib/ops.c
	$(CC) $(ALL_CFLAGS) $(INGEST_CFLAGS) -MMD -MP -c -o $@ $<
cmd/ingest.o lib/ingest.o lib/analyze.o: ALL_CFLAGS += $(INGEST_CFLAGS)

apphub-image.o: apphub.c
	$(CC) $(ALL_CFLAGS) $(IMAGE_CFLAGS) -MMD -MP -c -o $@ $<
lib/ops-image.o: lib/ops.c
	$(CC) $(ALL_CFLAGS) $(IMAGE_CFLAGS) -MMD -MP -c -o $@ $<
cmd/image.o lib/image.o lib/registry.o lib/build.o: ALL_CFLAGS += $(IMAGE_CFLAGS)

apphub-build.o: apphub.c
	$(CC) $(ALL_CFLAGS) $(BUILD_CFLAGS) -MMD -MP -c -o $@ $<
lib/ops-build.o: lib/ops.c
	$(CC) $(ALL_CFLAGS) $(BUILD_CFLAGS) -MMD -MP -c -o $@ $<
cmd/build.o lib/build-worker.o: ALL_CFLAGS += $(BUILD_CFLAGS)

apphub-serve.o: apphub.c
	$(CC) $(ALL_CFLAGS) $(SERVE_CFLAGS) -MMD -MP -c -o $@ $<
lib/ops-serve.o: lib/ops.c
	$(CC) $(ALL_CFLAGS) $(INGEST_CFLAGS) $(SERVE_CFLAGS) -MMD -MP -c -o $@ $<
cmd/serve.o lib/http.o lib/api.o lib/auth.o lib/hooks.o lib/web.o lib/web-assets.o: \
	ALL_CFLAGS += $(SERVE_CFLAGS)
lib/web-assets.c: web/embed.sh $(WEB_FILES)
	sh web/embed.sh $(WEB_FILES) >$@+ && mv -f $@+ $@

cmd/launch-helper.o: cmd/launch.c
	$(CC) $(ALL_CFLAGS) -DAPPHUB_WITH_LAUNCH -MMD -MP -c -o $@ $<
lib/launch-run.o: ALL_CFLAGS += -DAPPHUB_WITH_LAUNCH

remote.o: ALL_CFLAGS += $(shell $(PKG_CONFIG) --cflags libcurl 2>/dev/null)

# The parsers driven from the tests (t/3000-dockerfile.bats).
TEST_TOOL_OBJS = t/helper/test-tool.o lib/dockerfile.o lib/dockerignore.o lib/strbuf.o \
	lib/err.o lib/usage.o
t/helper/test-tool: $(TEST_TOOL_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(TEST_TOOL_OBJS) $(LIGHT_LIBS)

-include $(OBJS:.o=.d) $(INGEST_OBJS:.o=.d) $(SERVE_OBJS:.o=.d) $(IMAGE_OBJS:.o=.d) remote.d \
	$(BUILD_OBJS:.o=.d) $(LAUNCH_OBJS:.o=.d) \
	$(TEST_TOOL_OBJS:.o=.d)

# Installs the missing packages only, so a ready machine pays one dpkg-query.
deps:
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
	@$(MAKE) -s --no-print-directory all t/helper/test-tool
	@t/run-tests

# The main job on the embedded default: the example apps registered, ingested,
# built (the base images made when missing; Debian's with debootstrap) and
# launched, then apphub serve on 127.0.0.1:4000 in the foreground (Ctrl-C stops).
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
	@echo
	@./apphub -C $(RUN_DIR)/state apps ls
	@echo
	@echo "Serving http://$(RUN_LISTEN)/ (state in $(RUN_DIR)/state). Try:"
	@echo "  curl -s 'http://$(RUN_LISTEN)/apps?q=example:true' | jq"
	@echo "  curl -s 'http://$(RUN_LISTEN)/tags/suggest?prefix=run' | jq"
	@echo "  curl -sN http://$(RUN_LISTEN)/events -H 'Accept: text/event-stream'"
	@exec ./apphub -C $(RUN_DIR)/state serve --listen $(RUN_LISTEN)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 755 apphub $(DESTDIR)$(BINDIR)/apphub
	for h in $(HELPERS); do install -m 755 $$h $(DESTDIR)$(LIBEXECDIR)/$$h || exit 1; done
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 completions/apphub.bash $(DESTDIR)$(BASHCOMPDIR)/apphub
	install -m 644 completions/_apphub $(DESTDIR)$(ZSHCOMPDIR)/_apphub
	install -m 644 completions/apphub.fish $(DESTDIR)$(FISHCOMPDIR)/apphub.fish

# libFuzzer over the name parsers (clang): make fuzz FUZZTIME=60
FUZZTIME = 30
FUZZ_SRCS = $(filter-out lib/ops.c,$(LIB_OBJS:.o=.c)) lib/ops.c
t/fuzz/fuzz-names: t/fuzz/fuzz-names.c $(FUZZ_SRCS)
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		$(shell $(PKG_CONFIG) --cflags $(LIGHT_PKGS)) -o $@ $^ $(LIGHT_LIBS)
t/fuzz/fuzz-dockerfile: t/fuzz/fuzz-dockerfile.c lib/dockerfile.c lib/dockerignore.c \
		lib/strbuf.c lib/err.c lib/usage.c
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		$(shell $(PKG_CONFIG) --cflags jansson) -o $@ $^ $(shell $(PKG_CONFIG) --libs jansson)
t/fuzz/fuzz-readme: t/fuzz/fuzz-readme.c lib/markdown.c lib/strbuf.c lib/usage.c
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -o $@ $^
# The tag files and package.json through lib/analyze.c's readers (ah_analyze).
FUZZ_ANALYZE_SRCS = $(FUZZ_SRCS) lib/analyze.c lib/markdown.c
t/fuzz/fuzz-tagfile t/fuzz/fuzz-package: %: %.c t/fuzz/memtree.h $(FUZZ_ANALYZE_SRCS)
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		$(shell $(PKG_CONFIG) --cflags $(LIGHT_PKGS) yaml-0.1) -o $@ $< $(FUZZ_ANALYZE_SRCS) \
		$(LIGHT_LIBS) $(shell $(PKG_CONFIG) --libs yaml-0.1)
t/fuzz/fuzz-oci: t/fuzz/fuzz-oci.c lib/image.c lib/registry.c $(FUZZ_SRCS)
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		$(shell $(PKG_CONFIG) --cflags $(IMAGE_PKGS)) -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs $(IMAGE_PKGS))
fuzz: t/fuzz/fuzz-names t/fuzz/fuzz-dockerfile t/fuzz/fuzz-readme t/fuzz/fuzz-tagfile \
		t/fuzz/fuzz-package t/fuzz/fuzz-oci
	mkdir -p t/fuzz/corpus-names t/fuzz/corpus-dockerfile t/fuzz/corpus-readme \
		t/fuzz/corpus-tagfile t/fuzz/corpus-package t/fuzz/corpus-oci
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

clean:
	rm -f apphub apphub-* *.o */*.o */*.d *.d t/fuzz/fuzz-names lib/web-assets.c
	rm -f t/helper/test-tool t/helper/*.o t/helper/*.d t/fuzz/fuzz-dockerfile t/fuzz/fuzz-readme \
		t/fuzz/fuzz-tagfile t/fuzz/fuzz-package t/fuzz/fuzz-oci

.PHONY: all deps check run install clean fuzz
