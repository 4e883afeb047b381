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

Variables are saved under their names (`named_variables`: the Keras variable paths, e.g.
`G/synthesis/b8_layer0/conv/kernel`), and `restore` first compares the checkpoint's names and shapes
with the trainer's, so a checkpoint of a differently built model is an error that names the
mismatched variables, never a silent restore into the wrong ones.

Resuming compares the stored config with the current one. The fields in `RESUMABLE_FIELDS` may
change on resume (run length and bookkeeping); any other difference is an error naming the fields.
"""

import json
import os
import re
import shutil
import time

import tensorflow as tf

# Fields that may differ between a checkpoint and the run resuming from it: they change how long the
# run is and how often it reports or saves, or only how the step is compiled, never the model or the maths.
RESUMABLE_FIELDS = ("total_kimg", "tick_kimg", "checkpoint_kimg", "keep_checkpoints", "xla")

_NAME = re.compile(r"^ckpt-(\d{6,})\.(\d{3})kimg$")
_PREFIX = "ckpt"  # file prefix of tf.train.Checkpoint inside each checkpoint folder


def named_variables(obj) -> dict:
    """{path: variable} for every variable of a Keras model or optimizer (or a dict of them, passed through).

    Raises:
        ValueError: two variables share a path (the checkpoint could not tell them apart).
    """
    if isinstance(obj, dict):
        return dict(obj)
    out = {}
    for v in obj.variables:
        name = getattr(v, "path", None) or v.name
        if name in out:
            raise ValueError(f"two variables of {getattr(obj, 'name', obj)} are both named {name!r}; "
                             f"give their layers distinct names so checkpoints can tell them apart")
        out[name] = v
    return out


def flatten_objects(objects: dict) -> dict:
    """{"G": {"G/x/kernel": v}, "step": v} -> {"G/G/x/kernel": v, "step": v} (the names a checkpoint stores)."""
    flat = {}
    for group, item in objects.items():
        if isinstance(item, dict):
            flat.update({f"{group}/{name}": v for name, v in item.items()})
        else:
            flat[group] = item
    return flat


def _stored_shapes(prefix: str) -> dict:
    """{name: shape} of the variables in checkpoint `prefix`, under the names `flatten_objects` gives."""
    suffix = "/.ATTRIBUTES/VARIABLE_VALUE"
    shapes = {}
    for key, shape in tf.train.list_variables(prefix):
        if key.endswith(suffix) and not key.startswith("_CHECKPOINTABLE_OBJECT_GRAPH"):
            shapes[key[: -len(suffix)].replace(".S", "/").replace("..", ".")] = tuple(shape)
    return shapes


def check_variables(prefix: str, objects: dict, where: str):
    """Raises ValueError naming every variable whose name or shape differs between checkpoint and `objects`."""
    stored = _stored_shapes(prefix)
    current = {name: tuple(v.shape) for name, v in flatten_objects(objects).items()}
    missing = sorted(set(current) - set(stored))
    unexpected = sorted(set(stored) - set(current))
    wrong = sorted(n for n in set(current) & set(stored) if current[n] != stored[n])
    problems = []
    if wrong:
        problems.append("shape differs: " + ", ".join(f"{n} (checkpoint {stored[n]}, model {current[n]})"
                                                      for n in wrong[:5]) + (" ..." if len(wrong) > 5 else ""))
    if missing:
        problems.append("not in the checkpoint: " + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""))
    if unexpected:
        problems.append("not in the model: " + ", ".join(unexpected[:5]) + (" ..." if len(unexpected) > 5 else ""))
    if problems:
        raise ValueError(f"checkpoint {where} does not match the model being restored ({'; '.join(problems)}); "
                         f"it was written by a differently built model: resume with the checkpoint's config, "
                         f"or start a new run in another --out folder")


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
    """Complete checkpoint folders in `run_dir/checkpoints` (full paths), oldest first; [] if none."""
    root = os.path.join(run_dir, "checkpoints")
    found = []
    for name in os.listdir(root) if os.path.isdir(root) else []:
        nimg = _nimg_of(name)
        path = os.path.join(root, name)
        if nimg is not None and os.path.isfile(os.path.join(path, "state.json")):
            found.append((nimg, path))
    return [p for _, p in sorted(found)]


def read_config(path: str) -> dict:
    """The config dict stored in checkpoint folder `path`."""
    with open(os.path.join(path, "config.json")) as f:
        return json.load(f)


def config_diff(stored: dict, current: dict, ignore=RESUMABLE_FIELDS) -> list:
    """Names of the config fields whose values differ (JSON-normalised), except those in `ignore`."""
    norm = lambda d: json.loads(json.dumps(d, sort_keys=True))  # noqa: E731 - dict keys/tuples as in JSON
    a, b = norm(stored), norm(current)
    return sorted(k for k in set(a) | set(b) if k not in ignore and a.get(k, "<missing>") != b.get(k, "<missing>"))


def check_resumable(stored: dict, cfg, where: str):
    """Raises ValueError naming the fields in which `cfg` contradicts the `stored` config of checkpoint `where`."""
    differ = config_diff(stored, cfg.to_dict())
    if differ:
        current = json.loads(cfg.to_json())
        detail = "; ".join(f"{k}: checkpoint {stored.get(k)!r}, now {current.get(k)!r}" for k in differ)
        raise ValueError(
            f"the config contradicts the checkpoint {where} in {len(differ)} field(s): {detail}. "
            f"Resume with the checkpoint's values (only {', '.join(RESUMABLE_FIELDS)} may change), "
            f"or start a new run in another --out folder"
        )


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
        """
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
        for name in os.listdir(self.dir):
            if name.startswith(".tmp-"):
                shutil.rmtree(os.path.join(self.dir, name), ignore_errors=True)

    # -- restore ----------------------------------------------------------------------------------
    def restore(self, trainer, path: str):
        """Loads checkpoint folder `path` into `trainer`, after checking its config matches `trainer.cfg`.

        Raises:
            ValueError: the stored config differs from `trainer.cfg` in a field outside `RESUMABLE_FIELDS`,
                or a variable's name or shape differs between the checkpoint and the trainer.
        """
        check_resumable(read_config(path), trainer.cfg, path)
        objects = trainer.checkpoint_objects()
        check_variables(os.path.join(path, _PREFIX), objects, path)
        status = tf.train.Checkpoint(**flatten_objects(objects)).read(os.path.join(path, _PREFIX))
        status.assert_consumed()

    def restore_latest(self, trainer) -> bool:
        """Restores the newest complete checkpoint into `trainer`; returns False if there is none."""
        path = self.latest()
        if path is None:
            return False
        self.restore(trainer, path)
        return True


def _as_int(x) -> int:
    return int(x.numpy()) if hasattr(x, "numpy") else int(x)


def save_generator(trainer, run_dir: str, name: str = "G_ema.keras") -> str:
    """Saves `trainer.G_ema` as a `.keras` file in `run_dir` (atomically); returns its path.

    Reload with `keras.models.load_model(path)` after `import stylegan_tf` (registers the layers).
    Only the chief writes under a multi-worker strategy.
    """
    path = os.path.join(run_dir, name)
    if not is_chief(getattr(trainer, "strategy", None)):
        return path
    tmp = os.path.join(run_dir, f".tmp-{os.getpid()}-{name}")  # keeps the .keras suffix Keras requires
    trainer.G_ema.save(tmp)
    os.replace(tmp, path)
    return path
