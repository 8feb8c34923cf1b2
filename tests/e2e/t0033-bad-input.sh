#!/usr/bin/env bash
# One bad file never stops a command: FIFOs and other non-regular files are
# reported, never waited on; names too long for a temporary or best_ copy are
# shortened deterministically; a group whose files cannot be written is an
# error entry, and the run goes on and writes its report.
. "$(dirname "$0")/lib.sh"
need_testdata

# ---- FIFOs ---------------------------------------------------------------------
mkdir -p "$TMP/fifo/src"
mkfifo "$TMP/fifo/x.jpg" "$TMP/fifo/src/y.jpg"
cp "$TD/bursts/iphone_hdr_NO.jpg" "$TD/bursts/iphone_hdr_YES.jpg" "$TMP/fifo/src/"
MODELS=${PHO_MODELS_DIR:-}
if [ -n "$MODELS" ] && [ -f "$MODELS/blazeface_full_range.onnx" ]; then
    timeout 60 "$BIN" faces --models-dir "$MODELS" "$TMP/fifo/x.jpg" "$TMP/fifo/src/iphone_hdr_NO.jpg" \
        >"$TMP/out" 2>"$TMP/err"
    is "faces on a FIFO does not hang, exits 1" "$?" 1
    check "faces says it is not a regular file" grep -q "x.jpg: image: not a regular file (a FIFO)" "$TMP/err"
    check "faces still describes the good photo" grep -q "iphone_hdr_NO.jpg:" "$TMP/out"
fi
timeout 60 "$BIN" info "$TMP/fifo/x.jpg" >/dev/null 2>"$TMP/err"
is "info on a FIFO does not hang, exits 1" "$?" 1
check "info says what it is" grep -q "a FIFO" "$TMP/err"
timeout 120 "$BIN" -s "$TMP/fifo/src" -o "$TMP/fifo/out" --min-group-size 2 --faces none -q >/dev/null 2>"$TMP/err"
is "organize with a FIFO in SOURCE exits 1" "$?" 1
is "one stderr line for it" "$(grep -c 'y.jpg: scan: not a regular file (a FIFO)' "$TMP/err")" 1
check "the report lists it under errors" jq -e '.errors | any(.path == "y.jpg" and .code == "EINVAL")' \
    "$TMP/fifo/out/reports/latest.json"
check "the other photos were organized" jq -e '.groups | length == 1' "$TMP/fifo/out/reports/latest.json"

# ---- long names ------------------------------------------------------------------
mkdir -p "$TMP/long/src"
n236=$(printf 'a%.0s' $(seq 236)).jpg # fits, but its old temporary name did not
n251=$(printf 'b%.0s' $(seq 247)).jpg # fits as a source name; best_<name> cannot exist
cp "$TD/bursts/iphone_hdr_NO.jpg" "$TMP/long/src/$n236"
cp "$TD/bursts/iphone_hdr_YES.jpg" "$TMP/long/src/$n251"
"$BIN" -s "$TMP/long/src" -o "$TMP/long/out" --min-group-size 2 --faces none -q >/dev/null 2>"$TMP/err"
is "organize with 240- and 251-byte names exits 0" "$?" 0
R="$TMP/long/out/reports/latest.json"
check "the report was written" test -f "$R"
check "the 240-byte name is kept" test -f "$TMP/long/out/group_0001/originals/$n236"
check "the 251-byte name is shortened, keeping its extension" jq -e --arg n "$n251" '
    [.groups[0].photos[] | select(.original_name == $n)] | length == 1 and
    (.[0].filename | length <= 250 and endswith(".jpg") and test("~[0-9a-f]{8}[.]jpg$"))' "$R"
short=$(jq -r --arg n "$n251" '.groups[0].photos[] | select(.original_name == $n) | .filename' "$R")
check "the shortened copy exists and equals its source" cmp -s "$TMP/long/src/$n251" "$TMP/long/out/group_0001/originals/$short"
rm -rf "$TMP/long/out2"
"$BIN" -s "$TMP/long/src" -o "$TMP/long/out2" --min-group-size 2 --faces none -q >/dev/null 2>&1
is "the shortened name is the same on every run" \
    "$(jq -r --arg n "$n251" '.groups[0].photos[] | select(.original_name == $n) | .filename' "$TMP/long/out2/reports/latest.json")" "$short"
check "no temporary files are left" bash -c "! find '$TMP/long' -name '.pho-tmp.*' | grep -q ."

# ---- a group that cannot be written ------------------------------------------------
mkdir -p "$TMP/grp/src" "$TMP/grp/out"
cp "$TD"/bursts/iphone_hdr_*.jpg "$TD"/bursts/IMG_20191112_11102*.jpg "$TMP/grp/src/"
# Something in OUT where the first group's folder would go.
echo "mine" >"$TMP/grp/out/group_0001"
"$BIN" -s "$TMP/grp/src" -o "$TMP/grp/out" --min-group-size 2 --faces none -q >/dev/null 2>"$TMP/err"
is "a group that cannot be written makes the run exit 1" "$?" 1
is "one stderr line for that group" "$(grep -c '^photo-organizer: group_0001: ' "$TMP/err")" 1
R="$TMP/grp/out/reports/latest.json"
check "the run still wrote its report" test -f "$R"
check "the report has the group's error" jq -e '.errors | any(.path == "group_0001" and (.reason | length > 10))' "$R"
check "the group carries its error" jq -e '.groups[0].error.code | type == "string"' "$R"
check "the next group was written" test -f "$TMP/grp/out/group_0002/metadata.txt"
is "the file in the way is untouched" "$(cat "$TMP/grp/out/group_0001")" mine

done_testing
