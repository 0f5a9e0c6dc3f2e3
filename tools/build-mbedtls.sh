#!/usr/bin/env bash
# Builds mbedTLS 3.6 from Debian 13's source package (tools/debsrc.sh) into a prefix outside the
# clone: the Connection ID clients (RFC 9146). Debian 12 has only mbedTLS 2.28, whose CID is the
# pre-RFC draft encoding. A plain library build of the upstream tree (no debian/rules, no tests,
# no programs) takes seconds; the prefix is keyed by version and this script, so a second run is
# a no-op.
# Usage: build-mbedtls.sh PREFIX VERSION [programs]
#   programs: also build mbedTLS's ssl_server2/ssl_client2 into PREFIX/bin (test peers only).
set -euo pipefail
prefix=$1 version=$2 programs=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
stamp="$prefix/.emse-built"
if [ -f "$stamp" ]; then
    echo "mbedTLS $version already built in $prefix"
    exit 0
fi
work=$(mktemp -d /tmp/emse-mbedtls.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$here/debsrc.sh" fetch "mbedtls=$version" "$work"
cd "$work/mbedtls"
cfg=include/mbedtls/mbedtls_config.h
# RFC 9146 Connection ID (not the draft encoding mbedTLS 2.28 uses) and the PSK suites emse offers.
# Both are on in 3.6's default config: set them anyway, and refuse a tree where they are not.
sed -i -e 's|^//[[:space:]]*#define MBEDTLS_SSL_DTLS_CONNECTION_ID$|#define MBEDTLS_SSL_DTLS_CONNECTION_ID|' \
       -e 's|^#define MBEDTLS_SSL_DTLS_CONNECTION_ID_COMPAT .*|#define MBEDTLS_SSL_DTLS_CONNECTION_ID_COMPAT 0|' "$cfg"
for want in '#define MBEDTLS_SSL_DTLS_CONNECTION_ID' '#define MBEDTLS_SSL_DTLS_CONNECTION_ID_COMPAT 0' \
            '#define MBEDTLS_KEY_EXCHANGE_PSK_ENABLED' '#define MBEDTLS_CCM_C' '#define MBEDTLS_GCM_C' \
            '#define MBEDTLS_SSL_PROTO_DTLS'; do
    grep -qx "$want" "$cfg" || { echo "build-mbedtls: '$want' not in $cfg: re-check the config" >&2; exit 1; }
done
make -j"$(nproc)" lib CFLAGS=-O2 > "$work/make.log" 2>&1 || { tail -60 "$work/make.log"; exit 1; }
mkdir -p "$prefix/lib"
cp -r include "$prefix/"
cp library/libmbedtls.a library/libmbedx509.a library/libmbedcrypto.a "$prefix/lib/"
if [ "$programs" = programs ]; then
    make -j"$(nproc)" -C programs ssl/ssl_server2 ssl/ssl_client2 CFLAGS=-O2 > "$work/make.log" 2>&1 \
        || { tail -60 "$work/make.log"; exit 1; }
    mkdir -p "$prefix/bin"
    cp programs/ssl/ssl_server2 programs/ssl/ssl_client2 "$prefix/bin/"
fi
echo "$version $programs" > "$stamp"
echo "mbedTLS $version built in $prefix"
