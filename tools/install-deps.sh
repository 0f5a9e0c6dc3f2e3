#!/usr/bin/env bash
# Installs the Debian 12 packages emse needs (the source builds from Debian 13 follow in
# build-wolfssl.sh and build-mbedtls.sh, through debsrc.sh). Idempotent: when everything is already installed it
# asks no registry and returns in well under a second.
set -euo pipefail
pkgs=(
  build-essential pkg-config clang libclang-rt-14-dev   # gcc for the product, clang for libFuzzer
  libdpdk-dev dpdk                                      # the dataplane, testpmd for checks
  libssl-dev openssl                                    # libcrypto: KDF, Milenage; openssl CLI: CA, s_client
  libcmocka-dev                                         # unit tests
  valgrind                                              # make ct: memcheck, valgrind/memcheck.h
  autoconf automake libtool dpkg-dev                    # building wolfSSL from its source package
  libcurl4-openssl-dev                                  # EMKS client: HTTP/2 multi interface
  libnghttp2-dev libevent-dev                           # reference EMKS server: HTTP/2 over TLS
  libsqlite3-dev                                        # reference EMKS store (WAL)
  libjansson-dev                                        # JSON: EMKS API bodies, test vectors
  libpcap-dev                                           # pcap tools and net_pcap replay checks
  gnutls-bin libcoap3-bin                               # interop clients: gnutls-cli, coap-client
  iproute2 iputils-ping procps jq gnuplot-nox           # namespaces, tests, bench plots
  tcpdump                                               # capturing test traffic for pcap replay
  nftables conntrack python3                            # e2e: a carrier NAT that rebinds (CID); tools/lb: the balancer, its controller
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} Debian packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages (${missing[*]}); run 'make deps' as root" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
