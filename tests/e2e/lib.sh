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
