#!/usr/bin/env bash
# Replays every test photo (and the stored crash reproducers in fuzz/corpus/)
# through a fuzz harness built without libFuzzer.
set -eu
exe=$1
here=$(dirname "$0")
inputs=()
[ -d "${PHO_TESTDATA:-}" ] && while IFS= read -r -d '' f; do inputs+=("$f"); done < <(find "$PHO_TESTDATA" -type f -print0 | sort -z)
[ -d "$here/corpus" ] && while IFS= read -r -d '' f; do inputs+=("$f"); done < <(find "$here/corpus" -type f -print0 | sort -z)
[ ${#inputs[@]} -gt 0 ] || { echo "no inputs to replay"; exit 77; }
"$exe" "${inputs[@]}"
