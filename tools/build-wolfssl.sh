#!/usr/bin/env bash
# Builds wolfSSL from Debian 13's source package into a prefix outside the clone.
# Why not Debian 12's libwolfssl-dev 5.5.4: no PSK-AES128-GCM/CCM-8 suites, no DTLS 1.3, no AES-NI
# (see README). The prefix is keyed by version and flags, so a second run is a no-op.
# Usage: build-wolfssl.sh PREFIX VERSION "CONFIGURE FLAGS" "CPPFLAGS"
set -euo pipefail
prefix=$1 version=$2 conf=$3 cppflags=$4
stamp="$prefix/.emse-built"
if [ -f "$stamp" ]; then
    echo "wolfSSL $version already built in $prefix"
    exit 0
fi
work=$(mktemp -d /tmp/emse-wolfssl.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The source package through a private apt list that follows the system's mirror (tools/debsrc.sh).
"$(dirname "$0")/debsrc.sh" fetch "wolfssl=$version" "$work"
# Fix of a use-after-free in 5.7.2's wolfSSL_clear: it frees the TLS extensions but leaves
# ssl->secure_renegotiation pointing into them, so a reused object reads freed memory when the
# next client sends renegotiation_info (GnuTLS does): sporadic SECURE_RENEGOTIATION_E alerts and
# crashes. tests/dataplane/dtls/test_dtls_pool.c (renegotiation_info clients) proves the fix.
fix='        ssl->extensions = NULL;\n        ssl->secure_renegotiation = NULL; /* emse: dangling after TLSX_FreeAll */'
awk -v fix="$fix" 'BEGIN { n = 0 }
	/^    int wolfSSL_clear\(WOLFSSL\* ssl\)/ { inclear = 1 }
	inclear && /^        ssl->extensions = NULL;$/ && !n { gsub(/\\n/, "\n", fix); print fix; n = 1; inclear = 0; next }
	{ print }
	END { if (!n) exit 1 }' "$work/wolfssl/src/ssl.c" > "$work/ssl.c.fixed" \
	|| { echo "build-wolfssl: the wolfSSL_clear fix no longer applies: re-check it" >&2; exit 1; }
mv "$work/ssl.c.fixed" "$work/wolfssl/src/ssl.c"
grep -q "emse: dangling after TLSX_FreeAll" "$work/wolfssl/src/ssl.c"
mkdir -p "$prefix"
# CUSTOM_RAND_GENERATE_BLOCK wants a visible prototype inside random.c: keep it in the prefix.
cat > "$prefix/emse_rand_proto.h" <<'H'
#ifndef __ASSEMBLER__
int emse_rand_block(unsigned char *out, unsigned int sz);
#endif
H
cd "$work/wolfssl"
[ -x configure ] || ./autogen.sh >/dev/null
# shellcheck disable=SC2086
CPPFLAGS="$cppflags -include $prefix/emse_rand_proto.h" ./configure --prefix="$prefix" $conf > "$work/configure.log" 2>&1 \
    || { tail -40 "$work/configure.log"; exit 1; }
make -j"$(nproc)" > "$work/make.log" 2>&1 || { tail -60 "$work/make.log"; exit 1; }
make install > /dev/null
echo "$version $conf $cppflags" > "$stamp"
echo "wolfSSL $version built in $prefix"
