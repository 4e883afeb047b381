"""`python -m stylegan_tf train`: progressive-growing StyleGAN training, from one command.

Starting point: a Table 1 row (`--preset`, default F) at a scale (`--defaults`, default demo); both
come from the one table of named configs in `stylegan_tf.config` (`python -m stylegan_tf configs`):

* `demo`: the small-dataset CPU demo (32x32, narrow widths, 10 + 10 kimg per resolution, minibatch 16, 120 kimg) on
  the embedded `synthetic-faces` dataset. README.md ("Quick start") gives its measured time.
* `official`: the NVlabs FFHQ values (full widths, 600 + 600 kimg per resolution, minibatch 256 -> 32,
  25,000 kimg). Meant for GPUs. `smoke` and `tiny` are the notebooks' and tests' scales.

Everything else is an override on top of them, applied in this order: the preset's Table 1 row,
the chosen scale, `--resolution/--kimg/--data/--seed/--xla/--mixed-precision`, then each
`--set key=value` (any `StyleGANConfig` field). `--dry-run` prints the result and exits.

The run folder (`--out`) gets config.json, TensorBoard scalars, sample grids (`training.run_log`),
checkpoints (`training.checkpoint`) and the final `G_ema.keras`. `--resume` continues the run in
`--out` from its newest intact checkpoint (a damaged one is named in one line, renamed `*.damaged` and
skipped), ending bit-identical to an uninterrupted run; without other options it reuses the checkpoint's config, and
any option that contradicts it (other than total_kimg, tick_kimg, checkpoint_kimg,
keep_checkpoints, xla) is an error naming the fields.
"""

import argparse
import dataclasses
import os
import sys

from stylegan_tf.config import PRESETS, SCALES, StyleGANConfig, parse_override, preset

DEFAULTS = tuple(SCALES)
FEW_IMAGES = 2000  # below this many images, `train` warns that the results will be poor
STRATEGIES = ("default", "mirrored", "multiworker")


def add_arguments(parser: argparse.ArgumentParser):
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = (
        "Train a StyleGAN with progressive growing.\n\n"
        "The bare command trains preset F on the embedded synthetic-faces dataset at the CPU demo scale:\n"
        "32x32, narrow widths (64/64/32/16 channels at 4/8/16/32 px, z = w = 64, 4 mapping layers at the full\n"
        "learning rate, mapping_lrmul 1.0 where the official code has 0.01),\n"
        "10 + 10 kimg per resolution from 8x8, minibatch 16 at lr 0.002, 120 kimg in all (README.md gives its measured time).\n"
        "--defaults official starts from the NVlabs FFHQ values instead (full widths, 600 + 600 kimg per\n"
        "resolution, minibatch 256 -> 32, 25,000 kimg). `python -m stylegan_tf configs` prints every named config.\n\n"
        "example: python -m stylegan_tf train --preset F --data synthetic-faces --resolution 32 --kimg 200 --out runs/demo"
    )
    a = parser.add_argument
    a("--preset", default=None, help=f"Table 1 row, one of {', '.join(PRESETS)} (default: F)")
    a("--defaults", default=None, choices=DEFAULTS,
      help="the scale of the preset: demo (CPU demo, the default), official (NVlabs FFHQ values), smoke or tiny")
    a("--data", default=None,
      help="dataset: 'synthetic-faces' (embedded, 10,000 images; 'synthetic-faces:N' for N), a folder made by "
           "`python -m stylegan_tf prepare`, or 'tfds:NAME' (default: synthetic-faces)")
    a("--resolution", type=int, default=None, help="final resolution, a power of two >= 8 (demo: 32)")
    a("--kimg", type=float, default=None, help="training length in thousands of real images (demo: 120)")
    a("--out", default="runs/demo", help="run folder for logs, samples and checkpoints (default: runs/demo)")
    a("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
      help="override any config field, repeatable, e.g. --set fmap_max=64 --set 'minibatch_dict={8: 16}'")
    a("--seed", type=int, default=None, help="seed of every random choice of the run (default: 0)")
    a("--resume", action="store_true", help="continue the run in --out from its newest checkpoint")
    a("--strategy", default="default", choices=STRATEGIES,
      help="tf.distribute strategy: default (one device), mirrored (all GPUs of this machine), "
           "multiworker (several machines; reads TF_CONFIG)")
    a("--mixed-precision", action="store_true", help="mixed_float16 compute (for GPUs)")
    a("--xla", action="store_true", help="compile the train step with XLA (jit_compile)")
    a("--dry-run", action="store_true", help="print the resolved config as JSON and exit")
    a("--no-progress", action="store_true", help="no progress bar (tick lines are still printed)")


def resolve_config(args, stored: dict = None):
    """Builds the StyleGANConfig from the parsed arguments.

    With `stored` (a checkpoint's config dict, used by --resume) and no --preset/--defaults, the stored
    config is the base and only the options given explicitly are applied on top.
    """
    if stored is not None and args.preset is None and args.defaults is None:
        from stylegan_tf.config import StyleGANConfig

        cfg = StyleGANConfig.from_dict(stored)
    else:
        name = args.preset or "F"
        if name not in PRESETS:
            raise ValueError(f"--preset {name!r}: unknown preset; choose one of {', '.join(PRESETS)} (rows of Table 1)")
        cfg = preset(name, args.defaults or "demo")
    explicit = {"resolution": args.resolution, "total_kimg": args.kimg, "data": args.data, "seed": args.seed}
    changes = {k: v for k, v in explicit.items() if v is not None}
    if args.xla:
        changes["xla"] = True
    if args.mixed_precision:
        changes["mixed_precision"] = True
    cfg = dataclasses.replace(cfg, **changes)
    for text in args.overrides:
        cfg = dataclasses.replace(cfg, **parse_override(cfg, text))
    check_data(cfg)
    return cfg


def check_data(cfg):
    """Raises FileNotFoundError/ValueError unless `cfg.data` names a dataset that holds `cfg.resolution` images."""
    if cfg.data.startswith("tfds:"):
        return  # checked when the dataset is opened (needs tensorflow-datasets)
    from stylegan_tf.data.sources import ACCEPTED, dataset_info  # reads dataset.json only: no TensorFlow

    try:
        info = dataset_info(cfg.data)
    except FileNotFoundError as e:  # missing, or a folder that is not a (complete) prepared dataset
        raise FileNotFoundError(f"--data {cfg.data}: {e}" if ACCEPTED in str(e) else
                                f"--data {cfg.data}: {e}; accepted: {ACCEPTED}") from None
    if info["resolution"] is not None and info["resolution"] < cfg.resolution:
        raise ValueError(f"--data {cfg.data} holds images up to {info['resolution']}px, fewer than "
                         f"resolution={cfg.resolution}; lower --resolution or prepare the data at {cfg.resolution}px")
    return info


def warn_if_few_images(cfg):
    """Prints one warning (stderr) when `cfg.data` holds fewer than FEW_IMAGES images; training goes on."""
    n = None if cfg.data.startswith("tfds:") else check_data(cfg).get("num_images")
    if n is not None and n < FEW_IMAGES:
        print(f"warning: --data {cfg.data} holds only {n:,} images. A GAN needs thousands (the paper's FFHQ has "
              f"70,000; the embedded dataset 10,000): with few images D memorises them, and G's samples copy "
              f"the training images or collapse to a few of them. Training continues.", file=sys.stderr, flush=True)


def make_strategy(name: str):
    """Creates the tf.distribute strategy; call before anything else touches TensorFlow devices."""
    if name not in STRATEGIES:
        raise ValueError(f"--strategy {name!r}: choose one of {', '.join(STRATEGIES)}")
    if name == "multiworker" and not os.environ.get("TF_CONFIG"):
        raise ValueError(
            "--strategy multiworker needs the TF_CONFIG environment variable on every worker, e.g. "
            'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
            '"index": 0}}\''
        )
    from stylegan_tf import _quiet  # noqa: F401  (imports TensorFlow without its C++ start-up lines)

    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def _latest_checkpoint(out_dir: str):
    """(path, stored config) of the newest checkpoint whose files read back (damaged newer ones are named).

    A run folder without a checkpoint yet (killed during its first write, say) gives (None, its
    config.json if readable) and a note: training starts from the beginning, as Keras' BackupAndRestore does.
    """
    import json

    if not os.path.isdir(out_dir):  # before TensorFlow loads (checkpoint.py imports it)
        why = "is not a folder" if os.path.exists(out_dir) else "does not exist"
        raise FileNotFoundError(f"--resume: no checkpoint in {os.path.join(out_dir, 'checkpoints')} ({out_dir} {why}); "
                                f"start a new run without --resume")
    from stylegan_tf.training.checkpoint import latest_readable

    try:
        return latest_readable(out_dir)
    except FileNotFoundError:
        pass
    try:
        with open(os.path.join(out_dir, "config.json")) as f:
            stored = json.load(f)
    except (OSError, ValueError):
        stored = None
    stored = stored if isinstance(stored, dict) else None
    print(f"note: --resume: {out_dir} holds no checkpoint yet; training starts from the beginning"
          f"{' with its config.json' if stored else ''}", file=sys.stderr, flush=True)
    return None, stored


def check_writable(out_dir: str):
    """Raises ValueError naming `out_dir` and the fix unless files can be created in it (it is created if missing)."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(f"--out {out_dir} is an existing file, not a folder; give a folder path")
    probe = os.path.join(out_dir, f".tmp-write-test-{os.getpid()}")
    try:
        os.makedirs(out_dir, exist_ok=True)
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise ValueError(f"--out {out_dir}: cannot write there ({e.strerror or e}); choose a writable folder "
                         f"or fix its permissions") from None


def run(args) -> int:
    # Everything up to _train runs without TensorFlow (except reading a checkpoint for --resume), so errors are immediate.
    if args.strategy not in STRATEGIES:
        raise ValueError(f"--strategy {args.strategy!r}: choose one of {', '.join(STRATEGIES)}")
    for text in args.overrides:  # each --set's key and type, also before --resume reads a checkpoint
        parse_override(StyleGANConfig(), text)
    latest = stored = None
    if args.resume:
        latest, stored = _latest_checkpoint(args.out)
    cfg = resolve_config(args, stored)
    if latest is not None:
        from stylegan_tf.training.checkpoint import check_resumable

        check_resumable(stored, cfg, latest)  # before anything is written to --out
    if args.strategy == "default":  # one device: the per-replica batch is known before TensorFlow starts
        from stylegan_tf.config import check_mbstd_groups

        check_mbstd_groups(cfg)
    if args.dry_run:
        print(cfg.to_json())
        return 0
    if args.strategy == "multiworker" and not os.environ.get("TF_CONFIG"):
        make_strategy("multiworker")  # raises the TF_CONFIG message
    ckpt_dir = os.path.join(args.out, "checkpoints")
    if not args.resume and os.path.isdir(ckpt_dir) and any(n.startswith("ckpt-") for n in os.listdir(ckpt_dir)):
        raise ValueError(f"--out {args.out} already holds checkpoints; add --resume to continue it, or pick another --out")
    check_writable(args.out)
    try:
        return _train(args, cfg, latest)
    except OSError as e:  # a log, sample grid or summary could not be written (checkpoints raise their own error)
        from stylegan_tf.training.recovery import after_failed_write, write_reason

        where = e.filename or args.out
        raise ValueError(f"could not write {where} ({write_reason(e)}); {after_failed_write(args.out)}") from None


def _train(args, cfg, latest=None) -> int:
    warn_if_few_images(cfg)  # after every check, so an error stays one line
    strategy = make_strategy(args.strategy)  # first TF device use of the process
    from stylegan_tf.training.checkpoint import Checkpointer, save_generator
    from stylegan_tf.training.run_log import RunLog, describe_devices
    from stylegan_tf.training.trainer import Trainer

    checkpointer = Checkpointer(args.out, keep=cfg.keep_checkpoints, strategy=strategy)
    log = RunLog(args.out, cfg, progress=not args.no_progress, strategy=strategy)
    print(describe_devices(strategy), flush=True)
    trainer = Trainer(cfg, out_dir=args.out, strategy=strategy, checkpointer=checkpointer, log=log)
    if latest is not None:  # the newest intact one from `latest` down; damaged ones are named once
        restored = checkpointer.restore_latest(trainer, newest=latest)
        log.start_nimg = int(trainer.cur_nimg.numpy())
        print(f"resumed from {restored} at {log.start_nimg / 1000:.3f} kimg", flush=True)
    trainer.train(progress=not args.no_progress)
    path = save_generator(trainer, args.out)
    print(f"done: {int(trainer.cur_nimg.numpy()) / 1000:g} kimg; final generator {path}", flush=True)
    return 0


__all__ = ["add_arguments", "run", "resolve_config", "make_strategy", "check_data"]
