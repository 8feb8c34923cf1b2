#!/usr/bin/env bash
# Every command, in every output mode, over real photos with 0, 1, 2 and 4
# faces: it exits as documented and its JSON is valid and complete. Catches
# the class of bug where a JSON object built from a format string read the
# wrong argument (`faces --identity --json` crashed inside jansson).
. "$(dirname "$0")/lib.sh"
need_testdata
MODELS=${PHO_MODELS_DIR:-}
[ -n "$MODELS" ] && [ -f "$MODELS/blazeface_full_range.onnx" ] || skip_all "face models not installed"

NONE=$TD/faces/groups/dogs_no_people.jpg
ONE=$TD/faces/portraits/obama.jpg
TWO=$TD/faces/groups/two_people.jpg
FOUR=$TD/bursts/group4_take1.jpg
PHOTOS=("$NONE" "$ONE" "$TWO" "$FOUR")

# faces: every combination of --json, --identity and --landmarks.
for json in "" --json; do
    for identity in "" --identity; do
        for landmarks in "" --landmarks; do
            mode="faces${json:+ $json}${identity:+ $identity}${landmarks:+ $landmarks}"
            "$BIN" faces --models-dir "$MODELS" $json $identity $landmarks "${PHOTOS[@]}" \
                >"$TMP/out" 2>"$TMP/err"
            rc=$?
            is "$mode: exits 0" "$rc" 0
            check "$mode: says nothing on stderr" test ! -s "$TMP/err"
            if [ -z "$json" ]; then
                check "$mode: one line per photo" test "$(grep -c ': [0-9]* faces\?$' "$TMP/out")" = 4
                continue
            fi
            check "$mode: valid JSON" jq -e . "$TMP/out"
            photos='.'
            [ -n "$identity" ] && photos='.photos'
            is "$mode: every photo listed, in order" \
                "$(jq -r "$photos | map(.path) | join(\",\")" "$TMP/out")" "$(IFS=,; echo "${PHOTOS[*]}")"
            is "$mode: faces found (0, 1, 2, 4)" \
                "$(jq -r "$photos | map(.faces | length) | join(\",\")" "$TMP/out")" "0,1,2,4"
            check "$mode: every face has its fields, with the right types" jq -e "
                [$photos[] | .faces[]] | all(
                    (.box | length == 4 and all(type == \"number\")) and (.score | type == \"number\") and
                    (.eyes | IN(\"open\", \"closed\", \"wink\", \"unknown\")) and
                    (.embedding_dim | type == \"number\") and
                    (.ear_left | type == \"number\" or . == null))" "$TMP/out"
            check "$mode: every photo has its pixel size" \
                jq -e "$photos | all(.width > 0 and .height > 0)" "$TMP/out"
            if [ -n "$landmarks" ]; then
                check "$mode: landmarks are [x, y] pairs" jq -e "
                    [$photos[] | .faces[] | .landmarks] | all(length > 0 and all(. == null or (length == 2)))" "$TMP/out"
            fi
            if [ -n "$identity" ]; then
                # 7 faces: every pair once.
                is "$mode: every pair of faces compared once" "$(jq '.pairs | length' "$TMP/out")" 21
                check "$mode: pairs name both photos and faces" jq -e '
                    .pairs | all((.a | type == "string") and (.b | type == "string") and
                                 (.a_face >= 1) and (.b_face >= 1) and (.distance | type == "number") and
                                 (.same_person | type == "boolean"))' "$TMP/out"
                check "$mode: the same man in two photos is found" jq -e --arg a "$ONE" --arg b "$TWO" '
                    any(.pairs[]; .a == $a and .b == $b and .same_person)' "$TMP/out"
                check "$mode: the backend is named" jq -e '.backend | type == "string"' "$TMP/out"
            fi
        done
    done
done

# A photo that cannot be read is one stderr line; the others are still listed.
printf 'not a photo' >"$TMP/bad.jpg"
"$BIN" faces --models-dir "$MODELS" --json --identity "$ONE" "$TMP/bad.jpg" "$TWO" >"$TMP/out" 2>"$TMP/err"
is "faces with an unreadable photo exits 1" "$?" 1
is "one stderr line for it" "$(wc -l <"$TMP/err")" 1
is "the readable photos are listed" "$(jq '.photos | length' "$TMP/out")" 2

# The other commands' JSON.
"$BIN" info --json "${PHOTOS[@]}" >"$TMP/out" 2>"$TMP/err"
is "info --json exits 0" "$?" 0
check "info --json: one entry per photo, decoded sizes are numbers" jq -e '
    length == 4 and all(.format == "JPEG" and (.decoded.width | type == "number") and (.decoded.height > 0))' "$TMP/out"
"$BIN" info --json --no-decode "${PHOTOS[@]}" >"$TMP/out" 2>"$TMP/err"
check "info --json --no-decode: valid, no decode" jq -e 'length == 4 and all(.decoded == null)' "$TMP/out"
"$BIN" backends --models-dir "$MODELS" --json >"$TMP/out" 2>"$TMP/err"
check "backends --json: five backends with their fields" jq -e '
    (.backends | length == 5) and (.backends | all((.name | type == "string") and (.installed | type == "boolean")
        and (.description | type == "string") and (.can | type == "string") and (.device | type == "string")))
    and (.auto | type == "string")' "$TMP/out"
"$BIN" devices --json >"$TMP/out" 2>"$TMP/err"
check "devices --json: the CPU at least, with kind, name, index and memory" jq -e '
    (.devices | length >= 1) and (.devices | all((.kind | type == "string") and (.index | type == "number")
        and (.memory | type == "number"))) and (.onnxruntime | type == "string")' "$TMP/out"
"$BIN" models list --models-dir "$MODELS" --json >"$TMP/out" 2>"$TMP/err"
check "models list --json: every model with its fields" jq -e '
    (.models | length > 5) and (.models | all((.name | type == "string") and (.shipped | type == "boolean")
        and (.state | type == "string"))) and (.models_dir | type == "string")' "$TMP/out"

done_testing
