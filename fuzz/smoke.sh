#!/usr/bin/env bash
# A short libFuzzer run of every harness, seeded at run time from the test
# photos (small files only, so each iteration stays fast).
# Usage: fuzz/smoke.sh [SECONDS_PER_TARGET]   (default 30)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_EACH=${1:-30}
BUILD="$ROOT/build-fuzz"
TD=${PHO_TESTDATA:-$ROOT/../shared/testdata}
command -v clang-14 >/dev/null || { echo "fuzz smoke: clang-14 is missing (tools/bootstrap.sh installs it)"; exit 1; }
# libFuzzer links with clang; the C++ shim (src/face/dlib_shim.cpp) makes the
# link a C++ one, so both compilers must be clang's. A folder set up with other
# compilers is made again.
if [ -f "$BUILD/build.ninja" ] && ! grep -q 'clang++' "$BUILD/meson-info/intro-compilers.json" 2>/dev/null; then
    rm -rf "$BUILD"
fi
if [ ! -f "$BUILD/build.ninja" ]; then
    CC=clang-14 CXX=clang++-14 meson setup "$BUILD" "$ROOT" -Dfuzzing=true -Dtests=disabled \
        -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null || exit 1
fi
ninja -C "$BUILD" >/dev/null || ninja -C "$BUILD" || exit 1
status=0
for target in "$BUILD"/fuzz/fuzz_*; do
    [ -f "$target" ] && [ -x "$target" ] || continue
    name=$(basename "$target")
    corpus="$BUILD/corpus-$name"
    mkdir -p "$corpus"
    # Seeds: what each reader reads in real use.
    case $name in
    fuzz_probe)
        [ -d "$TD" ] && find "$TD" -type f -size -200k -exec cp -n {} "$corpus/" \;
        # Made here: PNG raw profiles, XMP, EXIF after the pixels (fuzz/seeds.py).
        /usr/bin/python3 "$ROOT/fuzz/seeds.py" "$corpus" "$TD/bursts/IMG_20191112_111022.jpg" ;;
    fuzz_brisque_yaml) cp -n /usr/share/opencv4/quality/*.yml "$corpus/" 2>/dev/null ;;
    fuzz_manifest) cp -n "$ROOT/models/manifest.json" "$corpus/" ;;
    fuzz_faces_blob) printf '\0\0' >"$corpus/no-faces" ;;
    fuzz_sidecars)
        printf '%s' '{"photoTakenTime": {"timestamp": "1562848200"}, "geoData": {"latitude": 48.8, "longitude": 2.3}}' \
            >"$corpus/takeout.json"
        printf 'IMG_0001(1).JPG\nIMG_0001.JPG(1).json\n' >"$corpus/dup-names"
        printf 'PXL_20190711_123000000.NIGHT.VACATION_BEACH.jpg\nPXL_20190711_123000000.NIGHT.VACATION_BEACH.jpg.s.json\n' \
            >"$corpus/cut-names"
        printf 'IMG_1234.HEIC\nIMG_O1234.AAE\n' >"$corpus/aae-names" ;;
    fuzz_xmp)
        # Sidecars of the kinds users have: Lightroom's, darktable's, digiKam's, empty RDF.
        [ -d "$TD" ] && find "$TD" -type f -iname '*.xmp' -exec cp -n {} "$corpus/" \;
        printf '%s' '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:Rating="3"><dc:subject><rdf:Bag><rdf:li>best</rdf:li></rdf:Bag></dc:subject><dc:title><rdf:Alt><rdf:li xml:lang="x-default">t</rdf:li></rdf:Alt></dc:title></rdf:Description></rdf:RDF></x:xmpmeta>' \
            >"$corpus/lightroom.xmp" ;;
    esac
    [ -d "$ROOT/fuzz/corpus" ] && cp -rn "$ROOT/fuzz/corpus/." "$corpus/" 2>/dev/null
    echo "fuzz smoke: $name for ${SECONDS_EACH}s over $(ls "$corpus" | wc -l) seeds"
    if ! ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1 \
        "$target" "$corpus" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=20 \
        -max_len=262144 -artifact_prefix="$BUILD/" -print_final_stats=1 >"$BUILD/$name.log" 2>&1; then
        echo "fuzz smoke: $name FAILED; last lines of $BUILD/$name.log:"
        tail -40 "$BUILD/$name.log"
        status=1
    else
        grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$BUILD/$name.log" | tail -2
    fi
done
exit $status
