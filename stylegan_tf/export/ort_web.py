"""onnxruntime-web, the JavaScript runtime of the exported web page: where it comes from, pinned.

The page (`stylegan_tf.export.web`) runs its two ONNX graphs with onnxruntime-web's WebAssembly backend. Three
files of the npm package `onnxruntime-web@VERSION` are copied into every exported folder (about 15 MB, nearly
all of it the `.wasm`); the Python package does not carry them. They are taken from, in this order:

1. `source`: the `--runtime` option of `python -m stylegan_tf export ... --web`, or the environment variable
   STYLEGAN_TF_ORT_WEB: the package's tarball (what `npm pack onnxruntime-web@VERSION` writes; its sha512 must
   equal the npm registry's INTEGRITY) or an unpacked copy of the package (a folder holding `dist/` or the files);
2. the cache, `CACHE_DIR/onnxruntime-web-VERSION.tgz` (`$STYLEGAN_TF_CACHE`, else `$XDG_CACHE_HOME/stylegan_tf`,
   else `~/.cache/stylegan_tf`), checked against INTEGRITY;
3. the npm registry: the tarball is downloaded from TARBALL_URL, checked against INTEGRITY and kept in the
   cache, so later exports are offline.

For an offline machine: run `python -m stylegan_tf.export.ort_web` (or `npm pack onnxruntime-web@VERSION`) on a
machine with network and copy the tarball into the cache or pass it with `--runtime`.
"""

import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

VERSION = "1.31.1"
INTEGRITY = "sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7NmuZPXrQ73k82URw=="
TARBALL_URL = f"https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-{VERSION}.tgz"
FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")  # the wasm backend only
ENV = "STYLEGAN_TF_ORT_WEB"

__all__ = ["VERSION", "FILES", "cache_dir", "cached_tarball", "runtime_files", "fetch"]


def cache_dir():
    """The tarballs' folder: $STYLEGAN_TF_CACHE, else $XDG_CACHE_HOME/stylegan_tf, else ~/.cache/stylegan_tf."""
    if os.environ.get("STYLEGAN_TF_CACHE"):
        return Path(os.environ["STYLEGAN_TF_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "stylegan_tf"


def cached_tarball():
    """The cache's tarball path (it may not exist yet)."""
    return cache_dir() / f"onnxruntime-web-{VERSION}.tgz"


def _integrity(data):
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _from_tarball(data, origin):
    if _integrity(data) != INTEGRITY:
        raise ValueError(f"{origin} is not onnxruntime-web {VERSION} as the npm registry publishes it (sha512 "
                         f"differs); get it with `npm pack onnxruntime-web@{VERSION}`")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {name: tar.extractfile(f"package/dist/{name}").read() for name in FILES}


def _from_folder(folder):
    folder = Path(folder)
    package_json = folder / "package.json"
    if package_json.is_file():
        version = json.loads(package_json.read_text()).get("version")
        if version != VERSION:
            raise ValueError(f"{folder} holds onnxruntime-web {version}; this export needs {VERSION} "
                             f"(`npm pack onnxruntime-web@{VERSION}`)")
    dist = folder / "dist" if (folder / "dist").is_dir() else folder
    missing = [name for name in FILES if not (dist / name).is_file()]
    if missing:
        raise ValueError(f"{dist} lacks {', '.join(missing)}; give the onnxruntime-web {VERSION} package folder "
                         f"or its tarball")
    return {name: (dist / name).read_bytes() for name in FILES}


def fetch(timeout=120):
    """Downloads the pinned tarball from the npm registry into the cache (checked); returns its path."""
    target = cached_tarball()
    if target.is_file():
        _from_tarball(target.read_bytes(), target)
        return target
    try:
        with urllib.request.urlopen(TARBALL_URL, timeout=timeout) as response:
            data = response.read()
    except OSError as e:
        raise ValueError(f"could not download onnxruntime-web {VERSION} from the npm registry ({e}); offline, "
                         f"copy the tarball of `npm pack onnxruntime-web@{VERSION}` to {target} or pass it with "
                         f"--runtime (or {ENV})") from None
    _from_tarball(data, TARBALL_URL)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def runtime_files(source=None, download=True):
    """{file name: bytes} of the three runtime files, from `source`, $STYLEGAN_TF_ORT_WEB, the cache or npm."""
    source = source or os.environ.get(ENV)
    if source:
        path = Path(source)
        if path.is_dir():
            return _from_folder(path)
        if path.is_file():
            return _from_tarball(path.read_bytes(), path)
        raise ValueError(f"onnxruntime-web source {source} does not exist; give the .tgz of "
                         f"`npm pack onnxruntime-web@{VERSION}` or the package folder")
    target = cached_tarball()
    if not target.is_file():
        if not download:
            raise ValueError(f"onnxruntime-web {VERSION} is not in the cache ({target}); run "
                             f"`python -m stylegan_tf.export.ort_web` once with network access")
        target = fetch()
    return _from_tarball(target.read_bytes(), target)


def main(argv=None):
    """`python -m stylegan_tf.export.ort_web`: put the pinned tarball into the cache (once; checked)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        print(f"usage: python -m stylegan_tf.export.ort_web  (fetches onnxruntime-web {VERSION} into "
              f"{cached_tarball()})", file=sys.stderr)
        return 2
    try:
        path = fetch()
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"onnxruntime-web {VERSION}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
