#!/usr/bin/env bash
# Nothing outside OUT and the models folder, and no usage data: a face
# analysis and an organize run, with HOME and TMPDIR pointing at empty
# folders, leave both empty (ONNX Runtime's telemetry wrote a device id and an
# event database under ~/.cache and a debug log into TMPDIR on every run).
. "$(dirname "$0")/lib.sh"
need_testdata
MODELS=${PHO_MODELS_DIR:-}
[ -n "$MODELS" ] && [ -f "$MODELS/blazeface_full_range.onnx" ] || skip_all "face models not installed"

mkdir -p "$TMP/home" "$TMP/tmp" "$TMP/src"
cp "$TD/bursts/group4_take1.jpg" "$TD/bursts/group4_take4.jpg" "$TMP/src/"
run() { HOME="$TMP/home" TMPDIR="$TMP/tmp" XDG_CACHE_HOME= XDG_DATA_HOME= XDG_CONFIG_HOME= "$@"; }

run "$BIN" faces --models-dir "$MODELS" --identity --json "$TMP/src/group4_take1.jpg" >"$TMP/faces.json" 2>"$TMP/err"
is "faces exits 0" "$?" 0
check "faces found some faces" jq -e '.photos[0].faces | length > 0' "$TMP/faces.json"
is "nothing written under HOME by faces" "$(find "$TMP/home" -mindepth 1 | head -3)" ""
is "nothing written under TMPDIR by faces" "$(find "$TMP/tmp" -mindepth 1 | head -3)" ""

run "$BIN" -s "$TMP/src" -o "$TMP/out" --min-group-size 2 --models-dir "$MODELS" --dry-run -q >/dev/null 2>"$TMP/err"
is "a dry run with faces exits 0" "$?" 0
is "nothing written under HOME by a dry run" "$(find "$TMP/home" -mindepth 1 | head -3)" ""
is "nothing written under TMPDIR by a dry run" "$(find "$TMP/tmp" -mindepth 1 | head -3)" ""
check "a dry run writes no OUT" test ! -e "$TMP/out"

run "$BIN" -s "$TMP/src" -o "$TMP/out" --min-group-size 2 --models-dir "$MODELS" -q >/dev/null 2>"$TMP/err"
is "an organize run with faces exits 0" "$?" 0
is "nothing written under HOME by organize" "$(find "$TMP/home" -mindepth 1 | head -3)" ""
is "nothing written under TMPDIR by organize" "$(find "$TMP/tmp" -mindepth 1 | head -3)" ""
is "the source folder holds just the two photos" "$(ls -A "$TMP/src" | wc -l)" 2

done_testing
