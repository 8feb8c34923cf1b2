#!/usr/bin/env bash
# The library's boundary, checked on its shared build (the program ships it
# static, where nothing stops a caller reaching an internal name):
#  - every exported name is pho_<words>, with no "__" (internal names are
#    pho_<module>__<name> and must stay hidden);
#  - every exported name is declared in a public header (include/pho);
#  - the program, linked against that shared build alone, runs.
# Usage: exports.sh LIBPHO_SO PROGRAM_LINKED_SHARED
set -u
so=$1 prog=$2
root=${PHO_SOURCE_ROOT:-$(dirname "$0")/..}
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }

# Global definitions only (upper-case types; U is undefined).
names=$(nm -D --defined-only "$so" | awk '$2 ~ /^[A-TV-Z]$/ { print $3 }' | sed 's/@.*//' | sort -u)
count=$(printf '%s\n' "$names" | grep -c .)
if [ "$count" -ge 50 ]; then ok "$count names exported"; else not_ok "only $count names exported"; fi

bad=$(printf '%s\n' "$names" | grep -vE '^pho_[a-z0-9]+(_[a-z0-9]+)*$' || true)
if [ -z "$bad" ]; then ok "every exported name is pho_ without __"; else
    not_ok "exported names outside the public convention:"; printf '  %s\n' $bad; fi

undeclared=""
for s in $names; do
    grep -qE "\b$s\b" "$root"/include/pho/*.h || undeclared="$undeclared $s"
done
if [ -z "$undeclared" ]; then ok "every exported name is declared in include/pho"; else
    not_ok "exported but not in a public header:"; printf '  %s\n' $undeclared; fi

if out=$("$prog" --version 2>&1) && [ -n "$out" ]; then ok "the program runs against the shared library ($out)"
else not_ok "the program linked against the shared library does not run: $out"; fi

echo "1..$n"
exit $fail
