#!/usr/bin/env bash
# Shots and companions (docs/shots.md), on a photographer's folder built from
# the test photos: RAW+JPEG shots (the JPEG rendered from the DNG with
# dcraw_emu and libvips, the DNG's EXIF copied with ExifTool), a Live Photo
# (a HEIC and a MOV made with ffmpeg), every sidecar convention, edits and
# copies, and a Takeout JPEG whose EXIF dates were removed.
. "$(dirname "$0")/lib.sh"
need_testdata
for tool in dcraw_emu ffmpeg exiftool vips; do
    command -v "$tool" >/dev/null || skip_all "$tool not installed (tools/bootstrap.sh installs it)"
done

SRC="$TMP/src"
mkdir -p "$SRC/live" "$SRC/lone" "$SRC/takeout" "$TMP/apart"
DNG="$TD/formats/raw/canon_eos_6d_lossy.dng"
render() { # render RAW OUT.jpg [blur]: the camera's JPEG of a RAW, its EXIF copied
    dcraw_emu -T -h -w -Z "$TMP/render.tiff" "$1" 2>/dev/null
    if [ -n "${3:-}" ]; then vips gaussblur "$TMP/render.tiff" "$TMP/render2.tiff" "$3"
    else cp "$TMP/render.tiff" "$TMP/render2.tiff"; fi
    vips jpegsave "$TMP/render2.tiff" "$2" --Q 90
    exiftool -q -m -overwrite_original -TagsFromFile "$1" -all:all -Orientation= "$2"
}
set_time() { exiftool -q -m -overwrite_original "-DateTimeOriginal=$2" "-CreateDate=$2" "$1"; }

# A burst of three RAW+JPEG shots, a second apart; the middle one is the sharpest.
blur=(2.0 "" 3.0)
for k in 1 2 3; do
    cp "$DNG" "$SRC/IMG_000$k.DNG"
    chmod u+w "$SRC/IMG_000$k.DNG"
    set_time "$SRC/IMG_000$k.DNG" "2019:06:06 07:29:5$k"
    render "$SRC/IMG_000$k.DNG" "$SRC/IMG_000$k.JPG" "${blur[$((k - 1))]}"
done
xmp='<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>'
echo "$xmp" >"$SRC/IMG_0001.xmp"           # Lightroom, Capture One
echo "$xmp" >"$SRC/IMG_0001.DNG.xmp"       # darktable, digiKam
echo "adjustments" >"$SRC/IMG_0002.AAE"    # iOS
echo "thumbnail" >"$SRC/IMG_0002.THM"      # a camera's
echo '{"title": "IMG_0003.JPG"}' >"$SRC/IMG_0003.JPG.json" # Takeout
echo '{"title": "IMG_0003.JPG"}' >"$SRC/IMG_0003.JPG.supplemental-metadata.json"
# A second copy, Takeout style: IMG_0001(1).JPG described by IMG_0001.JPG(1).json.
cp "$SRC/IMG_0001.JPG" "$SRC/IMG_0001(1).JPG"
echo '{"title": "IMG_0001(1).JPG"}' >"$SRC/IMG_0001.JPG(1).json"

# The same shot again in another folder, with a Lightroom sidecar: in OUT, all its
# files are renamed alike (IMG_0002_2.*) so the sidecar still names its photo.
mkdir -p "$SRC/card2"
cp -p "$SRC/IMG_0002.JPG" "$SRC/IMG_0002.DNG" "$SRC/card2/"
echo "$xmp" >"$SRC/card2/IMG_0002.xmp"

# A lone RAW+JPEG pair.
cp "$TD/formats/raw/colorchart_canon_kiss_x4.dng" "$SRC/lone/IMG_0100.DNG"
chmod u+w "$SRC/lone/IMG_0100.DNG"
render "$SRC/lone/IMG_0100.DNG" "$SRC/lone/IMG_0100.JPG"

# A RAW and a JPEG of one name taken a minute apart (a folder of its own).
cp "$DNG" "$TMP/apart/IMG_0200.DNG"
chmod u+w "$TMP/apart/IMG_0200.DNG"
set_time "$TMP/apart/IMG_0200.DNG" "2019:06:06 08:00:00"
render "$TMP/apart/IMG_0200.DNG" "$TMP/apart/IMG_0200.JPG"
set_time "$TMP/apart/IMG_0200.JPG" "2019:06:06 08:01:00"

# A Live Photo and its edit (the Photos app's IMG_E name).
cp "$TD/formats/heic/IMG_5195.HEIC" "$SRC/live/IMG_5195.HEIC"
cp "$TD/formats/heic/IMG_5195.HEIC" "$SRC/live/IMG_E5195.HEIC"
movie() { # movie OUT.MOV [CONTENT_ID]: a second of video, with Apple's identifier if given
    ffmpeg -loglevel error -f lavfi -i testsrc=duration=1:size=160x120:rate=10 -pix_fmt yuv420p \
        ${2:+-metadata "com.apple.quicktime.content.identifier=$2" -movflags use_metadata_tags} "$1"
}
# The HEIC's maker note holds 570F1469-…; its video says the same.
movie "$SRC/live/IMG_5195.MOV" 570F1469-09C7-4E50-9875-05F21D5BD166
echo "adjustments" >"$SRC/live/IMG_5195.AAE"
# Two stills with content identifiers (tests/e2e/make-live-still.py): one beside its own
# video, one beside another capture's video of the same name.
still="$(dirname "$0")/make-live-still.py"
for k in 0 1; do
    python3 "$still" "$TD/bursts/IMG_20191112_111022.jpg" "$SRC/live/IMG_700$k.JPG" \
        "AAAAAAAA-0000-4000-8000-00000000000$k" "2021:05:01 10:00:0$k"
done
movie "$SRC/live/IMG_7000.MOV" AAAAAAAA-0000-4000-8000-000000000000
movie "$SRC/live/IMG_7001.MOV" BBBBBBBB-0000-4000-8000-000000000001

# Takeout: EXIF dates and GPS removed, the time and place in a shortened JSON name; an
# "-edited" version that no longer looks like it (mirrored, cropped, grey) stays with it.
long="PXL_20190711_123000000.NIGHT.VACATION_BEACH"
cp "$TD/bursts/burst_1.jpg" "$SRC/takeout/$long.jpg" 2>/dev/null ||
    cp "$(find "$TD/neardup" -name '*.jpg' | sort | head -1)" "$SRC/takeout/$long.jpg"
chmod u+w "$SRC/takeout/$long.jpg"
exiftool -q -m -overwrite_original -AllDates= '-SubSecTime*=' '-OffsetTime*=' -GPS:all= \
    "$SRC/takeout/$long.jpg"
json_name="$long.jpg.supplemental-metadata.json"
json_name="${json_name:0:46}.json" # Takeout keeps 51 characters
printf '%s' '{"title": "x", "photoTakenTime": {"timestamp": "1562848200", "formatted": "Jul 11, 2019"},
 "geoData": {"latitude": 48.8584, "longitude": 2.2945, "altitude": 35.0}}' >"$SRC/takeout/$json_name"
vips flip "$SRC/takeout/$long.jpg" "$TMP/flip.v" horizontal
vips extract_area "$TMP/flip.v" "$TMP/crop.v" 0 0 200 150
vips colourspace "$TMP/crop.v" "$SRC/takeout/$long-edited.jpg" b-w

before=$(tree_sums "$SRC")
ARGS=(-s "$SRC" --min-group-size 2 --faces none --threads 2 -q)

# ---- dry run: the plan names every file, nothing is written -----------------
"$BIN" organize -s "$SRC" --min-group-size 2 --faces none --threads 2 -o "$TMP/dry" --dry-run \
    >"$TMP/plan.txt" 2>&1
check "--dry-run writes nothing" test ! -e "$TMP/dry"
check "--dry-run plan lists the RAW beside its JPEG" grep -q "originals/IMG_0002.DNG <- IMG_0002.DNG" "$TMP/plan.txt"
check "--dry-run plan lists the Live Photo's video" grep -q "originals/IMG_5195.MOV <- live/IMG_5195.MOV" "$TMP/plan.txt"

# ---- the run --------------------------------------------------------------
OUT="$TMP/out"
"$BIN" organize "${ARGS[@]}" -o "$OUT" 2>"$TMP/err.txt"
R="$OUT/reports/latest.json"
check "organize succeeded" test -f "$R"
is "sources untouched" "$(tree_sums "$SRC")" "$before"
group_of() { jq -r --arg p "$1" '.photos[] | select(.path == $p) | .group // "none"' "$R"; }
dir_of() { jq -r --arg p "$1" '.groups[] | select(any(.photos[]; .id == $p)) | .dir' "$R"; }

is "lone RAW+JPEG pair: no group" "$(group_of lone/IMG_0100.JPG)" none
is "lone RAW+JPEG pair: the RAW is part of the JPEG's shot" \
    "$(jq -r '.photos[] | select(.path == "lone/IMG_0100.DNG") | .shot_of' "$R")" lone/IMG_0100.JPG
G=$(dir_of IMG_0002.JPG)
is "burst: one group of the three shots (and the copy)" \
    "$(jq -r --arg d "$G" '.groups[] | select(.dir == $d) | [.photos[].id] | sort | join(" ")' "$R")" \
    "IMG_0001(1).JPG IMG_0001.JPG IMG_0002.JPG IMG_0003.JPG card2/IMG_0002.JPG"
is "burst: the RAWs are not members of their own" \
    "$(jq '[.groups[].photos[].id | select(test("DNG$"))] | length' "$R")" 0
is "burst: the sharpest shot is best" \
    "$(jq -r --arg d "$G" '.groups[] | select(.dir == $d) | .best_photo.id' "$R")" IMG_0002.JPG
for f in IMG_0002.JPG IMG_0002.DNG IMG_0002.AAE IMG_0002.THM; do
    check "best_ holds $f of the best shot" cmp -s "$OUT/$G/best_$f" "$SRC/$f"
done
check "no best_ file of another shot" bash -c "! ls '$OUT/$G' | grep -q 'best_IMG_000[13]'"
for f in IMG_0001.JPG IMG_0001.DNG IMG_0001.xmp IMG_0001.DNG.xmp IMG_0003.DNG \
    IMG_0003.JPG.json IMG_0003.JPG.supplemental-metadata.json "IMG_0001(1).JPG" \
    "IMG_0001.JPG(1).json"; do
    check "originals/$f beside its photo" cmp -s "$OUT/$G/originals/$f" "$SRC/$f"
done
for f in JPG DNG xmp; do
    check "a clashing shot is renamed alike: IMG_0002_2.$f" \
        cmp -s "$OUT/$G/originals/IMG_0002_2.$f" "$SRC/card2/IMG_0002.$f"
done
is "the report lists a shot's files and companions" \
    "$(jq -r '.groups[].photos[] | select(.id == "IMG_0001.JPG") | [.files[] | "\(.filename):\(.role)"] | join(" ")' "$R")" \
    "IMG_0001.JPG:main IMG_0001.xmp:xmp IMG_0001.DNG:raw IMG_0001.DNG.xmp:xmp"
is "a Takeout copy is the duplicate of its original" \
    "$(jq -r '.photos[] | select(.path == "IMG_0001(1).JPG") | "\(.edit_kind) of \(.edit_of)"' "$R")" \
    "duplicate of IMG_0001.JPG"

L=$(dir_of live/IMG_5195.HEIC)
check "Live Photo: its MOV travels with the still" cmp -s "$OUT/$L/originals/IMG_5195.MOV" "$SRC/live/IMG_5195.MOV"
check "Live Photo: the best still's MOV is a best_ file too" test -f "$OUT/$L/best_IMG_5195.MOV"
check "Live Photo: its AAE travels with the still" test -f "$OUT/$L/originals/IMG_5195.AAE"
S=$(dir_of live/IMG_7000.JPG)
check "Live Photo with its own content identifier: the MOV travels" \
    cmp -s "$OUT/$S/originals/IMG_7000.MOV" "$SRC/live/IMG_7000.MOV"
check "a MOV of another capture (content identifiers differ) stays behind" \
    test ! -e "$OUT/$S/originals/IMG_7001.MOV"
is "... and is no companion in the report" \
    "$(jq -c '.photos[] | select(.path == "live/IMG_7001.JPG") | .companions' "$R")" null
is "iOS edit named as the edit of its original" \
    "$(jq -r '.photos[] | select(.path == "live/IMG_E5195.HEIC") | "\(.edit_kind) of \(.edit_of)"' "$R")" \
    "ios-edit of live/IMG_5195.HEIC"

T=$(dir_of "takeout/$long.jpg")
is "an -edited version that looks different stays with its original" "$(dir_of "takeout/$long-edited.jpg")" "$T"
is "the edit's link says why" \
    "$(jq -r --arg p "takeout/$long-edited.jpg" '.groups[].photos[] | select(.id == $p) | .linked.reason' "$R")" edit
check "the shortened Takeout JSON travels with its photo" test -f "$OUT/$T/originals/$json_name"
is "Takeout time in the report" \
    "$(jq -r --arg p "takeout/$long.jpg" '.photos[] | select(.path == $p) | "\(.captured) \(.time_source)"' "$R")" \
    "2019-07-11T12:30:00+00:00 Takeout"
is "Takeout place in the report" \
    "$(jq -c --arg p "takeout/$long.jpg" '.photos[] | select(.path == $p) | .gps' "$R")" \
    '{"lat":48.8584,"lon":2.2945,"alt":35,"source":"Takeout"}'
is "Takeout time in info --json" \
    "$("$BIN" info --json --no-decode "$SRC/takeout/$long.jpg" | jq -r '.[0] | "\(.captured) \(.time_source)"')" \
    "2019-07-11T12:30:00+00:00 Takeout"
check "Takeout time named in metadata.txt" grep -q "captured: 2019-07-11T12:30:00+00:00 (Takeout)" "$OUT/$T/metadata.txt"

"$BIN" organize -s "$TMP/apart" -o "$TMP/apart-out" --faces none -q 2>/dev/null
A="$TMP/apart-out/reports/latest.json"
is "RAW and JPEG a minute apart: two shots" \
    "$(jq -r '.photos[] | select(.path == "IMG_0200.DNG") | .shot_of // "own"' "$A")" own
is "... each analysed, and grouped as the copies they are" \
    "$(jq -r '[.groups[].photos[].id] | sort | join(" ")' "$A")" "IMG_0200.DNG IMG_0200.JPG"

# ---- resume: nothing analysed or written again ------------------------------
"$BIN" organize "${ARGS[@]}" -o "$OUT" 2>/dev/null
is "re-run: every file from the catalog" "$(jq '.run.computed' "$R")" 0
is "re-run: nothing written" "$(jq '.run.files_written' "$R")" 0
out_listing "$OUT" >"$TMP/ref.listing"
normalized_report "$R" >"$TMP/ref.report"

# ---- kill -9 in the write stage, then again ------------------------------------
for n in 1 2 3; do
    K="$TMP/k$n"
    "$BIN" organize "${ARGS[@]}" -o "$K" 2>/dev/null &
    pid=$!
    # Until the first group folder appears: the write stage has begun.
    for _ in $(seq 2000); do [ -d "$K/group_0001" ] && break; sleep 0.005; done
    sleep "0.0$n"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    "$BIN" organize "${ARGS[@]}" -o "$K" 2>/dev/null
    out_listing "$K" >"$TMP/k.listing"
    normalized_report "$K/reports/latest.json" >"$TMP/k.report"
    check "killed while writing ($n), run again: same files" cmp -s "$TMP/ref.listing" "$TMP/k.listing"
    check "killed while writing ($n), run again: same report" cmp -s "$TMP/ref.report" "$TMP/k.report"
    check "killed while writing ($n): no temporary file left" bash -c "! find '$K' -name '.pho-tmp.*' | grep -q ."
done

# ---- the burst alone: one group of three shots, six files and their sidecars ----
mkdir -p "$TMP/burst3"
cp -p "$SRC"/IMG_000[123].* "$TMP/burst3/"
"$BIN" organize -s "$TMP/burst3" -o "$TMP/burst3-out" --faces none -q 2>/dev/null
B="$TMP/burst3-out/reports/latest.json"
is "three RAW+JPEG shots: one group of three" "$(jq -c '[.groups[].photo_count]' "$B")" "[3]"
is "... holding the six photo files" "$(ls "$TMP/burst3-out/group_0001/originals" | grep -c -E 'JPG$|DNG$')" 6
is "... best_ holds both files of the best shot" \
    "$(cd "$TMP/burst3-out/group_0001" && ls best_* | grep -E 'JPG$|DNG$' | tr '\n' ' ')" \
    "best_IMG_0002.DNG best_IMG_0002.JPG "

# ---- a RAW+JPEG pair alone forms no group at any --min-group-size ---------------
for m in 2 3; do
    "$BIN" organize -s "$SRC/lone" -o "$TMP/lone$m" --min-group-size "$m" --faces none -q 2>/dev/null
    is "lone pair, --min-group-size $m: no group" "$(jq '.groups | length' "$TMP/lone$m/reports/latest.json")" 0
done

done_testing
