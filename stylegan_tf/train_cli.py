"""`python -m stylegan_tf train`: progressive-growing StyleGAN training, from one command.

Two sets of defaults:

* `--defaults demo` (the default): the small-dataset CPU demo, beside the official values.
  Preset F at 32x32 with narrow widths (64 channels at 4-8 px, 32 at 16 px, 16 at 32 px;
  z = w = 64; 4 mapping layers), 6 + 6 kimg per resolution from 8x8, minibatch 32, G_ema
  half-life 2 kimg, 60 kimg in all (the values in `DEMO`), on the embedded `synthetic-faces`
  dataset. The bare `python -m stylegan_tf train` used 942 CPU-seconds on our 2-core CPU (about
  8-10 minutes when the machine is otherwise idle; 18 minutes of wall time while other jobs shared
  the two cores), and ends with blurry but recognisable faces (hair, face, shoulders).
* `--defaults official`: the NVlabs FFHQ values of SPEC §4 (full widths, 600 + 600 kimg per
  resolution, minibatch 256 -> 32, 25,000 kimg). Meant for GPUs.

Everything else is an override on top of them, applied in this order: the preset's Table 1 row,
the chosen defaults, `--resolution/--kimg/--data/--seed/--xla/--mixed-precision`, then each
`--set key=value` (any `StyleGANConfig` field). `--dry-run` prints the result and exits.

The run folder (`--out`) gets config.json, TensorBoard scalars, sample grids (`stylegan_tf.run_log`),
checkpoints (`stylegan_tf.checkpoint`) and the final `G_ema.keras`. `--resume` continues the run in
`--out` from its newest checkpoint; without other options it reuses the checkpoint's config, and
any option that contradicts it (other than total_kimg, tick_kimg, checkpoint_kimg,
keep_checkpoints, xla) is an error naming the fields.
"""

import argparse
import dataclasses
import os

from stylegan_tf.config import PRESETS, field_names, parse_override, preset

# Small-dataset CPU demo defaults, beside the official ones (config.py); sized by measuring on a 2-core CPU.
DEMO = dict(
    resolution=32,
    fmap_base=256,  # channels 64 / 64 / 32 / 16 at 4 / 8 / 16 / 32 px (official: 8192, fmap_max 512)
    fmap_max=64,
    z_dim=64,  # official: 512
    w_dim=64,
    mapping_layers=4,  # official: 8
    lod_initial_resolution=8,  # as official
    lod_training_kimg=6.0,  # official: 600 stable + 600 fade-in kimg per resolution
    lod_transition_kimg=6.0,
    minibatch_base=32,
    minibatch_dict={8: 32, 16: 32, 32: 32},  # official: 256 / 128 / 64 at 8 / 16 / 32 px (8 GPUs)
    ema_kimg=2.0,  # G_ema half-life; the official 10 kimg is long for a run this short
    total_kimg=60.0,  # official: 25,000
    tick_kimg=2.0,
    checkpoint_kimg=10.0,
)
DEFAULTS = ("demo", "official")
STRATEGIES = ("default", "mirrored", "multiworker")


def add_arguments(parser: argparse.ArgumentParser):
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = (
        "Train a StyleGAN with progressive growing.\n\n"
        "The bare command trains preset F on the embedded synthetic-faces dataset with the small-dataset CPU\n"
        "demo defaults: 32x32, narrow widths (64/64/32/16 channels at 4/8/16/32 px, z = w = 64, 4 mapping\n"
        "layers), 6 + 6 kimg per resolution from 8x8, minibatch 32, 60 kimg in all (measured: 942 CPU-seconds,\n"
        "i.e. about 8-10 minutes on an idle 2-core CPU, longer on a busy one). --defaults official starts from\n"
        "the NVlabs FFHQ values instead (full widths,\n"
        "600 + 600 kimg per resolution, minibatch 256 -> 32, 25,000 kimg).\n\n"
        "example: python -m stylegan_tf train --preset F --data synthetic-faces --resolution 32 --kimg 200 --out runs/demo"
    )
    a = parser.add_argument
    a("--preset", default=None, help=f"Table 1 row, one of {', '.join(PRESETS)} (default: F)")
    a("--defaults", default=None, choices=DEFAULTS,
      help="demo: small-dataset CPU demo values (default); official: NVlabs FFHQ values (SPEC §4)")
    a("--data", default=None,
      help="dataset: 'synthetic-faces' (embedded, 10,000 images; 'synthetic-faces:N' for N), a folder made by "
           "`python -m stylegan_tf prepare`, or 'tfds:NAME' (default: synthetic-faces)")
    a("--resolution", type=int, default=None, help="final resolution, a power of two >= 8 (demo: 32)")
    a("--kimg", type=float, default=None, help="training length in thousands of real images (demo: 60)")
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
        cfg = preset(name, **(DEMO if (args.defaults or "demo") == "demo" else {}))
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
    from stylegan_tf.data import ACCEPTED, dataset_info

    try:
        info = dataset_info(cfg.data)
    except FileNotFoundError as e:
        raise FileNotFoundError(f"--data {cfg.data}: no such dataset; accepted: {ACCEPTED}") from e
    if info["resolution"] is not None and info["resolution"] < cfg.resolution:
        raise ValueError(f"--data {cfg.data} holds images up to {info['resolution']}px, fewer than "
                         f"resolution={cfg.resolution}; lower --resolution or prepare the data at {cfg.resolution}px")


def make_strategy(name: str):
    """Creates the tf.distribute strategy; call before anything else touches TensorFlow devices."""
    import tensorflow as tf

    if name not in STRATEGIES:
        raise ValueError(f"--strategy {name!r}: choose one of {', '.join(STRATEGIES)}")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError(
                "--strategy multiworker needs the TF_CONFIG environment variable on every worker, e.g. "
                'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
                '"index": 0}}\''
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def _latest_checkpoint(out_dir: str) -> str:
    from stylegan_tf.checkpoint import list_checkpoints

    ckpts = list_checkpoints(out_dir)
    if not ckpts:
        raise FileNotFoundError(
            f"--resume: no checkpoint in {os.path.join(out_dir, 'checkpoints')}; start a new run without --resume"
        )
    return ckpts[-1]


def run(args) -> int:
    # Validate cheap things before TensorFlow starts, so errors are immediate.
    if args.strategy not in STRATEGIES:
        raise ValueError(f"--strategy {args.strategy!r}: choose one of {', '.join(STRATEGIES)}")
    latest = stored = None
    if args.resume:
        from stylegan_tf.checkpoint import read_config

        latest = _latest_checkpoint(args.out)
        stored = read_config(latest)
    cfg = resolve_config(args, stored)
    if stored is not None:
        from stylegan_tf.checkpoint import check_resumable

        check_resumable(stored, cfg, latest)  # before anything is written to --out
    if args.dry_run:
        print(cfg.to_json())
        return 0
    if args.strategy == "multiworker" and not os.environ.get("TF_CONFIG"):
        make_strategy("multiworker")  # raises the TF_CONFIG message
    ckpt_dir = os.path.join(args.out, "checkpoints")
    if not args.resume and os.path.isdir(ckpt_dir) and any(n.startswith("ckpt-") for n in os.listdir(ckpt_dir)):
        raise ValueError(f"--out {args.out} already holds checkpoints; add --resume to continue it, or pick another --out")

    strategy = make_strategy(args.strategy)  # first TF device use of the process
    import keras

    from stylegan_tf.checkpoint import Checkpointer, save_generator
    from stylegan_tf.run_log import RunLog
    from stylegan_tf.trainer import Trainer

    if cfg.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    keras.utils.set_random_seed(cfg.seed)
    checkpointer = Checkpointer(args.out, keep=cfg.keep_checkpoints, strategy=strategy)
    log = RunLog(args.out, cfg, progress=not args.no_progress, strategy=strategy)
    trainer = Trainer(cfg, out_dir=args.out, strategy=strategy, checkpointer=checkpointer, log=log)
    if args.resume:
        checkpointer.restore_latest(trainer)
        log.start_nimg = int(trainer.cur_nimg.numpy())
        print(f"resumed from {checkpointer.latest()} at {log.start_nimg / 1000:.3f} kimg", flush=True)
    trainer.train(progress=not args.no_progress)
    path = save_generator(trainer, args.out)
    print(f"done: {int(trainer.cur_nimg.numpy()) / 1000:.1f} kimg; final generator {path}", flush=True)
    return 0


__all__ = ["DEMO", "add_arguments", "run", "resolve_config", "make_strategy", "check_data", "field_names"]
