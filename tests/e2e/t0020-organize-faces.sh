#!/usr/bin/env bash
# Face-aware best shots: the organizer analyses the faces of grouped photos,
# reports them, caches them, and never picks a take with closed eyes when a
# take with everyone's eyes open exists.
. "$(dirname "$0")/lib.sh"
need_testdata
MODELS=${PHO_MODELS_DIR:-}
[ -n "$MODELS" ] && [ -f "$MODELS/blazeface_full_range.onnx" ] || skip_all "face models not installed"

SRC="$TMP/src"
mkdir -p "$SRC"
cp -a "$TD/bursts" "$TD/faces" "$SRC/"
OUT="$TMP/out"
"$BIN" -s "$SRC" -o "$OUT" --min-group-size 2 --models-dir "$MODELS" -q 2>"$TMP/err"
is "faces run exits 0" "$?" 0
R="$OUT/reports/latest.json"
is "faces analysed with the mediapipe backend by default" "$(jq -r .faces.backend "$R")" mediapipe
check "every grouped photo has a faces list" jq -e '[.photos[] | select(.group != null) | .faces] | all(. != null)' "$R"
check "ungrouped photos were not analysed (--faces groups)" jq -e '[.photos[] | select(.group == null and .error == null) | .faces] | all(. == null)' "$R"
check "faces carry boxes, eyes, smile and an embedding reference" jq -e '
    [.photos[] | select(.faces != null) | .faces[]] | length > 0 and
    all(.box | length == 4) and all(.eyes | IN("open", "closed", "wink", "unknown")) and
    all(.embedding | type == "string")' "$R"

# The four-person burst: 5 takes of the same people.
take_group=$(jq '[.photos[] | select(.path | test("group4_take")) | .group] | unique' "$R")
check "the group4 takes are grouped" jq -e 'length >= 1 and all(. != null)' <<<"$take_group"
# For every group: if some take has faces and all of them open, the best has all eyes open.
check "every group's best has no closed eyes when some take has none" jq -e '
    (.photos | map({(.path): .}) | add) as $by |
    [.groups[] |
        [.photos[].id | $by[.]] as $members |
        ($members | map(select(.faces != null and (.faces | length > 0)
                               and (.faces | all(.eyes == "open")))) | length) as $allopen |
        $by[.best_photo.id] as $best |
        ($allopen == 0 or (($best.faces | length > 0) and ($best.faces | all(.eyes == "open"))))
    ] | all' "$R"
check "the why of a face group talks about eyes" jq -e '[.groups[] | select(.why | test("eyes"))] | length > 0' "$R"
check "metadata.txt lists faces" grep -rq "^faces: " "$OUT"/group_*/metadata.txt

# Second run: faces come from the catalog.
"$BIN" -s "$SRC" -o "$OUT" --min-group-size 2 --models-dir "$MODELS" -q 2>/dev/null
R2=$(readlink -f "$OUT/reports/latest.json")
is "second run computes no faces" "$(jq .run.faces_computed "$R2")" 0
check "and restores them all" jq -e '.run.faces_from_catalog > 0' "$R2"
check "with the same report" cmp -s <(normalized_report "$R") <(normalized_report "$R2")

# A backend that cannot run is an error when named, not a silent fallback.
"$BIN" -s "$SRC" -o "$TMP/o2" --face-backend insightface --models-dir "$TMP/empty-models" -q 2>"$TMP/err"
is "a named backend without its models exits 1" "$?" 1
check "and says what is missing" grep -q "insightface" "$TMP/err"
# auto without any model: a warning, image quality only.
mkdir -p "$TMP/empty-models"
"$BIN" -s "$SRC/bursts" -o "$TMP/o3" --models-dir "$TMP/empty-models" 2>"$TMP/err" >/dev/null
is "auto without models still organizes" "$?" 0
check "and warns that faces were skipped" grep -q "image quality only" "$TMP/err"
check "choosing by image quality" jq -e '[.groups[] | .why | test("no faces|image quality")] | all' "$TMP/o3/reports/latest.json"
"$BIN" -s "$SRC/bursts" -o "$TMP/o4" --faces none -q 2>/dev/null
check "--faces none analyses no faces" jq -e '.faces.backend == null' "$TMP/o4/reports/latest.json"

done_testing
