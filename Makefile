# sspi for Lua - build, test, demo.
#
# Honours CC, CFLAGS, LDFLAGS, DESTDIR, PREFIX; finds libraries with pkg-config.
# Every target that needs Debian packages depends on `deps`, which installs
# them when run as root and says exactly what to install otherwise.

CC        ?= cc
PREFIX    ?= /usr/local
# `make LUA_VERSION=5.3` builds, tests and installs for Lua 5.3 (what HAProxy
# 2.6 and Apache's mod_lua embed) into build/5.3; 5.4 is the default.
# LuaRocks passes LUA_INCDIR: the version is that of its lua.h.
ifeq ($(origin LUA_VERSION)$(if $(LUA_INCDIR),,-),undefined)
LUA_VERSION := $(shell sed -n 's/^\#define LUA_VERSION_M[AI][JN]OR[^"]*"\([0-9]*\)".*/\1/p' \
                 $(LUA_INCDIR)/lua.h | paste -sd.)
endif
LUA_VERSION ?= 5.4
LUA_VER   := $(LUA_VERSION)
PKG_CONFIG ?= pkg-config
BUILD     ?= build/$(LUA_VERSION)

DEPS_PKGS = build-essential pkg-config lua5.4 liblua5.4-dev lua5.3 liblua5.3-dev lua-busted lua-check \
            libkrb5-dev krb5-kdc krb5-admin-server krb5-user krb5-gss-samples \
            gss-ntlmssp libssl-dev lua-socket lua-cqueues curl python3-gssapi \
            apache2 libapache2-mod-auth-gssapi sasl2-bin libsasl2-modules-gssapi-mit \
            clang libclang-rt-14-dev valgrind lua-ldoc lua-discount haproxy luarocks \
            krb5-kdc-ldap slapd ldap-utils lua-sec

# MIT's HTTPS client (kinit with kdc = https://...): the KDC proxy's peer in spec 28.
DEPS_PKGS += krb5-k5tls

# What compiling and linking need, before anything else can be built.
BUILD_PKGS  = build-essential pkg-config liblua$(LUA_VER)-dev libkrb5-dev libssl-dev
PKG_MODULES = krb5-gssapi krb5 libssl libcrypto
LUA_PC      = lua$(LUA_VER)

# pkg-config's answers are right only once the -dev packages are installed, so
# they are asked for by a rule, not at parse time: $(CONFIG) installs
# BUILD_PKGS (as root; otherwise it says what to install and fails), asks
# pkg-config and writes the answers down.  GNU make remakes an included
# makefile first and then starts again with it, so the very first `make demo`
# on a fresh machine compiles and links with the real flags.  Every object
# depends on $(CONFIG): when the answers change, everything is rebuilt and
# relinked (never a module linked without its libraries).
.DEFAULT_GOAL := all
CONFIG      = $(BUILD)/config.mk
NO_CONFIG_GOALS = clean deps
# Whether the caller gave LUA_CFLAGS (command line or environment), decided
# before the old answers are included: they define it too, and a remade
# $(CONFIG) must not take its own old value for the caller's.
LUA_CFLAGS_GIVEN := $(if $(filter command% environment% override,$(origin LUA_CFLAGS)),yes)
ifneq ($(filter-out $(NO_CONFIG_GOALS),$(or $(MAKECMDGOALS),all)),)
-include $(CONFIG)
endif

$(CONFIG): Makefile .ci/deps.sh
	@mkdir -p $(dir $@)
	@sh .ci/deps.sh $(BUILD_PKGS)
	@$(PKG_CONFIG) --exists --print-errors $(PKG_MODULES) $(if $(LUA_CFLAGS_GIVEN),,$(LUA_PC)) || { \
	  echo "make: pkg-config cannot find $(PKG_MODULES) $(if $(LUA_CFLAGS_GIVEN),,$(LUA_PC));" \
	    "install: $(BUILD_PKGS)" >&2; exit 1; }
	@{ echo "# written by make from pkg-config: remove to ask again"; \
	  echo "PKG_CFLAGS := $$($(PKG_CONFIG) --cflags $(PKG_MODULES))"; \
	  echo "PKG_LIBS := $$($(PKG_CONFIG) --libs $(PKG_MODULES))"; \
	  echo "LUA_CFLAGS ?= $(if $(LUA_CFLAGS_GIVEN),,$$($(PKG_CONFIG) --cflags $(LUA_PC)))"; \
	  echo "LUA_LIBS := $(if $(LUA_CFLAGS_GIVEN),,$$($(PKG_CONFIG) --libs $(LUA_PC)))"; } >$@.tmp
	@mv $@.tmp $@

WARN      = -std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow
OPT       ?= -O2 -g
CFLAGS    ?= $(OPT)
ALL_CFLAGS = $(WARN) -D_POSIX_C_SOURCE=200809L -fPIC -fvisibility=hidden \
             $(PKG_CFLAGS) $(LUA_CFLAGS) -Icsrc $(CFLAGS) $(EXTRA_CFLAGS)
LIBS      = $(PKG_LIBS) -lpthread

CORE_SRC     = $(sort $(wildcard csrc/core/*.c) $(wildcard csrc/providers/*/*.c))
BINDING_SRC  = $(sort $(wildcard csrc/lua/*.c))
CORE_OBJ     = $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
BINDING_OBJ  = $(BINDING_SRC:%.c=$(BUILD)/obj/%.o)
HEADERS      = $(wildcard csrc/*.h csrc/core/*.h csrc/providers/*/*.h csrc/lua/*.h)

MODULE   = $(BUILD)/lua/sspi/core.so
STATIC   = $(BUILD)/libsspi.a
PUBHDR   = $(BUILD)/include/sspi.h
HOST     = $(BUILD)/examples/sspi-host
TESTENV  = $(BUILD)/lua/sspi_testenv.so
TOY      = $(BUILD)/lua/sspi_toy.so

LUA      = lua$(LUA_VER)
# busted's script runs `lua`, which may be another Lua version: pin ours.
BUSTED   ?= $(LUA) /usr/bin/busted
export LUA_PATH  := $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/spec/?.lua;;
export LUA_CPATH := $(abspath $(BUILD))/lua/?.so;;
# The specs find what the build made here (spec/helpers/build.lua).
export SSPI_BUILD := $(abspath $(BUILD))
# HAProxy 2.6 and Apache's mod_lua embed Lua 5.3: their specs load the module
# from the 5.3 build, which `make test` makes for either LUA_VERSION.
HOST_LUA_BUILD = build/5.3
export SSPI_HOST_CPATH := $(abspath $(HOST_LUA_BUILD))/lua/?.so

.PHONY: all static test check lint docs demo bench fuzz install install-rock clean deps host

all: $(MODULE) $(STATIC) $(PUBHDR)

static: $(STATIC) $(PUBHDR)

$(BUILD)/obj/%.o: %.c $(HEADERS) $(CONFIG)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(MODULE): $(CORE_OBJ) $(BINDING_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LIBS)

$(STATIC): $(CORE_OBJ) $(BINDING_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(PUBHDR): csrc/sspi.h csrc/sspi_constants.h
	@mkdir -p $(dir $@)
	cp csrc/sspi.h csrc/sspi_constants.h $(dir $@)

# A C program that embeds Lua and links the module statically.
$(HOST): examples/host/host.c $(STATIC) $(PUBHDR) $(CONFIG)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -D_POSIX_C_SOURCE=200809L $(LUA_CFLAGS) -I$(BUILD)/include $(CFLAGS) \
	  -o $@ examples/host/host.c $(STATIC) $(LUA_LIBS) $(LIBS) -lm -ldl $(LDFLAGS)

host: $(HOST)

# Test-only helper module (setenv for the throwaway realm); never installed.
$(TESTENV): spec/helpers/testenv.c $(CONFIG)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $< $(LDFLAGS)

# Test-only module: the same objects as $(MODULE), except the registry,
# compiled again with one more line registering the test-only Toy package
# (spec/c/toy_provider.c) that proves the step contract; never installed.
TOY_OBJ = $(filter-out $(BUILD)/obj/csrc/core/registry.o,$(CORE_OBJ)) $(BINDING_OBJ) \
          $(BUILD)/obj/spec/c/toy_registry.o $(BUILD)/obj/spec/c/toy_provider.o \
          $(BUILD)/obj/spec/c/toy_module.o

$(BUILD)/obj/spec/c/toy_registry.o: csrc/core/registry.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ispec/c '-DSSPI_EXTRA_PROVIDERS(X)=X(sspi_toy_provider)' \
	  -c $< -o $@

$(BUILD)/obj/spec/c/toy_provider.o: spec/c/toy_provider.h

$(TOY): $(TOY_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-Bsymbolic $(LDFLAGS) -o $@ $^ $(LIBS)

deps:
	@sh .ci/deps.sh $(DEPS_PKGS)

# Everything the specs run is built here: specs never run make themselves.
test: deps all $(HOST) $(TESTENV) $(TOY) install-stage host-lua
	$(BUSTED) -o utfTerminal spec

# `make install` into $(STAGE), for spec/91-install_spec.lua.
STAGE = $(BUILD)/stage

.PHONY: install-stage
install-stage: all
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(STAGE) PREFIX=/usr

# The whole suite under Lua 5.3 (build/5.3), as CI runs it.
test-lua5.3:
	$(MAKE) test LUA_VERSION=5.3

# The module for the Lua 5.3 hosts (spec/8*-*_spec.lua).
.PHONY: host-lua test-lua5.3
host-lua:
	$(MAKE) LUA_VERSION=5.3 BUILD=$(HOST_LUA_BUILD) all


lint: deps
	luacheck lua spec examples bench bin

demo: deps all $(TESTENV)
	$(LUA) examples/demo.lua

# Benchmarks (bench/): raw C GSSAPI, our module, python-gssapi side by side
# against one throwaway realm; prints a markdown table and never fails.
BENCH_RAW = $(BUILD)/bench/gss_raw

$(BENCH_RAW): bench/gss_raw.c $(CONFIG)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -D_POSIX_C_SOURCE=200809L $(PKG_CFLAGS) $(CFLAGS) -o $@ $< $(PKG_LIBS) $(LDFLAGS)

BENCH_TLS_RAW = $(BUILD)/bench/tls_raw

$(BENCH_TLS_RAW): bench/tls_raw.c $(CONFIG)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -D_POSIX_C_SOURCE=200809L $(PKG_CFLAGS) $(CFLAGS) -o $@ $< $(PKG_LIBS) $(LDFLAGS)

bench: deps all $(TESTENV) $(BENCH_RAW) $(BENCH_TLS_RAW) host-lua
	-BENCH_TLS_RAW=$(BENCH_TLS_RAW) $(LUA) bench/run.lua $(BENCH_RAW) $(BUILD)/bench/results.md

# The API reference: LDoc (config.ld) over lua/sspi.lua and the binding's
# doc comments (csrc/lua/*.c), with docs/api.md beside them as a topic, into
# $(BUILD)/docs/index.html.  Debian's lua-ldoc has no markdown of its own:
# lua-discount renders it.  Any LDoc warning fails the target.
docs: deps
	rm -rf $(BUILD)/docs
	ldoc --fatalwarnings -d $(BUILD)/docs .
	@echo "docs: $(BUILD)/docs/index.html"

# sspi.pc: for C hosts linking libsspi.a (pkg-config --cflags --libs sspi).
VERSION ?= scm
PCFILE   = $(BUILD)/sspi.pc

$(PCFILE): sspi.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' sspi.pc.in >$@

.PHONY: $(PCFILE) # PREFIX may differ from the last run

# Every file of the pure-Lua part, in whatever subdirectories it has.
LUA_FILES = $(shell cd lua && find . -name '*.lua' | sort)

install: all $(PCFILE)
	install -d $(DESTDIR)$(PREFIX)/lib/lua/$(LUA_VER)/sspi $(DESTDIR)$(PREFIX)/share/lua/$(LUA_VER)/sspi \
	  $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(MODULE) $(DESTDIR)$(PREFIX)/lib/lua/$(LUA_VER)/sspi/core.so
	for f in $(LUA_FILES); do install -D -m 0644 lua/$$f $(DESTDIR)$(PREFIX)/share/lua/$(LUA_VER)/$$f || exit 1; done
	install -m 0755 bin/sspi-token $(DESTDIR)$(PREFIX)/bin/sspi-token
	install -m 0644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/libsspi.a
	install -m 0644 csrc/sspi.h csrc/sspi_constants.h $(DESTDIR)$(PREFIX)/include/
	install -m 0644 $(PCFILE) $(DESTDIR)$(PREFIX)/lib/pkgconfig/sspi.pc

# LuaRocks (rockspec/sspi-scm-1.rockspec) passes its own directories.
install-rock: all
	install -d $(INST_LIBDIR)/sspi $(INST_LUADIR)/sspi $(INST_BINDIR)
	install -m 0755 $(MODULE) $(INST_LIBDIR)/sspi/core.so
	for f in $(LUA_FILES); do install -D -m 0644 lua/$$f $(INST_LUADIR)/$$f || exit 1; done
	if [ -f bin/sspi-token ]; then install -m 0755 bin/sspi-token $(INST_BINDIR)/sspi-token; fi

clean:
	rm -rf $(BUILD)

# --- Fuzzing (fuzz/, docs/fuzzing.md) -----------------------------------------
# One libFuzzer target per parser and network-fed state machine.  The core and
# providers are compiled again with the sanitizers and coverage (never the -O2
# objects), so every target sees ASan + UBSan in the code under test.
# `make fuzz FUZZ_SECONDS=N` runs each target N seconds (default 60) on a
# working corpus in $(BUILD)/fuzz/corpus/ seeded from fuzz/corpus/, prints
# executions per target, and fails when any target crashed (the input is
# kept in $(BUILD)/fuzz/artifacts/<target>/).  spec/95-fuzz_spec.lua runs
# each for a few seconds (`make test` builds them first); `make fuzz-build`
# only builds them.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS   = $(WARN) -D_POSIX_C_SOURCE=200809L -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
                $(PKG_CFLAGS) $(LUA_CFLAGS) -Icsrc -DSSPI_FUZZ_LUA_DIR='"$(CURDIR)/lua"'
FUZZ_TARGETS  = ntlm_negotiate ntlm_challenge ntlm_authenticate ntlm_accept ntlm_init \
                ntlm_unwrap spnego_decode negotiate_accept negotiate_init channel_bindings \
                token_lua schannel schannel_alpn envelope kdcproxy_lua
FUZZ_DIR      = $(BUILD)/fuzz
FUZZ_OBJ      = $(CORE_SRC:%.c=$(FUZZ_DIR)/obj/%.o) $(FUZZ_DIR)/obj/fuzz/fuzz_common.o
FUZZ_BIN      = $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)
# The targets of pure-Lua parsers also link the embedded Lua (fuzz/fuzz_lua.c)
# and the binding, preloaded as sspi.core (the Lua layer's base64 is the
# core's), so the C they reach is the fuzz build's, sanitized alike.
FUZZ_LUA_OBJ  = $(FUZZ_DIR)/obj/fuzz/fuzz_lua.o $(BINDING_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
$(FUZZ_DIR)/token_lua $(FUZZ_DIR)/kdcproxy_lua: $(FUZZ_LUA_OBJ)
# The Schannel targets share an in-memory TLS identity (fuzz/fuzz_tls.c).
FUZZ_TLS_OBJ  = $(FUZZ_DIR)/obj/fuzz/fuzz_tls.o
$(FUZZ_DIR)/schannel $(FUZZ_DIR)/schannel_alpn: $(FUZZ_TLS_OBJ)

$(FUZZ_DIR)/obj/%.o: %.c $(HEADERS) $(CONFIG)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/obj/fuzz/fuzz_common.o: fuzz/fuzz_common.h
$(FUZZ_DIR)/obj/fuzz/fuzz_lua.o: fuzz/fuzz_lua.h
$(FUZZ_TLS_OBJ): fuzz/fuzz_tls.h

$(FUZZ_BIN): $(FUZZ_DIR)/%: fuzz/fuzz_%.c $(FUZZ_OBJ) fuzz/fuzz_common.h fuzz/fuzz_lua.h fuzz/fuzz_tls.h
	@echo "  FUZZLD  $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) \
	  $(filter $(FUZZ_LUA_OBJ) $(FUZZ_TLS_OBJ),$^) \
	  $(LUA_LIBS) $(LIBS) -lm

.PHONY: fuzz-build
fuzz-build: $(FUZZ_BIN)

fuzz: deps fuzz-build
	sh fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

test: fuzz-build

# --- Negotiate provider: C unit test of its SPNEGO DER layer ------------------
# (owned by the Negotiate provider; built by `make test`, run by
# spec/40-negotiate_der_spec.lua)
NEGO_DER_TEST = $(BUILD)/spec/c/negotiate_der_test
NEGO_DER_SRC  = spec/c/negotiate_der_test.c csrc/providers/negotiate/spnego_der.c \
                csrc/providers/negotiate/spnego_token.c csrc/core/memory.c

$(NEGO_DER_TEST): $(NEGO_DER_SRC) $(HEADERS) $(CONFIG)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(NEGO_DER_SRC) $(LDFLAGS) $(LIBS)

.PHONY: negotiate-der-test
negotiate-der-test: $(NEGO_DER_TEST)
	$(NEGO_DER_TEST)

test: $(NEGO_DER_TEST)

# --- NTLM provider: C unit test of the MS-NLMP 4.2 values ---------------------
# (owned by the built-in NTLM provider; built by `make test`, run by
# spec/33-ntlm_vectors_spec.lua)
NTLM_VECTORS    = $(BUILD)/spec/c/ntlm_vectors
NTLM_TEST_DEPS  = $(NTLM_VECTORS)

$(NTLM_VECTORS): spec/c/ntlm_vectors.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ spec/c/ntlm_vectors.c $(STATIC) $(LDFLAGS) $(LIBS)

test: $(NTLM_TEST_DEPS)

# The module again with SSPI_NTLM_SEQ_LAST=3: each direction's sequence
# numbers end after four messages, so spec/34-ntlm_security_spec.lua reaches
# the end of the 32-bit space without 2^32 messages.  A test build only: the
# macro is never set for the shipped module.
NTLM_SEQWRAP = $(BUILD)/seqwrap/lua/sspi/core.so

$(NTLM_SEQWRAP): $(CORE_SRC) $(BINDING_SRC) $(HEADERS)
	$(MAKE) BUILD=$(BUILD)/seqwrap EXTRA_CFLAGS="$(EXTRA_CFLAGS) -DSSPI_NTLM_SEQ_LAST=3u" $@

test: $(NTLM_SEQWRAP)

# --- Hardening: sanitizers, valgrind, threads, load ---------------------------
# (owned by the hardening work; each target is run by .ci/run after `make test`)
#
# test-asan      the whole suite with everything C (module, static library,
#                host, sspi_testenv, the C unit tests) built with
#                -fsanitize=address,undefined into $(ASAN_BUILD).  lua5.4 is
#                not instrumented, so the ASan runtime is preloaded into it;
#                busted drops LD_PRELOAD before any spec runs, so curl, Apache,
#                gss-server and the KDC run as they are, and a `lua5.4` wrapper
#                first in PATH gives it back to Lua children (they load the
#                module).  The specs name build/... literally, so they run in a
#                shadow tree whose build/ is $(ASAN_BUILD).  Every process
#                writes its reports under $(ASAN_BUILD)/reports: any file there
#                fails the target, whatever the specs said.
# test-valgrind  the C-facing specs (binding, Kerberos, NTLM, Negotiate, host)
#                under memcheck: zero errors, nothing definitely lost.
# test-threads   spec/c/threads.c and the core, providers and binding built
#                with -fsanitize=thread (clang), run by spec/92-threads_spec.lua:
#                8 threads, each with its own lua_State, zero TSan reports.
# test-load      examples/http_server.lua under curl logins (spec/94-load_spec.lua).

# Sanitizer builds use $(SAN_CC): gcc by default (its libasan is what Debian's
# gcc ships), clang with CC=clang.
SAN_CC       ?= $(CC)
SAN_IS_CLANG := $(shell $(SAN_CC) --version 2>/dev/null | grep -qi clang && echo yes)
ASAN_BUILD    = build/asan$(if $(SAN_IS_CLANG),-clang)
ASAN_FLAGS    = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer $(if $(SAN_IS_CLANG),-shared-libasan)
ASAN_RUNTIME := $(shell $(SAN_CC) -print-file-name=$(if $(SAN_IS_CLANG),libclang_rt.asan-x86_64.so,libasan.so))

TSAN_CC      ?= clang
TSAN_BUILD    = $(BUILD)/tsan
TSAN_FLAGS    = -fsanitize=thread -fno-omit-frame-pointer
THREADS_TEST  = $(TSAN_BUILD)/spec/c/threads

.PHONY: test-asan test-valgrind test-threads test-load threads-test

# The thread test links the TSan-built static library (make re-enters with
# BUILD=$(TSAN_BUILD) to build it); Lua itself is the system's.
threads-test: deps
	$(MAKE) BUILD=$(TSAN_BUILD) CC=$(TSAN_CC) OPT="-O1 -g" EXTRA_CFLAGS="$(TSAN_FLAGS)" \
	  LDFLAGS="$(TSAN_FLAGS)" $(TSAN_BUILD)/libsspi.a $(TSAN_BUILD)/include/sspi.h
	@mkdir -p $(dir $(THREADS_TEST))
	$(TSAN_CC) $(WARN) -D_POSIX_C_SOURCE=200809L $(LUA_CFLAGS) -O1 -g $(TSAN_FLAGS) \
	  -o $(THREADS_TEST) spec/c/threads.c $(TSAN_BUILD)/libsspi.a $(LUA_LIBS) $(LIBS) -lm -ldl

test-threads: deps all $(TESTENV) threads-test
	$(BUSTED) -o utfTerminal spec/92-threads_spec.lua

test: threads-test

# ASan + UBSan over the whole suite (see the block comment above).
ASAN_TREE     = $(ASAN_BUILD)/tree
ASAN_REPORTS  = $(CURDIR)/$(ASAN_BUILD)/reports
ASAN_TOOLS    = $(CURDIR)/$(ASAN_BUILD)/bin
ASAN_SUPP     = $(CURDIR)/spec/valgrind/lsan.supp
# Every spec but the two that check packaging rather than our C code:
# luarocks builds its own (unsanitized) module in a temp tree, and the C host
# of spec 91 links the installed static library with a plain host's flags.
# `make test` runs both.
ASAN_SPECS   ?= $(filter-out spec/82-luarocks_spec.lua spec/91-install_spec.lua,$(sort $(wildcard spec/*_spec.lua)))
ASAN_MAKEVARS = CC="$(SAN_CC) $(ASAN_FLAGS)" OPT="-O1 -g" EXTRA_CFLAGS="$(ASAN_FLAGS)" \
                LDFLAGS="$(ASAN_FLAGS)"
ASAN_ENV      = ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:log_path=$(ASAN_REPORTS)/asan \
                LSAN_OPTIONS=suppressions=$(ASAN_SUPP):print_suppressions=0:fast_unwind_on_malloc=0 \
                UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(ASAN_REPORTS)/ubsan

test-asan: deps host-lua
	@test -f "$(ASAN_RUNTIME)" || { echo "test-asan: no ASan runtime for $(SAN_CC) ($(ASAN_RUNTIME));" \
	  "install libasan8 (gcc) or libclang-rt-14-dev (clang)" >&2; exit 1; }
	$(MAKE) BUILD=$(ASAN_BUILD) $(ASAN_MAKEVARS) all host $(ASAN_BUILD)/lua/sspi_testenv.so \
	  $(ASAN_BUILD)/spec/c/ntlm_vectors $(ASAN_BUILD)/spec/c/negotiate_der_test \
	  $(ASAN_BUILD)/seqwrap/lua/sspi/core.so $(ASAN_BUILD)/lua/sspi_toy.so install-stage fuzz-build
	$(MAKE) TSAN_BUILD=$(ASAN_BUILD)/tsan threads-test
	rm -rf $(ASAN_TREE) $(ASAN_REPORTS)
	mkdir -p $(ASAN_TREE) $(ASAN_REPORTS) $(ASAN_TOOLS)
	for f in $$(ls -A $(CURDIR)); do case $$f in build|.git) ;; *) ln -s $(CURDIR)/$$f $(ASAN_TREE)/$$f;; esac; done
	ln -s .. $(ASAN_TREE)/build
	printf '#!/bin/sh\n# lua5.4 with the ASan runtime preloaded (test-asan)\nLD_PRELOAD="$$SSPI_ASAN_RUNTIME" exec /usr/bin/lua5.4 "$$@"\n' \
	  >$(ASAN_TOOLS)/lua5.4
	chmod +x $(ASAN_TOOLS)/lua5.4
	cd $(ASAN_TREE) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $(ASAN_MAKEVARS) $(ASAN_ENV) \
	  PATH="$(ASAN_TOOLS):$$PATH" SSPI_ASAN_RUNTIME="$(ASAN_RUNTIME)" \
	  LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/spec/?.lua;;" \
	  LUA_CPATH="$(CURDIR)/$(ASAN_BUILD)/lua/?.so;;" SSPI_BUILD="$(CURDIR)/$(ASAN_BUILD)" \
	  lua5.4 -e 'require("sspi_testenv").setenv("LD_PRELOAD", nil)' /usr/bin/busted -o utfTerminal $(ASAN_SPECS); \
	  status=$$?; \
	  reports=$$(grep -l -e 'ERROR: ' -e 'runtime error:' -e 'SUMMARY: ' $(ASAN_REPORTS)/* 2>/dev/null | tr '\n' ' '); \
	  for r in $$(ls $(ASAN_REPORTS)); do case " $$reports" in *" $(ASAN_REPORTS)/$$r "*) ;; *) \
	    echo "test-asan: $$r holds a stack trace printed on request, not a report" \
	      "(a test program that crashes on purpose, such as the fuzz runner's self-test)";; esac; done; \
	  if [ -n "$$reports" ]; then \
	    for r in $$reports; do echo "=== $$r"; cat "$$r"; done; \
	    echo "test-asan: sanitizer reports above" >&2; exit 1; fi; \
	  [ $$status -eq 0 ] || { echo "test-asan: the suite failed (exit $$status)" >&2; exit 1; }
	@echo "test-asan: suite passed, no ASan/LSan/UBSan report"

# memcheck over the C-facing specs (not the ones that start servers under
# load); the C unit tests run under it directly, since valgrind does not follow
# the specs' shell children.  Of the hostile-input specs only the binding's
# is here: the Lua layer's feeds 64 MiB strings through pure Lua, which takes
# memcheck about 5 minutes for no C code that test-asan does not already cover.
VALGRIND        ?= valgrind
VALGRIND_SPECS  ?= $(sort $(wildcard spec/0*_spec.lua spec/2*_spec.lua spec/3*_spec.lua \
                   spec/4*_spec.lua spec/90-*_spec.lua spec/93-hostile_core_spec.lua))
VALGRIND_SUPP    = $(filter-out %/lsan.supp,$(wildcard spec/valgrind/*.supp))
VALGRIND_FLAGS   = -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
                   --show-leak-kinds=definite --num-callers=40 --track-origins=yes \
                   $(addprefix --suppressions=,$(VALGRIND_SUPP))

test-valgrind: deps all $(HOST) $(TESTENV) $(TOY) $(NTLM_VECTORS) $(NEGO_DER_TEST) $(NTLM_SEQWRAP)
	$(VALGRIND) $(VALGRIND_FLAGS) $(NTLM_VECTORS) spec/fixtures/ms-nlmp-4.2.json >/dev/null
	$(VALGRIND) $(VALGRIND_FLAGS) $(NEGO_DER_TEST) >/dev/null
	$(VALGRIND) $(VALGRIND_FLAGS) $(BUSTED) -o utfTerminal $(VALGRIND_SPECS)
	@echo "test-valgrind: no memcheck error, nothing definitely lost"

# 10,000 sequential and 100 concurrent curl logins against the example server
# (spec/94-load_spec.lua, also part of `make test`).
test-load: deps all $(TESTENV)
	$(BUSTED) -o utfTerminal spec/94-load_spec.lua

# The edit-test loop: the unit specs that need no peer (no KDC, no Apache, no
# curl), well under a minute.  `make test` stays the whole suite.
CHECK_SPECS ?= spec/00-constants_spec.lua spec/01-buffer_spec.lua spec/30-ntlm_builtin_spec.lua \
               spec/32-ntlm_negative_spec.lua spec/33-ntlm_vectors_spec.lua spec/34-ntlm_security_spec.lua \
               spec/40-negotiate_der_spec.lua spec/29-kdcproxy_message_spec.lua

# (at the end: its prerequisites are defined above it)
check: all $(TESTENV) $(NTLM_TEST_DEPS) $(NEGO_DER_TEST) $(NTLM_SEQWRAP)
	$(BUSTED) -o utfTerminal $(CHECK_SPECS)
