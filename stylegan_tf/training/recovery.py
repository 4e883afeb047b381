"""Damaged checkpoints and failed writes: what `Checkpointer` does when a file is not what it wrote.

A checkpoint folder becomes visible only when complete (`checkpoint.Checkpointer.save`), but files can
still be damaged afterwards: a disk error, a truncated copy, a hand edit. On resume each checkpoint is
verified before it is trusted:

    state.json   parses, and its `cur_nimg` is the image count in the folder's name
    config.json  parses as a JSON object
    ckpt.index   lists the variables (names and shapes are then compared with the model's)
    ckpt.data-*  every tensor reads back (TensorFlow checks each tensor's CRC32C while reading)
    values       every float variable is finite

A checkpoint that fails is renamed `<name>.damaged` (so it is neither listed, pruned nor mistaken for
the copy a later save at the same image count should write), one line names it and the reason, and
the next older one is tried. A config that contradicts the run is not damage: that stays an error.

Writes that fail (disk full, read-only folder, file-size limit) raise `CheckpointWriteError`, a
ValueError, so the command line reports one line naming the folder and the fix; the temporary folder
is removed and every earlier checkpoint is left as it was.
"""

import json
import os
import sys

DAMAGED_SUFFIX = ".damaged"


class DamagedCheckpoint(ValueError):
    """A checkpoint folder whose files cannot be trusted (unreadable, truncated, corrupted, not finite)."""


class CheckpointWriteError(ValueError):
    """Writing a checkpoint or the final generator failed; earlier checkpoints are intact."""


def read_json(path: str, what: str):
    """The JSON object in `path`; DamagedCheckpoint naming `what` if it is missing or not a JSON object."""
    try:
        with open(path) as f:
            value = json.load(f)
    except FileNotFoundError:
        raise DamagedCheckpoint(f"{what} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DamagedCheckpoint(f"{what} is unreadable ({_words(e)})") from None
    if not isinstance(value, dict):
        raise DamagedCheckpoint(f"{what} holds a {type(value).__name__}, not a JSON object")
    return value


def check_files(path: str, nimg: int) -> dict:
    """Verifies state.json and config.json of checkpoint folder `path` (named after `nimg`); returns the config."""
    state = read_json(os.path.join(path, "state.json"), "state.json")
    if state.get("cur_nimg") != nimg:
        raise DamagedCheckpoint(f"state.json says cur_nimg={state.get('cur_nimg')!r}, the folder name {nimg}")
    return read_json(os.path.join(path, "config.json"), "config.json")


def check_finite(variables: dict):
    """DamagedCheckpoint naming the first restored float variable holding NaN or Inf."""
    import numpy as np

    for name, v in variables.items():
        if name.endswith("learning_rate"):
            continue  # set from the schedule before every step, so a stored value never matters
        value = np.asarray(v.numpy() if hasattr(v, "numpy") else v)
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise DamagedCheckpoint(f"variable {name} holds NaN or Inf")


def set_aside(path: str) -> str:
    """Renames damaged checkpoint `path` to `path.damaged` (numbered if taken); returns the new path (or `path`
    itself if the folder cannot be renamed, e.g. read-only: it is then skipped again next time)."""
    target, k = path + DAMAGED_SUFFIX, 1
    while os.path.exists(target):
        k += 1
        target = f"{path}{DAMAGED_SUFFIX}{k}"
    try:
        os.rename(path, target)
    except OSError:
        return path
    return target


def warn_skipped(path: str, reason: str):
    print(f"warning: checkpoint {path} is damaged ({reason}); trying the one before", file=sys.stderr, flush=True)


def damage_reason(error) -> str:
    """A short reason in words for an error raised while reading a checkpoint."""
    if isinstance(error, DamagedCheckpoint):
        return str(error)
    return _words(error)


def write_error(error, folder: str) -> CheckpointWriteError:
    """The one-line CheckpointWriteError for a failed write in `folder`."""
    return CheckpointWriteError(
        f"could not write to {folder} ({_words(error)}); earlier checkpoints are intact. Free disk space, "
        f"raise the file-size limit or make the folder writable, then continue with --resume")


def _words(error) -> str:
    message = getattr(error, "message", None) or getattr(error, "strerror", None) or str(error)
    message = " ".join(str(message).split())  # one line
    return (f"{type(error).__name__}: {message}" if message else type(error).__name__)[:300]
