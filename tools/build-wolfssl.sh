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
mkdir -p "$work/lists/partial" "$work/src"
# A private deb-src list: the system's apt sources stay untouched.
echo "deb-src http://deb.debian.org/debian trixie main" > "$work/sources.list"
apt_opts=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o Dir::State::Lists="$work/lists" -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" update -qq
(cd "$work/src" && apt-get "${apt_opts[@]}" source --download-only -qq "wolfssl=$version")
dsc=$(ls "$work"/src/wolfssl_*.dsc)
dpkg-source -x "$dsc" "$work/wolfssl" >/dev/null 2>&1
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
