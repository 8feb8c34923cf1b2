#!/usr/bin/env bash
# Style and safety checks that need no build: every C file is in
# .clang-format style, and src/ uses none of the banned libc functions.
set -u
cd "${PHO_SOURCE_ROOT:-$(dirname "$0")/..}" || exit 1
status=0

files=$(find include src tests fuzz bench tools -name '*.[ch]' -not -path '*/.cache/*' -not -path '*/node_modules/*' 2>/dev/null | sort)
if command -v clang-format >/dev/null 2>&1; then
    for f in $files; do
        if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
            echo "lint: $f is not clang-formatted (run: clang-format -i $f)"
            status=1
        fi
    done
else
    echo "lint: clang-format not installed; style not checked"
fi

# Unbounded copies, hidden global state, no error reporting: never in the library or program.
banned='\b(strcpy|strcat|sprintf|vsprintf|strtok|gets|atoi|atol|gmtime|localtime|asctime|ctime)[[:space:]]*\('
if grep -nE "$banned" $(find src -name '*.[ch]') ; then
    echo "lint: banned function used in src/ (see the lines above)"
    status=1
fi
# json_pack trusts its format string (a missing key or a wrong integer width reads
# the wrong argument and crashes): build JSON with the typed setters of pho/json.h.
if grep -nE '\bjson_pack(_ex)?[[:space:]]*\(' $(find src -name '*.[ch]'); then
    echo "lint: json_pack in src/: use the typed setters of include/pho/json.h (see the lines above)"
    status=1
fi
# Heap allocation in the library goes through core/alloc (the OOM tests fail
# the N-th allocation and check that every caller recovers).
if grep -nE '(^|[^_a-z])(malloc|calloc|realloc|strdup)[[:space:]]*\(' $(find src -name '*.[ch]' -not -path 'src/cli/*' -not -path 'src/core/alloc.c') |
    grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)'; then
    echo "lint: raw allocation in the library: use pho_malloc/pho_calloc/pho_reallocarray/pho_strdup (see above)"
    status=1
fi
# The library never prints or exits; only src/cli may.
if grep -nE '\b(printf|fprintf|puts|exit|abort)[[:space:]]*\(' $(find src -name '*.[ch]' -not -path 'src/cli/*') |
    grep -vE 'snprintf|vsnprintf|pho_assert_fail__|abort\(\);$'; then
    echo "lint: the library must not print or exit (see the lines above)"
    status=1
fi
# The program is a client of the library like any other: public headers only
# (tests/exports.sh links it against the shared build to prove it).
if grep -nE '#include "[a-z]+/' src/cli/*.[ch] | grep -vE '#include "pho/'; then
    echo "lint: src/cli includes a private header of the library (see above): use include/pho"
    status=1
fi
exit $status
