#!/usr/bin/env bash
# Files in OUT are the user's unless photo-organizer wrote them and they are
# still as it wrote them: a file that was there before, or one the user
# edited, is never overwritten or removed; this run's version goes beside it
# (name.photo-organizer.ext), with a warning and a list in the report.
. "$(dirname "$0")/lib.sh"
need_testdata

SRC="$TMP/src"
mkdir -p "$SRC"
cp "$TD"/bursts/iphone_hdr_*.jpg "$SRC/"
run() { "$BIN" -s "$SRC" -o "$1" --min-group-size 2 --faces none >/dev/null 2>"$TMP/err"; }

# Where things go, from a run into a scratch folder.
run "$TMP/ref"
best=$(jq -r '.groups[0].best_photo.filename' "$TMP/ref/reports/latest.json")
other=$(jq -r '.groups[0].photos[] | select(.is_best | not) | .filename' "$TMP/ref/reports/latest.json")
check "the pair forms a group" test -n "$best" -a -n "$other"

# (a) A fresh OUT that already holds files where ours would go.
OUT="$TMP/out"
mkdir -p "$OUT/group_0001/originals"
echo "my notes" >"$OUT/group_0001/metadata.txt"
echo "my picture" >"$OUT/group_0001/best_$best"
echo "my other picture" >"$OUT/group_0001/originals/$other"
run "$OUT"
is "a run into an OUT with the user's files exits 0" "$?" 0
is "the user's metadata.txt is untouched" "$(cat "$OUT/group_0001/metadata.txt")" "my notes"
is "the user's best_ file is untouched" "$(cat "$OUT/group_0001/best_$best")" "my picture"
is "the user's originals/ file is untouched" "$(cat "$OUT/group_0001/originals/$other")" "my other picture"
check "ours is written beside metadata.txt" grep -q "^Photo Group - 2 images" "$OUT/group_0001/metadata.photo-organizer.txt"
check "ours is written beside best_" cmp -s "$SRC/$best" "$OUT/group_0001/best_${best%.*}.photo-organizer.${best##*.}"
check "ours is written beside the original" cmp -s "$SRC/$other" "$OUT/group_0001/originals/${other%.*}.photo-organizer.${other##*.}"
is "one warning per kept file" "$(grep -c "was not written by photo-organizer or was changed since" "$TMP/err")" 3
R="$OUT/reports/latest.json"
is "the report lists the kept files" "$(jq '.user_files_kept | length' "$R")" 3
check "with where ours went" jq -e '.user_files_kept | any(.path == "group_0001/metadata.txt" and .ours == "group_0001/metadata.photo-organizer.txt")' "$R"
run "$OUT"
is "a second run writes nothing new" "$(jq '.run.files_written' "$(readlink -f "$OUT/reports/latest.json")")" 0
is "and still keeps the user's files" "$(cat "$OUT/group_0001/metadata.txt")" "my notes"

# (b) The user edits files this program wrote.
OUT2="$TMP/out2"
run "$OUT2"
echo "edited by me" >>"$OUT2/group_0001/metadata.txt"
printf 'retouched' >"$OUT2/group_0001/best_$best"
edited_meta=$(sha256sum <"$OUT2/group_0001/metadata.txt")
run "$OUT2"
is "a run after the user's edits exits 0" "$?" 0
is "the edited metadata.txt is kept" "$(sha256sum <"$OUT2/group_0001/metadata.txt")" "$edited_meta"
is "the retouched best_ file is kept" "$(cat "$OUT2/group_0001/best_$best")" retouched
check "ours goes beside the edited metadata.txt" test -f "$OUT2/group_0001/metadata.photo-organizer.txt"
is "the report lists both" "$(jq '.user_files_kept | length' "$OUT2/reports/latest.json")" 2
# A setting that dissolves the group: our files go, the user's stay.
"$BIN" -s "$SRC" -o "$OUT2" --min-group-size 3 --faces none -q 2>/dev/null
check "regrouping removes our unchanged files" test ! -e "$OUT2/group_0001/originals/$other"
is "regrouping keeps the user's edited metadata.txt" "$(sha256sum <"$OUT2/group_0001/metadata.txt")" "$edited_meta"
is "regrouping keeps the retouched best_ file" "$(cat "$OUT2/group_0001/best_$best")" retouched

done_testing
