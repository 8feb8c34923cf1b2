#!/usr/bin/env bash
# One run per output folder at a time: a second run into the same OUT says
# which run holds it and exits with status 3, or waits with --wait; a killed
# run never leaves OUT locked.
. "$(dirname "$0")/lib.sh"
need_testdata

SRC="$TMP/src"
mkdir -p "$SRC"
cp "$TD"/bursts/*.[jJ][pP][gG] "$SRC/"
OUT="$TMP/out"
LOCK="$OUT/.photo-organizer/lock"
ARGS=(-s "$SRC" -o "$OUT" --min-group-size 2 --faces none -q)
run() { "$BIN" "${ARGS[@]}" "$@"; }
# Started directly (not through a function) so that $! is the program's PID.

# A first run, frozen while it holds OUT.
"$BIN" "${ARGS[@]}" >/dev/null 2>&1 &
first=$!
for _ in $(seq 200); do
    [ "$(cat "$LOCK" 2>/dev/null)" = "$first" ] && break
    sleep 0.05
done
is "the running run records its PID in the lock" "$(cat "$LOCK" 2>/dev/null)" "$first"
kill -STOP "$first"
run >/dev/null 2>"$TMP/err"
is "a second run into the same OUT exits 3" "$?" 3
check "it names the run that holds OUT" grep -q "another run (PID $first) is organizing into" "$TMP/err"
check "it says what to do" grep -q -- "--wait" "$TMP/err"
is "it says so in one line" "$(wc -l <"$TMP/err")" 1

# --wait: starts once the first run ends.
"$BIN" "${ARGS[@]}" --wait >/dev/null 2>"$TMP/err" &
second=$!
sleep 1
check "with --wait it is still waiting" kill -0 "$second"
kill -CONT "$first"
wait "$first"
is "the first run finishes normally" "$?" 0
wait "$second"
is "the waiting run then runs and exits 0" "$?" 0
R="$OUT/reports/latest.json"
check "the tree is one run's result" jq -e '.groups | length >= 1' "$R"
is "the second run found everything done" "$(jq '.run.files_written' "$(readlink -f "$R")")" 0

# A run killed while holding OUT does not leave it locked.
"$BIN" "${ARGS[@]}" --force-fresh >/dev/null 2>&1 &
third=$!
for _ in $(seq 200); do
    [ "$(cat "$LOCK" 2>/dev/null)" = "$third" ] && break
    sleep 0.05
done
kill -KILL "$third"
wait "$third" 2>/dev/null
run >/dev/null 2>"$TMP/err"
is "after a kill -9 the next run is not refused" "$?" 0

# A dry run writes nothing and does not need the lock.
run --dry-run >/dev/null 2>&1
is "a dry run still works" "$?" 0

done_testing
