#!/usr/bin/env bash
# The face pipeline gives the same answer whatever its shape: batch size,
# decode and inference threads change speed only. This is the CPU half of the
# GPU batching contract (docs/gpu.md); on a GPU the same runs compare CUDA
# against CPU within the tolerance given there.
. "$(dirname "$0")/lib.sh"
need_testdata
MODELS=${PHO_MODELS_DIR:-}
[ -n "$MODELS" ] && [ -f "$MODELS/blazeface_full_range.onnx" ] || skip_all "face models not installed"

SRC="$TMP/src"
mkdir -p "$SRC"
cp -a "$TD/bursts" "$SRC/"
cp -a "$TD/faces/groups" "$SRC/"

same_shape() {
    jq 'del(.generated_at, .run, .settings.output, .settings.threads, .settings.batch_size)' "$1"
}

run() { # name, flags...
    local name=$1
    shift
    "$BIN" -s "$SRC" -o "$TMP/$name" --min-group-size 2 --faces all --models-dir "$MODELS" -q "$@"
}

run serial --batch-size 1 --threads 1
is "one photo at a time, one thread" "$?" 0
R1="$TMP/serial/reports/latest.json"
check "photos were analysed one per batch" jq -e '.run.face_pipeline.batch_size == 1 and
    .run.face_pipeline.batches == .run.faces_computed' "$R1"
check "faces were found" jq -e '[.photos[].faces // [] | length] | add > 10' "$R1"

run batched --batch-size 8 --threads 2
is "batches of 8, two threads" "$?" 0
R2="$TMP/batched/reports/latest.json"
check "batches held more than one photo" jq -e '.run.face_pipeline.batches < .run.faces_computed' "$R2"
check "same report as one at a time" cmp -s <(same_shape "$R1") <(same_shape "$R2")

run odd --batch-size 3 --threads 3
is "batches of 3, three threads" "$?" 0
check "same report again" cmp -s <(same_shape "$R1") <(same_shape "$TMP/odd/reports/latest.json")
check "same files written" cmp -s <(out_listing "$TMP/serial") <(out_listing "$TMP/odd")

run bad --batch-size 0
is "--batch-size 0 is refused" "$?" 2

done_testing
