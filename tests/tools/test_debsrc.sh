#!/usr/bin/env bash
# tools/debsrc.sh against sample apt configurations: the private deb-src line follows the system's
# Debian main archive (its mirror, its keyring), never the security archive or a third-party
# repository, and a configuration without one is refused with a message naming what was missing.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
debsrc="$here/tools/debsrc.sh"
tmp=$(mktemp -d /tmp/emse-test-debsrc.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# check NAME EXPECTED: EXPECTED is the exact line, or "error" for a refusal.
check() {
    local name=$1 want=$2 got rc
    got=$(EMSE_APT_ROOT="$tmp/$name" "$debsrc" list 2>"$tmp/$name.err"); rc=$?
    if [ "$want" = error ]; then
        if [ $rc -ne 0 ] && [ -z "$got" ] && grep -q "no Debian main archive entry" "$tmp/$name.err"; then
            passed=$((passed + 1)); echo "ok   $name: refused"
        else
            failed=$((failed + 1)); echo "FAIL $name: want a refusal, got rc=$rc '$got'"
        fi
    elif [ $rc -eq 0 ] && [ "$got" = "$want" ]; then
        passed=$((passed + 1)); echo "ok   $name"
    else
        failed=$((failed + 1)); echo "FAIL $name: want '$want', got rc=$rc '$got' ($(cat "$tmp/$name.err"))"
    fi
}
mk() { mkdir -p "$tmp/$1/sources.list.d"; }

# Debian 12's default: deb822 with the security stanza after the main one.
mk deb822
cat > "$tmp/deb822/sources.list.d/debian.sources" <<'S'
Types: deb
URIs: http://mirror.example.net/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example.net/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
S
check deb822 "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example.net/debian trixie main"

# Security first, a disabled stanza, lower-case keys, an inline key, several URIs: the first usable
# enabled main-archive stanza wins, and an inline Signed-By is not carried over.
mk deb822-order
cat > "$tmp/deb822-order/sources.list.d/a.sources" <<'S'
# a comment
Types: deb deb-src
URIs: http://proxy.example.org:3142/debian-security
Suites: bookworm-security
Components: main contrib

Enabled: no
Types: deb
URIs: http://disabled.example.org/debian
Suites: bookworm
Components: main

types: deb
uris: https://local.example.org/debian https://other.example.org/debian
suites: bookworm
components: contrib main non-free-firmware
signed-by:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 xsBNBGPL
 -----END PGP PUBLIC KEY BLOCK-----
S
check deb822-order "deb-src https://local.example.org/debian trixie main"

# One-line format with options, comments and a third-party list beside it.
mk oneline
cat > "$tmp/oneline/sources.list" <<'S'
# deb http://commented.example.org/debian bookworm main
deb http://security.example.org/debian-security bookworm-security main
deb [arch=amd64 signed-by=/etc/apt/keyrings/local.gpg] http://apt-cacher.example.org:3142/debian bookworm main contrib
S
cat > "$tmp/oneline/sources.list.d/vendor.list" <<'S'
deb https://packages.example.com/apt cloud-sdk-bookworm main
S
check oneline "deb-src [signed-by=/etc/apt/keyrings/local.gpg] http://apt-cacher.example.org:3142/debian trixie main"

# Only *.list in sources.list.d, a deb-src entry and the 'stable' alias.
mk listd
echo "deb-src http://ftp.example.de/debian/ stable main" > "$tmp/listd/sources.list.d/debian.list"
check listd "deb-src http://ftp.example.de/debian/ trixie main"

# Nothing usable: only security, a third-party suite, a non-main component, a disabled file name.
mk none
cat > "$tmp/none/sources.list.d/x.sources" <<'S'
Types: deb
URIs: http://deb.example.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: https://vendor.example.com/node
Suites: nodistro
Components: main

Types: deb
URIs: http://deb.example.org/debian
Suites: bookworm
Components: contrib
S
echo "deb http://deb.example.org/debian bookworm main" > "$tmp/none/sources.list.d/old.list.disabled"
check none error
mk empty
check empty error

echo "debsrc: $passed passed, $failed failed"
[ $failed -eq 0 ]
