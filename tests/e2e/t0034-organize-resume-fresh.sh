#!/usr/bin/env bash
# --resume continues the same library from anywhere and refuses another one;
# --force-fresh re-verifies every copy by content; and the smaller promises
# of the command line: a repeated -s is refused, -q prints nothing but errors
# (not even the dry-run plan), SIGHUP saves the work like Ctrl-C, the report's
# times use one offset format, and --max-pixels under 1 MP says pixels.
. "$(dirname "$0")/lib.sh"
need_testdata

mkdir -p "$TMP/lib/set40" "$TMP/elsewhere/set40" "$TMP/cwd"
cp "$TD"/bursts/iphone_hdr_*.jpg "$TD"/bursts/IMG_20191112_11102*.jpg "$TMP/lib/set40/"
cp "$TD"/bursts/canon_hdr_*.jpg "$TMP/elsewhere/set40/"
OUT="$TMP/out"

# ---- --resume: the library by its canonical path and identity -----------------------
(cd "$TMP/lib" && "$BIN" -s set40 -o "$OUT" --min-group-size 2 --faces none -q)
is "a run with a relative -s exits 0" "$?" 0
check "the report records the source's absolute, canonical path" \
    jq -e --arg p "$(realpath "$TMP/lib/set40")" '.settings.source == $p' "$OUT/reports/latest.json"
(cd "$TMP/cwd" && "$BIN" -o "$OUT" --resume -q 2>"$TMP/err")
is "--resume from another folder continues the same library" "$?" 0
is "and finds the same photos" "$(jq '.counts.photos' "$OUT/reports/latest.json")" 4
(cd "$TMP/elsewhere" && "$BIN" -s set40 -o "$OUT" --resume -q 2>"$TMP/err")
is "--resume with -s naming another folder of the same name is refused" "$?" 2
check "and says which folder the run organized" grep -q "is not the folder the interrupted run organized" "$TMP/err"
mv "$TMP/lib/set40" "$TMP/lib/moved"
mkdir "$TMP/lib/set40"
"$BIN" -o "$OUT" --resume -q 2>"$TMP/err"
is "--resume when the recorded path now names another folder is refused" "$?" 2
check "and says what to do" grep -q "give the library's place with -s" "$TMP/err"
"$BIN" -s "$TMP/lib/moved" -o "$OUT" --resume -q 2>"$TMP/err"
is "--resume with -s at the library's new place works" "$?" 0
rmdir "$TMP/lib/set40"
mv "$TMP/lib/moved" "$TMP/lib/set40"

# ---- --force-fresh compares copies by content ----------------------------------------
SRC="$TMP/lib/set40"
"$BIN" -s "$SRC" -o "$OUT" --min-group-size 2 --faces none -q
f=iphone_hdr_NO.jpg
copy=$(find "$OUT" -path "*/originals/$f")
check "the photo was copied" test -f "$copy"
# Same size, same mtime, other bytes: an edit no size/time check can see.
mtime=$(stat -c %Y "$SRC/$f")
python3 - "$SRC/$f" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-3] ^= 0xFF  # inside the JPEG, before its end marker
open(p, "wb").write(bytes(b))
PY
touch -d "@$mtime" "$SRC/$f"
"$BIN" -s "$SRC" -o "$OUT" --min-group-size 2 --faces none --force-fresh -q
is "--force-fresh exits 0" "$?" 0
check "--force-fresh rewrote the stale copy" cmp -s "$SRC/$f" "$copy"
check "and said so in the report" jq -e '.run.files_written >= 1' "$(readlink -f "$OUT/reports/latest.json")"

# ---- the command line ------------------------------------------------------------------
"$BIN" -s "$SRC" -s "$TMP/elsewhere/set40" -o "$TMP/o2" 2>"$TMP/err"
is "a repeated -s is a usage error" "$?" 2
check "naming both" grep -q "given twice" "$TMP/err"
"$BIN" -s "$SRC" -o "$TMP/o2" -o "$TMP/o3" 2>"$TMP/err"
is "a repeated -o is a usage error" "$?" 2
"$BIN" -s "$SRC" -o "$TMP/o2" --min-group-size 2 --faces none --dry-run -q >"$TMP/stdout" 2>&1
is "-q --dry-run exits 0" "$?" 0
is "-q --dry-run prints nothing" "$(wc -c <"$TMP/stdout")" 0
"$BIN" -s "$SRC" -o "$TMP/o2" --min-group-size 2 --faces none --dry-run >"$TMP/stdout" 2>&1
check "--dry-run without -q prints the plan" grep -q "^Plan (dry run" "$TMP/stdout"
check "the report's generated_at has an RFC 3339 offset like the capture times" \
    jq -e '.generated_at | test("[+-][0-9]{2}:[0-9]{2}$|Z$")' "$OUT/reports/latest.json"
"$BIN" info --max-pixels 1000 "$SRC/$f" >/dev/null 2>"$TMP/err"
check "--max-pixels under 1 MP speaks in pixels" grep -q "over the 1000-pixel limit" "$TMP/err"
check "and never says 0 megapixels" bash -c "! grep -q ' 0 megapixels\| 0 MP' '$TMP/err'"

# The progress bar fits a 40-column terminal (a wider line wraps, and every
# redraw then adds a line instead of replacing one).
if command -v script >/dev/null; then
    script -qec "stty cols 40 rows 20; '$BIN' -s '$SRC' -o '$TMP/tty' --min-group-size 2 --faces none" \
        /dev/null >"$TMP/tty.out" 2>&1
    widest=$(tr '\r' '\n' <"$TMP/tty.out" | grep -a $'^\e\[K' | sed 's/\x1b\[K//' | grep -aE '^(scan|analyse|group|faces|write|report) ' |
        awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
    check "every progress redraw fits 39 columns (widest: $widest)" test "$widest" -gt 0 -a "$widest" -le 39
fi

# SIGHUP (the terminal closed) saves the work like Ctrl-C.
mkdir -p "$TMP/big"
cp "$TD"/bursts/*.jpg "$TD"/faces/portraits/*.jpg "$TMP/big/"
"$BIN" -s "$TMP/big" -o "$TMP/hup" --min-group-size 2 --faces none 2>/dev/null &
pid=$!
sleep 0.5
kill -HUP "$pid"
wait "$pid"
st=$?
check "SIGHUP ends with 130 (or 0 if the run had already finished), not killed by the signal" \
    bash -c "[ $st = 130 ] || [ $st = 0 ]"
"$BIN" -o "$TMP/hup" --resume -q 2>/dev/null
is "the run continues after a SIGHUP" "$?" 0

done_testing
