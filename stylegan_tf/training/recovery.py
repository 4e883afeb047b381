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

Messages give one plain reason ("checksum mismatch in ckpt.data-00000-of-00001", "no space left on
device"), never TensorFlow's text, which names internal ops and graph nodes; that text goes to the
run folder's log.txt, for a bug report.
"""

import errno
import json
import os
import re
import sys
import time

DAMAGED_SUFFIX = ".damaged"


class DamagedCheckpoint(ValueError):
    """A checkpoint folder whose files cannot be trusted (unreadable, truncated, corrupted, not finite).

    The message is one plain reason; `detail` holds the raw error text, if any (for log.txt).
    """

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.detail = detail


class CheckpointWriteError(ValueError):
    """Writing a checkpoint or the final generator failed; earlier checkpoints are intact."""


def read_json(path: str, what: str):
    """The JSON object in `path`; DamagedCheckpoint naming `what` if it is missing or not a JSON object."""
    try:
        with open(path) as f:
            value = json.load(f)
    except FileNotFoundError:
        raise DamagedCheckpoint(f"{what} is missing") from None
    except json.JSONDecodeError as e:
        raise DamagedCheckpoint(f"{what} is not valid JSON", raw_text(e)) from None
    except UnicodeDecodeError as e:
        raise DamagedCheckpoint(f"{what} is not text", raw_text(e)) from None
    except OSError as e:
        raise DamagedCheckpoint(f"{what} is unreadable ({_os_reason(e)})", raw_text(e)) from None
    if not isinstance(value, dict):
        raise DamagedCheckpoint(f"{what} holds a {type(value).__name__}, not a JSON object")
    return value


def check_files(path: str, nimg: int) -> dict:
    """Verifies state.json and config.json of checkpoint folder `path` (named after `nimg`) and that its
    TensorFlow files are there and not empty; returns the config."""
    state = read_json(os.path.join(path, "state.json"), "state.json")
    if state.get("cur_nimg") != nimg:
        raise DamagedCheckpoint(f"state.json says cur_nimg={state.get('cur_nimg')!r}, the folder name {nimg}")
    config = read_json(os.path.join(path, "config.json"), "config.json")
    names = os.listdir(path)
    for name in ["ckpt.index"] + (sorted(n for n in names if n.startswith("ckpt.data-")) or ["ckpt.data-*"]):
        if name not in names:
            raise DamagedCheckpoint(f"{name} is missing")
        if os.path.getsize(os.path.join(path, name)) == 0:
            raise DamagedCheckpoint(f"{name} is empty")
    return config


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


def warn_skipped(path: str, reason: str, detail: str = ""):
    """One warning line naming damaged checkpoint `path` and `reason`; `detail` (raw error text) goes to log.txt."""
    print(f"warning: checkpoint {path} is damaged ({reason}); trying the one before", file=sys.stderr, flush=True)
    log_detail(os.path.dirname(os.path.dirname(path)), f"checkpoint {path} is damaged ({reason})", detail)


def log_detail(run_dir: str, what: str, detail: str):
    """Appends `what` and the raw error text `detail` to run_dir/log.txt, if there is any and it can be written."""
    if not detail or not os.path.isdir(run_dir):
        return
    try:
        with open(os.path.join(run_dir, "log.txt"), "a") as f:
            f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {what}; the error was: {detail}\n")
    except OSError:
        pass  # a full or read-only disk: the one-line message is what counts


def read_reason(error, file: str) -> str:
    """One plain reason for an error TensorFlow (or its bundle reader) raised reading `file` of a checkpoint."""
    text = raw_text(error).lower()
    if "checksum" in text:  # data: "Checksum does not match"; index: "block checksum mismatch"
        return f"checksum mismatch in {file}"
    if "read less bytes" in text or "truncated" in text or "end of file" in text or "out of range" in text:
        return f"{file} is truncated"
    if "sstable" in text or "magic number" in text or "corrupt" in text:
        return f"{file} is not a checkpoint file (garbled)"
    if "no such file" in text or "failed to find" in text or "not found" in text:
        return f"{file} is missing"
    if isinstance(error, OSError) and error.errno:
        return f"{file} is unreadable ({_os_reason(error)})"
    return f"{file} does not read back ({type(error).__name__})"


_WRITE_REASONS = {errno.ENOSPC: "no space left on device", errno.EFBIG: "file too large",
                  errno.EDQUOT: "disk quota exceeded", errno.EROFS: "read-only file system",
                  errno.EACCES: "permission denied", errno.EPERM: "permission denied",
                  errno.EIO: "input/output error"}


def write_reason(error) -> str:
    """One plain reason for a failed write: "no space left on device", "file too large", ..."""
    code = getattr(error, "errno", None)
    if code in _WRITE_REASONS:
        return _WRITE_REASONS[code]
    text = raw_text(error).lower()
    for reason in _WRITE_REASONS.values():  # TensorFlow's errors carry the C library's text, not an errno
        if reason in text:
            return reason
    if isinstance(error, OSError) and (error.strerror or code):
        return _os_reason(error)
    return f"{type(error).__name__}"


def write_error(error, folder: str, run_dir: str = None) -> CheckpointWriteError:
    """The one-line CheckpointWriteError for a failed write in `folder` of run folder `run_dir` (default:
    `folder`); it says `--resume` only if the run has a checkpoint to continue from."""
    run_dir = run_dir or folder
    log_detail(run_dir, f"could not write to {folder}", raw_text(error))
    return CheckpointWriteError(f"could not write to {folder} ({write_reason(error)}); {after_failed_write(run_dir)}")


def after_failed_write(run_dir: str) -> str:
    """What is kept and what to do after a write in `run_dir` failed."""
    fix = "free disk space, raise the file-size limit or make the folder writable"
    if has_checkpoint(run_dir):
        return f"earlier checkpoints are intact. {fix[0].upper()}{fix[1:]}, then continue with --resume"
    return f"no checkpoint was written yet. {fix[0].upper()}{fix[1:]}, then start the run again"


def has_checkpoint(run_dir: str) -> bool:
    """Whether run_dir/checkpoints holds a finished checkpoint folder (`checkpoint.list_checkpoints` lists them)."""
    root = os.path.join(run_dir, "checkpoints")
    try:
        return any(re.match(r"^ckpt-\d{6,}\.\d{3}kimg$", n) and os.path.isdir(os.path.join(root, n))
                   for n in os.listdir(root))
    except OSError:
        return False


def _os_reason(error) -> str:
    if error.strerror:
        return error.strerror.lower()
    return os.strerror(error.errno).lower() if error.errno else type(error).__name__


def raw_text(error) -> str:
    """The error's own text on one line (TensorFlow's OpError: its `message`)."""
    message = getattr(error, "message", None) or str(error)
    return " ".join(f"{type(error).__name__}: {message}".split())
