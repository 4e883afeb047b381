"""Trained generators for every row of Table 1, shipped with the package.

Each model is the moving-average generator (G_ema) of one run of the CPU demo recipe (`preset(row, "demo")`:
32x32 synthetic faces, 120 kimg: what the bare `python -m stylegan_tf train` runs), with a fixed seed.
`manifest.json` beside the files names, for each model, its row, seed, config, length, sha256, the metrics
measured on it and the exact command that retrains it.

    >>> from stylegan_tf import pretrained
    >>> G = pretrained.load("F")            # row F, seed 0; "A-seed1" etc. for the other seeds
    >>> pretrained.names()                  # every shipped model
    >>> pretrained.entry("F")["command"]    # how to retrain it
    >>> pretrained.metrics("F")["fd_probe"] # a metric measured when the model was installed

`load` checks the file's sha256 against the manifest before loading it, so a truncated or altered file is
refused with a message that says how to restore it.
"""

import hashlib
import json
import os
from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent / "models"
MANIFEST = MODEL_DIR / "manifest.json"


def manifest():
    """The manifest as a dict: {"recipe": ..., "models": {name: entry}}."""
    if not MANIFEST.is_file():
        raise FileNotFoundError(f"{MANIFEST} is missing: reinstall the package (`pip install -e .` from a clone "
                                f"of the repository) to restore the shipped models")
    return json.loads(MANIFEST.read_text())


def names():
    """Names of the shipped models: "A" ... "F" (seed 0), then the extra seeds ("A-seed1", ...)."""
    return list(manifest()["models"])


def entry(name):
    """The manifest entry of one model: row, seed, file, sha256, kimg, config, metrics, command."""
    models = manifest()["models"]
    key = str(name)
    if key not in models and key.upper() in models:
        key = key.upper()
    if key not in models:
        raise KeyError(f"no shipped model named {name!r}; the shipped models are {', '.join(models)}")
    return models[key]


def metrics(name):
    """The headline value of each metric stored for a shipped model: {"fd_probe": 52.34, "swd": 25.4, ...}.

    The manifest keeps each metric's whole result (`entry(name)["metrics"]["swd"]` also holds `swd_32`,
    `num_images`, ...); this returns the value named after the metric, for the metrics that have one.
    """
    results = entry(name).get("metrics") or {}
    return {key: result[key] for key, result in results.items() if isinstance(result, dict) and key in result}


def sha256(path):
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def path(name, verify=True):
    """Path of a shipped model's `.keras` file, after checking that it exists and (verify=True) its sha256."""
    info = entry(name)
    file = MODEL_DIR / info["file"]
    if not file.is_file():
        raise FileNotFoundError(f"the shipped model {name!r} ({file}) is missing: reinstall the package "
                                f"(`pip install -e .`), or retrain it with `{info['command']}` and copy its G_ema.keras there")
    if verify:
        found = sha256(file)
        if found != info["sha256"]:
            raise ValueError(f"{file} does not match the manifest (sha256 {found[:12]}..., expected "
                             f"{info['sha256'][:12]}...): the file was altered or truncated. Restore it "
                             f"(`git checkout -- {os.path.relpath(file, MODEL_DIR.parents[2])}` or reinstall the package)")
    return file


def load(name="F", verify=True):
    """Loads a shipped generator (a `stylegan_tf.networks.Generator`), checking its sha256 first."""
    from stylegan_tf.generation.figures import load_generator

    return load_generator(path(name, verify=verify))
