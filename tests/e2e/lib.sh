# SPDX-License-Identifier: MIT
# TAP helpers for the end-to-end tests: each test script drives the real
# program ($PHO_BIN) and prints "ok N - what" / "not ok N - what".
set -u
T_N=0
T_FAILED=0
BIN=${PHO_BIN:?PHO_BIN is set by meson test}
TD=${PHO_TESTDATA:-}

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }
check() { # check "description" command...
    local what=$1
    shift
    if "$@" >/dev/null; then ok "$what"; else not_ok "$what"; fi
}
is() { # is "description" got want
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want '$3')"; fi
}
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
need_testdata() { [ -n "$TD" ] && [ -d "$TD" ] || skip_all "no test photos at '$TD'"; }
done_testing() { echo "1..$T_N"; [ "$T_FAILED" = 0 ]; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pho-e2e-XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# Checksums of every file under a folder (path and content), for "never
# modified" checks.
tree_sums() {
    (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

# The report without what legitimately differs between runs (and the output
# folder's name, which differs when runs are compared across folders).
normalized_report() {
    jq 'del(.generated_at, .run, .settings.output)' "$1"
}

# A folder listing with sizes and checksums, skipping reports and the catalog.
out_listing() {
    (cd "$1" && find . -path ./reports -prune -o -path ./.photo-organizer -prune -o -type f -print0 |
        sort -z | xargs -0 -r sha256sum)
}

# The labelled photos: the files listed in labels.csv, relative to $TD. Tests
# assert on these (or on one subfolder's own truth file), never on totals of
# the whole test-data tree, which grows as new sets arrive beside them.
labelled_files() {
    tr -d '\r' <"$TD/labels.csv" | awk -F, 'NR > 1 && $1 != "" { print $1 }'
}
labelled_count() { labelled_files | wc -l; }
# labelled_tree DIR: a copy of just the labelled photos under DIR, same layout.
labelled_tree() {
    mkdir -p "$1"
    (cd "$TD" && labelled_files | tr '\n' '\0' | xargs -0 cp -a --parents -t "$1")
}
