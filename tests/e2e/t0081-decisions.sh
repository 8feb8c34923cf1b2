#!/usr/bin/env bash
# The user's decisions (docs/decisions.md) from the command line: `decide best` makes
# another take the best shot at once (the result made again), every later run keeps it,
# --force-fresh too; `decide undo` takes it back; `decide list`; mistakes are said. Then
# the groups: move, merge, split, detach, ungroup, each undone in turn, and pick / reject
# (the report, metadata.txt, sidecars, the best-shot choice), kept by later runs.
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
check "it says where the group stands" grep -q "^$GDIR: [0-9]* photos, best $OTHER" "$TMP/d.txt"
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
# The face models folder the run was given is the one the result is made again with.
if [ -n "${PHO_MODELS_DIR:-}" ] && [ -f "$PHO_MODELS_DIR/blazeface_full_range.onnx" ]; then
    OUTF=$TMP/outf
    "$BIN" organize -s "$SRC" -o "$OUTF" --faces all --models-dir "$PHO_MODELS_DIR" -q 2>/dev/null
    touch "$SRC/group4_take1.jpg" # a photo whose faces must be found again
    XDG_DATA_HOME=$TMP/none HOME=$TMP/none "$BIN" decide -o "$OUTF" best "$OTHER" >/dev/null 2>"$TMP/f.err"
    is "decide without --models-dir: the run's models folder" "$(cat "$TMP/f.err")" ""
fi
"$BIN" decide -o "$OUT" forget "$OTHER" 2>/dev/null
is "an unknown action: usage error" "$?" 2
"$BIN" decide -o "$TMP/nowhere" best "$OTHER" 2>"$TMP/e.txt"
is "an output folder without a catalog: exit 1" "$?" 1
check "... saying to organize first" grep -q "organize into it first" "$TMP/e.txt"

# ---- groups, picks and rejects ----------------------------------------------------------
SRC2=$TMP/src2
OUT2=$TMP/out2
mkdir -p "$SRC2"
cp "$TD"/bursts/canon_hdr_*.jpg "$TD"/bursts/obama-*.jpg "$SRC2/"
"$BIN" organize -s "$SRC2" -o "$OUT2" --faces none --xmp -q 2>/dev/null
R2=$OUT2/reports/latest.json
groups() { jq -c '[.groups[] | [.photos[].id]]' "$R2"; }
group_of() { jq -r --arg p "$1" '.groups[] | select(any(.photos[]; .id == $p)) | .dir' "$R2"; }
size_of() { jq -r --arg p "$1" '[.groups[] | select(any(.photos[]; .id == $p)) | .photo_count][0] // 0' "$R2"; }
is "two groups to begin with" "$(jq '.groups | length' "$R2")" 2
CANON=canon_hdr_NO.jpg
mapfile -t OB < <(jq -r '.groups[] | select(any(.photos[]; .id | startswith("obama"))) | .photos[].id' "$R2")
is "the four sizes of one photo are one group" "${#OB[@]}" 4
BEFORE=$(groups)

"$BIN" decide -o "$OUT2" move "${OB[1]}" "$CANON" >/dev/null
is "move: the photo is in the other group" "$(group_of "${OB[1]}")" "$(group_of "$CANON")"
is "... which has three photos" "$(size_of "$CANON")" 3
is "... its own group one fewer" "$(size_of "${OB[0]}")" 3
is "... the report says you put it there" \
    "$(jq -r --arg p "${OB[1]}" '.groups[].photos[] | select(.id == $p) | .linked.reason' "$R2")" yours
check "... its file is in that group's folder" test -f "$OUT2/$(group_of "$CANON")/originals/${OB[1]}"
check "... and metadata.txt says why" grep -q "joined: put in this group by you" "$OUT2/$(group_of "$CANON")/metadata.txt"
"$BIN" organize -s "$SRC2" -o "$OUT2" --faces none --xmp -q --force-fresh 2>/dev/null
is "... a --force-fresh run keeps it" "$(group_of "${OB[1]}")" "$(group_of "$CANON")"

"$BIN" decide -o "$OUT2" merge "${OB[0]}" "$CANON" >/dev/null
is "merge: one group" "$(jq '.groups | length' "$R2")" 1
is "... of all six" "$(size_of "$CANON")" 6
"$BIN" decide -o "$OUT2" undo >/dev/null
is "undo the merge: two groups again" "$(jq '.groups | length' "$R2")" 2
"$BIN" decide -o "$OUT2" undo >/dev/null
is "undo the move: the rule's groups" "$(groups)" "$BEFORE"

mapfile -t ALL < <(jq -r '.groups[] | select(any(.photos[]; .id | startswith("obama"))) | .photos[].id' "$R2")
"$BIN" decide -o "$OUT2" split "${ALL[2]}" >/dev/null
is "split at the third take: the first two stay" "$(size_of "${ALL[0]}")" 2
is "... the third and fourth are a group" "$(size_of "${ALL[2]}")" 2
check "... two groups, not one" test "$(group_of "${ALL[0]}")" != "$(group_of "${ALL[2]}")"
"$BIN" organize -s "$SRC2" -o "$OUT2" --faces none --xmp -q 2>/dev/null
is "... the next run keeps the split" "$(size_of "${ALL[2]}")" 2
"$BIN" decide -o "$OUT2" undo >/dev/null
is "undo the split" "$(size_of "${ALL[0]}")" 4

"$BIN" decide -o "$OUT2" detach "${ALL[3]}" >"$TMP/det.txt"
is "detach: the photo is in no group" "$(size_of "${ALL[3]}")" 0
check "... and decide says so" grep -q "is in no group now" "$TMP/det.txt"
is "... its group has three left" "$(size_of "${ALL[0]}")" 3
check "... its file left the group's folder" bash -c "! ls '$OUT2'/group_*/originals/'${ALL[3]}' 2>/dev/null"
"$BIN" decide -o "$OUT2" ungroup "${ALL[0]}" >/dev/null
is "ungroup: those photos stand alone" "$(size_of "${ALL[0]}")" 0
is "... the other group stays" "$(size_of "$CANON")" 2
"$BIN" decide -o "$OUT2" undo >/dev/null
"$BIN" decide -o "$OUT2" undo >/dev/null
is "both undone: the rule's groups" "$(groups)" "$BEFORE"

G2=$(group_of "${ALL[0]}")
BEST=$(jq -r --arg d "$G2" '.groups[] | select(.dir == $d) | .best_photo.id' "$R2")
"$BIN" decide -o "$OUT2" reject "$BEST" >/dev/null
NEWBEST=$(jq -r --arg d "$G2" '.groups[] | select(.dir == $d) | .best_photo.id' "$R2")
check "reject the best shot: another take is best" test "$NEWBEST" != "$BEST"
is "... the report flags it" \
    "$(jq -r --arg p "$BEST" '.groups[].photos[] | select(.id == $p) | .flag' "$R2")" reject
check "... metadata.txt too" grep -q "flag: rejected by you" "$OUT2/$G2/metadata.txt"
check "... its sidecar is rated -1 (rejected)" grep -q "<xmp:Rating>-1</xmp:Rating>" "$OUT2/$G2/originals/${BEST%.*}.xmp"
PICK=$(jq -r --arg d "$G2" --arg b "$NEWBEST" '[.groups[] | select(.dir == $d) | .photos[].id | select(. != $b)] | last' "$R2")
"$BIN" decide -o "$OUT2" pick "$PICK" >/dev/null
is "pick: the report flags it" \
    "$(jq -r --arg p "$PICK" '.groups[].photos[] | select(.id == $p) | .flag' "$R2")" pick
check "... its sidecar has the best shot's rating" grep -q "<xmp:Rating>5</xmp:Rating>" "$OUT2/$G2/originals/${PICK%.*}.xmp"
"$BIN" decide -o "$OUT2" best "$BEST" >/dev/null
is "a rejected photo chosen by hand is best" "$(jq -r --arg d "$G2" '.groups[] | select(.dir == $d) | .best_photo.id' "$R2")" "$BEST"
"$BIN" decide -o "$OUT2" reject "$BEST" >/dev/null
is "... until rejected again" "$(jq -r --arg d "$G2" '.groups[] | select(.dir == $d) | .best_photo.id' "$R2")" "$NEWBEST"
"$BIN" decide -o "$OUT2" unflag "$BEST" >/dev/null
is "unflag: no flag" "$(jq -r --arg p "$BEST" '.groups[].photos[] | select(.id == $p) | .flag' "$R2")" null
"$BIN" decide -o "$OUT2" move "$BEST" 2>/dev/null
is "move needs two photos: usage error" "$?" 2
"$BIN" decide -o "$OUT2" merge "$BEST" "$BEST" 2>/dev/null
is "merge of a photo with itself: usage error" "$?" 2
is "undone decisions leave the list; the rest stay, in order" \
    "$("$BIN" decide -o "$OUT2" list --json | jq -c '[.[].kind]')" '["reject","pick","best","reject","unflag"]'
done_testing
