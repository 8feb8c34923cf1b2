#!/usr/bin/env bash
# XMP sidecars (docs/xmp.md), read back with an independent reader (the exiv2
# command-line tool): ratings, labels and keywords as promised, every sidecar
# well-formed, the reason for the choice in our namespace; a user's sidecar in
# OUT or beside a source merged, never clobbered, its first content backed up;
# both naming conventions on RAW+JPEG shots; --tag-only writes decisions only.
. "$(dirname "$0")/lib.sh"
need_testdata
for tool in exiv2 xmllint dcraw_emu exiftool vips; do
    command -v "$tool" >/dev/null || skip_all "$tool not installed (tools/bootstrap.sh installs it)"
done

SRC="$TMP/src"
mkdir -p "$SRC"
cp -a "$TD/bursts" "$SRC/"
chmod -R u+w "$SRC"
ARGS=(-s "$SRC" --min-group-size 2 --faces none --threads 2 -q)
# One XMP property as exiv2 prints it (-Pv: the value alone); "" when absent.
prop() { exiv2 -q -K "$2" -Pv "$1" 2>/dev/null; }
photos_sums() { (cd "$1" && find . -type f ! -name '*.xmp*' -print0 | sort -z | xargs -0 sha256sum); }
before=$(photos_sums "$SRC")

# --xmp: a sidecar beside every group file in OUT, and beside best_.
OUT="$TMP/out"
"$BIN" organize "${ARGS[@]}" -o "$OUT" --xmp 2>/dev/null
R="$OUT/reports/latest.json"
n=0 bad=0 malformed=0
while IFS=$'\t' read -r dir fname best why; do
    stem=${fname%.*}
    for side in "$OUT/$dir/originals/$stem.xmp" $([ "$best" = true ] && echo "$OUT/$dir/best_$stem.xmp"); do
        n=$((n + 1))
        xmllint --noout "$side" 2>/dev/null || malformed=$((malformed + 1))
        want_rating=1 want_label=""
        [ "$best" = true ] && want_rating=5 want_label=Green
        subjects=$(prop "$side" Xmp.lr.hierarchicalSubject)
        [ "$(prop "$side" Xmp.xmp.Rating)" = "$want_rating" ] &&
            [ "$(prop "$side" Xmp.xmp.Label)" = "$want_label" ] &&
            [[ $subjects == *"photo-organizer|$dir"* ]] &&
            { [ "$best" != true ] || [[ $subjects == *"photo-organizer|best"* ]]; } &&
            [[ $(prop "$side" Xmp.dc.subject) == *"$dir"* ]] &&
            [ "$(prop "$side" Xmp.phorg.Reason)" = "$why" ] &&
            [ "$(prop "$side" Xmp.phorg.Group)" = "$dir" ] || bad=$((bad + 1))
    done
done < <(jq -r '.groups[] | .dir as $d | .why as $w | .photos[] | [$d, .filename, .is_best, $w] | @tsv' "$R")
check "--xmp: sidecars were written" [ "$n" -gt 10 ]
is "--xmp: all $n sidecars read back by exiv2 with the promised rating, label, keywords and reason" "$bad" 0
is "--xmp: every sidecar is well-formed XML" "$malformed" 0
is "--xmp: the report counts them" "$(jq .run.sidecars.written "$R")" "$n"
"$BIN" organize "${ARGS[@]}" -o "$OUT" --xmp 2>/dev/null
is "--xmp: a re-run writes nothing" "$(jq '[.run.files_written, .run.sidecars.unchanged] | @tsv' -r "$R")" "0	$n"

# The user rates a photo in their tool, which writes into OUT's sidecar: theirs stays, merged.
g1=$(jq -r '.groups[0].dir' "$R")
other=$(jq -r '.groups[0].photos[] | select(.is_best | not) | .filename' "$R" | head -1)
side="$OUT/$g1/originals/${other%.*}.xmp"
exiv2 -q -M"set Xmp.xmp.Rating 4" -M"set Xmp.dc.creator Ada" "$side"
"$BIN" organize "${ARGS[@]}" -o "$OUT" --xmp --xmp-rating-others -1 2>/dev/null
is "OUT: the user's rating in a sidecar stays" "$(prop "$side" Xmp.xmp.Rating)" 4
is "OUT: the user's other fields stay" "$(prop "$side" Xmp.dc.creator)" Ada
check "OUT: our keywords are still there" grep -q "photo-organizer|$g1" "$side"
check "OUT: nothing written beside the user's sidecar" bash -c "! ls '$OUT/$g1/originals/' | grep -q photo-organizer"
other2=$(jq -r '.groups[1].photos[] | select(.is_best | not) | .filename' "$R" | head -1)
is "--xmp-rating-others -1: an untouched sidecar says rejected" \
    "$(prop "$OUT/$(jq -r '.groups[1].dir' "$R")/originals/${other2%.*}.xmp" Xmp.xmp.Rating)" -1

# Beside the sources: a Lightroom sidecar with the user's work, and one that is not XMP.
cat >"$SRC/bursts/group4_take1.xmp" <<'EOF'
<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmp:Rating="3" crs:Exposure2012="+0.35">
   <dc:creator><rdf:Seq><rdf:li>Ada</rdf:li></rdf:Seq></dc:creator>
   <dc:subject><rdf:Bag><rdf:li>holiday</rdf:li><rdf:li>best</rdf:li></rdf:Bag></dc:subject>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>places|beach</rdf:li></rdf:Bag></lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
EOF
cp "$SRC/bursts/group4_take1.xmp" "$TMP/take1.orig"
echo "not xmp <<" >"$SRC/bursts/group4_take3.xmp"
OUT2="$TMP/out2"
"$BIN" organize -s "$SRC" --min-group-size 2 --faces none --threads 2 -o "$OUT2" \
    --xmp-beside-sources >/dev/null 2>"$TMP/err2"
st=$?
R2="$OUT2/reports/latest.json"
is "beside sources: a sidecar that is not XMP is not a failed run" "$st" 0
is "beside sources: it is left alone" "$(cat "$SRC/bursts/group4_take3.xmp")" "not xmp <<"
is "beside sources: one line says so" "$(grep -c 'group4_take3.xmp.*not valid XMP' "$TMP/err2")" 1
is "beside sources: the report lists it" "$(jq -r '.sidecars_left_alone[0] | "\(.in) \(.path)"' "$R2")" \
    "source bursts/group4_take3.xmp"
S1="$SRC/bursts/group4_take1.xmp"
is "beside sources: the user's rating stays" "$(prop "$S1" Xmp.xmp.Rating)" 3
is "beside sources: the user's creator and develop settings stay" \
    "$(prop "$S1" Xmp.dc.creator) $(prop "$S1" Xmp.crs.Exposure2012)" "Ada +0.35"
subj=$(prop "$S1" Xmp.dc.subject)
check "beside sources: the user's keywords stay and ours are added" \
    bash -c "[[ '$subj' == *holiday* && '$subj' == *photo-organizer* ]]"
check "beside sources: the user's hierarchy stays" bash -c "[[ '$(prop "$S1" Xmp.lr.hierarchicalSubject)' == *'places|beach'*'photo-organizer|group_'* ]]"
check "beside sources: the first content is kept as a backup" cmp -s "$S1.photo-organizer-backup" "$TMP/take1.orig"
missing=0
for f in $(jq -r '.groups[].photos[].files[] | select(.role == "main") | .source' "$R2"); do
    [ -f "$SRC/${f%.*}.xmp" ] || missing=$((missing + 1))
done
is "beside sources: every grouped photo has its sidecar" "$missing" 0
is "beside sources: no photo changed" "$(photos_sums "$SRC")" "$before"
check "beside sources: OUT's copy of a merged source sidecar is the merged one" \
    cmp -s "$S1" "$OUT2/$(jq -r '.groups[] | select(any(.photos[]; .filename == "group4_take1.jpg")) | .dir' "$R2")/originals/group4_take1.xmp"
cp "$S1" "$TMP/take1.merged"
"$BIN" organize "${ARGS[@]}" -o "$OUT2" --xmp-beside-sources 2>/dev/null
check "beside sources: a re-run leaves the merged sidecar as it was" cmp -s "$S1" "$TMP/take1.merged"
is "beside sources: a re-run writes no sidecar" "$(jq .run.sidecars.written "$R2")" 0
check "beside sources: the backup is the first content still" cmp -s "$S1.photo-organizer-backup" "$TMP/take1.orig"
"$BIN" organize "${ARGS[@]}" -o "$TMP/dry" --xmp-beside-sources --dry-run >/dev/null 2>&1
cp "$S1" "$TMP/take1.now"
is "--dry-run: no sidecar is written" "$(find "$SRC" -name '*.xmp' -newer "$TMP/take1.now" | wc -l)" 0

# --tag-only: the decisions alone, mirrored under OUT/xmp/; nothing else made or removed.
OUT3="$TMP/out3"
"$BIN" organize "${ARGS[@]}" -o "$OUT3" --tag-only 2>/dev/null
check "--tag-only: no group folder" bash -c "! ls '$OUT3' | grep -q group_"
check "--tag-only: the report is written" [ -f "$OUT3/reports/latest.json" ]
is "--tag-only: a sidecar per grouped photo under OUT/xmp/ (but the one whose own is not XMP)" \
    "$(find "$OUT3/xmp" -name '*.xmp' | wc -l)" "$(jq '[.groups[].photos[]] | length - 1' "$OUT3/reports/latest.json")"
is "--tag-only: merged from the source's own sidecar" "$(prop "$OUT3/xmp/bursts/group4_take1.xmp" Xmp.dc.creator)" Ada
is "--tag-only: the settings say so" "$(jq .settings.tag_only "$OUT3/reports/latest.json")" true
"$BIN" organize "${ARGS[@]}" -o "$OUT" --tag-only 2>/dev/null
check "--tag-only over an earlier run: its group folders are kept" [ -d "$OUT/$g1/originals" ]

# RAW+JPEG shots: name (one sidecar per shot, Lightroom) and name.ext (one per file, darktable).
SRC4="$TMP/raw"
mkdir -p "$SRC4"
DNG="$TD/formats/raw/canon_eos_6d_lossy.dng"
dcraw_emu -T -h -w -Z "$TMP/render.tiff" "$DNG" 2>/dev/null
for k in 1 2; do
    cp "$DNG" "$SRC4/IMG_000$k.DNG"
    chmod u+w "$SRC4/IMG_000$k.DNG"
    exiftool -q -m -overwrite_original "-DateTimeOriginal=2019:06:06 07:29:5$k" "$SRC4/IMG_000$k.DNG"
    if [ "$k" = 2 ]; then vips gaussblur "$TMP/render.tiff" "$TMP/r.tiff" 2.0; else cp "$TMP/render.tiff" "$TMP/r.tiff"; fi
    vips jpegsave "$TMP/r.tiff" "$SRC4/IMG_000$k.JPG" --Q 90
    exiftool -q -m -overwrite_original -TagsFromFile "$SRC4/IMG_000$k.DNG" -all:all -Orientation= "$SRC4/IMG_000$k.JPG"
done
"$BIN" organize -s "$SRC4" -o "$TMP/o4" --faces none --threads 2 -q --xmp 2>/dev/null
is "--xmp-style name: one sidecar per shot" \
    "$(cd "$TMP/o4" && find . -name '*.xmp' | sort | tr '\n' ' ')" \
    "./group_0001/best_IMG_0001.xmp ./group_0001/originals/IMG_0001.xmp ./group_0001/originals/IMG_0002.xmp "
"$BIN" organize -s "$SRC4" -o "$TMP/o5" --faces none --threads 2 -q --xmp --xmp-style darktable 2>/dev/null
is "--xmp-style darktable: one sidecar per file" \
    "$(cd "$TMP/o5/group_0001/originals" && ls *.xmp | tr '\n' ' ')" \
    "IMG_0001.DNG.xmp IMG_0001.JPG.xmp IMG_0002.DNG.xmp IMG_0002.JPG.xmp "
is "--xmp-style darktable: the RAW's sidecar has the decision" \
    "$(prop "$TMP/o5/group_0001/originals/IMG_0001.DNG.xmp" Xmp.xmp.Rating)" 5

done_testing
