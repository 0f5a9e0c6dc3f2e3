# emse: kernel-bypass DTLS terminator for 3GPP e2m security.
#   make deps   (root) Debian packages + wolfSSL 5.7.2 and mbedTLS 3.6 built from Debian 13's source
#               packages (tools/debsrc.sh: the system's own apt mirror, suite trixie)
#   make        everything, -Wall -Wextra -Werror
#   make test   unit tests, the same under ASan+UBSan, fuzz smoke runs, end-to-end tests
#   make run    emse on a TAP port with the reference EMKS, see README

SHELL := /bin/bash
CC := gcc
BUILD := build

# ---- wolfSSL: one prefix per (version, flags), outside the clone -------------------------------
WOLFSSL_VERSION := 5.7.2-0.1+deb13u2
WOLFSSL_CONF := --enable-static --disable-shared --disable-examples --disable-crypttests \
  --disable-benchmark --enable-dtls --enable-dtls13 --enable-dtlscid --enable-psk --enable-aesccm \
  --enable-aesni --enable-intelasm --enable-sp --enable-sp-asm --enable-curve25519 \
  --enable-sessionexport --enable-opensslextra --disable-hashdrbg
# WOLFSSL_STATIC_PSK: the plain PSK suites have no configure switch.
# CUSTOM_RAND_GENERATE_BLOCK: wolfSSL draws from our per-worker CSPRNG (crypto/rng.c) instead of
# opening /dev/urandom per object; it also makes pcap replays deterministic under a seed.
# WOLFSSL_DTLS_DROP_STATS: counts records DTLS drops silently; a wrong PSK shows as one (worker_hs.c).
WOLFSSL_CPPFLAGS := -DWOLFSSL_STATIC_PSK -DCUSTOM_RAND_GENERATE_BLOCK=emse_rand_block -DWOLFSSL_DTLS_DROP_STATS
# The build script is part of the key: a change to it (e.g. a fix applied to the source) rebuilds;
# its comment lines are not (SCRIPT_CODE), so that a comment edit costs no rebuild.
# tools/debsrc.sh is not: where the source package comes from does not change what is built.
SCRIPT_CODE = grep -Ev '^[[:space:]]*\#( |$$)' $(1)
WOLFSSL_KEY := $(shell (printf '%s|%s|%s' '$(WOLFSSL_VERSION)' '$(WOLFSSL_CONF)' '$(WOLFSSL_CPPFLAGS)'; $(call SCRIPT_CODE,tools/build-wolfssl.sh)) | sha256sum | cut -c1-12)
WOLFSSL_CACHE ?= /var/cache/emse
WOLFSSL_PREFIX ?= $(WOLFSSL_CACHE)/wolfssl-5.7.2-$(WOLFSSL_KEY)

# ---- mbedTLS 3.6: the RFC 9146 Connection ID client (build/cid-client), same cache and keying -----
MBEDTLS_VERSION := 3.6.6-0.1~deb13u1
MBEDTLS_KEY := $(shell (printf '%s|' '$(MBEDTLS_VERSION)'; $(call SCRIPT_CODE,tools/build-mbedtls.sh)) | sha256sum | cut -c1-12)
MBEDTLS_PREFIX ?= $(WOLFSSL_CACHE)/mbedtls-3.6-$(MBEDTLS_KEY)

DPDK_CFLAGS := $(shell pkg-config --cflags libdpdk 2>/dev/null)
DPDK_LIBS := $(shell pkg-config --libs libdpdk 2>/dev/null)

CPPFLAGS := -D_GNU_SOURCE -Iinclude -I$(WOLFSSL_PREFIX)/include $(DPDK_CFLAGS)
CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -MMD -MP -fno-strict-aliasing
SANFLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# wolfSSL calls back into crypto/rng.c: the archives and wolfSSL are linked as one group.
WOLFSSL_LIB := $(WOLFSSL_PREFIX)/lib/libwolfssl.a
LDLIBS := $(DPDK_LIBS) -lcurl -lnghttp2 -levent -levent_openssl \
  -lsqlite3 -ljansson -lpcap -lssl -lcrypto -lpthread -lm

# ---- components: each directory is one static archive --------------------------------------------
# A program's main lives in its own file (listed below) and is left out of the archives.
MAINS := dataplane/main.c tools/e2m_keytool.c control/emks/main.c control/hss/main.c \
  bench/crypto_bench.c bench/gen/main.c bench/peers/wolfssl_server.c bench/floor.c bench/inproc.c
# dataplane/ is three layers, one archive each: net/ (L2-L4, no DPDK ports or workers), dtls/ (the
# DTLS 1.2 protocol, record layer, AEADs, wolfSSL glue; no workers), and dataplane/ itself (the
# worker, sessions, config, telemetry, persistence, cluster) on top of both.
COMPONENTS := crypto net dtls dataplane control emks bench
SRC_crypto := $(wildcard crypto/*.c)
SRC_net := $(wildcard dataplane/net/*.c)
SRC_dtls := $(wildcard dataplane/dtls/*.c)
SRC_dataplane := $(filter-out $(MAINS),$(wildcard dataplane/*.c))
SRC_control := $(filter-out $(MAINS),$(wildcard control/*.c))
SRC_emks := $(filter-out $(MAINS),$(wildcard control/emks/*.c control/hss/*.c))
SRC_bench := $(filter-out $(MAINS),$(wildcard bench/gen/*.c))

# Link order: a component lists itself, then what it uses.
USES_crypto := crypto
USES_net := net
USES_dtls := dtls net crypto
USES_control := control crypto
USES_emks := emks crypto
USES_dataplane := dataplane dtls net control crypto
# the load generator reuses only the protocol and network layers
USES_bench := bench dtls net crypto

# program = main source : components
PROGRAMS := emse:dataplane/main.c:dataplane \
  e2m-keytool:tools/e2m_keytool.c:crypto \
  emks:control/emks/main.c:emks \
  emks-hss:control/hss/main.c:emks \
  crypto-bench:bench/crypto_bench.c:crypto \
  emse-bench:bench/gen/main.c:bench \
  peer-wolfssl-server:bench/peers/wolfssl_server.c:bench \
  bench-floor:bench/floor.c:dataplane \
  bench-inproc:bench/inproc.c:dataplane \
  dtls-probe:tools/dtls_probe.c:crypto \
  bench-record:bench/record_bench.c:dataplane \
  bench-cluster:bench/cluster_bench.c:dataplane \
  proxy-v2-sink:tools/proxy_v2_sink.c:crypto \
  pcap-craft:tools/pcap_craft.c:crypto \
  cid-probe:tools/cid_probe.c:dataplane

# Only programs whose main exists yet are built, so the tree builds while it grows.
prog_name = $(word 1,$(subst :, ,$(1)))
prog_main = $(word 2,$(subst :, ,$(1)))
prog_comp = $(word 3,$(subst :, ,$(1)))
LIVE_PROGRAMS := $(foreach p,$(PROGRAMS),$(if $(wildcard $(call prog_main,$(p))),$(p)))

# Tests mirror the tree: tests/<component>/test_*.c, one binary each, linked with the component
# (tests/dataplane/net/ and dtls/ with the whole dataplane, for their in-process workers).
TEST_SRCS := $(wildcard tests/crypto/test_*.c tests/dataplane/test_*.c tests/dataplane/*/test_*.c tests/control/test_*.c tests/emks/test_*.c tests/bench/test_*.c)
test_comp = $(word 2,$(subst /, ,$(1)))

all: $(foreach p,$(LIVE_PROGRAMS),$(BUILD)/$(call prog_name,$(p))) $(BUILD)/asan/emse \
     $(patsubst %.c,$(BUILD)/%,$(TEST_SRCS)) \
     $(patsubst %.c,$(BUILD)/asan/%,$(TEST_SRCS))

# ---- rules for one flavour (plain in build/, sanitized in build/asan/) --------------------------
# A test's archives depend on its stem ($*), known only at the second expansion.
.SECONDEXPANSION:
# $(1) = output dir, $(2) = extra flags
define FLAVOUR
$(1)/obj/%.o: %.c $(WOLFSSL_PREFIX)/.emse-built
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) $$(CFLAGS) $(2) -c $$< -o $$@

$(foreach c,$(COMPONENTS),
$(1)/lib$(c).a: $$(patsubst %.c,$(1)/obj/%.o,$$(SRC_$(c)))
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
)

$(1)/tests/%: $(1)/obj/tests/%.o $$$$(foreach c,$$$$(USES_$$$$(call test_comp,tests/$$$$*)),$(1)/lib$$$$(c).a)
	@mkdir -p $$(@D)
	$$(CC) $(2) -o $$@ -Wl,--start-group $$^ $$(WOLFSSL_LIB) -Wl,--end-group -lcmocka $$(LDLIBS)
endef
$(eval $(call FLAVOUR,$(BUILD),))
$(eval $(call FLAVOUR,$(BUILD)/asan,$(SANFLAGS)))

# $(1) = program spec, $(2) = output dir, $(3) = extra flags
define PROGRAM
$(2)/$(call prog_name,$(1)): $(2)/obj/$(patsubst %.c,%.o,$(call prog_main,$(1))) $(foreach c,$(USES_$(call prog_comp,$(1))),$(2)/lib$(c).a)
	$$(CC) $(3) -o $$@ -Wl,--start-group $$^ $$(WOLFSSL_LIB) -Wl,--end-group $$(LDLIBS)
endef
$(foreach p,$(LIVE_PROGRAMS),$(eval $(call PROGRAM,$(p),$(BUILD),)))
# emse itself also under ASan+UBSan, for the end-to-end tests.
$(eval $(call PROGRAM,emse:dataplane/main.c:dataplane,$(BUILD)/asan,$(SANFLAGS)))

# The Connection ID client and its independent echo peer, on mbedTLS 3.6: built only where
# 'make deps' has built mbedTLS.
ifneq ($(wildcard $(MBEDTLS_PREFIX)/.emse-built),)
all: $(BUILD)/cid-client $(BUILD)/cid-echo-server
$(BUILD)/cid-client $(BUILD)/cid-echo-server: $(BUILD)/cid-%: tools/cid_$$(subst -,_,$$*).c $(MBEDTLS_PREFIX)/.emse-built
	@mkdir -p $(@D)
	$(CC) -D_GNU_SOURCE -I$(MBEDTLS_PREFIX)/include $(CFLAGS) -o $@ $< \
	  $(MBEDTLS_PREFIX)/lib/libmbedtls.a $(MBEDTLS_PREFIX)/lib/libmbedx509.a $(MBEDTLS_PREFIX)/lib/libmbedcrypto.a
endif

$(WOLFSSL_PREFIX)/.emse-built:
	@echo "wolfSSL is not built in $(WOLFSSL_PREFIX): run 'make deps' (as root) first" >&2; exit 1

# ---- set-up ----------------------------------------------------------------------------------------
deps:
	tools/install-deps.sh
	tools/build-wolfssl.sh '$(WOLFSSL_PREFIX)' '$(WOLFSSL_VERSION)' '$(WOLFSSL_CONF)' '$(WOLFSSL_CPPFLAGS)'
	tools/build-mbedtls.sh '$(MBEDTLS_PREFIX)' '$(MBEDTLS_VERSION)'

# ---- tests -----------------------------------------------------------------------------------------
UNIT_TESTS := $(patsubst %.c,$(BUILD)/%,$(TEST_SRCS))
ASAN_TESTS := $(patsubst %.c,$(BUILD)/asan/%,$(TEST_SRCS))

test: all
	tests/run-unit.sh $(UNIT_TESTS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 tests/run-unit.sh $(ASAN_TESTS)
	$(MAKE) fuzz-smoke
	tests/tools/test_debsrc.sh
	$(MAKE) ct
	tests/run-e2e.sh

test-unit: all
	tests/run-unit.sh $(UNIT_TESTS)

certs:
	tools/make-certs.sh $(BUILD)/certs

run: all certs
	tools/run-default.sh

bench-crypto: all
	$(BUILD)/crypto-bench

# Benchmarks (root; memif between emse and the generator; numbers into build/bench/, see
# docs/bench.md). BENCH_ARGS go to the generator.
bench-memif: all
	bench/run-memif.sh --duration 10 --concurrency 64 $(BENCH_ARGS)
bench-sweep: all
	CONCS="1 4 16 64 256" DURATION=3 bench/run-sweep.sh
bench-sessions: all
	bench/run-sessions.sh $(or $(SESSIONS),1000000)
bench-records: all
	bench/run-sessions.sh records gcm 10
bench-all: all
	bench/run-all.sh

clean:
	rm -rf $(BUILD)

.PHONY: all deps test test-unit certs run bench-crypto bench-memif bench-sweep bench-sessions \
  bench-records bench-all clean
.SECONDARY:
.DELETE_ON_ERROR:
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ==== fuzzing: libFuzzer harnesses, clang, separate from the gcc flavours =========================
#   make fuzz           each harness for FUZZ_SECONDS (default 60)
#   make fuzz-smoke     each for FUZZ_SMOKE_SECONDS (default 10); part of `make test`
# Every tests/fuzz/fuzz_<name>.c becomes build/fuzz/fuzz_<name>. It links the clang-built
# archives listed in FUZZ_USES_<name> (default: the pure dataplane parsers and crypto), e.g. a
# harness for the EMKS client parser adds `FUZZ_USES_emks_response := control crypto` next to
# FUZZ_USES_identity (before the rules are generated),
# and FUZZ_LDLIBS_<name> for extra libraries. Seeds live in tests/fuzz/corpus/<name>/.
FUZZ_CC := clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -O1 -g -Wall -Wextra -MMD -MP -fno-strict-aliasing \
  -fsanitize=fuzzer-no-link $(FUZZ_SAN)
FUZZ_LDLIBS := $(WOLFSSL_PREFIX)/lib/libwolfssl.a -lssl -lcrypto -lpthread -lm
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))
# archives: only the DPDK-free parts of the tree
FUZZ_LIBS := parsers crypto control
FUZZ_SRC_parsers := dataplane/net/net.c dataplane/dtls/dtls_peek.c dataplane/dtls/cookie.c \
  dataplane/dtls/hmac256.c dataplane/dtls/aescmac.c dataplane/cluster.c
FUZZ_SRC_crypto := $(SRC_crypto)
FUZZ_SRC_control := $(SRC_control)
# the compact record layer (tests/fuzz/fuzz_record.c)
FUZZ_LIBS += record
FUZZ_SRC_record := dataplane/dtls/record.c dataplane/dtls/aesgcm.c dataplane/dtls/aesccm.c
FUZZ_USES_default := parsers crypto
FUZZ_USES_identity := crypto
FUZZ_USES_record := record crypto
# AES-GCM and AES-CCM-8 against wolfCrypt's (tests/fuzz/fuzz_aesgcm.c, fuzz_aesccm.c)
FUZZ_USES_aesgcm := record crypto
FUZZ_USES_aesccm := record crypto
# AES-128-CMAC (the cluster envelope's MAC) against OpenSSL's (tests/fuzz/fuzz_aescmac.c): in
# parsers, with cluster.c, so fuzz_aescmac takes the default archives
# the native handshake engine (tests/fuzz/fuzz_hs12.c)
FUZZ_LIBS += hs12
FUZZ_SRC_hs12 := dataplane/dtls/hs12.c
FUZZ_USES_hs12 := hs12 record parsers crypto
# the session file's entries (tests/fuzz/fuzz_persist_entry.c)
FUZZ_LIBS += persist
FUZZ_SRC_persist := dataplane/persist_file.c
FUZZ_USES_persist_entry := persist cid crypto
# emse-bench's own client handshake and tls12_cid records (tests/fuzz/fuzz_hs_client.c)
FUZZ_LIBS += genhs
FUZZ_SRC_genhs := bench/gen/hs_client.c bench/gen/record.c
FUZZ_USES_hs_client := genhs record parsers crypto
# our RFC 9146 Connection IDs (tests/fuzz/fuzz_cid.c)
FUZZ_LIBS += cid
FUZZ_SRC_cid := dataplane/dtls/cid.c
FUZZ_USES_cid := cid crypto
# the EMSE's parser of EMKS answers (tests/fuzz/fuzz_emks_response.c)
FUZZ_USES_emks_response := control crypto
FUZZ_LDLIBS_emks_response := -ljansson
# the EMSE's application identity -> IMSI table (tests/fuzz/fuzz_imsi_map.c)
FUZZ_USES_imsi_map := control crypto
# the differential fuzzers (issue 17): hs12.c against the wolfSSL engine (dataplane/dtls/dtls.c),
# record.c against wolfSSL's own record layer
FUZZ_LIBS += wolfglue
FUZZ_SRC_wolfglue := dataplane/dtls/dtls.c dataplane/dtls_conn.c
FUZZ_USES_hs12_diff := hs12 wolfglue record parsers crypto
FUZZ_USES_record_diff := record crypto
fuzz_uses = $(or $(FUZZ_USES_$(1)),$(FUZZ_USES_default))

# Others' sources are -Werror-checked by the gcc build; clang's extra warnings must not stop a
# fuzz run, so -Werror applies to the harnesses only.
$(BUILD)/fuzz/obj/tests/fuzz/%.o: tests/fuzz/%.c $(WOLFSSL_PREFIX)/.emse-built
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -Werror -c $< -o $@
$(BUILD)/fuzz/obj/%.o: %.c $(WOLFSSL_PREFIX)/.emse-built
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -c $< -o $@

define FUZZ_LIB
$(BUILD)/fuzz/lib$(1).a: $$(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$$(FUZZ_SRC_$(1)))
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach l,$(FUZZ_LIBS),$(eval $(call FUZZ_LIB,$(l))))

# --start-group: wolfSSL calls back into crypto/rng.c (emse_rand_block), so archive order alone
# cannot resolve everything.
define FUZZ_HARNESS
$(BUILD)/fuzz/fuzz_$(1): $(BUILD)/fuzz/obj/tests/fuzz/fuzz_$(1).o $(foreach l,$(call fuzz_uses,$(1)),$(BUILD)/fuzz/lib$(l).a)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $$@ $$< -Wl,--start-group \
	  $(foreach l,$(call fuzz_uses,$(1)),$(BUILD)/fuzz/lib$(l).a) $(FUZZ_LDLIBS) $(FUZZ_LDLIBS_$(1)) -Wl,--end-group
endef
$(foreach n,$(FUZZ_NAMES),$(eval $(call FUZZ_HARNESS,$(n))))

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

fuzz-smoke: $(FUZZ_BINS)
	tests/fuzz/run.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_BINS)

.PHONY: fuzz fuzz-build fuzz-smoke

# ==== constant time (issue 17): tests/ct/, Valgrind memcheck with the secrets marked undefined =====
#   make ct     the protocol code built with EMSE_CT_VALGRIND (include/emse/dtls/ct.h), run by
#               tests/ct/run.sh: clean on the checks, and the negative control must be reported
CT_SRC := $(addprefix dataplane/dtls/,hs12.c record.c aesgcm.c aesccm.c cookie.c hmac256.c \
  dtls_peek.c aescmac.c) dataplane/cluster.c tests/ct/ct_check.c
$(BUILD)/ct/obj/%.o: %.c $(WOLFSSL_PREFIX)/.emse-built
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -DEMSE_CT_VALGRIND -c $< -o $@
$(BUILD)/ct/ct_check: $(patsubst %.c,$(BUILD)/ct/obj/%.o,$(CT_SRC)) $(BUILD)/libcrypto.a
	$(CC) -o $@ -Wl,--start-group $^ $(WOLFSSL_LIB) -Wl,--end-group -lssl -lcrypto -lpthread -lm
ct: $(BUILD)/ct/ct_check
	tests/ct/run.sh $<
.PHONY: ct


# ==== state-machine conformance (issue 17): tests/dataplane/dtls/test_conformance.c ===============
# Part of the unit tests (plain and ASan); this runs it alone, pairs and deviations printed.
conformance: $(BUILD)/tests/dataplane/dtls/test_conformance $(BUILD)/asan/tests/dataplane/dtls/test_conformance
	tests/run-unit.sh $^
.PHONY: conformance
