# socialauth: `make run` serves on 127.0.0.1:${PORT:-8000}; `make test` runs every test.
# Everything is built in place: lib/libsocialauth.a, cgi-bin/<endpoint>, bin/socialauth.

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= debug

WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wno-unused-parameter
HARDEN  := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
ifeq ($(BUILD),release)
OPT     := -O2 -DNDEBUG
else
OPT     := -O1 -g
endif
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) -Ilib
LDFLAGS += -pie -Wl,-z,relro,-z,now
LDLIBS  := -lfcgi -ljson-c -lcurl -lcrypto -ldb-5.3 -lunistring

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

LIB_SRC   := $(sort $(wildcard lib/*.c))
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
HEADERS   := $(wildcard lib/*.h)
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

.PHONY: all deps run test unit integration e2e bench clean install help valgrind fuzz \
        fuzz-replay analyze soak test-cluster cluster
all: $(LIB) $(CGI_BIN) $(TOOL_BIN)

help:
	@echo "make            build the library, the endpoints (cgi-bin/) and bin/socialauth"
	@echo "make run        install missing packages, build, init the store, serve on 127.0.0.1:\$${PORT:-8000}"
	@echo "make test       install missing packages, build, run unit and integration tests"
	@echo "make e2e        the Next-Auth example (examples/nextjs) signing in through socialauth in Chromium"
	@echo "make test SANITIZE=address,undefined   the same, every program built with sanitizers"
	@echo "make fuzz       run every libFuzzer target for FUZZ_S seconds (default 60)"
	@echo "make analyze    gcc -fanalyzer and scan-build over lib/, cgi-bin/, bin/"
	@echo "make soak       minutes of mixed load (SOAK_S, default 300), private memory per process"
	@echo "make cluster    three replicating nodes behind HAProxy on 127.0.0.1:\$${PORT:-8000} (root)"
	@echo "make test-cluster  three replicating nodes on loopback: read-your-writes, failover"
	@echo "make bench      measure throughput against a hello-world FastCGI floor (BENCH=short|long)"
	@echo "make deps       install the Debian packages (as root) or print the apt-get line"
	@echo "make install    copy programs and configuration under PREFIX ($(PREFIX))"

# A stamp per build mode: switching between debug and release rebuilds everything.
BUILD_STAMP := lib/.build-$(BUILD)$(if $(SANITIZE),-san-$(subst $(comma),-,$(SANITIZE)))
$(BUILD_STAMP):
	@rm -f lib/.build-* lib/*.o
	@touch $@

lib/%.o: lib/%.c $(HEADERS) $(BUILD_STAMP)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

cgi-bin/%: cgi-bin/%.c $(LIB) $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

bin/socialauth: $(CLI_SRC) bin/cli/cli.h $(LIB) $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -Ibin/cli -o $@ $(CLI_SRC) $(LIB) $(LDLIBS)

bin/%: bin/%.c $(LIB) $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

tests/unit/test_%: tests/unit/test_%.c tests/unit/*.h $(LIB) $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $< $(LIB) $(LDLIBS) -lcmocka

tests/fuzz/.obj/%.o: lib/%.c $(HEADERS)
	@mkdir -p tests/fuzz/.obj
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

# Every seed corpus through its target once (no libFuzzer needed), under valgrind when
# VALGRIND=1; a target without a corpus, or with an empty one, fails.
fuzz-replay: $(FUZZ_REPLAY)
	@for f in $(FUZZ_NAMES); do \
	    if [ "$${VALGRIND:-0}" = 1 ]; then v="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"; else v=""; fi; \
	    $$v tests/fuzz/$$f-replay tests/fuzz/corpus/$${f#fuzz_} || exit 1; \
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
	@bin/socialauth-deps run
	@$(MAKE) --no-print-directory all
	@bin/socialauth-run

unit: $(UNIT_BIN)
	@bin/socialauth-unit $(UNIT_BIN)

integration: all
	@/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration

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
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(FUZZ_REPLAY)
	@rm -rf $(SAN_LOG_DIR) && mkdir -p $(SAN_LOG_DIR)
	@$(SAN_ENV) VALGRIND=$(if $(SANITIZE),0,1) bin/socialauth-unit $(UNIT_BIN)
	@$(SAN_ENV) VALGRIND=$(if $(SANITIZE),0,1) $(MAKE) --no-print-directory fuzz-replay
	@$(SAN_ENV) /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration $(SAN_PYTEST); st=$$?; \
	    bin/socialauth-sanitizer-check $(SAN_LOG_DIR) && exit $$st

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

install: all
	install -d $(DESTDIR)$(PREFIX)/lib/socialauth/cgi-bin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/etc/socialauth
	install -m 0755 $(CGI_BIN) $(DESTDIR)$(PREFIX)/lib/socialauth/cgi-bin/
	install -m 0755 bin/socialauth $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 etc/socialauth.conf.example etc/endpoints etc/apache-fcgid.conf $(DESTDIR)$(PREFIX)/etc/socialauth/

clean:
	rm -f lib/*.o lib/.build-* $(LIB) $(CGI_BIN) $(TOOL_BIN) $(UNIT_BIN) $(FUZZ_BIN) $(FUZZ_REPLAY)
	rm -rf tests/fuzz/.obj
