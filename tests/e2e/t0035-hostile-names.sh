#!/usr/bin/env bash
# File names are data, never control: a name with a newline or ESC cannot
# forge a message line or drive the terminal (stderr, the dry-run plan and
# metadata.txt show it escaped), and a name that is not UTF-8 is kept
# losslessly in JSON (backslashes doubled, other bytes as \xNN) instead of
# becoming null or dropping the photo.
. "$(dirname "$0")/lib.sh"
need_testdata

SRC="$TMP/src"
mkdir -p "$SRC"
nl=$'two\nlines.jpg'
esc=$'bell\e[31mred.jpg'
bad=$'latin1-caf\xe9.jpg'
cp "$TD/bursts/iphone_hdr_NO.jpg" "$SRC/$nl"
cp "$TD/bursts/iphone_hdr_YES.jpg" "$SRC/$esc"
cp "$TD/bursts/IMG_4120.JPG" "$SRC/$bad"
printf 'not a photo' >"$SRC/"$'forged\nphoto-organizer: all good.jpg'

"$BIN" -s "$SRC" -o "$TMP/out" --min-group-size 2 --faces none --dry-run >"$TMP/plan" 2>"$TMP/err"
check "the dry-run plan has no raw control characters" bash -c "! LC_ALL=C grep -q \$'[\\x01-\\x08\\x0b-\\x1f\\x7f]' '$TMP/plan'"
check "the plan shows the newline escaped" grep -qF 'two\x0alines.jpg' "$TMP/plan"
check "the plan shows ESC escaped" grep -qF 'bell\x1b[31mred.jpg' "$TMP/plan"
is "the broken file with a newline in its name is one stderr line" "$(grep -c . "$TMP/err")" 1
check "stderr has no forged line" bash -c "! grep -q '^photo-organizer: all good' '$TMP/err'"
check "stderr has no raw ESC" bash -c "! LC_ALL=C grep -q \$'\\x1b' '$TMP/err'"

"$BIN" -s "$SRC" -o "$TMP/out" --min-group-size 2 --faces none -q 2>/dev/null
R="$TMP/out/reports/latest.json"
check "the report is valid JSON" jq -e . "$R"
is "every photo is in the report" "$(jq '.photos | length' "$R")" 4
check "names with control characters are exact in JSON" jq -e --arg a "$nl" --arg b "$esc" '
    [.photos[].path] | index($a) != null and index($b) != null' "$R"
check "the name that is not UTF-8 is kept, as \\xNN" jq -e '[.photos[].path] | index("latin1-caf\\xe9.jpg") != null' "$R"
check "no path is null" jq -e 'all(.photos[]; .path | type == "string")' "$R"
for f in "$TMP"/out/group_*/metadata.txt; do
    check "$(basename "$(dirname "$f")")/metadata.txt has no raw control characters" \
        bash -c "! LC_ALL=C grep -q \$'[\\x01-\\x08\\x0b-\\x1f\\x7f]' '$f'"
done
check "metadata.txt shows the newline escaped" grep -qF 'two\x0alines.jpg' "$TMP"/out/group_*/metadata.txt

"$BIN" info --json --no-decode "$SRC/$bad" "$SRC/$nl" >"$TMP/info.json" 2>/dev/null
check "info --json keeps both names" jq -e --arg nl "$SRC/$nl" --arg bad "$SRC/latin1-caf\\xe9.jpg" '
    length == 2 and .[0].path == $bad and .[1].path == $nl' "$TMP/info.json"
"$BIN" info "$SRC/$esc" >"$TMP/info.txt" 2>&1
check "info's text output shows ESC escaped" bash -c "! LC_ALL=C grep -q \$'\\x1b' '$TMP/info.txt'"

MODELS=${PHO_MODELS_DIR:-}
if [ -n "$MODELS" ] && [ -f "$MODELS/blazeface_full_range.onnx" ]; then
    "$BIN" faces --models-dir "$MODELS" --json "$SRC/$bad" >"$TMP/faces.json" 2>/dev/null
    is "faces --json on a name that is not UTF-8 exits 0" "$?" 0
    is "and does not drop the photo" "$(jq 'length' "$TMP/faces.json")" 1
    check "and gives its path losslessly" jq -e --arg p "$SRC/latin1-caf\\xe9.jpg" '.[0].path == $p' "$TMP/faces.json"
fi

done_testing
