#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Takes a fresh Debian 12 machine from nothing to a built photo-organizer:
# Debian packages (only those missing), ONNX Runtime from its pinned npm
# package (integrity-checked, into .deps/, which git ignores), then a Meson
# build in build/. Safe to run again: every step checks before it acts.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR="$ROOT/build"
DEPS="$ROOT/.deps"
WITH_GPU=auto
DO_BUILD=1
MODELS=0
LIST_PACKAGES=0
DEPS_CHANGED=0

usage() {
    cat <<USAGE
Usage: tools/bootstrap.sh [OPTIONS]

Installs what photo-organizer needs on Debian 12 and builds it in build/.
Run as root when Debian packages are missing (it says which).

Options:
  --with-gpu       also install ONNX Runtime's CUDA provider (about 180 MB);
                   default: only when an NVIDIA driver is present
  --without-gpu    never install the CUDA provider
  --models         also install and verify the face models
  --no-build       install dependencies only
  --build-dir DIR  where to build (default: build)
  --list-packages  print the Debian packages it installs, and exit
  -h, --help       show this help
USAGE
}

while [ $# -gt 0 ]; do
    case "$1" in
    --with-gpu) WITH_GPU=yes ;;
    --without-gpu) WITH_GPU=no ;;
    --models) MODELS=1 ;;
    --no-build) DO_BUILD=0 ;;
    --list-packages) LIST_PACKAGES=1 ;;
    --build-dir) BUILD_DIR=$(realpath -m "$2"); shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bootstrap: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

say() { printf '==> %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

# ---- 1. Debian packages ---------------------------------------------------
# Everything the build, the tests, the fuzzing and the benchmarks use, by
# purpose. tests/bootstrap-deps.sh checks this list against every dependency()
# of the build, every library the links pull in and every command the scripts
# run, so a package that only happens to be on a development machine is caught.
APT_PACKAGES=(
    # build
    meson ninja-build pkg-config gcc g++ ca-certificates
    # libraries (dependency() in meson.build)
    libvips-dev libglib2.0-dev libheif-dev libraw-dev libexif-dev libxml2-dev zlib1g-dev
    libsqlite3-dev libjansson-dev libavformat-dev libavutil-dev libssl-dev libexiv2-dev
    libhnswlib-dev libopencv-photo-dev libopencv-calib3d-dev
    libmicrohttpd-dev libpq-dev
    libdlib-dev libdlib-data libblas-dev liblapack-dev opencv-data
    # tests: cmocka, model tooling, command-line checks
    libcmocka-dev python3 python3-onnx python3-numpy libvips-tools jq sqlite3 clang-format
    # tests: the metadata oracle (ExifTool) and the converter users make PNGs with
    libimage-exiftool-perl imagemagick
    # tests: a camera's JPEG rendered from a DNG (dcraw_emu), a Live Photo's video (ffmpeg)
    libraw-bin ffmpeg
    # tests: XMP sidecars read back by an independent reader, and checked as XML
    exiv2 libxml2-utils
    # tests: the viewer, asked over HTTP and rendered in a real browser
    curl chromium
    # tests: the shared catalog and job queue (a private server per test, tests/lib/pgserver.sh)
    postgresql postgresql-client
    # fuzzing: libFuzzer with clang; LibRaw links OpenMP (-fopenmp), which is libomp under clang
    clang-14 libclang-rt-14-dev libomp-14-dev
)
# ONNX Runtime and the face models come from npm; a machine without npm gets Debian's.
NPM_PACKAGES=(npm)
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=("${NPM_PACKAGES[@]}")
if [ "$LIST_PACKAGES" = 1 ]; then
    printf '%s\n' "${APT_PACKAGES[@]}" "${NPM_PACKAGES[@]}" | sort -u
    exit 0
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        die "missing Debian packages: ${missing[*]}
  run this script as root, or install them first:
  sudo apt-get install -y --no-install-recommends ${missing[*]}"
    fi
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    say "Debian packages: all present"
fi

# ---- 2. ONNX Runtime from npm --------------------------------------------
# name version integrity (npm's sha512 of the package tarball)
ORT_CPU=(com.github.asus4.onnxruntime 0.4.9
    sha512-BkzxduSZ9IkeDP6Q8lz2TFU2ie7hSSvS7ZIfzMooExoq0CNzJnuuGaUJ7IsojBgqO4ouD1jXah8OYyJbCN29Fg==)
ORT_GPU=(com.github.asus4.onnxruntime.linux-x64-gpu 0.4.9
    sha512-FopIhNE/Ng+v2X65wVc9clPCBCvhvA53Hxo2U0Kf5fGdVsC7iCA+mZ0KLWggcQAj7TIZ6pNidR4AC10g74Xo6w==)

# Downloads name@version with npm and checks it against the pinned integrity.
# Prints the tarball path.
fetch_npm() {
    local name=$1 version=$2 integrity=$3 cache="$DEPS/cache"
    mkdir -p "$cache"
    local tgz
    tgz="$cache/$(echo "$name" | sed 's|^@||; s|/|-|')-$version.tgz"
    if [ ! -f "$tgz" ]; then
        say "fetching $name@$version with npm" >&2
        (cd "$cache" && npm pack --silent "$name@$version" >/dev/null 2>"$cache/npm.log") ||
            die "npm pack $name@$version failed (see $cache/npm.log)"
    fi
    local want got
    want=$(printf '%s' "${integrity#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
    got=$(sha512sum "$tgz" | cut -d' ' -f1)
    if [ "$want" != "$got" ]; then
        rm -f "$tgz"
        die "$name@$version does not match its pinned integrity; the download was removed, run again"
    fi
    printf '%s\n' "$tgz"
}

install_ort() {
    local dest="$DEPS/onnxruntime" stamp
    stamp="${ORT_CPU[0]}@${ORT_CPU[1]} ${ORT_CPU[2]}"
    if [ -f "$dest/.installed" ] && [ "$(cat "$dest/.installed")" = "$stamp" ] &&
        [ -f "$dest/lib/libonnxruntime.so.1" ]; then
        say "ONNX Runtime ${ORT_CPU[1]}: present in .deps/onnxruntime"
        return
    fi
    local tgz tmp
    tgz=$(fetch_npm "${ORT_CPU[@]}")
    tmp=$(mktemp -d)
    local hdr='package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64_x86_64-simulator/onnxruntime.framework/Headers'
    tar -xzf "$tgz" -C "$tmp" package/Plugins/Linux/x64/libonnxruntime.so \
        package/Plugins/Linux/x64/libonnxruntime_providers_shared.so "$hdr"
    rm -rf "$dest"
    mkdir -p "$dest/lib" "$dest/include"
    cp "$tmp/package/Plugins/Linux/x64/"*.so "$dest/lib/"
    cp "$tmp/$hdr/"*.h "$dest/include/"
    # The library's SONAME is libonnxruntime.so.1.
    mv "$dest/lib/libonnxruntime.so" "$dest/lib/libonnxruntime.so.1"
    ln -s libonnxruntime.so.1 "$dest/lib/libonnxruntime.so"
    rm -rf "$tmp"
    printf '%s\n' "$stamp" >"$dest/.installed"
    DEPS_CHANGED=1
    say "ONNX Runtime ${ORT_CPU[1]}: installed in .deps/onnxruntime"
}

install_ort_gpu() {
    local dest="$DEPS/onnxruntime" stamp
    stamp="${ORT_GPU[0]}@${ORT_GPU[1]} ${ORT_GPU[2]}"
    if [ -f "$dest/.installed-gpu" ] && [ "$(cat "$dest/.installed-gpu")" = "$stamp" ]; then
        say "ONNX Runtime CUDA provider: present"
        return
    fi
    local tgz tmp
    tgz=$(fetch_npm "${ORT_GPU[@]}")
    tmp=$(mktemp -d)
    tar -xzf "$tgz" -C "$tmp"
    find "$tmp" -name 'libonnxruntime_providers_*.so' -exec cp {} "$dest/lib/" \;
    rm -rf "$tmp"
    printf '%s\n' "$stamp" >"$dest/.installed-gpu"
    say "ONNX Runtime CUDA provider: installed in .deps/onnxruntime/lib"
}

install_ort
if [ "$WITH_GPU" = auto ]; then
    if [ -e /proc/driver/nvidia/version ] || command -v nvidia-smi >/dev/null 2>&1; then
        WITH_GPU=yes
    else
        WITH_GPU=no
    fi
fi
if [ "$WITH_GPU" = yes ]; then
    install_ort_gpu
fi

# ---- 2b. The viewer's front-end pieces, and the driver of its browser tests ----
# PhotoSwipe (the lightbox's zoom and pan) from its pinned, integrity-checked package into
# viewer/vendor/, served by the viewer itself: nothing is fetched at run time.
PHOTOSWIPE=(photoswipe 5.4.4
    sha512-WNFHoKrkZNnvFFhbHL93WDkW3ifwVOXSW3w1UuZZelSmgXpIGiZSNlZJq37rR8YejqME2rHs9EhH9ZvlvFH2NA==)
install_photoswipe() {
    local dest="$ROOT/viewer/vendor" stamp="${PHOTOSWIPE[0]}@${PHOTOSWIPE[1]} ${PHOTOSWIPE[2]}"
    if [ -f "$dest/.installed" ] && [ "$(cat "$dest/.installed")" = "$stamp" ]; then
        say "PhotoSwipe ${PHOTOSWIPE[1]}: present in viewer/vendor"
        return
    fi
    local tgz tmp
    tgz=$(fetch_npm "${PHOTOSWIPE[@]}")
    tmp=$(mktemp -d)
    tar -xzf "$tgz" -C "$tmp" package/dist/photoswipe.esm.min.js package/dist/photoswipe.css \
        package/LICENSE || die "the PhotoSwipe package lacks its dist files"
    mkdir -p "$dest"
    cp "$tmp/package/dist/photoswipe.esm.min.js" "$tmp/package/dist/photoswipe.css" "$dest/"
    cp "$tmp/package/LICENSE" "$dest/photoswipe.LICENSE"
    rm -rf "$tmp"
    printf '%s\n' "$stamp" >"$dest/.installed"
    say "PhotoSwipe ${PHOTOSWIPE[1]}: installed in viewer/vendor"
}
install_photoswipe

# puppeteer-core drives Debian's chromium in the viewer's browser tests; npm ci checks
# every package of tests/browser/package-lock.json against its recorded integrity.
install_browser_driver() {
    local dir="$ROOT/tests/browser" stamp
    stamp=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [ -f "$dir/node_modules/.installed" ] && [ "$(cat "$dir/node_modules/.installed")" = "$stamp" ]; then
        say "puppeteer-core: present in tests/browser/node_modules"
        return
    fi
    say "installing puppeteer-core (tests/browser) with npm ci"
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >"$DEPS/npm-ci.log" 2>&1) ||
        die "npm ci in tests/browser failed (see .deps/npm-ci.log)"
    printf '%s\n' "$stamp" >"$dir/node_modules/.installed"
}
install_browser_driver

# ---- 3. Build ---------------------------------------------------------------
if [ "$DO_BUILD" = 1 ]; then
    if [ ! -f "$BUILD_DIR/build.ninja" ]; then
        say "configuring $BUILD_DIR"
        meson setup "$BUILD_DIR" "$ROOT" --buildtype=release >/dev/null
    elif [ "$DEPS_CHANGED" = 1 ]; then
        say "reconfiguring $BUILD_DIR for the new dependencies"
        meson setup --reconfigure "$BUILD_DIR" "$ROOT" >/dev/null
    fi
    say "building"
    ninja -C "$BUILD_DIR" >/dev/null || ninja -C "$BUILD_DIR"
    say "built $BUILD_DIR/photo-organizer"
fi

# ---- 4. Models ----------------------------------------------------------------
if [ "$MODELS" = 1 ]; then
    say "installing face models"
    "$BUILD_DIR/photo-organizer" models install || die "the face models could not be installed (see above)"
fi
