#!/usr/bin/env bash
# Every labelled test photo is identified as its real format (from its bytes,
# whatever its name says) and, with the JSON output, its sizes are sane.
. "$(dirname "$0")/lib.sh"
need_testdata

# The labelled photos, scanned as a folder (a copy: other sets live beside them).
labelled_tree "$TMP/set"
"$BIN" info --json --no-decode "$TMP/set" >"$TMP/all.json" 2>"$TMP/all.err"
check "info --json over the labelled photos produces valid JSON" jq -e 'type == "array"' "$TMP/all.json"
is "one JSON entry per labelled picture" "$(jq length "$TMP/all.json")" "$(labelled_count)"

while IFS=, read -r file faces persons eyes smile dup orient fmt; do
    fmt=${fmt%$'\r'}
    [ "$file" = file ] && continue
    case "$file" in corrupt/*) continue ;; esac
    [ -n "$fmt" ] || continue
    got=$(jq -r --arg p "$TMP/set/$file" '.[] | select(.path == $p) | .format' "$TMP/all.json")
    is "$file is $fmt" "$got" "$fmt"
done <"$TD/labels.csv"

is "the JPEG named .png is a JPEG" \
    "$(jq -r --arg p "$TMP/set/formats/png/this-is-a-jpeg.png" '.[] | select(.path == $p) | .format' "$TMP/all.json")" JPEG
is "the text file named .jpg is not an image" \
    "$(jq -r --arg p "$TMP/set/corrupt/not_an_image.jpg" '.[] | select(.path == $p) | .code' "$TMP/all.json")" EUNSUPPORTED

# Upright sizes follow the orientation tag.
for n in 1 2 3 4 5 6 7 8; do
    is "landscape_$n is landscape once upright" \
        "$(jq -r --arg p "$TMP/set/orientation/landscape_$n.jpg" '.[] | select(.path == $p) | (.upright_width > .upright_height)' "$TMP/all.json")" true
    is "portrait_$n is portrait once upright" \
        "$(jq -r --arg p "$TMP/set/orientation/portrait_$n.jpg" '.[] | select(.path == $p) | (.upright_width < .upright_height)' "$TMP/all.json")" true
done

# HEIC and DNG report (and decode to) their real dimensions.
"$BIN" info --json "$TD/formats/heic" "$TD/formats/raw/canon_eos_6d_lossy.dng" \
    "$TD/formats/raw/colorchart_canon_kiss_x4.dng" >"$TMP/hd.json" 2>/dev/null
dims() { jq -r --arg p "$TD/$1" '.[] | select(.path == $p) | "\(.upright_width)x\(.upright_height)"' "$TMP/hd.json"; }
is "IMG_5195.HEIC size" "$(dims formats/heic/IMG_5195.HEIC)" 2566x3313
is "iphone_7.heic size (EXIF orientation 6, no irot box)" "$(dims formats/heic/iphone_7.heic)" 3024x4032
is "samplefilehub.heif size" "$(dims formats/heic/samplefilehub.heif)" 640x426
is "lossy DNG size" "$(dims formats/raw/canon_eos_6d_lossy.dng)" 1224x816
is "Bayer DNG size (DefaultCropSize)" "$(dims formats/raw/colorchart_canon_kiss_x4.dng)" 1734x1156
is "HEIC/DNG verification decodes succeed" "$(jq '[.[] | select(.error)] | length' "$TMP/hd.json")" 0
is "portrait HEIC decodes portrait" \
    "$(jq -r --arg p "$TD/formats/heic/iphone_7.heic" '.[] | select(.path == $p) | (.decoded.height > .decoded.width)' "$TMP/hd.json")" true

done_testing
