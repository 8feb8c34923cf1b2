#!/usr/bin/env bash
# Crash safety: SIGKILL the organizer at several points of a run, run it
# again, and compare the output and the report (timestamps aside) with an
# uninterrupted run. Also Ctrl-C (SIGINT) and --resume.
. "$(dirname "$0")/lib.sh"
need_testdata

SRC="$TMP/src"
mkdir -p "$SRC"
# Enough photos for the kill points to land in different stages.
cp -a "$TD/bursts" "$TD/faces" "$TD/exif" "$TD/orientation" "$TD/corrupt" "$SRC/"
ARGS=(-s "$SRC" --min-group-size 2 --threads 2 -q)

"$BIN" "${ARGS[@]}" -o "$TMP/ref" 2>/dev/null
out_listing "$TMP/ref" >"$TMP/ref.listing"
normalized_report "$TMP/ref/reports/latest.json" >"$TMP/ref.report"
check "reference run produced groups" jq -e '.groups | length > 0' "$TMP/ref/reports/latest.json"

for delay in 0.05 0.2 0.4 0.7 1.0 1.5 2.5; do
    OUT="$TMP/k$delay"
    "$BIN" "${ARGS[@]}" -o "$OUT" 2>/dev/null &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    # A second kill, later, on the re-run itself.
    "$BIN" "${ARGS[@]}" -o "$OUT" 2>/dev/null &
    pid=$!
    sleep "$(awk -v d="$delay" 'BEGIN { print d / 2 }')"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    "$BIN" "${ARGS[@]}" -o "$OUT" 2>/dev/null
    out_listing "$OUT" >"$TMP/k.listing"
    normalized_report "$OUT/reports/latest.json" >"$TMP/k.report"
    check "killed after ${delay}s (twice) then re-run: same output files" cmp -s "$TMP/ref.listing" "$TMP/k.listing"
    check "killed after ${delay}s (twice) then re-run: same report" cmp -s "$TMP/ref.report" "$TMP/k.report"
    check "killed after ${delay}s: catalog passes SQLite's integrity check" \
        bash -c "[ \"\$(sqlite3 '$OUT/.photo-organizer/catalog.db' 'PRAGMA integrity_check')\" = ok ]"
    check "killed after ${delay}s: no temporary files left" bash -c "! find '$OUT' -name '.pho-tmp.*' | grep -q ."
done

# Ctrl-C: stops at a safe point with status 130; --resume finishes with the same settings.
OUT="$TMP/int"
"$BIN" "${ARGS[@]}" -o "$OUT" 2>/dev/null &
pid=$!
sleep 0.3
kill -INT "$pid"
wait "$pid"
st=$?
check "SIGINT ends with 130 (or 0/1 if the run had already finished)" bash -c "[ $st = 130 ] || [ $st = 0 ] || [ $st = 1 ]"
"$BIN" -o "$OUT" --resume -q 2>/dev/null
out_listing "$OUT" >"$TMP/int.listing"
normalized_report "$OUT/reports/latest.json" >"$TMP/int.report"
check "--resume (settings from the catalog) gives the same output" cmp -s "$TMP/ref.listing" "$TMP/int.listing"
check "--resume gives the same report" cmp -s "$TMP/ref.report" "$TMP/int.report"

done_testing
