"""Kill-safe training checkpoints: write to a temporary folder, rename, keep the last k.

Layout of a run folder (`run_dir`):

    run_dir/checkpoints/ckpt-000123.456kimg/   one complete checkpoint (123,456 real images shown)
        ckpt.index, ckpt.data-*                  tf.train.Checkpoint of `trainer.checkpoint_objects()`, by name
        config.json                              the StyleGANConfig the run was started with
        state.json                               images shown, wall-clock time, versions
    run_dir/checkpoints/.tmp-...                 a checkpoint being written (ignored; removed on the next start)
    run_dir/G_ema.keras                          the final generator (`save_generator`)

A checkpoint becomes visible only through one atomic `os.rename` of its finished temporary folder,
so a process killed at any moment (SIGKILL included) leaves either the old set of checkpoints or the
new one, never a half-written checkpoint under a final name. Pruning renames a folder to a
temporary name before deleting it, for the same reason.

Restoring first checks the checkpoint against the model (variables by name and shape, the config:
`compatibility.py`), verifies it and falls back to the newest intact one; failed writes are one-line
errors that leave earlier checkpoints intact (`recovery.py`).
"""

import json
import os
import re
import shutil
import time

import tensorflow as tf

from stylegan_tf.training.compatibility import (RESUMABLE_FIELDS, check_resumable, check_variables,  # noqa: F401
                                                config_diff, flatten_objects, named_variables, read_config)
from stylegan_tf.training.recovery import (CheckpointWriteError, DamagedCheckpoint, check_files,  # noqa: F401
                                           check_finite, raw_text, read_reason, set_aside, warn_skipped,
                                           write_error)

_NAME = re.compile(r"^ckpt-(\d{6,})\.(\d{3})kimg$")
_PREFIX = "ckpt"  # file prefix of tf.train.Checkpoint inside each checkpoint folder


def checkpoint_name(cur_nimg: int) -> str:
    """Folder name of the checkpoint taken after `cur_nimg` images: `ckpt-000123.456kimg`."""
    return f"ckpt-{cur_nimg // 1000:06d}.{cur_nimg % 1000:03d}kimg"


def _nimg_of(name: str):
    m = _NAME.match(name)
    return None if m is None else int(m.group(1)) * 1000 + int(m.group(2))


def _fsync_tree(path: str):
    """Flushes every file in `path` and the folder itself to disk, so a rename publishes complete data."""
    for name in os.listdir(path):
        fd = os.open(os.path.join(path, name), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    _fsync_dir(path)


def _fsync_dir(path: str):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: str, obj):
    """Writes `obj` as JSON to `path` through a temporary file and `os.replace`."""
    tmp = f"{os.path.join(os.path.dirname(path) or '.', '.tmp-' + os.path.basename(path))}.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj, indent=2, sort_keys=True))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def is_chief(strategy=None) -> bool:
    """True unless this process is a non-chief worker of a multi-worker strategy (which must not write files)."""
    strategy = strategy or tf.distribute.get_strategy()
    return bool(strategy.extended.should_checkpoint)


def list_checkpoints(run_dir: str) -> list:
    """Checkpoint folders in `run_dir/checkpoints` (full paths), oldest first; [] if none.

    Only finished checkpoints carry a final name, so every folder listed was complete when written;
    `Checkpointer.restore_latest` verifies it is still intact.
    """
    root = os.path.join(run_dir, "checkpoints")
    found = []
    for name in os.listdir(root) if os.path.isdir(root) else []:
        nimg = _nimg_of(name)
        path = os.path.join(root, name)
        if nimg is not None and os.path.isdir(path):
            found.append((nimg, path))
    return [p for _, p in sorted(found)]


def latest_readable(run_dir: str):
    """(path, config dict) of the newest checkpoint whose state.json and config.json read back, without
    TensorFlow work (the CLI resolves the config from it); damaged newer ones get a warning line.

    Raises:
        FileNotFoundError: no checkpoint at all.
        ValueError: checkpoints exist but none is readable.
    """
    ckpts = list_checkpoints(run_dir)
    if not ckpts:
        raise FileNotFoundError(f"no checkpoint in {os.path.join(run_dir, 'checkpoints')}")
    for path in reversed(ckpts):
        try:
            return path, check_files(path, _nimg_of(os.path.basename(path)))
        except DamagedCheckpoint as e:
            warn_skipped(path, str(e), e.detail)
    raise ValueError(f"no readable checkpoint in {os.path.join(run_dir, 'checkpoints')} (all {len(ckpts)} damaged); "
                     f"start a new run in another --out folder")


class Checkpointer:
    """Saves and restores `trainer.checkpoint_objects()` atomically, keeping the last `keep` checkpoints.

    Args:
        run_dir: The run folder; checkpoints go to `run_dir/checkpoints/`.
        keep: How many complete checkpoints to keep (the config's `keep_checkpoints`).
        strategy: The `tf.distribute` strategy; under a multi-worker strategy every worker takes part in
            `save` (as TensorFlow requires) but only the chief's copy is kept.

    Opening a `Checkpointer` removes leftovers of a killed run (`.tmp-*` folders).
    """

    def __init__(self, run_dir: str, keep: int = 3, strategy=None):
        if keep < 1:
            raise ValueError(f"keep={keep}: keep at least 1 checkpoint (keep_checkpoints >= 1)")
        self.run_dir = run_dir
        self.dir = os.path.join(run_dir, "checkpoints")
        self.keep = keep
        self.chief = is_chief(strategy)
        os.makedirs(self.dir, exist_ok=True)
        if self.chief:
            self._clean_temporaries()

    # -- queries ----------------------------------------------------------------------------------
    def list(self) -> list:
        """Complete checkpoint folders (full paths), oldest first. Temporary folders are never listed."""
        return list_checkpoints(self.run_dir)

    def latest(self):
        """The newest complete checkpoint folder, or None."""
        ckpts = self.list()
        return ckpts[-1] if ckpts else None

    # -- save -------------------------------------------------------------------------------------
    def save(self, trainer) -> str:
        """Writes a checkpoint of `trainer` named after its image count, then prunes to the last `keep`.

        Returns the checkpoint folder. Saving twice at the same image count keeps the first copy.

        Raises:
            CheckpointWriteError: the write failed (disk full, read-only, file-size limit); the temporary
                folder is removed and earlier checkpoints are intact.
        """
        try:
            return self._save(trainer)
        except (OSError, tf.errors.OpError) as e:
            for name in os.listdir(self.dir) if os.path.isdir(self.dir) else []:
                if name.startswith(".tmp-ckpt-") and name.endswith(f"-{os.getpid()}"):
                    shutil.rmtree(os.path.join(self.dir, name), ignore_errors=True)
            raise write_error(e, self.dir, self.run_dir) from None

    def _save(self, trainer) -> str:
        cur_nimg = int(trainer.cur_nimg.numpy())
        final = os.path.join(self.dir, checkpoint_name(cur_nimg))
        tmp = os.path.join(self.dir, f".tmp-{checkpoint_name(cur_nimg)}-{os.getpid()}")
        if not self.chief:  # non-chief workers write a throwaway copy (collective reads need every worker)
            tmp = os.path.join(self.run_dir, f".tmp-worker-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        tf.train.Checkpoint(**flatten_objects(trainer.checkpoint_objects())).write(os.path.join(tmp, _PREFIX))
        if not self.chief:
            shutil.rmtree(tmp, ignore_errors=True)
            return final
        with open(os.path.join(tmp, "config.json"), "w") as f:
            f.write(trainer.cfg.to_json())
        state = {"cur_nimg": cur_nimg, "kimg": cur_nimg / 1000.0, "time": time.time(),
                 "tensorflow": tf.__version__, "skipped": _as_int(getattr(trainer, "skipped", 0))}
        with open(os.path.join(tmp, "state.json"), "w") as f:
            json.dump(state, f, indent=2)
        _fsync_tree(tmp)
        if os.path.exists(final):  # same image count: nothing trained since that checkpoint
            shutil.rmtree(tmp)
        else:
            os.rename(tmp, final)  # the commit point
            _fsync_dir(self.dir)
        self._prune()
        return final

    def _prune(self):
        for path in self.list()[: -self.keep]:
            doomed = os.path.join(self.dir, f".tmp-delete-{os.path.basename(path)}")
            os.rename(path, doomed)  # invisible first, then deleted: a kill here leaves only a temporary
            shutil.rmtree(doomed, ignore_errors=True)

    def _clean_temporaries(self):
        """Removes `.tmp-*` leftovers of a killed run: checkpoints being written or deleted, and in the run
        folder a worker's copy, a half-saved G_ema.keras or JSON file."""
        for folder in (self.dir, self.run_dir):
            for name in os.listdir(folder):
                path = os.path.join(folder, name)
                if not name.startswith(".tmp-"):
                    continue
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    try:
                        os.remove(path)
                    except OSError:
                        pass

    # -- restore ----------------------------------------------------------------------------------
    def restore(self, trainer, path: str):
        """Loads checkpoint folder `path` into `trainer`, after verifying it and checking it matches `trainer`.

        Raises:
            DamagedCheckpoint: a file is missing, unreadable or corrupted, or a value is not finite.
            ValueError: the stored config differs from `trainer.cfg` in a field outside `RESUMABLE_FIELDS`,
                or a variable's name or shape differs between the checkpoint and the trainer.
        """
        stored = check_files(path, _nimg_of(os.path.basename(path)))
        check_resumable(stored, trainer.cfg, path)
        objects, prefix = trainer.checkpoint_objects(), os.path.join(path, _PREFIX)
        try:
            check_variables(prefix, objects, path)
        except Exception as e:  # a damaged index raises OpError, ValueError, IndexError ... depending on where
            if isinstance(e, ValueError) and "differently built model" in str(e):
                raise
            raise DamagedCheckpoint(read_reason(e, "ckpt.index"), raw_text(e)) from None
        try:  # the names and shapes matched: any failure now is damaged data (TF raises several kinds)
            tf.train.Checkpoint(**flatten_objects(objects)).read(prefix).assert_consumed()
        except Exception as e:
            data = sorted(n for n in os.listdir(path) if n.startswith(f"{_PREFIX}.data-"))
            raise DamagedCheckpoint(read_reason(e, data[0] if len(data) == 1 else "ckpt.data"), raw_text(e)) from None
        check_finite(flatten_objects(objects))

    def restore_latest(self, trainer, newest: str = None):
        """Restores the newest intact checkpoint into `trainer`; returns its path, or False if there is none.

        A damaged checkpoint is skipped with a one-line warning, and once an older one restores, every
        skipped newer one is renamed `<name>.damaged` (`recovery.py`). A checkpoint whose variables do
        not match the model counts as damaged only if an older one of the run restores.

        Args:
            newest: Start from this checkpoint (what `latest_readable` returned): the newer ones were
                found damaged and named already, so they are set aside without a second warning.

        Raises:
            ValueError: no checkpoint restores (the first error, or the list of damaged ones); nothing renamed.
        """
        ckpts = self.list()
        if not ckpts:
            return False
        skipped, mismatch, total = [], None, len(ckpts)
        if newest in ckpts:
            skipped, ckpts = ckpts[ckpts.index(newest) + 1:], ckpts[: ckpts.index(newest) + 1]
        for path in reversed(ckpts):
            try:
                self.restore(trainer, path)
            except DamagedCheckpoint as e:
                warn_skipped(path, str(e), e.detail)
                skipped.append(path)
                continue
            except ValueError as e:
                if "differently built model" not in str(e):
                    raise  # the config contradicts the run: the user's choice, not damage
                warn_skipped(path, "its variables do not match the model")
                skipped.append(path)
                mismatch = mismatch or e
                continue
            if self.chief:
                for bad in skipped:
                    set_aside(bad)
            return path
        if mismatch is not None:
            raise mismatch
        raise DamagedCheckpoint(f"no checkpoint in {self.dir} restores (all {total} damaged); "
                                f"start a new run in another --out folder")


def _as_int(x) -> int:
    return int(x.numpy()) if hasattr(x, "numpy") else int(x)


def save_generator(trainer, run_dir: str, name: str = "G_ema.keras") -> str:
    """Saves `trainer.G_ema` as a `.keras` file in `run_dir` (atomically); returns its path.

    Reload with `stylegan_tf.load_model(path)`.
    Only the chief writes under a multi-worker strategy.
    """
    path = os.path.join(run_dir, name)
    if not is_chief(getattr(trainer, "strategy", None)):
        return path
    tmp = os.path.join(run_dir, f".tmp-{os.getpid()}-{name}")  # keeps the .keras suffix Keras requires
    try:
        trainer.G_ema.save(tmp)
        os.replace(tmp, path)
    except OSError as e:  # disk full, read-only, file-size limit: one line, the checkpoints are intact
        if os.path.exists(tmp):
            os.remove(tmp)
        raise write_error(e, run_dir) from None
    return path
