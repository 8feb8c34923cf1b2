#!/usr/bin/env bash
# Command-line behaviour: help, version, usage errors and exit codes.
. "$(dirname "$0")/lib.sh"

"$BIN" --help >"$TMP/out"
is "--help exits 0" "$?" 0
check "--help lists the info command" grep -q "info" "$TMP/out"
"$BIN" info --help >"$TMP/out"
is "info --help exits 0" "$?" 0
check "info --help explains --json" grep -q -- "--json" "$TMP/out"
"$BIN" --version >"$TMP/out"
check "--version prints the version" grep -qE "^photo-organizer [0-9]+\.[0-9]+" "$TMP/out"
"$BIN" frobnicate 2>"$TMP/err"
is "unknown command exits 2" "$?" 2
check "and says what to do" grep -q -- "--help" "$TMP/err"
"$BIN" info 2>"$TMP/err"
is "info without files exits 2" "$?" 2
"$BIN" info --threads abc x 2>"$TMP/err"
is "bad number exits 2" "$?" 2
check "bad number is explained" grep -q "whole number" "$TMP/err"
"$BIN" info --bogus x 2>/dev/null
is "unknown option exits 2" "$?" 2
"$BIN" 2>/dev/null
is "no arguments exits 2" "$?" 2

done_testing
