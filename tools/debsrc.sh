#!/usr/bin/env bash
# Source builds from Debian 13 (trixie) packages through a private apt configuration that follows
# the machine's own apt sources: the mirror (or proxy, or local mirror) the system already uses for
# its Debian main archive, with only the suite changed. No host name lives in the repository, so a
# server that can reach only its local mirror builds the same way as CI.
#
#   debsrc.sh list                  print the private sources.list (one deb-src line)
#   debsrc.sh fetch PKG=VER DIR     download and unpack that source package into DIR/PKG
#
# EMSE_APT_ROOT (default /etc/apt) is where the system's sources are read: tests point it at
# sample trees. EMSE_DEBSRC_SUITE (default trixie) is the suite put in place of the system's.
set -euo pipefail

apt_root=${EMSE_APT_ROOT:-/etc/apt}
suite=${EMSE_DEBSRC_SUITE:-trixie}

# The Debian suites a main-archive entry names (codenames and aliases). The security archive
# (*-security) and the updates/backports suites are not the main archive; neither are third-party
# repositories, whose suites are not Debian's (cloud-sdk-bookworm, nodistro, ...).
is_debian_suite() {
    case "$1" in
        buster|bullseye|bookworm|trixie|forky|duke|sid|stable|oldstable|oldoldstable|testing|unstable) return 0 ;;
        *) return 1 ;;
    esac
}

# One candidate per line: "URI<TAB>SIGNED_BY" (SIGNED_BY empty when none or an inline key).
# One-line format: deb [opt=val ...] URI SUITE COMPONENT...
candidates_oneline() {
    local f=$1 line type rest opts uri s comps signed
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%%#*}
        read -r type rest <<< "$line" || true
        [ "$type" = deb ] || [ "$type" = deb-src ] || continue
        opts=""
        if [[ $rest == \[* ]]; then
            opts=${rest%%]*}; opts=${opts#[}
            rest=${rest#*]}
        fi
        read -r uri s comps <<< "$rest" || true
        [ -n "${uri:-}" ] && [ -n "${s:-}" ] || continue
        is_debian_suite "$s" || continue
        [[ " $comps " == *" main "* ]] || continue
        signed=""
        for o in $opts; do
            case "$o" in signed-by=/*) signed=${o#signed-by=} ;; esac
        done
        printf '%s\t%s\n' "$uri" "$signed"
    done < "$f"
}

# deb822 format: stanzas separated by blank lines; continuation lines (leading space) belong to
# the field above (an inline Signed-By key) and are skipped.
candidates_deb822() {
    awk '
    function flush(   n, i, t, ok, s, sn, found) {
        if (uris != "" && enabled != "no") {
            ok = 0; n = split(types, t, /[ \t]+/)
            for (i = 1; i <= n; i++) if (t[i] == "deb" || t[i] == "deb-src") ok = 1
            if (ok && (" " comps " ") ~ / main /) {
                sn = split(suites, s, /[ \t]+/); found = 0
                for (i = 1; i <= sn; i++) if (s[i] ~ /^(buster|bullseye|bookworm|trixie|forky|duke|sid|stable|oldstable|oldoldstable|testing|unstable)$/) found = 1
                if (found) { split(uris, u, /[ \t]+/); printf "%s\t%s\n", u[1], signed }
            }
        }
        types = uris = suites = comps = signed = enabled = ""
    }
    /^[ \t]*#/ { next }
    /^[ \t]*$/ { flush(); next }
    /^[ \t]/ { next }
    {
        key = tolower($0); sub(/:.*/, "", key)
        val = $0; sub(/^[^:]*:[ \t]*/, "", val); sub(/[ \t]+$/, "", val)
        if (key == "types") types = val
        else if (key == "uris") uris = val
        else if (key == "suites") suites = val
        else if (key == "components") comps = val
        else if (key == "enabled") enabled = tolower(val)
        else if (key == "signed-by") signed = (val ~ /^\//) ? val : ""
    }
    END { flush() }' "$1"
}

pick() {
    local f
    {
        if [ -f "$apt_root/sources.list" ]; then candidates_oneline "$apt_root/sources.list"; fi
        for f in "$apt_root"/sources.list.d/*.list; do
            if [ -f "$f" ]; then candidates_oneline "$f"; fi
        done
        for f in "$apt_root"/sources.list.d/*.sources; do
            if [ -f "$f" ]; then candidates_deb822 "$f"; fi
        done
    } | awk -F'\t' '$1 !~ /-security\/?$/ && !done { print; done = 1 }'
}

list() {
    local c uri signed
    c=$(pick) || c=""
    if [ -z "$c" ]; then
        echo "debsrc: no Debian main archive entry (a deb line or deb822 stanza with a Debian suite and component main, not -security) in $apt_root/sources.list, $apt_root/sources.list.d/*.list or *.sources: cannot derive a $suite deb-src mirror" >&2
        return 1
    fi
    uri=${c%%$'\t'*}; signed=${c#*$'\t'}
    if [ -n "$signed" ]; then
        echo "deb-src [signed-by=$signed] $uri $suite main"
    else
        echo "deb-src $uri $suite main"
    fi
}

fetch() {
    local spec=$1 dest=$2 pkg=${1%%=*} work dsc
    work=$(mktemp -d /tmp/emse-debsrc.XXXXXX)
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT
    mkdir -p "$work/lists/partial" "$work/src"
    list > "$work/sources.list"
    local apt_opts=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
                    -o Dir::State::Lists="$work/lists" -o APT::Sandbox::User=root)
    apt-get "${apt_opts[@]}" update -qq
    (cd "$work/src" && apt-get "${apt_opts[@]}" source --download-only -qq "$spec")
    dsc=$(ls "$work"/src/"${pkg}"_*.dsc)
    mkdir -p "$dest"
    dpkg-source -x "$dsc" "$dest/$pkg" >/dev/null 2>&1
}

case "${1:-}" in
    list) list ;;
    fetch) [ $# -eq 3 ] || { echo "usage: debsrc.sh fetch PKG=VERSION DIR" >&2; exit 2; }; fetch "$2" "$3" ;;
    *) echo "usage: debsrc.sh list | fetch PKG=VERSION DIR" >&2; exit 2 ;;
esac
