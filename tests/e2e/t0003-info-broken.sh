#!/usr/bin/env bash
# Broken input: each file gets one clear line on stderr, a non-zero exit,
# no crash and no hang; good files next to them are still reported.
. "$(dirname "$0")/lib.sh"
need_testdata

for f in "$TD"/corrupt/* "$TD/formats/raw/canon_eos_350d_metadata_only.cr2" \
    "$TD/formats/raw/sony_zv-e10_first100KB.arw"; do
    # The bad restart marker costs a few rows, not the photo: readable (below).
    case $f in */photoview_bad_rst_marker.jpg) continue ;; esac
    name=${f#"$TD/"}
    timeout 60 "$BIN" info "$f" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    is "$name: exit status 1" "$rc" 1
    is "$name: exactly one line on stderr" "$(wc -l <"$TMP/err")" 1
    check "$name: the line names the file and says why" \
        grep -qE "^photo-organizer: .*${name##*/}: [a-z]+: .{10,}" "$TMP/err"
done

# Recoverable damage: readable, as organize finds it too, with the damage described.
timeout 60 "$BIN" info "$TD/corrupt/photoview_bad_rst_marker.jpg" >"$TMP/out" 2>"$TMP/err"
is "a JPEG with a bad restart marker is readable: exit 0" "$?" 0
check "nothing on stderr for it" test ! -s "$TMP/err"
check "its damage is described in a note" grep -q "note: *damaged data, recovered: corrupt JPEG data" "$TMP/out"
"$BIN" info --json "$TD/corrupt/photoview_bad_rst_marker.jpg" >"$TMP/out" 2>/dev/null
check "info --json gives the note and no error" jq -e '.[0].error == null and (.[0].note | startswith("damaged data, recovered"))' "$TMP/out"

# Mixed: good and broken files together; the good one is still shown.
timeout 60 "$BIN" info "$TD/corrupt/empty.jpg" "$TD/exif/cameras/Canon_40D.jpg" >"$TMP/out" 2>"$TMP/err"
is "mixed run exits 1" "$?" 1
check "the good file is reported" grep -q "Canon EOS 40D" "$TMP/out"

# The labelled photos as a folder: every failure is one of the known broken
# files (four of the five under corrupt/, and the three RAW stubs: the NEF of
# the D70 holds its metadata but no pixel data, and is refused as such).
labelled_tree "$TMP/set"
timeout 300 "$BIN" info "$TMP/set" >"$TMP/out" 2>"$TMP/err"
is "labelled set exits 1 (broken files inside)" "$?" 1
is "one error line per broken file" "$(wc -l <"$TMP/err")" 7
check "no error outside corrupt/ and the three RAW stubs" \
    bash -c "! grep -vE '/corrupt/|metadata_only.cr2|metadata_only.nef|first100KB.arw' '$TMP/err'"
check "the metadata-only NEF is refused as such" grep -q "metadata_only.nef: .*metadata only" "$TMP/err"
# Files whose header is readable are described even when their pixels are broken.
is "every photo with a readable header is described" "$(grep -c '^  format:' "$TMP/out")" "$(($(labelled_count) - 2))"

# Hostile sizes: a decompression bomb is refused before decoding.
python3 - "$TMP/bomb.png" <<'PY'
import struct, sys, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY
"$BIN" info "$TMP/bomb.png" >/dev/null 2>"$TMP/err"
check "a 100000x100000 PNG header is refused by the pixel limit" grep -q "limit" "$TMP/err"
"$BIN" info --max-pixels 1000 "$TD/exif/cameras/Canon_40D.jpg" >/dev/null 2>"$TMP/err"
check "--max-pixels lowers the limit" grep -q "limit" "$TMP/err"

# Damaged files get the decoder's own reason, not a generic or unrelated one.
vips black "$TMP/ok.png" 64 64
vips black "$TMP/ok.jpg" 64 64
python3 - "$TMP/ok.png" "$TMP/crc.png" "$TMP/ifd.tif" "$TMP/ok.jpg" "$TMP/warnfatal.jpg" <<'PY'
import struct, sys
png = bytearray(open(sys.argv[1], "rb").read())
png[29] ^= 0xff                      # IHDR's CRC
open(sys.argv[2], "wb").write(png)
open(sys.argv[3], "wb").write(b"II*\0" + struct.pack("<I", 99999) + bytes(100))  # IFD0 beyond the end
d = bytearray(open(sys.argv[4], "rb").read())
i = d.index(b"\xff\xc4")
d[i:i] = b"\x00\x11\x22"                # junk before a DHT: libjpeg warns first ...
j = d.index(b"\xff\xda")
d[j + 1] = 0x70                        # ... then an unknown marker: its fatal error
open(sys.argv[5], "wb").write(d)
PY
"$BIN" info "$TMP/warnfatal.jpg" >/dev/null 2>"$TMP/err"
check "JPEG with a warning, then a fatal error: the fatal error is the reason" \
    grep -q "unsupported marker type 0x70" "$TMP/err"
"$BIN" info "$TMP/crc.png" >/dev/null 2>"$TMP/err"
check "PNG with a bad CRC: says so" grep -q "IHDR: CRC error" "$TMP/err"
"$BIN" info "$TMP/ifd.tif" >/dev/null 2>"$TMP/err"
check "TIFF with its directory past the end: libtiff's reason" grep -q "bad seek to 99999" "$TMP/err"
check "TIFF: no blocked fallback loader in the reason" bash -c "! grep -q blocked '$TMP/err'"

# Unreadable paths.
"$BIN" info "$TMP/does-not-exist.jpg" >/dev/null 2>"$TMP/err"
is "missing file exits 1" "$?" 1
check "missing file says so" grep -q "No such file" "$TMP/err"

done_testing
