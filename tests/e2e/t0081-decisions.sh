#!/usr/bin/env bash
# The user's decisions (docs/decisions.md) from the command line: `decide best` makes
# another take the best shot at once (the result made again), every later run keeps it,
# --force-fresh too; `decide undo` takes it back; `decide list`; mistakes are said.
. "$(dirname "$0")/lib.sh"
need_testdata
SRC=$TMP/src
OUT=$TMP/out
mkdir -p "$SRC"
cp "$TD"/bursts/group4_take*.jpg "$SRC/"
"$BIN" organize -s "$SRC" -o "$OUT" --faces none -q 2>/dev/null
R=$OUT/reports/latest.json
G=$(jq -c '[.groups[] | select(.photo_count >= 2)][0]' "$R")
GDIR=$(jq -r .dir <<<"$G")
OLD=$(jq -r .best_photo.id <<<"$G")
OTHER=$(jq -r '[.photos[] | select(.is_best | not)][0].id' <<<"$G")
is "no decisions at first" "$("$BIN" decide -o "$OUT" list)" "no decisions"
"$BIN" decide -o "$OUT" best "$OTHER" >"$TMP/d.txt"
is "decide best: exit 0" "$?" 0
check "it says where the group stands" grep -q "^$GDIR: best $OTHER" "$TMP/d.txt"
check "the output tree has the new best shot" test -f "$OUT/$GDIR/best_$OTHER"
check "... and not the old one" test ! -e "$OUT/$GDIR/best_$OLD"
is "the report says so" "$(jq -r --arg d "$GDIR" '.groups[] | select(.dir == $d) | .best_photo.id' "$R")" "$OTHER"
is "one decision in force" "$(jq '.run.decisions' "$R")" 1
is "list: the decision" "$("$BIN" decide -o "$OUT" list --json | jq -c '[.[] | [.kind, .photo]]')" "[[\"best\",\"$OTHER\"]]"
"$BIN" organize -s "$SRC" -o "$OUT" --faces none -q 2>/dev/null
check "the next run keeps it" test -f "$OUT/$GDIR/best_$OTHER"
"$BIN" organize -s "$SRC" -o "$OUT" --faces none -q --force-fresh 2>/dev/null
check "... so does --force-fresh" test -f "$OUT/$GDIR/best_$OTHER"
"$BIN" decide -o "$OUT" best "not-a-photo.jpg" >"$TMP/n.txt" 2>"$TMP/n.err"
is "a photo in no group: kept, exit 0" "$?" 0
check "... with a warning that it waits" grep -q "in no group of this result" "$TMP/n.err"
"$BIN" decide -o "$OUT" undo >/dev/null
"$BIN" decide -o "$OUT" undo >"$TMP/u.txt"
check "undo takes back the newest decision" grep -q "took back decision 1 (best $OTHER)" "$TMP/u.txt"
check "the rule's best shot is back" test -f "$OUT/$GDIR/best_$OLD"
is "nothing more to undo" "$("$BIN" decide -o "$OUT" undo)" "no decision to take back"
"$BIN" decide -o "$OUT" best 2>/dev/null
is "best without a photo: usage error" "$?" 2
"$BIN" decide -o "$OUT" forget "$OTHER" 2>/dev/null
is "an unknown action: usage error" "$?" 2
"$BIN" decide -o "$TMP/nowhere" best "$OTHER" 2>"$TMP/e.txt"
is "an output folder without a catalog: exit 1" "$?" 1
check "... saying to organize first" grep -q "organize into it first" "$TMP/e.txt"
done_testing
