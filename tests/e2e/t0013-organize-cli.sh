#!/usr/bin/env bash
# The organizer's command line: help, validation, and exit codes.
. "$(dirname "$0")/lib.sh"

"$BIN" organize --help >"$TMP/help"
is "organize --help exits 0" "$?" 0
for opt in --source --output --threshold --time-window --min-group-size --hash --dry-run \
    --resume --force-fresh --threads --limit --max-pixels --no-ml-quality --include-hidden \
    --no-follow-symlinks --verbose --quiet; do
    check "help explains $opt" grep -q -- "$opt" "$TMP/help"
done
mkdir -p "$TMP/src"
"$BIN" -s "$TMP/src" -o "$TMP/out" -t 65 2>"$TMP/err"
is "threshold 65 is a usage error" "$?" 2
"$BIN" -s "$TMP/src" -o "$TMP/out" --hash md5 2>"$TMP/err"
is "unknown hash is a usage error" "$?" 2
check "and names the choices" grep -q "dhash or phash" "$TMP/err"
"$BIN" -o "$TMP/out" 2>"$TMP/err"
is "missing -s is a usage error" "$?" 2
"$BIN" -s "$TMP/src" 2>"$TMP/err"
is "missing -o is a usage error" "$?" 2
"$BIN" -s "$TMP/src" -o "$TMP/src" 2>"$TMP/err"
is "output == source is refused" "$?" 2
check "with a reason" grep -q "must not be the source" "$TMP/err"
"$BIN" -s "$TMP/nope" -o "$TMP/out" 2>"$TMP/err"
is "missing source exits 1" "$?" 1
"$BIN" -o "$TMP/fresh" --resume 2>"$TMP/err"
is "--resume with nothing to resume is a usage error" "$?" 2
"$BIN" -s "$TMP/src" -o "$TMP/out" --resume --force-fresh 2>"$TMP/err"
is "--resume with --force-fresh is a usage error" "$?" 2
"$BIN" -s "$TMP/src" -o "$TMP/out" -q
is "an empty source organizes cleanly" "$?" 0
check "and still writes a report" jq -e '.counts.photos == 0' "$TMP/out/reports/latest.json"
"$BIN" -s "$TMP/src" -o "$TMP/out" --min-group-size 1 2>"$TMP/err" >/dev/null
check "--min-group-size 1 is raised to 2 with a warning" grep -q "raised to 2" "$TMP/err"

done_testing
