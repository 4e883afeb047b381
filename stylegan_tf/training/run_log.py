"""What a training run shows and leaves behind: config.json, TensorBoard scalars, sample grids, a progress bar.

Run folder written by `RunLog` (checkpoints are `checkpoint.Checkpointer`'s):

    run_dir/config.json                 the resolved StyleGANConfig, written once at start (atomically)
    run_dir/events.out.tfevents.*       TensorBoard scalars per tick, x = images shown (`tensorboard --logdir run_dir`)
    run_dir/samples/fakes-000123.456kimg.png   G_ema on fixed latents, each tick
    run_dir/log.txt                     one line per tick (also printed above the progress bar)
                                        and the raw text of errors the one-line messages leave out
    run_dir/metrics.jsonl               one JSON line per metric evaluation (`cfg.metrics`, every `cfg.metrics_kimg`)

The sample latents are drawn once from `numpy.random.RandomState(cfg.seed)`, so every grid of a run
(and of a resumed run) shows the same 32 faces; G_ema runs without truncation (psi = 1) and with
its stored constant noise, as the official `fakes*.png` snapshots do.
"""

import os
import sys
import time

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from stylegan_tf.generation import viz
from stylegan_tf.progress import progress_bar
from stylegan_tf.training.checkpoint import checkpoint_name, is_chief, write_json_atomic
from stylegan_tf.training.schedule import remaining_cost

GRID_W, GRID_H = 8, 4  # 32 sample images per grid
MIN_CELL = 32  # grids of smaller images are upscaled (nearest) to at least this many pixels per image


def sample_grid(images, grid_w: int = GRID_W, min_cell: int = MIN_CELL) -> np.ndarray:
    """[N, H, W, C] images in [-1, 1] -> one uint8 grid `grid_w` wide, upscaled (nearest) to >= `min_cell` px."""
    images = viz.to_uint8(images)
    scale = max(1, -(-min_cell // images.shape[1]))
    images = images.repeat(scale, axis=1).repeat(scale, axis=2)  # nearest upscaling, [N, sH, sW, C]
    return viz.image_grid(images, cols=grid_w)


def describe_devices(strategy) -> str:
    """One line on what trains: "CPU only, 2 threads, one device" or "2 GPUs (...), MirroredStrategy, 2 replicas"."""
    gpus = tf.config.list_physical_devices("GPU")
    name = type(strategy).__name__
    replicas = strategy.num_replicas_in_sync
    where = (f"{len(gpus)} GPU{'s' if len(gpus) > 1 else ''}" if gpus
             else f"CPU only, {os.cpu_count()} thread{'s' if os.cpu_count() != 1 else ''}")
    how = "one device" if replicas == 1 and name.startswith("_Default") else \
        f"{name}, {replicas} replica{'s' if replicas > 1 else ''}"
    return f"devices: {where}, {how}"


class RunLog:
    """Receives the trainer's ticks and steps and turns them into files, scalars and a progress bar.

    Args:
        run_dir: The run folder (created if missing).
        cfg: The run's `StyleGANConfig`; `config.json` is written from it at once.
        progress: Show progress (kimg, images/s, ETA) on stderr: a tqdm bar on a terminal, else a plain
            line every few seconds (`stylegan_tf.progress`; STYLEGAN_TF_PROGRESS=bar|lines|off overrides).
        start_nimg: Images already shown (set it, or `log.start_nimg`, after restoring a checkpoint).
        strategy: Under a multi-worker strategy only the chief writes; other workers log nothing.

    Called by `Trainer.train`: `progress(n_images)` after every step, `tick(trainer, phase, stats)` every
    `cfg.tick_kimg`, `close()` at the end. `stats` is a dict of scalars from the trainer (losses, R1, ...);
    every numeric entry is written to TensorBoard; images/s and sec/kimg are measured here.
    """

    def __init__(self, run_dir: str, cfg, progress: bool = True, start_nimg: int = 0, strategy=None):
        self.run_dir, self.cfg, self.show_progress = run_dir, cfg, progress
        self.start_nimg = start_nimg
        self.chief = is_chief(strategy)
        self.lines = []  # the tick lines of this process, for tests and notebooks
        self._bar = None
        self._bar_opened = False  # the bar is None after opening where STYLEGAN_TF_PROGRESS=off
        self._writer = None
        self._metric_text = ""  # the latest metric values, shown on the next tick line
        self._z = np.random.RandomState(cfg.seed).randn(GRID_W * GRID_H, cfg.z_dim).astype(np.float32)
        self._last_time = self._start_time = time.time()
        self._last_nimg = None
        self._sec_per_cost = None  # seconds per unit of `schedule.image_cost`, measured each tick
        if self.chief:
            os.makedirs(os.path.join(run_dir, "samples"), exist_ok=True)
            write_json_atomic(os.path.join(run_dir, "config.json"), cfg.to_json())

    # -- per step -----------------------------------------------------------------------------------
    def progress(self, n_images: int):
        """Advances the progress bar by `n_images` real images."""
        if not (self.chief and self.show_progress):
            return
        bar = self._open_bar()
        if bar is None:
            return
        bar.update(min(n_images / 1000.0, bar.total - bar.n))  # the last batch may overshoot total_kimg
        elapsed = time.time() - self._last_time
        if elapsed > 0 and self._last_nimg is not None:
            done = bar.n * 1000.0 - self._last_nimg
            bar.set_postfix_str(f"{done / elapsed:.1f} img/s, ETA {self.eta(bar.n)}", refresh=False)

    def eta(self, kimg: float) -> str:
        """Time left: the modelled cost of every image still to show times the seconds per unit of cost
        measured over the last tick ("?" before the first tick).

        Later resolutions cost more per image, so a plain images/s extrapolation would be several times
        too short early on; `schedule.remaining_cost` weighs each image by its resolution's cost. The rate
        comes from the last tick, not from the start, so start-up and tracing do not inflate it for long.
        """
        if self._sec_per_cost is None:
            return "?"
        return _hms(self._sec_per_cost * remaining_cost(self.cfg, kimg))

    def _open_bar(self):
        if not self._bar_opened:
            self._bar_opened = True
            total = float(self.cfg.total_kimg)
            digits = 1 if total >= 10 else 3
            self._bar = progress_bar(  # the ETA is ours (see `eta`), not tqdm's rate extrapolation
                total=total, initial=min(self.start_nimg / 1000.0, total), desc="train", unit="kimg",
                file=sys.stderr, digits=3, dynamic_ncols=True,
                bar_format="{l_bar}{bar}| {n:.%df}/{total:.%df} kimg [{elapsed}{postfix}]" % (digits, digits),
            )
            if self._last_nimg is None:
                self._last_nimg = self.start_nimg
        return self._bar

    # -- per tick -----------------------------------------------------------------------------------
    def tick(self, trainer, phase, stats: dict):
        """Writes the tick's scalars, sample grid and log line."""
        if not self.chief:
            return
        cur_nimg = int(trainer.cur_nimg.numpy())
        now = time.time()
        last_nimg = self.start_nimg if self._last_nimg is None else self._last_nimg
        dt, dn = now - self._last_time, max(cur_nimg - last_nimg, 0)
        images_per_sec = dn / dt if dt > 0 else 0.0
        sec_per_kimg = dt / (dn / 1000.0) if dn > 0 else 0.0
        cost = remaining_cost(self.cfg, last_nimg / 1000.0, cur_nimg / 1000.0)
        if cost > 0 and dt > 0:
            self._sec_per_cost = dt / cost
        self._last_time, self._last_nimg = now, cur_nimg

        scalars = {k: float(_scalar(v)) for k, v in stats.items() if _is_number(v)}
        scalars.update({"lod": phase.lod, "resolution": phase.resolution, "batch_size": phase.batch_size,
                        "lr": phase.lr, "images_per_sec": images_per_sec, "sec_per_kimg": sec_per_kimg,
                        "skipped": float(_scalar(getattr(trainer, "skipped", scalars.get("skipped", 0))))})
        self._write_scalars(scalars, nimg=cur_nimg)
        self.write_grid(trainer.G_ema, phase.resolution, cur_nimg)

        losses = " ".join(f"{k} {v:.3f}" for k, v in scalars.items() if k not in _NOT_IN_LINE)
        losses += f" skipped {int(scalars['skipped'])}" + self._metric_text
        self._metric_text = ""
        line = (f"kimg {cur_nimg / 1000:9.3f}  res {phase.resolution:4d}  lod {phase.lod:5.2f}  "
                f"batch {phase.batch_size:3d}  lr {phase.lr:.4f}  {images_per_sec:7.1f} img/s  "
                f"{sec_per_kimg:6.1f} s/kimg  time {_hms(now - self._start_time)}  eta {self.eta(cur_nimg / 1000)}  {losses}")
        self.lines.append(line)
        with open(os.path.join(self.run_dir, "log.txt"), "a") as f:
            f.write(line + "\n")
        if self._bar is not None:
            self._bar.n = min(cur_nimg / 1000.0, self._bar.total)
            self._bar.refresh()
            self._bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def metrics(self, trainer, results: dict):
        """Writes metric results {name: dict} of this tick: scalars `Metrics/<key>`, metrics.jsonl, the tick line.

        Call before `tick`; the evaluation time (each result's "seconds") is left out of the tick's img/s.
        """
        if not self.chief or not results:
            return
        nimg = int(trainer.cur_nimg.numpy())
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.run_dir)
        with self._writer.as_default():
            for name, result in results.items():
                append_metric_record(os.path.join(self.run_dir, "metrics.jsonl"), name, result, kimg=nimg / 1000.0)
                for key, value in result.items():
                    if _is_number(value) and key not in _METRIC_FACTS:
                        tf.summary.write(f"Metrics/{key}", tf.constant(float(value), tf.float32), step=nimg,
                                         metadata=_SCALAR_METADATA)
                tf.summary.write(f"Timing/metric_{name}_sec", tf.constant(float(result.get("seconds", 0.0))),
                                 step=nimg, metadata=_SCALAR_METADATA)
        self._writer.flush()
        self._last_time += sum(float(r.get("seconds", 0.0)) for r in results.values())
        self._metric_text = "".join(f"  {name} {_headline(name, r)}" for name, r in results.items())

    def _write_scalars(self, scalars, nimg):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.run_dir)
        with self._writer.as_default():
            for k, v in scalars.items():  # x axis: images shown
                tf.summary.write(_TB_NAMES.get(k, f"Loss/{k}"), tf.constant(v, tf.float32), step=nimg,
                                 metadata=_SCALAR_METADATA)
        self._writer.flush()

    def write_grid(self, G_ema, resolution: int, cur_nimg: int) -> str:
        """Renders the fixed latents with `G_ema` at `resolution` and saves `samples/fakes-<kimg>.png`."""
        images = G_ema(tf.constant(self._z), training=False, truncation_psi=1.0, noise_mode="const",
                       resolution=int(resolution))
        grid = sample_grid(tf.cast(images, tf.float32).numpy())
        path = os.path.join(self.run_dir, "samples", f"fakes-{checkpoint_name(cur_nimg)[5:-4]}kimg.png")
        viz.save_png(path, grid)  # written to a temporary name and renamed
        viz.save_png(os.path.join(self.run_dir, "samples", "latest.png"), grid)
        return path

    def close(self):
        if self._bar is not None:
            self._bar.close()
        self._bar, self._bar_opened = None, False
        if self._writer is not None:
            self._writer.close()
            self._writer = None


# What tensorboard's `tf.summary.scalar` writes, without needing the tensorboard package to write it
# (TF 2.21 does not install tensorboard; `pip install tensorboard` to view the logs).
_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"), data_class=summary_pb2.DATA_CLASS_SCALAR
)
_SCHEDULE_KEYS = ("kimg", "lod", "resolution", "batch_size", "lr", "images_per_sec", "sec_per_kimg")
_NOT_IN_LINE = _SCHEDULE_KEYS + ("skipped", "D_skipped", "G_skipped")
_TB_NAMES = {"lod": "Progress/lod", "resolution": "Progress/resolution", "batch_size": "Progress/batch_size",
             "lr": "Progress/lr", "images_per_sec": "Timing/images_per_sec", "sec_per_kimg": "Timing/sec_per_kimg",
             "skipped": "Progress/skipped_updates", "kimg": "Progress/kimg",
             "D_skipped": "Progress/D_skipped", "G_skipped": "Progress/G_skipped"}


_METRIC_FACTS = ("num_images", "num_reals", "floor_num_images", "seconds")  # not plotted as metric values


def _headline(name, result) -> str:
    """The value a tick line shows: result[name] (e.g. "swd"), else every numeric value that is not a fact."""
    if _is_number(result.get(name)):
        return f"{float(result[name]):.4g}"
    return " ".join(f"{k} {float(v):.4g}" for k, v in result.items() if _is_number(v) and k not in _METRIC_FACTS)


def append_metric_record(path, name, result, **facts):
    """Appends one JSON line {"metric", "time", **facts, "results"} to `path` (training and the CLI both write these)."""
    import json

    record = {"metric": name, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), **facts,
              "results": {k: (_scalar(v).item() if np.ndim(_scalar(v)) == 0 and hasattr(_scalar(v), "item") else v)
                          for k, v in result.items()}}  # numpy scalars -> int/float; arrays -> lists below
    with open(path, "a") as f:
        f.write(json.dumps(record, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)) + "\n")
    return record


def _is_number(v) -> bool:
    try:
        return np.ndim(_scalar(v)) == 0 and not isinstance(_scalar(v), str) and (float(_scalar(v)) or True)
    except (TypeError, ValueError):
        return False


def _scalar(v):
    return v.numpy() if hasattr(v, "numpy") else v


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s"
