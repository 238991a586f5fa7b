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
# Fuzz targets (tests/fuzz/fuzz_<name>.c), each also linked with tests/fuzz/standalone.c into
# tests/fuzz/replay_<name>, which `make test` runs over tests/fuzz/corpus/<name>.
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=tests/fuzz/replay_%)

.PHONY: all deps run test unit integration e2e bench clean install help valgrind fuzz-replay \
        test-cluster cluster
all: $(LIB) $(CGI_BIN) $(TOOL_BIN)

help:
	@echo "make            build the library, the endpoints (cgi-bin/) and bin/socialauth"
	@echo "make run        install missing packages, build, init the store, serve on 127.0.0.1:\$${PORT:-8000}"
	@echo "make test       install missing packages, build, run unit and integration tests"
	@echo "make e2e        the Next-Auth example (examples/nextjs) signing in through socialauth in Chromium"
	@echo "make cluster    three replicating nodes behind HAProxy on 127.0.0.1:\$${PORT:-8000} (root)"
	@echo "make test-cluster  three replicating nodes on loopback: read-your-writes, failover"
	@echo "make bench      measure throughput against a hello-world FastCGI floor (BENCH=short|long)"
	@echo "make deps       install the Debian packages (as root) or print the apt-get line"
	@echo "make install    copy programs and configuration under PREFIX ($(PREFIX))"

# A stamp per build mode: switching between debug and release rebuilds everything.
BUILD_STAMP := lib/.build-$(BUILD)
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

tests/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/standalone.c $(LIB) $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/standalone.c $(LIB) $(LDLIBS)

# Every fuzz target's seeds, under valgrind when VALGRIND=1.
fuzz-replay: $(FUZZ_REPLAY)
	@for r in $(FUZZ_REPLAY); do \
	    if [ "$${VALGRIND:-0}" = 1 ]; then v="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"; else v=""; fi; \
	    $$v $$r tests/fuzz/corpus/$${r#tests/fuzz/replay_} || exit 1; \
	done

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

# Unit tests run under valgrind: a leak or invalid access fails the build.
test:
	@bin/socialauth-deps test
	@tests/lint/banned-functions
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@VALGRIND=1 bin/socialauth-unit $(UNIT_BIN)
	@VALGRIND=1 $(MAKE) --no-print-directory fuzz-replay
	@/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration

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
	rm -f lib/*.o lib/.build-* $(LIB) $(CGI_BIN) $(TOOL_BIN) $(UNIT_BIN) $(FUZZ_REPLAY)
