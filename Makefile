# mijlpaal: privacy-preserving regional statistics.
#
#   make            build the library and the three programs into build/
#   make test       unit, end-to-end and statistical tests, then all again under ASan+UBSan
#   make demo       a whole Midden-Utrecht round on synthetic data
#   make demo-dropout  the same round surviving two dropouts (masking bonawitz-v1)
#   make install    PREFIX=/usr/local DESTDIR= ; programs get a mijlpaal- prefix; docs, man pages
#   make uninstall  the same PREFIX and DESTDIR: removes what install wrote
#   make deps       install the Debian packages the build needs (apt-get; sudo when not root)
#
# Layout: protocol/ is the library (libmijlpaal.a), one folder per concern in pipeline order:
#   core/ (errors, files, canonical JSON, dates, SQLite), ingest/ (export -> distinct counts),
#   privacy/ (noise, budgets, post-processing), crypto/ (keys, envelopes, certificates, masking),
#   round/ (roster, policy, round, submissions, the aggregator's store, the ledger),
#   log/ (transparency log, witnesses), release/ (release, report), audit/ (the auditor's checks),
#   net/ (HTTPS server, client).
# contributor/, aggregator/ and auditor/ are thin programs over it; tools/ holds the
# synthetic-data generator, the test CA and the demos. Headers are included by name
# ("keys.h"): each folder is on the include path, so moving a module never edits its users.

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build

# libevent (evhttp, OpenSSL bufferevents) for `aggregator serve`, libcurl for `contributor run`.
PKGS      := libsodium openssl sqlite3 libcjson pangocairo cairo-pdf libevent_openssl libevent \
             libcurl
TEST_PKGS := cmocka
# The report test renders report.html in a real browser and reads the PDFs back.
TEST_DEB_PKGS := chromium poppler-utils
DEB_PKGS  := build-essential pkg-config libsodium-dev libssl-dev libsqlite3-dev libcjson-dev \
             libcmocka-dev python3 openssl libcairo2-dev libpango1.0-dev fonts-dejavu-core \
             libevent-dev libcurl4-openssl-dev

# Fail early with the exact command to run when a package is missing (make deps does it).
HAVE_PKGS := $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo yes)

ifeq ($(HAVE_PKGS),yes)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
endif

LIB_DIRS := $(sort $(dir $(wildcard protocol/*/*.h)))
LIB_INC  := $(patsubst %/,-I%,$(LIB_DIRS))
LIB_HDR  := $(wildcard protocol/*/*.h)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Wno-unused-parameter
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) \
              -pthread $(LIB_INC) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  := $(PKG_LIBS) -lm -pthread
LDFLAGS ?=

LIB_SRC := $(sort $(wildcard protocol/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB     := $(BUILD)/libmijlpaal.a

PROGS   := contributor aggregator auditor
BINS    := $(PROGS:%=$(BUILD)/bin/mijlpaal-%) $(BUILD)/bin/mijlpaal-synth
# The coordinator as an attacker (tools/forge.c): for demo-attacks and the tests; not installed.
FORGE   := $(BUILD)/tools/forge

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all clean test test-plain test-asan unit e2e demo demo-dropout demo-attacks demo-server \
        install uninstall deps \
        check-deps format \
        format-check bench fuzz

all: check-deps $(BINS) $(FORGE)

check-deps:
ifneq ($(HAVE_PKGS),yes)
	@echo "mijlpaal: missing build dependencies ($(PKGS))." >&2
	@echo "Run: make deps   (or: sudo apt-get install -y $(DEB_PKGS))" >&2
	@exit 2
endif

deps:
	@./tools/install-deps $(DEB_PKGS)

$(BUILD)/%.o: %.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The noise samplers must not touch floating point (Mironov 2012): compiling it with
# general-purpose registers only turns any float or double use into a compile error.
$(BUILD)/protocol/privacy/noise.o: protocol/privacy/noise.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -mgeneral-regs-only -c $< -o $@

$(BUILD)/protocol/privacy/skellam.o: protocol/privacy/skellam.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -mgeneral-regs-only -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bin/mijlpaal-%: $(BUILD)/%/main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/bin/mijlpaal-synth: $(BUILD)/tools/synth.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(FORGE): $(BUILD)/tools/forge.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags $(TEST_PKGS)) $(LDFLAGS) -o $@ $< $(LIB) \
	  $(shell pkg-config --libs $(TEST_PKGS)) $(LDLIBS)

unit: check-deps $(LIB) $(UNIT_BIN)
	@./tests/unit/run-all $(UNIT_BIN)

e2e: all
	@BIN=$(abspath $(BUILD)/bin) FORGE=$(abspath $(FORGE)) ./tests/e2e/run-all

# Build with every core first, then run the unit and the end-to-end tests (each runs one test
# per core itself: tests/unit/run-all, tests/e2e/run-all).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test-plain:
	@$(MAKE) --no-print-directory -j$(JOBS) all $(UNIT_BIN)
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory e2e

# Everything once more under AddressSanitizer and UndefinedBehaviorSanitizer, in its own tree.
test-asan:
	@LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0 $(MAKE) --no-print-directory BUILD=build-asan \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" test-plain

test:
	@if ! pkg-config --exists $(PKGS) $(TEST_PKGS) 2>/dev/null || ! command -v python3 >/dev/null \
	  || ! command -v chromium >/dev/null || ! command -v pdftotext >/dev/null \
	  || ! command -v openssl >/dev/null; \
	then ./tools/install-deps $(DEB_PKGS) $(TEST_DEB_PKGS); fi
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory test-plain
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(MAKE) --no-print-directory test-asan
	@echo "mijlpaal: all tests passed (plain and ASan+UBSan)"

demo:
	@if ! pkg-config --exists $(PKGS) 2>/dev/null; then ./tools/install-deps $(DEB_PKGS); fi
	@$(MAKE) --no-print-directory all
	@BIN=$(abspath $(BUILD)/bin) ./tools/demo

# The same round with masking bonawitz-v1: one organisation drops out after advertising its
# keys, another after submitting; the round still closes and the auditor verifies it.
demo-dropout:
	@if ! pkg-config --exists $(PKGS) 2>/dev/null; then ./tools/install-deps $(DEB_PKGS); fi
	@$(MAKE) --no-print-directory all
	@BIN=$(abspath $(BUILD)/bin) ./tools/demo-dropout

# The coordinator plays attacker against every promise to the organisations; exits non-zero
# if any attack succeeds (docs/threat-model.md).
demo-attacks:
	@if ! pkg-config --exists $(PKGS) 2>/dev/null; then ./tools/install-deps $(DEB_PKGS); fi
	@$(MAKE) --no-print-directory all
	@BIN=$(abspath $(BUILD)/bin) FORGE=$(abspath $(FORGE)) ./tools/demo-attacks

# The aggregator as an HTTPS service with mutual TLS on loopback; six contributors run the
# round against it in parallel (contributor run --server), then close, publish, audit.
demo-server:
	@if ! pkg-config --exists $(PKGS) 2>/dev/null; then ./tools/install-deps $(DEB_PKGS); fi
	@$(MAKE) --no-print-directory all
	@BIN=$(abspath $(BUILD)/bin) ./tools/demo-server

bench: all
	@BIN=$(abspath $(BUILD)/bin) ./bench/ingest.sh

# Coverage-guided fuzzing of every parser (clang + libFuzzer; not part of make test).
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 \
               -fsanitize=fuzzer,address,undefined $(LIB_INC) $(PKG_CFLAGS)
fuzz:
	@mkdir -p $(BUILD)/fuzz
	@set -e; for t in tests/fuzz/fuzz_*.c; do \
	  n=$$(basename $$t .c); \
	  clang $(FUZZ_CFLAGS) $$t $(LIB_SRC) \
	    -o $(BUILD)/fuzz/$$n $(LDLIBS); \
	  mkdir -p $(BUILD)/fuzz/corpus-$$n; \
	  if [ $$n = fuzz_documents ]; then \
	    for f in data/catalogues/*.json; do cp $$f $(BUILD)/fuzz/corpus-$$n/catalogue-$$(basename $$f); done; \
	    for f in data/regions/*.json; do cp $$f $(BUILD)/fuzz/corpus-$$n/region-$$(basename $$f); done; \
	  fi; \
	  $(BUILD)/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $(BUILD)/fuzz/corpus-$$n; \
	done

# Programs, man pages, the region and catalogue data, the throwaway test CA (for a rehearsal on
# one machine, docs/guide-coordinator.md; never for production) and the documentation.
# Every path is under $(DESTDIR)$(PREFIX); make uninstall removes exactly these files.
DOCDIR    = $(PREFIX)/share/doc/mijlpaal
DATADIR   = $(PREFIX)/share/mijlpaal
MANDIR    = $(PREFIX)/share/man/man1
DOC_FILES = README.md LICENSE $(wildcard docs/*.md) docs/mijlpaal-aggregator.service

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR) $(DESTDIR)$(DATADIR)/regions \
	  $(DESTDIR)$(DATADIR)/catalogues $(DESTDIR)$(DOCDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 docs/man/*.1 $(DESTDIR)$(MANDIR)/
	install -m 0644 data/regions/*.json $(DESTDIR)$(DATADIR)/regions/
	install -m 0644 data/catalogues/*.json $(DESTDIR)$(DATADIR)/catalogues/
	install -m 0755 tools/test-ca $(DESTDIR)$(DATADIR)/test-ca
	install -m 0644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(BINS:$(BUILD)/bin/%=$(DESTDIR)$(PREFIX)/bin/%)
	rm -f $(patsubst docs/man/%,$(DESTDIR)$(MANDIR)/%,$(wildcard docs/man/*.1))
	rm -f $(patsubst data/%,$(DESTDIR)$(DATADIR)/%,$(wildcard data/regions/*.json data/catalogues/*.json))
	rm -f $(DESTDIR)$(DATADIR)/test-ca
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOC_FILES)))
	-rmdir $(DESTDIR)$(DATADIR)/regions $(DESTDIR)$(DATADIR)/catalogues $(DESTDIR)$(DATADIR) \
	  $(DESTDIR)$(DOCDIR) 2>/dev/null

FORMAT_SRC = $(wildcard protocol/*/*.[ch] contributor/*.c aggregator/*.c auditor/*.c tools/*.c \
               tests/unit/*.[ch] tests/fuzz/*.c bench/*.c)

format:
	clang-format -i $(FORMAT_SRC)

# Style is never a review topic: make test runs this with the clang-format the tree is
# formatted with (Debian 12's, version 14); other versions break lines differently, so they
# skip the check rather than fail it.
format-check:
	@if clang-format --version 2>/dev/null | grep -q 'version 14\.'; then \
	  clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format: ok"; \
	else echo "format: clang-format 14 not installed, check skipped"; fi

clean:
	rm -rf build build-asan
