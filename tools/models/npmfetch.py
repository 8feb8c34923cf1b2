#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Download pinned npm package tarballs with `npm pack` and check their integrity.

A tarball is kept in the cache folder under a name derived from the package
name and version.  Every use checks the file against the pinned `integrity`
(npm's "sha512-<base64>"), so a corrupted or swapped cache entry is caught.
Only the ordinary npm client talks to the registry; this module never
builds a registry address itself.
"""

import base64
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile


class FetchError(Exception):
    """A package could not be fetched or did not verify; the message says what to do."""


def tarball_name(name, version):
    return "%s-%s.tgz" % (name.lstrip("@").replace("/", "-"), version)


def _sha512_b64(path):
    h = hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return base64.b64encode(h.digest()).decode("ascii")


def matches_integrity(path, integrity):
    algo, _, want = integrity.partition("-")
    if algo != "sha512" or not want:
        raise FetchError("integrity %r is not a sha512 pin" % integrity)
    return _sha512_b64(path) == want


def default_cache_dir():
    env = os.environ.get("PHO_NPM_CACHE")
    if env:
        return env
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "photo-organizer", "npm")


def fetch(name, version, integrity, cache_dir, log=print):
    """Returns the path of the verified tarball of name@version, downloading it if needed."""
    os.makedirs(cache_dir, exist_ok=True)
    target = os.path.join(cache_dir, tarball_name(name, version))
    if os.path.exists(target):
        if matches_integrity(target, integrity):
            return target
        log("  cached %s does not match its pinned integrity; fetching it again" % target)
        os.unlink(target)
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError("npm is needed to download %s@%s; install it (Debian: apt-get install "
                         "npm) or place the verified tarball at %s" % (name, version, target))
    log("  npm pack %s@%s" % (name, version))
    tmp = tempfile.mkdtemp(prefix=".npm-pack-", dir=cache_dir)
    try:
        proc = subprocess.run([npm, "pack", "--silent", "%s@%s" % (name, version)], cwd=tmp,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        made = [f for f in os.listdir(tmp) if f.endswith(".tgz")]
        if proc.returncode != 0 or len(made) != 1:
            detail = (proc.stderr or "").strip().splitlines()
            detail = [ln for ln in detail if "Unknown user config" not in ln][-3:]
            raise FetchError("npm pack %s@%s failed (exit %d)%s; check the network or npm's "
                             "configuration" % (name, version, proc.returncode,
                                                ": " + " | ".join(detail) if detail else ""))
        got = os.path.join(tmp, made[0])
        if not matches_integrity(got, integrity):
            raise FetchError("%s@%s does not match its pinned integrity %s...; the download "
                             "was discarded. If the pin is right, the package source is not to "
                             "be trusted" % (name, version, integrity[:20]))
        os.replace(got, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _strip_top(member_name):
    parts = member_name.split("/", 1)
    return parts[1] if len(parts) == 2 else None


def read_members(tgz, wanted):
    """Reads the regular files `wanted` (paths inside the package) from a tarball.

    Returns {path: bytes}; raises FetchError naming what is missing."""
    wanted = set(wanted)
    found = {}
    with tarfile.open(tgz, mode="r:gz") as tar:
        for m in tar:
            rel = _strip_top(m.name)
            if rel in wanted and m.isfile() and rel not in found:
                found[rel] = tar.extractfile(m).read()
                if len(found) == len(wanted):
                    break
    missing = sorted(wanted - set(found))
    if missing:
        raise FetchError("%s lacks %s" % (os.path.basename(tgz), ", ".join(missing)))
    return found


def extract_all(tgz, dest):
    """Extracts every regular file of a package tarball into dest (top folder stripped)."""
    dest = os.path.abspath(dest)
    with tarfile.open(tgz, mode="r:gz") as tar:
        for m in tar:
            rel = _strip_top(m.name)
            if not rel or not m.isfile():
                continue
            out = os.path.abspath(os.path.join(dest, rel))
            if not out.startswith(dest + os.sep):
                raise FetchError("%s: unsafe path %s" % (os.path.basename(tgz), m.name))
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with tar.extractfile(m) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
