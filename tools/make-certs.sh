#!/usr/bin/env bash
# make-certs.sh DIR [EMSE_ID ...]: a local CA and the certificates of the EMKS API (EC P-256):
#   DIR/ca.pem, ca.key                 the CA every party trusts
#   DIR/emks.pem, emks.key             EMKS server: SAN IP:127.0.0.1, IP:::1, DNS:localhost
#   DIR/hss.pem, hss.key               the HSS client: subject CN=hss
#   DIR/emse/<EMSE_Id>.pem, .key       each EMSE client: subject OU=emse, CN=<EMSE_Id>
# EMSE_Ids default to emse-1 emse-2. Idempotent: a certificate whose files exist is kept.
set -euo pipefail
umask 077
if [ $# -lt 1 ]; then
  echo "usage: $0 DIR [EMSE_ID ...]" >&2
  exit 2
fi
dir=$1; shift
emse_ids=("$@")
[ ${#emse_ids[@]} -gt 0 ] || emse_ids=(emse-1 emse-2)
mkdir -p "$dir/emse"
days=3650

# genkey NAME: a P-256 key unless it exists.
genkey() {
  [ -e "$1" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

if [ ! -e "$dir/ca.pem" ]; then
  genkey "$dir/ca.key"
  openssl req -new -x509 -key "$dir/ca.key" -out "$dir/ca.pem" -days $days -sha256 \
    -subj "/O=emse test/CN=emse test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  echo "make-certs: CA $dir/ca.pem"
fi

# issue BASE SUBJECT EXTENSIONS: BASE.key + BASE.pem signed by the CA unless BASE.pem exists.
issue() {
  local base=$1 subj=$2 ext=$3
  [ -e "$base.pem" ] && return 0
  genkey "$base.key"
  local extfile
  extfile=$(mktemp)
  printf '%s\n' "$ext" >"$extfile"
  openssl req -new -key "$base.key" -subj "$subj" 2>/dev/null |
    openssl x509 -req -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
      -days $days -sha256 -extfile "$extfile" -out "$base.pem" 2>/dev/null
  rm -f "$extfile"
  echo "make-certs: $base.pem ($subj)"
}

issue "$dir/emks" "/O=emse test/CN=emks" \
"basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"

client_ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

issue "$dir/hss" "/O=emse test/CN=hss" "$client_ext"

for id in "${emse_ids[@]}"; do
  # The id is a file name and part of an openssl -subj string: keep to a safe alphabet.
  if ! [[ $id =~ ^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$ ]]; then
    echo "make-certs: EMSE_Id '$id': use 1..64 of A-Z a-z 0-9 . _ : @ - (not starting with a symbol)" >&2
    exit 2
  fi
  issue "$dir/emse/$id" "/O=emse test/OU=emse/CN=$id" "$client_ext"
done
