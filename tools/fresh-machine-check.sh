#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs the README's two Quick start command lines on a freshly made, minimal
# Debian 12 system, the way a new user (and CI on a new machine) would:
#
#   1. builds a root with mmdebstrap --variant=minbase (nothing else installed);
#   2. copies in this working tree (tracked and untracked files git does not
#      ignore: no build folders, no .deps/, no .cache/) and ../shared beside it,
#      read-only as CI lays it;
#   3. copies the host's apt sources, the apt options that say how to reach
#      them, the CA bundle and the npm configuration, so the same package
#      registries are reached with the same trust;
#   4. runs the README's first command (bootstrap, build, models, organize a
#      copy of the test bursts as ~/Pictures), then its second (.ci/run),
#      inside the root, and prints how long each took.
#
# A green run on a development machine can hide a missing install step; this
# cannot. Needs root (chroot, mounts) and several minutes; it is not part of
# .ci/run. Usage: tools/fresh-machine-check.sh [--dir DIR] [--keep] [--suite S]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=$(realpath -m "$ROOT/../shared")
SUITE=bookworm
DIR=
KEEP=0

usage() {
    sed -n '3,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}
while [ $# -gt 0 ]; do
    case "$1" in
    --dir) DIR=$(realpath -m "$2"); shift ;;
    --keep) KEEP=1 ;;
    --suite) SUITE=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "fresh-machine-check: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

say() { printf '==> %s\n' "$*"; }
die() { printf 'fresh-machine-check: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (it builds a Debian root and chroots into it)"
[ -d "$SHARED/testdata" ] || die "no ../shared/testdata beside the repository ($SHARED)"

# The README's two Quick start lines: the first two ```sh blocks after the heading.
readme_block() {
    awk -v want="$1" '
        /^## Quick start/ { in_qs = 1; next }
        in_qs && /^## / { exit }
        in_qs && /^```sh/ { n++; inblk = 1; next }
        in_qs && /^```/ { inblk = 0; next }
        in_qs && inblk && n == want { print }' "$ROOT/README.md"
}
CMD_ORGANIZE=$(readme_block 1)
CMD_TEST=$(readme_block 2)
[ -n "$CMD_ORGANIZE" ] && [ -n "$CMD_TEST" ] || die "cannot find the two Quick start command lines in README.md"

if ! command -v mmdebstrap >/dev/null 2>&1; then
    say "installing mmdebstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi

if [ -z "$DIR" ]; then
    DIR=$(mktemp -d /var/tmp/pho-fresh.XXXXXX)
else
    mkdir -p "$DIR"
    [ -z "$(ls -A "$DIR")" ] || die "$DIR is not empty"
fi
R="$DIR/root"
MOUNTS=()
cleanup() {
    local i
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[i]}" 2>/dev/null || true; done
    if [ "$KEEP" = 0 ]; then rm -rf "$DIR"; else say "kept the fresh root in $R"; fi
}
trap cleanup EXIT

# ---- 1. a minimal Debian root, reached through the host's own sources --------
sources=()
[ -s /etc/apt/sources.list ] && grep -q '^[[:space:]]*deb' /etc/apt/sources.list && sources+=(/etc/apt/sources.list)
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # Only Debian's own archive: other repositories on the host are not what a
    # fresh Debian machine has.
    grep -qE 'debian-archive-keyring|/debian(-security)?/?([[:space:]]|$)' "$f" && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || die "no Debian apt sources found under /etc/apt"
aptopts=()
for f in /etc/apt/apt.conf.d/*; do
    # Options that say how the archive is reached (proxies, validity, certificates).
    [ -f "$f" ] && grep -q '^[[:space:]]*Acquire' "$f" && aptopts+=("--aptopt=$f")
done
say "making a minimal $SUITE root in $R (mmdebstrap --variant=minbase)"
t0=$SECONDS
mmdebstrap --quiet --variant=minbase "${aptopts[@]}" "$SUITE" "$R" "${sources[@]}"
say "fresh root made in $((SECONDS - t0)) s ($(chroot "$R" dpkg-query -W | wc -l) packages)"

# ---- 2. trust and registry configuration of the host ------------------------
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
if [ -d /usr/local/share/ca-certificates ]; then
    mkdir -p "$R/usr/local/share/ca-certificates"
    cp -a /usr/local/share/ca-certificates/. "$R/usr/local/share/ca-certificates/"
fi
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$R/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/certs/"
fi
[ -f /root/.npmrc ] && cp /root/.npmrc "$R/root/.npmrc"
if command -v npm >/dev/null 2>&1; then
    g=$(npm config get globalconfig 2>/dev/null || true)
    if [ -n "$g" ] && [ -f "$g" ]; then
        # Debian's npm reads /etc/npmrc; keep the host's path too.
        cp "$g" "$R/etc/npmrc"
        mkdir -p "$R$(dirname "$g")" && cp "$g" "$R$g"
    fi
fi

# ---- 3. the clone and ../shared ----------------------------------------------
mkdir -p "$R/work/main" "$R/work/shared"
(cd "$ROOT" && git ls-files -z -co --exclude-standard |
    tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$R/work/main"
cp -a "$SHARED/." "$R/work/shared/"
chmod -R a-w "$R/work/shared"
# The photos the first command organizes (it names ~/Pictures).
mkdir -p "$R/root/Pictures"
cp -a "$SHARED/testdata/bursts/." "$R/root/Pictures/"

for m in proc sys dev dev/pts; do
    mkdir -p "$R/$m"
    case $m in
    proc) mount -t proc proc "$R/proc" ;;
    *) mount --bind "/$m" "$R/$m" ;;
    esac
    MOUNTS+=("$R/$m")
done

in_root() { # in_root COMMAND-LINE: runs it as root in the fresh system, with a clean environment
    chroot "$R" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -c "cd /work/main && $1"
}

# ---- 4. the README's two commands ---------------------------------------------
say "README command 1: $CMD_ORGANIZE"
t1=$SECONDS
rc1=0
in_root "$CMD_ORGANIZE" 2>&1 | tee "$DIR/organize.log" || rc1=$?
d1=$((SECONDS - t1))
say "README command 2: $CMD_TEST"
t2=$SECONDS
rc2=0
in_root "$CMD_TEST" >"$DIR/test.log" 2>&1 || rc2=$?
d2=$((SECONDS - t2))
tail -25 "$DIR/test.log"

echo
echo "fresh-machine-check: command 1 (bootstrap, build, models, organize) exit $rc1 in ${d1} s"
echo "fresh-machine-check: command 2 (.ci/run) exit $rc2 in ${d2} s"
grep -E '^Organized [0-9]+ photos' "$DIR/organize.log" | tail -1 || echo "(no organize summary line)"
tail -1 "$DIR/test.log"
[ "$rc1" = 0 ] && [ "$rc2" = 0 ]
