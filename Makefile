# bsdpd — GNU make.  `make` builds, `make test` runs every test under
# ASan+UBSan, `make demo` shows a Mac listing and selecting an image in a
# network-namespace lab.  See README.md.

CC      ?= cc
CLANG   ?= clang
PREFIX  ?= /usr/local
PKGS    := libplist-2.0 libxml-2.0 sqlite3 libpq libmicrohttpd libseccomp
B       := build

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wcast-qual -Wformat=2 -Wvla -Wundef -Wwrite-strings
BASE    := -std=c11 -D_GNU_SOURCE -Iinclude -Ibsdpd $(WARN) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS  ?= -O2 -g
LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
SAN     := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# lib/: what the daemon, the tools, the tests and the fuzzers share — the
# wire codecs (DHCP, BSDP, TFTP, the BSDP client side), UTF-8, JSON,
# opening beneath a root, the binary plist pre-scan, logging.  No sockets
# and no third-party headers.  Programs link it as an archive, so each
# takes only the objects it uses.
LIB_SRCS  := $(wildcard lib/*.c)
# The daemon's socket-free handlers and the NBImageInfo model: what the
# unit tests and fuzzers drive.
CORE_SRCS := bsdpd/metrics.c bsdpd/responder.c bsdpd/bindings.c bsdpd/db.c bsdpd/sqlite.c bsdpd/pg.c bsdpd/store.c \
             bsdpd/tftp_transfer.c bsdpd/proxydhcp.c bsdpd/file_cache.c bsdpd/catalog_loader.c \
             bsdpd/ipxe_template.c bsdpd/http_routes.c bsdpd/policy.c bsdpd/policy_json.c \
             bsdpd/api.c bsdpd/transfer.c bsdpd/ui.c bsdpd/conf.c bsdpd/options.c \
             bsdpd/recorder.c bsdpd/snapshot.c \
             nbi/nbimage.c nbi/catalog.c nbi/pe.c
BSDPD_SRCS := bsdpd/main.c bsdpd/server.c bsdpd/tftp_server.c bsdpd/net.c bsdpd/loop.c \
              bsdpd/http.c bsdpd/boot_policy.c bsdpd/live.c bsdpd/confine.c bsdpd/notify.c
BSDPC_SRCS := tools/bsdpc.c tools/tftp_fetch.c
# The dashboard (bsdpd/ui/, served under /ui/): its files become C at build
# time (tools/embed-assets), linked into bsdpd alone.
PYTHON    ?= python3
UI_ASSETS := $(sort $(wildcard bsdpd/ui/*))
UI_GEN    := $(B)/gen/ui_assets.c
# bsdpctl: libcurl only through tools/bsdpctl_http.c; JSON (lib/json.c)
# from libbsdpd.a.
BSDPCTL_SRCS := tools/bsdpctl.c tools/bsdpctl_http.c
CURL_LIBS  := $(shell pkg-config --libs libcurl 2>/dev/null)
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
FUZZERS    := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(1)/%.o,$(2))

# Objects reached through pattern rules are intermediate to make; keep
# them, so a second `make test` rebuilds nothing.
.SECONDARY:

.PHONY: all test unit fuzz-replay integration demo demo-run deps bench bench-tftp clean \
        install fuzz build-deps bench-http bench-policy bench-campus
all: $(B)/bsdpd $(B)/bsdpc $(B)/bsdpctl

# The flags above come from pkg-config when make reads this file, so on a
# bare machine they are empty.  Every compile waits on this check, which
# says what to run instead of failing on a missing header; `make test` and
# `make demo` install the packages first and then run make again, so the
# second make sees the flags.
build-deps:
	@pkg-config --exists $(PKGS) libcurl 2>/dev/null || { \
	  echo "bsdpd: the build needs the Debian packages of: $(PKGS) libcurl" >&2; \
	  echo "bsdpd: run 'make deps' (apt-get, as root or through sudo), then 'make';" >&2; \
	  echo "bsdpd: or run 'make demo' or 'make test', which install them first" >&2; \
	  exit 1; }

# ---- release build --------------------------------------------------------
$(B)/rel/%.o: %.c $(wildcard include/*.h bsdpd/*.h tools/*.h) | build-deps
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/rel/libbsdpd.a: $(call obj,$(B)/rel,$(LIB_SRCS))
	$(AR) rcs $@ $^
$(UI_GEN): tools/embed-assets $(UI_ASSETS)
	@mkdir -p $(dir $@)
	$(PYTHON) tools/embed-assets -o $@ $(UI_ASSETS)
$(B)/rel/ui_assets.o: $(UI_GEN) bsdpd/ui.h bsdpd/http_routes.h | build-deps
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CPPFLAGS) $(CFLAGS) -c $< -o $@
$(B)/bsdpd: $(call obj,$(B)/rel,$(BSDPD_SRCS) $(CORE_SRCS)) $(B)/rel/ui_assets.o \
		$(B)/rel/libbsdpd.a
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LIBS) -o $@
$(B)/bsdpc: $(call obj,$(B)/rel,$(BSDPC_SRCS)) $(B)/rel/libbsdpd.a
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@
$(B)/bsdpctl: $(call obj,$(B)/rel,$(BSDPCTL_SRCS)) $(B)/rel/libbsdpd.a
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(CURL_LIBS) -o $@

# ---- sanitizer build for tests --------------------------------------------
$(B)/san-obj/%.o: %.c $(wildcard include/*.h bsdpd/*.h tests/unit/*.h tools/*.h) | build-deps
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -Itests/unit $(SAN) -c $< -o $@

$(B)/san-obj/libbsdpd.a: $(call obj,$(B)/san-obj,$(LIB_SRCS))
	$(AR) rcs $@ $^
$(B)/san-obj/ui_assets.o: $(UI_GEN) bsdpd/ui.h bsdpd/http_routes.h | build-deps
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(SAN) -c $< -o $@
$(B)/san/bsdpd: $(call obj,$(B)/san-obj,$(BSDPD_SRCS) $(CORE_SRCS)) $(B)/san-obj/ui_assets.o \
		$(B)/san-obj/libbsdpd.a | $(B)/san
	$(CC) $(SAN) $^ $(LIBS) -o $@
$(B)/san/bsdpc: $(call obj,$(B)/san-obj,$(BSDPC_SRCS)) $(B)/san-obj/libbsdpd.a | $(B)/san
	$(CC) $(SAN) $^ -o $@
$(B)/san/bsdpctl: $(call obj,$(B)/san-obj,$(BSDPCTL_SRCS)) $(B)/san-obj/libbsdpd.a | $(B)/san
	$(CC) $(SAN) $^ $(CURL_LIBS) -o $@
$(B)/san/test_%: $(B)/san-obj/tests/unit/test_%.o $(call obj,$(B)/san-obj,$(CORE_SRCS)) \
		$(B)/san-obj/libbsdpd.a | $(B)/san
	$(CC) $(SAN) $^ $(LIBS) -lcmocka -o $@
# test_ui reads the embedded dashboard too.
$(B)/san/test_ui: $(B)/san-obj/ui_assets.o

# test_notify drives notify.c, which is daemon code (a socket), not a
# socket-free handler of CORE_SRCS.
$(B)/san/test_notify: $(B)/san-obj/tests/unit/test_notify.o $(B)/san-obj/bsdpd/notify.o | $(B)/san
	$(CC) $(SAN) $^ -lcmocka -o $@
$(B)/san:
	@mkdir -p $@

# ---- libFuzzer targets (clang) ---------------------------------------------
FUZZFLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
$(B)/fuzz/%: tests/fuzz/%.c $(CORE_SRCS) $(LIB_SRCS) $(wildcard include/*.h bsdpd/*.h tests/fuzz/*.h) \
		| build-deps
	@mkdir -p $(dir $@)
	$(CLANG) $(BASE) $(FUZZFLAGS) $< $(CORE_SRCS) $(LIB_SRCS) $(LIBS) -o $@

# ---- tests ------------------------------------------------------------------
deps:
	@tools/setup-deps --check >/dev/null 2>&1 || tools/setup-deps

export ASAN_OPTIONS  := halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS := halt_on_error=1:print_stacktrace=1

test: deps
	@$(MAKE) --no-print-directory unit fuzz-replay integration

# The tests of the store and the bindings run a second time on PostgreSQL,
# against a cluster the script starts and stops (tests/pg.sh).
PG_UNIT_TESTS := test_store test_bindings test_recorder
unit: $(addprefix $(B)/san/,$(UNIT_TESTS))
	@set -e; for t in $^; do echo "== $$t"; $$t; done
	@tests/unit/run-pg.sh $(addprefix $(B)/san/,$(PG_UNIT_TESTS))

# libFuzzer options per fuzzer.  fuzz_nbimage takes inputs up to 64 KiB
# (libFuzzer's default is 4 KiB), enough for a plist nested past
# NB_PLIST_DEPTH_MAX or holding more than NB_PLIST_NODES_MAX references.
FUZZ_OPTS_fuzz_nbimage := -max_len=65536
# fuzz_json and fuzz_api_body: a little past JSON_PARSE_SIZE_MAX (64 KiB).
FUZZ_OPTS_fuzz_json := -max_len=65600
FUZZ_OPTS_fuzz_api_body := -max_len=65600

# Replays each fuzzer's seed corpus once; `make fuzz` explores further.
fuzz-replay: $(addprefix $(B)/fuzz/,$(FUZZERS))
	@set -e; $(foreach f,$(FUZZERS),echo "== replay $(f)"; \
	  $(B)/fuzz/$(f) -runs=0 $(FUZZ_OPTS_$(f)) tests/corpus/$(f) 2>&1 | tail -n 1;)

FUZZ_SECONDS ?= 60
fuzz: $(addprefix $(B)/fuzz/,$(FUZZERS))
	@set -e; $(foreach f,$(FUZZERS),mkdir -p $(B)/corpus/$(f); \
	  $(B)/fuzz/$(f) -max_total_time=$(FUZZ_SECONDS) $(FUZZ_OPTS_$(f)) \
	    $(B)/corpus/$(f) tests/corpus/$(f);)

integration: $(B)/san/bsdpd $(B)/san/bsdpc $(B)/san/bsdpctl $(B)/san/tftp-load \
		$(B)/san/bsdp_load
	@set -e; for t in tests/integration/test_*.sh; do echo "== $$t"; \
	  BSDPD=$(B)/san/bsdpd BSDPC=$(B)/san/bsdpc BSDPCTL=$(B)/san/bsdpctl bash $$t; done

demo: deps
	@$(MAKE) --no-print-directory demo-run

demo-run: $(B)/bsdpd $(B)/bsdpc
	@BSDPD=$(B)/bsdpd BSDPC=$(B)/bsdpc bash tools/demo.sh

$(B)/bsdp_load: $(B)/rel/tools/bench/bsdp_load.o $(B)/rel/libbsdpd.a
	$(CC) $(CFLAGS) $^ -o $@
$(B)/san/bsdp_load: $(B)/san-obj/tools/bench/bsdp_load.o $(B)/san-obj/libbsdpd.a | $(B)/san
	$(CC) $(SAN) $^ -o $@

bench: $(B)/bsdpd $(B)/bsdpc $(B)/bsdp_load
	@BSDPD=$(B)/bsdpd BSDPC=$(B)/bsdpc BSDP_LOAD=$(B)/bsdp_load bash tools/bench/bsdp-bench.sh

# TFTP load generator (tools/bench/tftp-load.c) and the three-server benchmark.
TFTP_LOAD_SRCS := tools/bench/tftp-load.c tools/tftp_fetch.c
$(B)/tftp-load: $(call obj,$(B)/rel,$(TFTP_LOAD_SRCS)) $(B)/rel/libbsdpd.a
	$(CC) $(CFLAGS) $^ -o $@
$(B)/san/tftp-load: $(call obj,$(B)/san-obj,$(TFTP_LOAD_SRCS)) $(B)/san-obj/libbsdpd.a | $(B)/san
	$(CC) $(SAN) $^ -o $@

bench-tftp: $(B)/bsdpd $(B)/tftp-load
	@BSDPD=$(B)/bsdpd TFTP_LOAD=$(B)/tftp-load bash tools/bench/tftp-bench.sh

# HTTP benchmark against nginx (Debian's nginx-light and wrk).
bench-http: $(B)/bsdpd
	@BSDPD=$(B)/bsdpd bash tools/bench/http-bench.sh

# /boot.ipxe from policy for 10 000 machines, 100 groups, 50 profiles (wrk,
# and tools/bench/script_storm.c for open-loop boot storms).
$(B)/script_storm: $(B)/rel/tools/bench/script_storm.o
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@

bench-policy: $(B)/bsdpd $(B)/script_storm
	@BSDPD=$(B)/bsdpd SCRIPT_STORM=$(B)/script_storm bash tools/bench/policy-bench.sh

# A campus boot storm: 300 Macs through two bsdpd on one PostgreSQL and an
# nginx cache, every link shaped to 1 Gbit/s (docs/scaling.md "Sizing").
bench-campus: $(B)/bsdpd $(B)/nbi $(B)/bsdp_load $(B)/tftp-load
	@BSDPD=$(B)/bsdpd NBI=$(B)/nbi BSDP_LOAD=$(B)/bsdp_load TFTP_LOAD=$(B)/tftp-load \
	  bash tools/bench/campus-storm.sh

# ---- install ------------------------------------------------------------------
# The unit's ExecStart names the installed bsdpd; systemd reads units from
# $(PREFIX)/lib/systemd/system for /usr and /usr/local alike.  The example
# configuration is a document: bsdpd starts under systemd only once the
# admin has written /etc/bsdpd.conf.
SBINDIR    ?= $(PREFIX)/sbin
UNITDIR    ?= $(PREFIX)/lib/systemd/system
EXAMPLEDIR ?= $(PREFIX)/share/doc/bsdpd/examples

$(B)/bsdpd.service: bsdpd/bsdpd.service.in
	@mkdir -p $(dir $@)
	sed 's|@sbindir@|$(SBINDIR)|g' $< >$@

# A changed PREFIX or SBINDIR must regenerate the unit.
.PHONY: $(B)/bsdpd.service

install: all $(B)/bsdpd.service
	install -D -m 755 $(B)/bsdpd $(DESTDIR)$(SBINDIR)/bsdpd
	install -D -m 755 $(B)/bsdpc $(DESTDIR)$(PREFIX)/bin/bsdpc
	install -D -m 755 $(B)/bsdpctl $(DESTDIR)$(PREFIX)/bin/bsdpctl
	install -D -m 644 bsdpd/bsdpd.8 $(DESTDIR)$(PREFIX)/share/man/man8/bsdpd.8
	install -D -m 644 tools/bsdpc.1 $(DESTDIR)$(PREFIX)/share/man/man1/bsdpc.1
	install -D -m 644 tools/bsdpctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/bsdpctl.1
	install -D -m 644 $(B)/bsdpd.service $(DESTDIR)$(UNITDIR)/bsdpd.service
	install -D -m 644 bsdpd/bsdpd.conf.example $(DESTDIR)$(EXAMPLEDIR)/bsdpd.conf

clean:
	rm -rf $(B)

# ---- nbi: build, validate and inspect .nbi bundles ------------------------
# nbi links the shared NBImageInfo model (nbimage.c, catalog.c) and needs
# only libplist and libxml2.  NBI_LIB_SRCS is what its unit tests link
# (tests/unit/test_nbi*.c, test_pe.c); fuzz_pe needs only pe.c.
NBI_LIBS     := $(shell pkg-config --libs libplist-2.0 libxml-2.0 2>/dev/null)
NBI_LIB_SRCS := nbi/pe.c nbi/bundle.c nbi/inspect.c nbi/show.c nbi/nbimage.c \
                nbi/catalog.c
NBI_SRCS     := nbi/main.c $(NBI_LIB_SRCS)
NBI_TESTS    := $(filter test_nbi% test_pe,$(UNIT_TESTS))

.PHONY: install-nbi
all: $(B)/nbi
integration: $(B)/san/nbi
integration: export NBI := $(B)/san/nbi
install: install-nbi

$(B)/nbi: $(call obj,$(B)/rel,$(NBI_SRCS)) $(B)/rel/libbsdpd.a
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(NBI_LIBS) -o $@
$(B)/san/nbi: $(call obj,$(B)/san-obj,$(NBI_SRCS)) $(B)/san-obj/libbsdpd.a | $(B)/san
	$(CC) $(SAN) $^ $(NBI_LIBS) -o $@
$(addprefix $(B)/san/,$(NBI_TESTS)): $(B)/san/%: $(B)/san-obj/tests/unit/%.o \
		$(call obj,$(B)/san-obj,$(NBI_LIB_SRCS)) $(B)/san-obj/libbsdpd.a | $(B)/san
	$(CC) $(SAN) $^ $(NBI_LIBS) -lcmocka -o $@
$(B)/fuzz/fuzz_pe: tests/fuzz/fuzz_pe.c nbi/pe.c $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(BASE) $(FUZZFLAGS) $< nbi/pe.c -o $@

install-nbi: $(B)/nbi
	install -D -m 755 $(B)/nbi $(DESTDIR)$(PREFIX)/bin/nbi
	install -D -m 644 nbi/nbi.1 $(DESTDIR)$(PREFIX)/share/man/man1/nbi.1
