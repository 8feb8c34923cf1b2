#!/usr/bin/env bash
# The viewer in a real browser (docs/viewer.md): tests/browser/viewer.test.js drives Debian's
# chromium through puppeteer-core (both installed by tools/bootstrap.sh) over an output folder
# made here: the grid and its keys, a group compared and zoomed, the lightbox, every decision
# by its key (best, pick, reject, merge, split, move, take out, ungroup, undo) checked in the
# report and the output tree, the next run keeping them, people renamed (with markup in the
# name), hidden and merged, and what a page may not do. Screenshots go to the build folder.
. "$(dirname "$0")/lib.sh"
need_testdata
command -v chromium >/dev/null || skip_all "chromium is not installed (tools/bootstrap.sh)"
ROOT=${PHO_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
[ -d "$ROOT/tests/browser/node_modules/puppeteer-core" ] || skip_all "puppeteer-core is not installed (tools/bootstrap.sh)"

SRC=$TMP/src
mkdir -p "$SRC"
B=$TD/bursts
cp "$B"/group4_take*.jpg "$B"/canon_hdr_*.jpg "$B"/obama-*.jpg "$SRC/"
cp "$B/canon_hdr_NO.jpg" "$SRC/<img src=x onerror=window.__xss=1>.jpg"
cp "$B/canon_hdr_NO.jpg" "$SRC/<script>alert(1)<script>.jpg"
MODELS=${PHO_MODELS_DIR:-}
ARGS=(-s "$SRC" -o "$TMP/out" -q --threads 2)
if [ -n "$MODELS" ] && [ -f "$MODELS/blazeface_full_range.onnx" ]; then
    # People to rename, hide and merge: two photos each of three people.
    cp "$TD"/faces/identity/{musk_1,musk_2,bezos_1,bezos_2,mayer_1,mayer_2}.jpg "$SRC/"
    ARGS+=(--faces all --people-folders --models-dir "$MODELS")
else
    ARGS+=(--faces none)
fi
"$BIN" organize "${ARGS[@]}" 2>/dev/null
check "organized" test -f "$TMP/out/reports/latest.json"

"$BIN" serve -o "$TMP/out" --port 18940 ${MODELS:+--models-dir "$MODELS"} >"$TMP/serve.out" 2>"$TMP/serve.err" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do grep -q '^Open ' "$TMP/serve.out" && break; sleep 0.1; done
URL=$(sed -n 's/^Open //p' "$TMP/serve.out")
check "serve prints the address" test -n "$URL"

SHOTS=${PHO_BUILD_DIR:-$TMP}/viewer-screenshots
mkdir -p "$SHOTS"
ORG_ARGS=$(printf '%s\n' "${ARGS[@]}" | jq -R . | jq -sc .)
PHO_BIN=$BIN PHO_ORGANIZE_ARGS=$ORG_ARGS timeout 600 node "$ROOT/tests/browser/viewer.test.js" "$URL" "$TMP/out" "$SHOTS" \
    >"$TMP/browser.out" 2>"$TMP/browser.err"
rc=$?
while IFS= read -r line; do
    case $line in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) not_ok "${line#not ok - }" ;;
    "#"*) echo "$line" ;;
    esac
done <"$TMP/browser.out"
is "the browser session ended well" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/# /' "$TMP/browser.err" | tail -20
kill "$PID"
wait "$PID" 2>/dev/null
is "serve stopped cleanly" "$?" 0
is "serve said nothing on stderr" "$(cat "$TMP/serve.err")" ""
done_testing
