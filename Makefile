# socialauth: `make run` serves on 127.0.0.1:${PORT:-8000}; `make test` runs every test.
# Everything is built in place: lib/libsocialauth.a, cgi-bin/<endpoint>, bin/socialauth.

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= debug
SERVER  ?= lighttpd
# Installed layout: /usr puts settings in /etc/socialauth and state in /var/lib/socialauth;
# any other prefix keeps both under it.
SYSCONFDIR    ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
LOCALSTATEDIR ?= $(if $(filter /usr,$(PREFIX)),/var,$(PREFIX)/var)
RUNSTATEDIR   ?= $(if $(filter /usr,$(PREFIX)),/run,$(LOCALSTATEDIR)/run)
SERVICE_USER  ?= www-data

WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wno-unused-parameter
HARDEN  := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
# release: what `make run` serves and `make bench` measures (optimised, with debug symbols for
# perf and gdb); debug: what the tests build by default.
ifeq ($(BUILD),release)
OPT     := -O2 -g -DNDEBUG
else
OPT     := -O1 -g
endif
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) -Ilib
LDFLAGS += -pie -Wl,-z,relro,-z,now
# libcurl is not linked: lib/google/google_curl.c loads libcurl.so.4 when Google is first
# called (its headers still come from libcurl4-openssl-dev; the runtime package is libcurl4).
LDLIBS  := -lfcgi -ljson-c -lcrypto -ldb-5.3 -lunistring
# The admin command links without libfcgi: it must not reach the request loop (http/).
CLI_LDLIBS := $(filter-out -lfcgi,$(LDLIBS))

# `make test SANITIZE=address,undefined`: everything built with clang and these sanitizers
# (its own build stamp, so switching rebuilds), every report fatal and written under
# var/sanitizer/, which bin/socialauth-sanitizer-check then requires to be empty.
SANITIZE ?=
comma   := ,
ifneq ($(SANITIZE),)
CC      := clang-14
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS  += $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
endif
SAN_LOG_DIR := $(CURDIR)/var/sanitizer

# lib/ in layers, one folder each (README "Code layout"; tests/lint/layers checks the order).
LAYERS    := core codec config token store google http api
LIB_SRC   := $(sort $(foreach l,$(LAYERS),$(wildcard lib/$(l)/*.c)))
LIB_OBJ   := $(LIB_SRC:.c=.o)
LIB       := lib/libsocialauth.a
CGI_SRC   := $(sort $(wildcard cgi-bin/*.c))
CGI_BIN   := $(CGI_SRC:.c=)
TOOL_SRC  := $(sort $(wildcard bin/*.c))
TOOL_BIN  := $(TOOL_SRC:.c=) bin/socialauth
# The admin command: one file per command family (bin/cli/cli.h).
CLI_SRC   := $(sort $(wildcard bin/cli/*.c))
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  := $(UNIT_SRC:.c=)
HEADERS   := $(foreach l,$(LAYERS),$(wildcard lib/$(l)/*.h))
# Fuzz targets (tests/fuzz/fuzz_<name>.c, seeds in tests/fuzz/corpus/<name>/): a libFuzzer
# program per target (clang, `make fuzz`) and a replay program tests/fuzz/fuzz_<name>-replay
# (any compiler, linked with tests/fuzz/standalone.c), which `make test` runs over the corpus.
FUZZ_SRC    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES  := $(notdir $(FUZZ_SRC:.c=))
FUZZ_BIN    := $(FUZZ_SRC:.c=)
FUZZ_REPLAY := $(FUZZ_SRC:.c=-replay)
FUZZ_CC     ?= clang-14
FUZZ_S      ?= 60
FUZZ_FLAGS  := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LIB    := tests/fuzz/.obj/libsocialauth-fuzz.a
# fuzz_google scripts Google's answers: its calls to sa_google_http go to the target's own.
LDFLAGS_fuzz_google := -Wl,--wrap=sa_google_http

.PHONY: all deps run test test-servers unit integration e2e bench clean install uninstall release \
        help valgrind fuzz fuzz-replay analyze soak test-cluster cluster
all: $(LIB) $(CGI_BIN) $(TOOL_BIN)

help:
	@echo "make            build the library, the endpoints (cgi-bin/) and bin/socialauth"
	@echo "make run        install missing packages, build, init the store, serve on 127.0.0.1:\$${PORT:-8000}"
	@echo "make test       install missing packages, build, run unit and integration tests (lighttpd)"
	@echo "make test-servers  the integration suite behind every web server (TEST_SERVERS), the full matrix"
	@echo "make e2e        the Next-Auth example (examples/nextjs) signing in through socialauth in Chromium"
	@echo "make test SANITIZE=address,undefined   the same, every program built with sanitizers"
	@echo "make fuzz       run every libFuzzer target for FUZZ_S seconds (default 60)"
	@echo "make analyze    gcc -fanalyzer and scan-build over lib/, cgi-bin/, bin/"
	@echo "make soak       minutes of mixed load (SOAK_S, default 300), private memory per process"
	@echo "make cluster    three replicating nodes behind HAProxy on 127.0.0.1:\$${PORT:-8000} (root)"
	@echo "make test-cluster  three replicating nodes on loopback: read-your-writes, failover"
	@echo "make bench      measure throughput against a hello-world FastCGI floor (BENCH=short|medium|long)"
	@echo "make deps       install the Debian packages (as root) or print the apt-get line"
	@echo "make run SERVER=apache|cgi|nginx   the same behind Apache mod_fcgid, Apache CGI or nginx"
	@echo "make install    release build of programs, library, headers, configs, htdocs, man page"
	@echo "                under PREFIX ($(PREFIX)), DESTDIR for staging; make uninstall removes them"

# A stamp per build mode: switching between debug and release rebuilds everything.
BUILD_STAMP := lib/.build-$(BUILD)$(if $(SANITIZE),-san-$(subst $(comma),-,$(SANITIZE)))
$(BUILD_STAMP):
	@rm -f lib/.build-* lib/*/*.o
	@touch $@

lib/%.o: lib/%.c $(HEADERS) $(BUILD_STAMP)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

cgi-bin/%: cgi-bin/%.c $(LIB) $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

bin/socialauth: $(CLI_SRC) bin/cli/cli.h $(LIB) $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -Ibin/cli -o $@ $(CLI_SRC) $(LIB) $(CLI_LDLIBS)

bin/%: bin/%.c $(LIB) $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

tests/unit/test_%: tests/unit/test_%.c tests/unit/*.h $(LIB) $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $< $(LIB) $(LDLIBS) -lcmocka

tests/fuzz/.obj/%.o: lib/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE $(WARN) -Ilib $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(patsubst lib/%.c,tests/fuzz/.obj/%.o,$(LIB_SRC))
	rm -f $@
	ar rcs $@ $^

tests/fuzz/fuzz_%-replay: tests/fuzz/fuzz_%.c tests/fuzz/standalone.c $(wildcard tests/fuzz/*.h) $(LIB) $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/standalone.c $(LIB) $(LDLIBS) $(LDFLAGS_fuzz_$*)

tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_LIB) $(HEADERS)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE $(WARN) -Ilib $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(FUZZ_LIB) $(LDLIBS) $(LDFLAGS_fuzz_$*)

# Each target for FUZZ_S seconds, its corpus growing in var/fuzz/<name>/ from the seeds.
fuzz:
	@bin/socialauth-deps hardening
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@for f in $(FUZZ_NAMES); do n=$${f#fuzz_}; mkdir -p var/fuzz/$$n; \
	    dict=; [ -f tests/fuzz/$$n.dict ] && dict=-dict=tests/fuzz/$$n.dict; \
	    echo "== $$f for $(FUZZ_S) s"; \
	    tests/fuzz/$$f -max_total_time=$(FUZZ_S) -max_len=16384 -print_final_stats=1 \
	        -artifact_prefix=var/fuzz/$$n- $$dict var/fuzz/$$n tests/fuzz/corpus/$$n || exit 1; \
	done

# Every seed corpus (FUZZ_CORPUS/<name>/) through its target once (no libFuzzer needed), under
# valgrind when VALGRIND=1. Checked first: a target without a corpus, or with one holding no
# seed file, fails, and so does a corpus without a target (tests/lint/fuzz-corpora shows both).
FUZZ_CORPUS ?= tests/fuzz/corpus
fuzz-replay: $(FUZZ_REPLAY)
	@for f in $(FUZZ_NAMES); do d=$(FUZZ_CORPUS)/$${f#fuzz_}; \
	    [ -n "$$(find "$$d" -maxdepth 1 -type f ! -name '.*' 2>/dev/null | head -n 1)" ] || \
	    { echo "fuzz-replay: $$f has no seeds in $$d" >&2; exit 1; }; done
	@for d in $(FUZZ_CORPUS)/*/; do n=$$(basename "$$d"); \
	    [ -f tests/fuzz/fuzz_$$n.c ] || { echo "fuzz-replay: $$d has no target tests/fuzz/fuzz_$$n.c" >&2; exit 1; }; done
	@for f in $(FUZZ_NAMES); do \
	    if [ "$${VALGRIND:-0}" = 1 ]; then v="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"; else v=""; fi; \
	    $$v tests/fuzz/$$f-replay $(FUZZ_CORPUS)/$${f#fuzz_} || exit 1; \
	done

# Minutes of mixed traffic; each process's private memory over time (tests/soak/soak.py).
SOAK_S ?= 300
soak: all
	@bin/socialauth-deps test
	@/usr/bin/python3 tests/soak/soak.py --seconds $(SOAK_S)

analyze:
	@bin/socialauth-deps hardening
	@bin/socialauth-analyze

deps:
	@bin/socialauth-deps $(DEPS_SET)

run:
	@bin/socialauth-deps run-$(SERVER)
	@[ "$(SERVER)" != lighttpd ] || $(MAKE) --no-print-directory BUILD=release all
	@exec env SERVER=$(SERVER) bin/socialauth-run

unit: $(UNIT_BIN)
	@bin/socialauth-unit $(UNIT_BIN)

# `make test` runs the integration suite behind lighttpd (FastCGI) only: that pass includes the
# server-independent deploy tests (test_deploy.py: install tree, ownership, configs;
# test_index_page.py: the index page in Chromium). `make test-servers` runs the suite once behind
# each web server (TEST_SERVERS), the full matrix; see tests/integration/sa_server.py.
TEST_SERVERS ?= lighttpd apache nginx cgi lighttpd-cgi
BROWSER_DEPS := tests/browser/node_modules/playwright-core/package.json

$(BROWSER_DEPS): tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	@touch $@

integration: all $(BROWSER_DEPS)
	@bin/socialauth-integration $(TEST_SERVERS)

# Unit tests run under valgrind: a leak or invalid access fails the build. With SANITIZE,
# the sanitizers take valgrind's place, in every program the tests start, and any report
# they wrote fails the run.
SAN_ENV := $(if $(SANITIZE),ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:log_path=$(SAN_LOG_DIR)/asan \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(SAN_LOG_DIR)/ubsan SA_SANITIZER_LOGS=$(SAN_LOG_DIR))
# The kill -9 tests (test_faults.py) run in the plain pass only: under the sanitizers' slower
# process start, lighttpd's own 503 while it respawns made them fail 1 run in 2 or 3, on what
# lighttpd does rather than on anything of ours.
SAN_PYTEST := $(if $(SANITIZE),--ignore=tests/integration/test_faults.py)
test:
	@bin/socialauth-deps $(if $(SANITIZE),hardening,test)
	@tests/lint/banned-functions
	@tests/lint/layers
	@tests/lint/test-layers
	@tests/lint/api-reference
	@tests/lint/outside-docs --self-test
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(FUZZ_REPLAY)
	@tests/lint/layers --objects --no-fcgi bin/socialauth
	@rm -rf $(SAN_LOG_DIR) && mkdir -p $(SAN_LOG_DIR)
	@$(SAN_ENV) VALGRIND=$(if $(SANITIZE),0,1) bin/socialauth-unit $(UNIT_BIN)
	@$(SAN_ENV) VALGRIND=$(if $(SANITIZE),0,1) $(MAKE) --no-print-directory fuzz-replay
	@tests/lint/fuzz-corpora
	@$(MAKE) --no-print-directory $(BROWSER_DEPS)
	@$(SAN_ENV) PYTEST_ARGS="$(SAN_PYTEST)" bin/socialauth-integration $(if $(SANITIZE),lighttpd,$(TEST_SERVERS)); st=$$?; \
	    bin/socialauth-sanitizer-check $(SAN_LOG_DIR) && exit $$st

# The full server matrix again on its own (Apache mod_fcgid, Apache CGI, nginx + spawn-fcgi +
# multiwatch, lighttpd CGI, lighttpd FastCGI); make test runs it too.
test-servers:
	@bin/socialauth-deps test
	@$(MAKE) --no-print-directory all $(BROWSER_DEPS)
	@bin/socialauth-integration $(TEST_SERVERS)

# The Next-Auth example end to end in headless Chromium (npm ci, next build, both modes); the
# test stops everything it starts; `timeout` bounds the whole run (SIGTERM unwinds the test).
e2e:
	@bin/socialauth-deps e2e
	@$(MAKE) --no-print-directory all
	@timeout -k 20 900 /usr/bin/python3 -m pytest -q -rA -p no:cacheprovider tests/e2e

cluster:
	@bin/socialauth-deps cluster
	@$(MAKE) --no-print-directory all
	@bin/socialauth-cluster

# Several nodes (README "Several nodes"): three replicating nodes per scenario, bounded.
test-cluster:
	@bin/socialauth-deps cluster
	@$(MAKE) --no-print-directory all
	@/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/cluster

valgrind: $(UNIT_BIN)
	@VALGRIND=1 bin/socialauth-unit $(UNIT_BIN)

bench:
	@bin/socialauth-deps bench
	@$(MAKE) --no-print-directory BUILD=release all
	@/usr/bin/python3 tests/bench/bench.py --mode $${BENCH:-short}

# ---- release build for `make install`, out of tree: the checkout's debug build is untouched.
# The default settings path (SA_DEFAULT_CONF) depends on PREFIX; the stamp rebuilds when it
# changes.
REL        := build/release
CONF_DIR   := $(SYSCONFDIR)/socialauth
REL_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -DNDEBUG $(WARN) $(HARDEN) -Ilib \
              -DSA_DEFAULT_CONF='"$(CONF_DIR)/socialauth.conf"'
REL_LIB    := $(REL)/libsocialauth.a
REL_CGI    := $(CGI_BIN:%=$(REL)/%)
REL_TOOL   := $(TOOL_BIN:%=$(REL)/%)

$(REL)/conf-path: FORCE
	@mkdir -p $(LAYERS:%=$(REL)/lib/%) $(REL)/cgi-bin $(REL)/bin
	@echo '$(CONF_DIR)/socialauth.conf' | cmp -s - $@ || echo '$(CONF_DIR)/socialauth.conf' > $@
$(REL)/lib/%.o: lib/%.c $(HEADERS) $(REL)/conf-path
	$(CC) $(REL_CFLAGS) -c -o $@ $<
$(REL_LIB): $(LIB_SRC:%.c=$(REL)/%.o)
	rm -f $@
	ar rcs $@ $^
$(REL)/bin/socialauth: $(CLI_SRC) bin/cli/cli.h $(REL_LIB) $(HEADERS)
	$(CC) $(REL_CFLAGS) $(LDFLAGS) -Ibin/cli -o $@ $(CLI_SRC) $(REL_LIB) $(CLI_LDLIBS)
$(REL)/%: %.c $(REL_LIB) $(HEADERS)
	$(CC) $(REL_CFLAGS) $(LDFLAGS) -o $@ $< $(REL_LIB) $(LDLIBS)
release: $(REL_LIB) $(REL_CGI) $(REL_TOOL)
FORCE:

# What `make install` puts where (DESTDIR is prepended to each, never written into files).
I_BIN   := $(PREFIX)/bin
I_LIBX  := $(PREFIX)/lib/socialauth
I_SHARE := $(PREFIX)/share/socialauth
I_MAN   := $(PREFIX)/share/man/man8
I_INC   := $(PREFIX)/include/socialauth
I_STATE := $(LOCALSTATEDIR)/lib/socialauth
I_RUN   := $(RUNSTATEDIR)/socialauth
I_UNITS := $(PREFIX)/lib/systemd/system
GEN     := bin/socialauth-apache-conf bin/socialauth-nginx-conf bin/socialauth-lighttpd-conf \
           bin/socialauth-spawn
D       := $(DESTDIR)

install: release
	install -d $(D)$(I_BIN) $(D)$(I_LIBX)/cgi-bin $(D)$(I_LIBX)/bin $(D)$(I_LIBX)/etc \
	    $(D)$(I_SHARE)/htdocs $(D)$(I_MAN) $(D)$(I_INC) $(D)$(PREFIX)/lib $(D)$(CONF_DIR) \
	    $(D)$(I_UNITS) $(D)$(I_STATE)
	install -m 0755 $(REL_CGI) $(D)$(I_LIBX)/cgi-bin/
	install -m 0755 $(REL)/bin/socialauth $(D)$(I_BIN)/
	install -m 0755 $(GEN) $(D)$(I_LIBX)/bin/
	install -m 0644 etc/endpoints $(D)$(I_LIBX)/etc/
	install -m 0644 $(REL_LIB) $(D)$(PREFIX)/lib/
	for h in $(filter-out %_internal.h,$(HEADERS)); do \
	    install -D -m 0644 $$h $(D)$(I_INC)/$${h#lib/} || exit 1; done
	install -m 0644 htdocs/* $(D)$(I_SHARE)/htdocs/
	sed -e 's|@CONF_DIR@|$(CONF_DIR)|g; s|@STATE@|$(I_STATE)|g; s|@PREFIX@|$(PREFIX)|g' \
	    -e 's|@LIBX@|$(I_LIBX)|g; s|@HTDOCS@|$(I_SHARE)/htdocs|g; s|@RUN@|$(I_RUN)|g' \
	    etc/socialauth.8 > $(D)$(I_MAN)/socialauth.8
	sed -e 's|^db_home = .*|db_home = $(I_STATE)/db|' \
	    -e 's|^signing_key_file = .*|signing_key_file = $(I_STATE)/signing.key|' \
	    -e 's|^# service_user =.*|service_user = $(SERVICE_USER)|' \
	    etc/socialauth.conf.example > $(D)$(CONF_DIR)/socialauth.conf.example
	[ -e $(D)$(CONF_DIR)/socialauth.conf ] || \
	    install -m 0644 $(D)$(CONF_DIR)/socialauth.conf.example $(D)$(CONF_DIR)/socialauth.conf
	bin/socialauth-install-configs --dest $(D)$(CONF_DIR) --units $(D)$(I_UNITS) \
	    --conf $(CONF_DIR)/socialauth.conf --cgi-bin $(I_LIBX)/cgi-bin \
	    --htdocs $(I_SHARE)/htdocs --run-dir $(I_RUN) --user $(SERVICE_USER)

# Removes what install put there, but never settings, keys or the store.
uninstall:
	rm -f $(D)$(I_BIN)/socialauth $(D)$(PREFIX)/lib/libsocialauth.a $(D)$(I_MAN)/socialauth.8
	rm -f $(D)$(I_UNITS)/socialauth@.service
	rm -rf $(D)$(I_LIBX) $(D)$(I_SHARE) $(D)$(I_INC)
	cd $(D)$(CONF_DIR) 2>/dev/null && rm -f socialauth.conf.example lighttpd.conf \
	    apache-fcgid-global.conf apache-fcgid-vhost.conf apache-cgi-vhost.conf htaccess.example \
	    nginx-server.conf || true
	@[ ! -d $(D)$(CONF_DIR) ] || echo "socialauth: kept $(D)$(CONF_DIR) (settings, key) and $(D)$(I_STATE) (the store)"

clean:
	rm -f lib/*/*.o lib/.build-* $(LIB) $(CGI_BIN) $(TOOL_BIN) $(UNIT_BIN) $(FUZZ_BIN) $(FUZZ_REPLAY)
	rm -rf tests/fuzz/.obj build
