"""`load_model(path)`: one loader for every `.keras` file the project writes (G_ema, G and D, from training or `convert`).

Keras rebuilds a saved network from the class registered under the name in the archive's config.json
("stylegan_tf>Generator", "stylegan_tf>Discriminator", ...). Those classes are registered when
`stylegan_tf.networks` is imported, and `import stylegan_tf` imports it lazily (it imports TensorFlow),
so `keras.saving.load_model("D.keras")` right after `import stylegan_tf` fails with "Could not locate
class 'Discriminator'" unless something imported the networks first. `load_model` imports them, then
loads; any file that is missing, damaged or not a stylegan_tf network is a one-line error naming it.

`model_file` and `saved_class` read only the file system and the archive's config.json (no TensorFlow):
the command line checks a model path with them before TensorFlow loads.
"""

import glob
import json
import os
import zipfile

NETWORKS = ("Generator", "Discriminator", "MappingNetwork", "SynthesisNetwork")  # registered as stylegan_tf>NAME
HINT = "pass a G_ema.keras, G.keras or D.keras written by `python -m stylegan_tf train` or `convert`"

__all__ = ["NETWORKS", "load_model", "model_file", "saved_class"]


def model_file(path) -> str:
    """The `.keras` file `path` names: the file itself, or in a run folder its G_ema.keras (else its newest `*.keras`)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        preferred = os.path.join(path, "G_ema.keras")
        if os.path.isfile(preferred):
            return preferred
        found = sorted(glob.glob(os.path.join(path, "*.keras")), key=os.path.getmtime)
        if not found:
            raise FileNotFoundError(f"no .keras generator in {path}: a finished `python -m stylegan_tf train` run "
                                    f"writes {preferred}; or pass a .keras file")
        return found[-1]
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist: pass a run folder or a .keras file")
    if not path.endswith(".keras"):
        raise ValueError(f"{path} is not a .keras file: pass a run folder or a .keras file saved by the trainer")
    return path


def saved_class(path, expected=None) -> str:
    """The network class a `.keras` file holds ("Generator", "Discriminator", ...), from its config.json alone.

    ValueError naming the file when it is not a zip archive, has no readable config.json, or holds
    anything but a stylegan_tf network (with `expected`, e.g. "Generator": anything but that class).
    """
    path = os.fspath(path)
    noun = "generator" if expected == "Generator" else "stylegan_tf network"
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a .keras file (not a zip archive: damaged, truncated or another format); "
                         f"{HINT}")
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
        # "stylegan_tf>Generator" for ours; Keras' own classes have no registered_name, only a class_name
        registered = (config.get("registered_name") or config["class_name"]) if isinstance(config, dict) else None
    except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError) as e:
        detail = " ".join(str(e).split())[:120]
        raise ValueError(f"could not load a {noun} from {path} (config.json: {type(e).__name__}: {detail}); "
                         f"{HINT}") from None
    package, _, name = str(registered).partition(">")
    if package != "stylegan_tf" or name not in (NETWORKS if expected is None else (expected,)):
        raise ValueError(f"{path} holds a {registered}, not a stylegan_tf {expected or 'network'}; {HINT}")
    return name


def load_model(path):
    """Loads a stylegan_tf network saved as `.keras`: G_ema / G (a `Generator`) or D (a `Discriminator`).

    `path` is a `.keras` file, or a run folder (its G_ema.keras, else its newest `*.keras`). Registers the
    networks' Keras classes first, so it works straight after `import stylegan_tf`. Raises
    FileNotFoundError / ValueError, one line naming the file, for a missing, damaged or foreign file.
    """
    import keras

    from stylegan_tf import networks  # noqa: F401  (registers the stylegan_tf>... classes with Keras)

    path = model_file(path)
    saved_class(path)
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as e:  # Keras reports a damaged archive in many ways (even "File not found")
        detail = " ".join(str(e).split())[:200]
        raise ValueError(f"could not load a stylegan_tf network from {path} ({type(e).__name__}: {detail}); "
                         f"{HINT}") from None
