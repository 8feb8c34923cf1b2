#!/usr/bin/env bash
# Closed eyes repaired from another take (docs/face-swap.md): `fix-eyes` on the group4
# burst (take2, where one of four people blinks, with take3 as donor) and on synthetic
# cases made here from the test photos (EXIF-rotated target and donor, an ICC profile and
# camera EXIF, a smaller donor, two blinking faces in one photo, a darker donor); each
# repair is analysed again independently (`faces`): the eyes open, the same person, the
# seam under the limit, the metadata kept. Refusals: a take from another day and pose, an
# unblended paste, a photo as output. Then `organize --enable-face-swap` on a burst whose
# every take has a blink: best_<name>_fixed.jpg beside the untouched best shot, the report
# and metadata.txt, a dry run that writes nothing, a re-run that rewrites nothing.
. "$(dirname "$0")/lib.sh"
need_testdata
MODELS=${PHO_MODELS_DIR:-}
[ -n "$MODELS" ] && [ -f "$MODELS/blazeface_full_range.onnx" ] || skip_all "face models not installed"
command -v vips >/dev/null && command -v exiftool >/dev/null || skip_all "vips and exiftool are needed to make the cases"

B=$TD/bursts
E=$TD/eyes
FIX=("$BIN" fix-eyes --models-dir "$MODELS")
tree_sums "$TD" >"$TMP/sources.before"

# The faces of a photo as the organizer judges them: eyes words in image order.
eyes_of() { "$BIN" faces --json --models-dir "$MODELS" "$1" | jq -c '[.[0].faces[].eyes]'; }
# Whether the face of $1 at the repaired box is the same person as the face of $2 there
# (the faces command's own identity comparison, independent of fix-eyes).
same_person_at() { # out target cx cy (box centre, pixels)
    "$BIN" faces --json --identity --models-dir "$MODELS" "$1" "$2" | jq -e --arg a "$1" --arg b "$2" \
        --argjson cx "$3" --argjson cy "$4" '
        def near($faces): [$faces | to_entries[] | {i: (.key + 1),
            d: ((((.value.box[0] + .value.box[2]) / 2 - $cx) | fabs) + (((.value.box[1] + .value.box[3]) / 2 - $cy) | fabs))}]
            | min_by(.d) | .i;
        (.photos[0].faces | near(.)) as $fa | (.photos[1].faces | near(.)) as $fb
        | [.pairs[] | select(.a == $a and .b == $b and .a_face == $fa and .b_face == $fb)][0].same_person' >/dev/null
}

# ---- 1. the group4 burst: take2's blinking face from take3 --------------------------------
"${FIX[@]}" --json "$B/group4_take2.jpg" "$B/group4_take3.jpg" -o "$TMP/g4.jpg" >"$TMP/g4.json"
is "fix-eyes take2 <- take3: exit 0" "$?" 0
J=$TMP/g4.json
is "one closed-eyed face found, one repaired" "$(jq -c '[.closed, .fixed]' "$J")" "[1,1]"
echo "# group4: $(jq -c '.faces[0] | {face, ear_before, ear_after, distance, distance_after, seam, match, residual_px}' "$J")"
check "the donor is take3" jq -e '.faces[0].donor | endswith("group4_take3.jpg")' "$J"
check "EAR rose from under 0.2 to over 0.25" jq -e '.faces[0].ear_before < 0.2 and .faces[0].ear_after > 0.25' "$J"
check "seam under the limit" jq -e '.faces[0].seam <= .max_seam' "$J"
check "still the same person (distance to the original face within the threshold)" \
    jq -e '.faces[0].distance_after <= .same_person' "$J"
is "analysed again: all four faces open" "$(eyes_of "$TMP/g4.jpg")" '["open","open","open","open"]'
read -r cx cy < <(jq -r '.faces[0].box | "\((.[0] + .[2]) / 2) \((.[1] + .[3]) / 2)"' "$J")
check "the faces command matches the repaired face to the original's person" same_person_at "$TMP/g4.jpg" "$B/group4_take2.jpg" "$cx" "$cy"
is "same size as the target" "$(vipsheader -f width "$TMP/g4.jpg")x$(vipsheader -f height "$TMP/g4.jpg")" \
    "$(vipsheader -f width "$B/group4_take2.jpg")x$(vipsheader -f height "$B/group4_take2.jpg")"
# Only the eyes changed: the rest of the photo is the target's (JPEG noise aside).
diff_far=$(vips subtract "$TMP/g4.jpg" "$B/group4_take2.jpg" "$TMP/d.v" && vips abs "$TMP/d.v" "$TMP/a.v" &&
    vips extract_area "$TMP/a.v" "$TMP/far.v" 0 0 600 1108 && vips max "$TMP/far.v")
check "far from the repaired face the photo is unchanged (max difference $diff_far <= 40)" \
    awk "BEGIN { exit !($diff_far <= 40) }"

# ---- 2. rotated target and donor, camera EXIF, an ICC profile, the quality ----------------
vips rot "$B/group4_take2.jpg" "$TMP/t2r.jpg[Q=80]" d270
exiftool -q -overwrite_original -TagsFromFile "$B/iphone_hdr_NO.jpg" -Make -Model -DateTimeOriginal \
    -ThumbnailImage -TagsFromFile "$TD/exiftool-images/ExifTool.jpg" -ICC_Profile "-Orientation#=6" "$TMP/t2r.jpg" 2>/dev/null
vips rot "$B/group4_take3.jpg" "$TMP/t3r.jpg" d90
exiftool -q -overwrite_original "-Orientation#=8" "$TMP/t3r.jpg"
"${FIX[@]}" --json "$TMP/t2r.jpg" "$TMP/t3r.jpg" -o "$TMP/rot.jpg" >"$TMP/rot.json"
is "rotated target (orientation 6) and donor (8): repaired" "$(jq .fixed "$TMP/rot.json")" 1
is "written upright: 1477x1108" "$(vipsheader -f width "$TMP/rot.jpg")x$(vipsheader -f height "$TMP/rot.jpg")" "1477x1108"
is "analysed again: all four faces open" "$(eyes_of "$TMP/rot.jpg")" '["open","open","open","open"]'
exif() { exiftool -s -s -s "-$2" "$1"; }
is "EXIF orientation normalised" "$(exiftool -s -s -s -n -Orientation "$TMP/rot.jpg")" 1
for tag in Make Model DateTimeOriginal ProfileDescription; do
    is "$tag kept" "$(exif "$TMP/rot.jpg" $tag)" "$(exif "$TMP/t2r.jpg" $tag)"
done
is "the old EXIF thumbnail is gone (it shows the blink)" "$(exif "$TMP/rot.jpg" ThumbnailImage)" ""
q_src=$(identify -format %Q "$TMP/t2r.jpg")
q_out=$(identify -format %Q "$TMP/rot.jpg")
check "JPEG quality kept ($q_src -> $q_out)" awk "BEGIN { exit !(($q_out - $q_src) <= 2 && ($q_src - $q_out) <= 2) }"

# ---- 3. a donor at 60 % of the size -----------------------------------------------------
vips resize "$B/group4_take3.jpg" "$TMP/small3.jpg" 0.6
"${FIX[@]}" --json "$B/group4_take2.jpg" "$TMP/small3.jpg" -o "$TMP/small.jpg" >"$TMP/small.json"
is "a smaller donor: repaired" "$(jq .fixed "$TMP/small.json")" 1
is "analysed again: all four faces open" "$(eyes_of "$TMP/small.jpg")" '["open","open","open","open"]'

# ---- 4. two blinking faces in one photo (two people of the eyes set side by side) -------
# (The second person is the s04 man: the s09 man's only open photo, eyes_064, hooded lids,
# reads as a wink to the eye judge, the eye set's one false alarm in docs/faces.md.)
vips arrayjoin "$E/eyes_025.png $E/eyes_012.png" "$TMP/two_closed.png"
vips arrayjoin "$E/eyes_001.png $E/eyes_076.png" "$TMP/two_open.png"
"${FIX[@]}" --json "$TMP/two_closed.png" "$TMP/two_open.png" -o "$TMP/two.jpg" >"$TMP/two.json"
is "two closed-eyed faces, both repaired" "$(jq -c '[.closed, .fixed]' "$TMP/two.json")" "[2,2]"
check "each from its own person's face" jq -e '[.faces[].donor_face] | sort == [1, 2]' "$TMP/two.json"
is "analysed again: both open" "$(eyes_of "$TMP/two.jpg")" '["open","open"]'
echo "# two faces: $(jq -c '[.faces[] | {ear_before, ear_after, distance_after, seam, match}]' "$TMP/two.json")"

# ---- 5. exposure: Poisson blending matches a darker donor; a paste would show -----------
vips linear "$B/group4_take3.jpg" "$TMP/dark3.jpg" 0.6 0
"${FIX[@]}" --json "$B/group4_take2.jpg" "$TMP/dark3.jpg" -o "$TMP/dark.jpg" >"$TMP/dark.json"
check "a donor 40 % darker: repaired, seam under the limit" jq -e '.fixed == 1 and .faces[0].seam <= .max_seam' "$TMP/dark.json"
"${FIX[@]}" --json --blend paste "$B/group4_take2.jpg" "$TMP/dark3.jpg" -o "$TMP/paste.jpg" >"$TMP/paste.json"
is "the same eyes pasted without blending: refused, exit 1" "$?" 1
check "refused for its seam" jq -e '.fixed == 0 and .faces[0].seam > .max_seam and (.faces[0].why | test("seam"))' "$TMP/paste.json"
check "nothing written when nothing was repaired" test ! -e "$TMP/paste.jpg"

# ---- 6. refusals: another day and pose; the photos themselves; an existing file ---------
F=$TD/faces/eyes
"${FIX[@]}" --json "$F/woman_eyes_closed.jpeg" "$F/woman_eyes_open.png" -o "$TMP/woman.jpg" >"$TMP/woman.json"
is "a portrait from another day and pose: not repaired, exit 1" "$?" 1
check "the reason says the faces do not line up" jq -e '.faces[0].fixed == false and (.faces[0].why | test("line up|looks different"))' "$TMP/woman.json"
"${FIX[@]}" "$B/group4_take3.jpg" "$B/group4_take1.jpg" -o "$TMP/none.jpg" >"$TMP/none.txt"
is "no closed eyes: exit 1" "$?" 1
check "... and it says so" grep -q "no closed eyes" "$TMP/none.txt"
"${FIX[@]}" "$B/group4_take2.jpg" "$B/group4_take3.jpg" -o "$B/group4_take2.jpg" 2>/dev/null
is "-o naming the target: usage error" "$?" 2
echo keep >"$TMP/exists.jpg"
"${FIX[@]}" "$B/group4_take2.jpg" "$B/group4_take3.jpg" -o "$TMP/exists.jpg" 2>/dev/null
is "-o naming an existing file: usage error" "$?" 2
is "... which is left as it was" "$(cat "$TMP/exists.jpg")" keep

# ---- 7. organize --enable-face-swap: a burst in which every take has a blink ------------
mkdir -p "$TMP/src"
# (the s04 man again, as in 4; takeB wins on the smile, takeA gives the eyes)
vips arrayjoin "$E/eyes_001.png $E/eyes_012.png" "$TMP/src/takeA.jpg[Q=92]"
vips arrayjoin "$E/eyes_025.png $E/eyes_076.png" "$TMP/src/takeB.jpg[Q=92]"
tree_sums "$TMP/src" >"$TMP/src.before"
ARGS=(-s "$TMP/src" --models-dir "$MODELS" --enable-face-swap)
"$BIN" organize "${ARGS[@]}" -o "$TMP/dry" --dry-run >"$TMP/dry.txt" 2>&1
check "dry run: the plan names the take the eyes come from" grep -q "face swap: face .* eyes to come from takeA.jpg" "$TMP/dry.txt"
check "dry run: nothing written" test ! -e "$TMP/dry"
"$BIN" organize "${ARGS[@]}" -q -o "$TMP/out" 2>/dev/null
is "organize exit 0" "$?" 0
R=$TMP/out/reports/latest.json
G=$TMP/out/group_0001
best=$(jq -r '.groups[0].best_photo.filename' "$R")
fixed=$(jq -r '.groups[0].face_swap.file' "$R")
is "the repaired file is named after the best shot" "$fixed" "best_${best%.*}_fixed.jpg"
check "it is beside the best shot" test -f "$G/$fixed"
is "the best shot itself is the source's bytes" "$(sha256sum <"$G/best_$best")" "$(sha256sum <"$TMP/src/$best")"
is "the report: one face fixed" "$(jq '.groups[0].face_swap.faces_fixed' "$R")" 1
check "the report says which take the eyes came from, and the checks' measures" jq -e '
    .groups[0].face_swap.faces[0] | .fixed and .from != null and .ear_after > .ear_before
    and .seam <= 1.6 and .identity_distance_after != null' "$R"
check "the group's why tells of the repair" jq -e '.groups[0].why | test("face swap: 1 of 1 .* repaired in best_")' "$R"
check "metadata.txt says which face came from which take" grep -q "face [0-9]: eyes from take[AB].jpg face" "$G/metadata.txt"
is "analysed again: both open" "$(eyes_of "$G/$fixed")" '["open","open"]'
check "run totals in the report" jq -e '.run.face_swap == {groups_with_closed_eyes: 1, repaired: 1, faces_fixed: 1}' "$R"
is "the catalog remembers what the repair was made from" \
    "$(sqlite3 "$TMP/out/.photo-organizer/catalog.db" "SELECT count(*) FROM derived WHERE rel = 'group_0001/$fixed'")" 1
sum_fixed=$(sha256sum <"$G/$fixed")
"$BIN" organize "${ARGS[@]}" -v -o "$TMP/out" >"$TMP/again.txt" 2>&1
is "a re-run rewrites nothing" "$(jq '.run.files_written' "$R")" 0
check "... nor repairs again: the same photos and analysis keep the earlier repair" \
    grep -q "group_0001: the repair of an earlier run stands" "$TMP/again.txt"
check "... and still reports the repair, from the catalog" jq -e '
    .run.face_swap.repaired == 1 and .groups[0].face_swap.faces[0].fixed
    and (.groups[0].face_swap.faces[0].from | test("take")) and (.groups[0].why | test("repaired in best_"))' "$R"
# The user edits the repaired file: it is theirs now; the next run keeps it and puts its
# own repair beside it.
printf 'x' >>"$G/$fixed"
edited=$(sha256sum <"$G/$fixed")
"$BIN" organize "${ARGS[@]}" -q -o "$TMP/out" 2>/dev/null
is "the user's edit of the repaired file is kept" "$(sha256sum <"$G/$fixed")" "$edited"
check "... and the report lists it as theirs" jq -e --arg f "group_0001/$fixed" '[.user_files_kept[]?.path] | index($f) != null' "$R"
is "the sources were never changed" "$(tree_sums "$TMP/src")" "$(cat "$TMP/src.before")"
is "the test photos were never changed" "$(tree_sums "$TD")" "$(cat "$TMP/sources.before")"
done_testing
