#!/usr/bin/env bash
# The reader against an oracle: `info --json` beside ExifTool on every photo
# of the test data (ExifTool's own fixtures included), field by field
# (exiftool-diff.jq), then fixtures made here for the cases the oracle run
# found wrong once: EXIF after the pixels of a large TIFF, ImageMagick PNGs,
# a PNG raw profile, XMP-only dates, cut-off RAWs.
. "$(dirname "$0")/lib.sh"
need_testdata
EXIFTOOL=$(command -v exiftool) || skip_all "exiftool not installed (tools/bootstrap.sh installs libimage-exiftool-perl)"
# Debian's ImageMagick 6 binary by its own name: a `convert` earlier in PATH may be another program.
CONVERT=$(command -v convert-im6.q16) || skip_all "ImageMagick not installed (tools/bootstrap.sh installs imagemagick)"
HERE=$(cd "$(dirname "$0")" && pwd)

# ---- 1. differential run over the test data ---------------------------------
(cd "$TD" && "$EXIFTOOL" -j -n -G1 -a -r -q -q .) >"$TMP/exiftool.json"
(cd "$TD" && "$BIN" info --json .) >"$TMP/ours.json" 2>"$TMP/ours.err"
check "exiftool read the test data" jq -e 'length > 300' "$TMP/exiftool.json"
check "info read the test data" jq -e 'length > 300' "$TMP/ours.json"
jq -r --slurpfile et "$TMP/exiftool.json" -f "$HERE/exiftool-diff.jq" "$TMP/ours.json" \
    >"$TMP/diff.raw" 2>"$TMP/diff.err"
# Said on its own: a comparison that did not run would otherwise read as "no differences".
is "the comparison ran (jq exit status, first error)" "$? $(head -c 300 "$TMP/diff.err")" "0 "
sort "$TMP/diff.raw" >"$TMP/diff"

# Known disagreements, each with its reason: "path<TAB>field<TAB>why". Anything
# else that disagrees fails the test; an exception that no longer occurs too.
cat >"$TMP/exceptions" <<'EOF'
./exif/misc/image-2011.jpg	exposure_time	libexif abandons this file's EXIF sub-IFD at an entry it takes for a sub-IFD pointer; IFD0 repeats the exposure rounded (1/1111 s), and that is what is read
./exif/misc/image-2011.jpg	fnumber	same file: IFD0's duplicate says f/2.639, the abandoned EXIF sub-IFD f/2.6
./exiftool-images/Sigma.x3f	time_source	Sigma X3F: LibRaw 0.20 (Debian 12) dropped the format, so the file is refused before any metadata is read
./exiftool-images/SigmaDP2.x3f	captured	Sigma X3F, as above
./exiftool-images/SigmaDP2.x3f	exposure_time	Sigma X3F, as above
./exiftool-images/SigmaDP2.x3f	fnumber	Sigma X3F, as above
./exiftool-images/SigmaDP2.x3f	iso	Sigma X3F, as above
./exiftool-images/SigmaDP2.x3f	make	Sigma X3F, as above
./exiftool-images/SigmaDP2.x3f	model	Sigma X3F, as above
./exiftool-images/SigmaDP2.x3f	orientation	Sigma X3F, as above
./exiftool-images/SigmaDP2.x3f	time_source	Sigma X3F, as above
./neardup/dev_046.jpg	offset	its ExifOffset pointer is stored as a string: ExifTool refuses to follow it and falls back to XMP (with its zone); libexif follows it to the same DateTimeOriginal, which has no OffsetTime
./neardup/dev_046.jpg	time_source	same file, same reason
EOF
cut -f1,2 "$TMP/exceptions" | sort >"$TMP/allowed"
cut -f1,2 "$TMP/diff" | sort -u >"$TMP/found"
unexpected=$(comm -23 "$TMP/found" "$TMP/allowed")
stale=$(comm -13 "$TMP/found" "$TMP/allowed")
is "every field agrees with ExifTool but the listed exceptions" \
    "$(grep -F -f <(printf '%s\n' "$unexpected" | grep .) "$TMP/diff" 2>/dev/null | head -20)" ""
is "every listed exception still occurs" "$stale" ""
is "files compared" "$(jq '[.[] | select(.format != null)] | length > 300' "$TMP/ours.json")" true

# ---- 2. fixtures -------------------------------------------------------------
get() { jq -r ".[0] | $2" "$TMP/$1.json"; }
info() { # info NAME FILE: JSON of one file into $TMP/NAME.json, its exit status returned
    "$BIN" info --json "$2" >"$TMP/$1.json" 2>"$TMP/$1.err"
}

# A 9 MB TIFF whose IFD0, EXIF and GPS directories all come after the pixels
# (as editors append them), with a modify date 12 years after the shot.
/usr/bin/python3 "$HERE/make-tail-exif-tiff.py" "$TMP/big.tif" 2000 1500
check "big TIFF: ExifTool reads its DateTimeOriginal" \
    test "$("$EXIFTOOL" -s3 -DateTimeOriginal "$TMP/big.tif")" = "2012:03:04 05:06:07"
info tiff "$TMP/big.tif"
is "big TIFF: capture time from DateTimeOriginal after the pixels" \
    "$(get tiff '"\(.captured) \(.time_source)"')" "2012-03-04T05:06:07.250+02:00 DateTimeOriginal"
is "big TIFF: exposure" "$(get tiff '"\(.exposure) f/\(.fnumber) ISO \(.iso)"')" "1/250 f/5.6 ISO 200"
is "big TIFF: GPS" "$(get tiff '"\(.gps.lat) \(.gps.lon)"')" "48.5 -2.25"
is "big TIFF: a TIFF of its real size" "$(get tiff '"\(.format) \(.width)x\(.height)"')" "TIFF 2000x1500"

# ImageMagick's PNG of a JPEG with EXIF: its eXIf chunk follows the image data.
cp "$TD/bursts/IMG_20191112_111022.jpg" "$TMP/nokia.jpg"
"$CONVERT" "$TMP/nokia.jpg" -resize 400x "$TMP/nokia.png"
info im "$TMP/nokia.png"
is "ImageMagick PNG: capture time from its EXIF" \
    "$(get im '"\(.captured) \(.time_source)"')" "2019-11-12T11:10:24.187 DateTimeOriginal"
is "ImageMagick PNG: camera" "$(get im '"\(.make) \(.model)"')" "HMD Global Nokia 7.1"

# A PNG with the EXIF as a compressed "Raw profile type exif" text chunk (what
# older ImageMagick and other tools write), made from the same EXIF.
"$EXIFTOOL" -q -q -b -EXIF "$TMP/nokia.jpg" >"$TMP/exif.bin"
vips black "$TMP/plain.png" 64 48
/usr/bin/python3 - "$TMP/plain.png" "$TMP/exif.bin" "$TMP/profile.png" <<'PY'
import binascii, struct, sys, zlib
png, exif, out = (open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read(), sys.argv[3])
if not exif.startswith(b'Exif\0\0'):
    exif = b'Exif\0\0' + exif
hexed = binascii.hexlify(exif).decode()
text = '\nexif\n%8d\n' % len(exif) + '\n'.join(hexed[i:i + 72] for i in range(0, len(hexed), 72)) + '\n'
data = b'Raw profile type exif\0\0' + zlib.compress(text.encode())
chunk = struct.pack('>I', len(data)) + b'zTXt' + data + struct.pack('>I', zlib.crc32(b'zTXt' + data))
iend = png.rindex(b'IEND') - 4
open(out, 'wb').write(png[:iend] + chunk + png[iend:])
PY
check "raw-profile PNG: ExifTool reads its EXIF" test "$("$EXIFTOOL" -s3 -Model "$TMP/profile.png")" = "Nokia 7.1"
info profile "$TMP/profile.png"
is "raw-profile PNG: capture time from its EXIF" \
    "$(get profile '"\(.captured) \(.time_source)"')" "2019-11-12T11:10:24.187 DateTimeOriginal"
is "raw-profile PNG: GPS" "$(get profile '.gps.lat | . * 1000 | floor')" 53148

# JPEGs whose only date is in XMP.
vips black "$TMP/xmp1.jpg" 64 48
cp "$TMP/xmp1.jpg" "$TMP/xmp2.jpg"
"$EXIFTOOL" -q -overwrite_original -XMP-exif:DateTimeOriginal="2019:11:12 11:10:24.187+01:00" "$TMP/xmp1.jpg"
"$EXIFTOOL" -q -overwrite_original -XMP-xmp:CreateDate="2018:01:02 03:04:05" "$TMP/xmp2.jpg"
info xmp1 "$TMP/xmp1.jpg"
info xmp2 "$TMP/xmp2.jpg"
is "XMP exif:DateTimeOriginal" "$(get xmp1 '"\(.captured) \(.time_source)"')" "2019-11-12T11:10:24.187+01:00 XMP"
is "XMP xmp:CreateDate" "$(get xmp2 '"\(.captured) \(.time_source)"')" "2018-01-02T03:04:05 XMP"
# ... and EXIF wins over XMP when both have one.
"$EXIFTOOL" -q -overwrite_original -DateTimeOriginal="2017:06:05 04:03:02" "$TMP/xmp2.jpg"
info xmp3 "$TMP/xmp2.jpg"
is "EXIF DateTimeOriginal wins over XMP" "$(get xmp3 '"\(.captured) \(.time_source)"')" "2017-06-05T04:03:02 DateTimeOriginal"

# A RAW cut off in its pixel data: refused as truncated, its metadata still shown.
head -c 1000000 "$TD/formats/raw/colorchart_canon_kiss_x4.dng" >"$TMP/cut.dng"
info cut "$TMP/cut.dng"
is "cut-off DNG: exit 1" "$?" 1
check "cut-off DNG: says truncated" grep -q "truncated" "$TMP/cut.err"
is "cut-off DNG: one line" "$(wc -l <"$TMP/cut.err")" 1
is "cut-off DNG: camera still shown" "$(get cut .model)" "Canon EOS Kiss X4"
# ExifTool's metadata-only RAW samples: all refused, none "decoded".
for f in Panasonic.rw2 DNG.dng Nikon.nef FujiFilm.raf CanonRaw.cr3 Minolta.mrw; do
    "$BIN" info "$TD/exiftool-images/$f" >/dev/null 2>"$TMP/stub.err"
    rc=$?
    is "metadata-only $f refused" "$rc $(grep -c . "$TMP/stub.err")" "1 1"
done

done_testing
