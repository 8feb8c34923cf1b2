#!/usr/bin/env bash
# EXIF values of the camera and GPS samples, as documented in the test-photo
# README, read through the program's JSON output.
. "$(dirname "$0")/lib.sh"
need_testdata

"$BIN" info --json "$TD/exif" "$TD/bursts" "$TD/formats/heic" >"$TMP/exif.json" 2>"$TMP/err"
check "exif, bursts and heic folders read without errors" test ! -s "$TMP/err"
get() { jq -r --arg p "$TD/$1" ".[] | select(.path == \$p) | $2" "$TMP/exif.json"; }

# file | make | model | DateTimeOriginal
while IFS='|' read -r file make model dto; do
    [ -n "$file" ] || continue
    is "$file make" "$(get "exif/cameras/$file" .make)" "$make"
    is "$file model" "$(get "exif/cameras/$file" .model)" "$model"
    is "$file capture time" "$(get "exif/cameras/$file" '.captured[0:19]')" "$dto"
    is "$file time source" "$(get "exif/cameras/$file" .time_source)" DateTimeOriginal
done <<'TABLE'
Canon_40D.jpg|Canon|Canon EOS 40D|2008-05-30T15:56:01
Canon_DIGITAL_IXUS_400.jpg|Canon|Canon DIGITAL IXUS 400|2004-08-27T13:52:55
Canon_PowerShot_S40.jpg|Canon|Canon PowerShot S40|2003-12-14T12:01:44
Fujifilm_FinePix6900ZOOM.jpg|FUJIFILM|FinePix6900ZOOM|2001-02-19T06:40:05
Fujifilm_FinePix_E500.jpg|FUJIFILM|FinePix E500|2006-08-17T09:24:48
Kodak_CX7530.jpg|EASTMAN KODAK COMPANY|KODAK CX7530 ZOOM DIGITAL CAMERA|2005-08-13T09:47:23
Konica_Minolta_DiMAGE_Z3.jpg|KONICA MINOLTA|DiMAGE Z3|2005-03-10T15:10:48
Nikon_COOLPIX_P1.jpg|NIKON|COOLPIX P1|2008-03-07T09:55:46
Nikon_D70.jpg|NIKON CORPORATION|NIKON D70|2008-03-15T09:52:01
Olympus_C8080WZ.jpg|OLYMPUS CORPORATION|C8080WZ|2006-10-22T15:44:29
Panasonic_DMC-FZ30.jpg|Panasonic|DMC-FZ30|2008-07-16T11:33:20
Pentax_K10D.jpg|PENTAX Corporation|PENTAX K10D|2008-05-04T16:47:24
Sony_HDR-HC3.jpg|SONY|HDR-HC3|2007-06-15T04:42:32
WWL_(Polaroid)_ION230.jpg|WWL|ION230|2026-11-24T14:41:16
TABLE
is "Kodak has GPS" "$(get exif/cameras/Kodak_CX7530.jpg '.gps != null')" true
is "Canon 40D has no GPS" "$(get exif/cameras/Canon_40D.jpg '.gps')" null
is "Canon 40D exposure" "$(get exif/cameras/Canon_40D.jpg '"\(.exposure) f/\(.fnumber) ISO \(.iso)"')" "1/160 f/7.1 ISO 100"
is "GIMP re-save keeps only DateTime" "$(get exif/cameras/Canon_40D_photoshop_import.jpg .time_source)" DateTime
is "GIMP re-save has no camera" "$(get exif/cameras/Canon_40D_photoshop_import.jpg .make)" null

# The GPS walk: position in Arezzo in every shot, 9 distinct increasing times.
n=0
prev=""
for f in "$TD"/exif/gps_walk/*.jpg; do
    rel=${f#"$TD/"}
    lat=$(get "$rel" '.gps.lat * 100 | floor')
    lon=$(get "$rel" '.gps.lon * 100 | floor')
    t=$(get "$rel" .captured)
    if [ "$lat" = 4346 ] || [ "$lat" = 4347 ]; then :; else not_ok "$rel latitude ($lat)"; continue; fi
    if [ "$lon" = 1187 ] || [ "$lon" = 1188 ] || [ "$lon" = 1189 ]; then :; else not_ok "$rel longitude ($lon)"; continue; fi
    [[ "$t" > "$prev" ]] || not_ok "$rel time $t not after $prev"
    prev=$t
    n=$((n + 1))
done
is "all 9 walk photos have GPS in Arezzo and increasing times" "$n" 9
is "first walk time" "$(get exif/gps_walk/DSCN0010.jpg .captured)" 2008-10-22T16:28:39
is "last walk time" "$(get exif/gps_walk/DSCN0042.jpg .captured)" 2008-10-22T17:00:07

# Odd cases.
is "invalid latitude (213 deg) is dropped" "$(get exif/misc/buggy_panorama.jpg .gps)" null
check "and noted" bash -c "jq -r --arg p '$TD/exif/misc/buggy_panorama.jpg' '.[] | select(.path == \$p) | .note' '$TMP/exif.json' | grep -q latitude"
is "OffsetTimeOriginal is kept" "$(get exif/misc/buggy_panorama.jpg .captured)" 2022-04-24T10:35:53.358+02:00
is "GPS 0,0 is a placeholder" "$(get exif/misc/image-2011.jpg .gps)" null
is "no DateTimeOriginal falls back" "$(get exif/misc/image-2011.jpg .time_source)" DateTimeDigitized
is "Orientation 0 is treated as 1" "$(get exif/misc/digikam.jpg .orientation)" 1
is "Orientation 3" "$(get exif/misc/out-of-range-500.jpg .orientation)" 3
is "JPEG size, not the EXIF's claimed size" "$(get exif/misc/out-of-range-500.jpg '"\(.width)x\(.height)"')" 500x375
is "no EXIF: file mtime" "$(get exif/misc/no-exif-data.jpg .time_source)" "file mtime"
is "SubSecTimeOriginal (Nokia)" "$(get bursts/IMG_20191112_111022.jpg .captured)" 2019-11-12T11:10:24.187
is "iPhone HDR pair: same second, 016" "$(get bursts/iphone_hdr_NO.jpg .captured)" 2015-04-10T20:12:23.016
is "iPhone HDR pair: same second, 550" "$(get bursts/iphone_hdr_YES.jpg .captured)" 2015-04-10T20:12:23.550
is "HEIC OffsetTimeOriginal" "$(get formats/heic/IMG_5195.HEIC .captured)" 2021-04-11T15:47:53.054-05:00
is "HEIC GPS" "$(get formats/heic/iphone_7.heic '.gps.lat | floor')" 34
is "HEIC without irot keeps EXIF orientation 6" "$(get formats/heic/iphone_7.heic .orientation)" 6
is "HEIC with irot: libheif rotates, EXIF not applied twice" "$(get formats/heic/IMG_5195.HEIC .orientation)" 1

done_testing
