#!/usr/bin/env bash
# --dry-run writes nothing at all under the output folder and prints the plan.
. "$(dirname "$0")/lib.sh"
need_testdata

OUT="$TMP/out"
"$BIN" -s "$TD/bursts" -o "$OUT" --dry-run --min-group-size 2 >"$TMP/plan" 2>"$TMP/err"
is "dry run exits 0 (every photo readable)" "$?" 0
check "dry run does not create the output folder" test ! -e "$OUT"
check "the plan names groups" grep -q "^group_0001" "$TMP/plan"
check "the plan names the best photo of each group" grep -q "best:" "$TMP/plan"
check "the plan says nothing is written" grep -qi "nothing is written" "$TMP/plan"

# An existing output folder is not touched either (not even its times).
mkdir -p "$OUT/keep" && echo hello >"$OUT/keep/file.txt"
listing() { (cd "$OUT" && find . -printf '%p %s %T@\n' | sort); }
listing >"$TMP/before"
sleep 1
"$BIN" -s "$TD/bursts" -o "$OUT" --dry-run -q >/dev/null 2>&1
listing >"$TMP/after"
check "an existing output folder is left exactly as it was" cmp -s "$TMP/before" "$TMP/after"

# A dry run after a real run plans the same groups.
"$BIN" -s "$TD/bursts" -o "$TMP/real" --min-group-size 2 -q 2>/dev/null
"$BIN" -s "$TD/bursts" -o "$TMP/real" --min-group-size 2 --dry-run >"$TMP/plan2" 2>/dev/null
is "the dry run plans as many groups as the real run made" \
    "$(grep -c '^group_' "$TMP/plan2")" "$(jq '.groups | length' "$TMP/real/reports/latest.json")"

done_testing
