"""What a training run shows and leaves behind: config.json, TensorBoard scalars, sample grids, a progress bar.

Run folder written by `RunLog` (checkpoints are `checkpoint.Checkpointer`'s):

    run_dir/config.json                 the resolved StyleGANConfig, written once at start (atomically)
    run_dir/events.out.tfevents.*       TensorBoard scalars per tick, x = images shown (`tensorboard --logdir run_dir`)
    run_dir/samples/fakes-000123.456kimg.png   G_ema on fixed latents, each tick: an 8 x 4 grid, each image
                                        nearest-upscaled to >= 96 px, titled with kimg, resolution and lod
                                        (also in the PNG's text chunks); samples/latest.png the newest
    run_dir/log.txt                     one line per tick (also printed above the progress bar)
                                        and the raw text of errors the one-line messages leave out
    run_dir/metrics.jsonl               one JSON line per metric evaluation (`cfg.metrics`, every `cfg.metrics_kimg`)

The sample latents are drawn once from `numpy.random.RandomState(cfg.seed)`, so every grid of a run
(and of a resumed run) shows the same 32 faces; G_ema runs without truncation (psi = 1) and with
its stored constant noise, as the official `fakes*.png` snapshots do.
"""

import math
import os
import sys
import time

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from stylegan_tf.generation import viz
from stylegan_tf.progress import progress_bar
from stylegan_tf.training.checkpoint import checkpoint_name, is_chief, write_json_atomic
from stylegan_tf.training.schedule import image_cost, remaining_cost, segments

GRID_W, GRID_H = 8, 4  # 32 sample images per grid
MIN_CELL = 32  # `sample_grid`: smaller images are upscaled (nearest) to at least this many pixels per image
TICK_CELL = 96  # the tick grids people look at: every image nearest-upscaled to at least 96 px (8 px -> 12x)


def sample_grid(images, grid_w: int = GRID_W, min_cell: int = MIN_CELL) -> np.ndarray:
    """[N, H, W, C] images in [-1, 1] -> one uint8 grid `grid_w` wide, upscaled (nearest) to >= `min_cell` px."""
    images = viz.to_uint8(images)
    scale = max(1, -(-min_cell // images.shape[1]))
    images = images.repeat(scale, axis=1).repeat(scale, axis=2)  # nearest upscaling, [N, sH, sW, C]
    return viz.image_grid(images, cols=grid_w)


def tick_title(kimg: float, resolution: int, lod: float = None) -> str:
    """The line above a tick grid: "kimg 12.000, 16x16 px (fading in from 8x8, lod 1.80)"."""
    text = f"kimg {kimg:.3f}, {resolution}x{resolution} px"
    if lod is not None:
        fade = lod - math.floor(lod)
        text += (f" (fading in from {resolution // 2}x{resolution // 2}, lod {lod:.2f})" if fade > 0
                 else f" (lod {lod:.2f})")
    return text + ", G_ema on 32 fixed latents, psi 1"


def tick_grid(images, kimg: float, resolution: int, lod: float = None, grid_w: int = GRID_W,
              cell: int = TICK_CELL) -> np.ndarray:
    """[N, H, W, C] images in [-1, 1] -> the labelled uint8 picture of a tick: a `grid_w`-wide grid, each image
    nearest-upscaled to at least `cell` px, under the title `tick_title(kimg, resolution, lod)`."""
    images = viz.to_uint8(images)
    rows = -(-len(images) // grid_w)
    blank = np.full((rows * grid_w - len(images), *images.shape[1:]), 255, np.uint8)
    cells = np.concatenate([images, blank]).reshape(rows, grid_w, *images.shape[1:])
    return viz.annotated_figure(cells, title=tick_title(kimg, resolution, lod), cell=cell, pad=2)


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
        self._eta = EtaModel(cfg)  # the ETA: modelled cost left x measured seconds per cost, trace time apart
        self._first_step_seconds = 0.0  # trace + compile + pipeline time since the last tick (for the tick line)
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
        """Time left at `kimg` ("?" before the first tick): `EtaModel.seconds_left`, which predicts from the
        schedule's cost model and the seconds per unit of cost measured in steps that traced nothing.

        "~" in front marks the cost model's guess (`EtaModel.guessing`): a larger resolution is still to come
        and only one has run, so nothing measured says yet how much dearer the larger ones are on this machine.
        """
        left = self._eta.seconds_left(kimg)
        if left is None:
            return "?"
        return ("~" if self._eta.guessing(kimg) else "") + _hms(left)

    def first_step(self, resolution: int, seconds: float, nimg: int, n_images: int):
        """The trainer's report of a first step at a new (resolution, batch): `seconds` went into building the
        data pipeline, tracing and compiling the step and running it once, from `nimg` images on, `n_images`
        images. That time is kept out of the measured rate and predicted apart for the resolutions to come.
        """
        if not self.chief:
            return
        now = time.time()
        self._eta.start(self._start_time, self.start_nimg)
        self._eta.first_step(now - seconds, now, nimg, n_images, resolution)
        self._first_step_seconds += seconds

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
        self._eta.start(self._start_time, self.start_nimg)
        self._eta.tick(now, cur_nimg, phase.resolution)
        traced, self._first_step_seconds = self._first_step_seconds, 0.0
        self._last_time, self._last_nimg = now, cur_nimg

        scalars = {k: float(_scalar(v)) for k, v in stats.items() if _is_number(v)}
        scalars.update({"lod": phase.lod, "resolution": phase.resolution, "batch_size": phase.batch_size,
                        "lr": phase.lr, "images_per_sec": images_per_sec, "sec_per_kimg": sec_per_kimg,
                        "trace_sec": traced,
                        "skipped": float(_scalar(getattr(trainer, "skipped", scalars.get("skipped", 0))))})
        self._write_scalars(scalars, nimg=cur_nimg)
        self.write_grid(trainer.G_ema, phase.resolution, cur_nimg, lod=phase.lod)

        losses = " ".join(f"{k} {v:.3f}" for k, v in scalars.items() if k not in _NOT_IN_LINE)
        losses += f" skipped {int(scalars['skipped'])}" + self._metric_text
        if traced:  # why this tick's img/s is low: a first step (trace, compile, new data pipeline) ran in it
            losses += f"  (first step at {phase.resolution} px: {traced:.1f} s)"
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
        seconds = sum(float(r.get("seconds", 0.0)) for r in results.values())
        self._last_time += seconds
        self._eta.metrics(seconds)
        self._metric_text = "".join(f"  {name} {_headline(name, r)}" for name, r in results.items())

    def _write_scalars(self, scalars, nimg):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.run_dir)
        with self._writer.as_default():
            for k, v in scalars.items():  # x axis: images shown
                tf.summary.write(_TB_NAMES.get(k, f"Loss/{k}"), tf.constant(v, tf.float32), step=nimg,
                                 metadata=_SCALAR_METADATA)
        self._writer.flush()

    def write_grid(self, G_ema, resolution: int, cur_nimg: int, lod: float = None) -> str:
        """Renders the fixed latents with `G_ema` at `resolution` and saves `samples/fakes-<kimg>.png`: the
        labelled, upscaled `tick_grid`, with kimg, resolution and lod also in the PNG's text chunks."""
        images = G_ema(tf.constant(self._z), training=False, truncation_psi=1.0, noise_mode="const",
                       resolution=int(resolution))
        kimg = cur_nimg / 1000.0
        grid = tick_grid(tf.cast(images, tf.float32).numpy(), kimg, int(resolution), lod)
        text = {"Title": tick_title(kimg, int(resolution), lod), "kimg": f"{kimg:.3f}",
                "resolution": str(int(resolution)), **({"lod": f"{lod:.4f}"} if lod is not None else {})}
        path = os.path.join(self.run_dir, "samples", f"fakes-{checkpoint_name(cur_nimg)[5:-4]}kimg.png")
        viz.save_png(path, grid, text=text)  # written to a temporary name and renamed
        viz.save_png(os.path.join(self.run_dir, "samples", "latest.png"), grid, text=text)
        return path

    def close(self):
        if self._bar is not None:
            self._bar.close()
        self._bar, self._bar_opened = None, False
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class EtaModel:
    """The time a run has left: the schedule's cost model times seconds per unit of cost measured in steps
    that traced nothing, plus the traces still to come. No TensorFlow; every time is given, so it is testable.

    The trainer reports each first step at a new (resolution, batch) (`first_step`: building the data pipeline,
    tracing and compiling the step, one step) and each tick (`tick`). Between those marks the run shows images at
    one resolution at a steady pace; `rates[resolution]` sums those seconds (less metric evaluations) and the
    images' modelled cost (`schedule.image_cost`). The prediction at `kimg`:

        seconds_left = sum over the schedule still to run of  images x image_cost(res) x seconds_per_cost(res)
                     + a trace for each resolution still to come (the mean of the first steps measured so far)
                     + a metric evaluation for each one still to come (the mean of those measured)

    seconds_per_cost(res) is the measured value where `res` has run. For a resolution still to come it is the
    latest resolution's value times `growth` per doubling of the resolution: 1 (the cost model as it is) until a
    second resolution has run, then the measured ratio of the last two resolutions' seconds per cost (clipped to
    [1/2, 4]): on a shared 2-core AVX2 CPU the narrow demo networks cost 1.0-2.7 times more per modelled unit at
    each doubling, depending on the load; on an idle AVX-512 one about as much as the model says. A tick that held a trace is therefore never
    extrapolated; before the second resolution has run, the ETA is the cost model's guess (`guessing`; the
    progress bar and tick line show it as "~0h17m17s").
    Without `first_step` reports (an older trainer) each tick's whole time counts, trace included.
    """

    MIN_GROWTH, MAX_GROWTH = 0.5, 4.0

    def __init__(self, cfg):
        self.cfg = cfg
        self.rates = {}  # resolution -> [steady seconds, modelled cost of the images shown in them]
        self.traces = {}  # resolution -> seconds of its first step(s): pipeline, trace, compile, one step
        self.metric_seconds = []  # each metric evaluation's seconds
        self._mark = None  # (time, nimg, resolution or None) where the current steady stretch began
        self._excluded = 0.0  # seconds of the current stretch that were not training (metric evaluations)

    def start(self, t: float, nimg: int):
        """Marks the run's start (once; later calls do nothing)."""
        if self._mark is None:
            self._mark = (t, nimg, None)

    def first_step(self, t_start: float, t_end: float, nimg: int, n_images: int, resolution: int):
        """A first step at `resolution` ran from `t_start` to `t_end`, from `nimg` images on, showing `n_images`."""
        self._close(t_start, nimg, resolution)
        self.traces[resolution] = self.traces.get(resolution, 0.0) + max(t_end - t_start, 0.0)
        self._mark = (t_end, nimg + n_images, resolution)

    def tick(self, t: float, nimg: int, resolution: int):
        """A tick at time `t` after `nimg` images, the last of them at `resolution`."""
        self._close(t, nimg, resolution)
        self._mark = (t, nimg, self._mark[2] if self._mark else resolution)

    def metrics(self, seconds: float):
        """A metric evaluation of `seconds` ran inside the current stretch: not training, left out of its rate."""
        self._excluded += seconds
        self.metric_seconds.append(seconds)

    def _close(self, t, nimg, resolution):
        if self._mark is None:
            return
        t0, n0, res = self._mark
        seconds, self._excluded = t - t0 - self._excluded, 0.0
        if nimg <= n0 or seconds <= 0:
            return
        if res is None:  # no first_step report yet: all of it at the tick's resolution, cost from the schedule
            res, cost = resolution, remaining_cost(self.cfg, n0 / 1000.0, nimg / 1000.0)
        else:
            cost = (nimg - n0) * image_cost(self.cfg, res)
        total = self.rates.setdefault(res, [0.0, 0.0])
        total[0] += seconds
        total[1] += cost

    def seconds_per_cost(self) -> dict:
        """{resolution: measured seconds per unit of `image_cost`} of the resolutions that have run."""
        return {r: s / c for r, (s, c) in self.rates.items() if s > 0 and c > 0}

    def growth(self) -> float:
        """Seconds per cost of the latest resolution over the one before, per doubling (1 with one resolution)."""
        measured = self.seconds_per_cost()
        if len(measured) < 2:
            return 1.0
        top, prev = sorted(measured)[-1], sorted(measured)[-2]
        g = (measured[top] / measured[prev]) ** (1.0 / math.log2(top / prev))
        return min(max(g, self.MIN_GROWTH), self.MAX_GROWTH)

    def guessing(self, kimg: float) -> bool:
        """True while a resolution larger than any measured is still to come and fewer than two have run: its
        cost is then the cost model's alone (`growth` 1)."""
        measured = self.seconds_per_cost()
        if len(measured) >= 2 or not measured:
            return False
        return any(seg.resolution > max(measured) for seg in segments(self.cfg) if seg.end_kimg > kimg)

    def seconds_left(self, kimg: float):
        """Predicted seconds from `kimg` to `cfg.total_kimg`; None before anything was measured."""
        total = float(self.cfg.total_kimg)
        if kimg >= total:
            return 0.0
        measured = self.seconds_per_cost()
        if not measured:
            return None
        top, growth = max(measured), self.growth()
        seconds, to_come = 0.0, set()
        for seg in segments(self.cfg, total):
            lo, hi = max(seg.start_kimg, kimg), min(seg.end_kimg, total)
            if hi <= lo:
                continue
            rate = measured.get(seg.resolution, measured[top] * growth ** math.log2(seg.resolution / top))
            seconds += (hi - lo) * 1000.0 * image_cost(self.cfg, seg.resolution) * rate
            if seg.resolution not in self.traces:
                to_come.add(seg.resolution)
        if self.traces:
            seconds += len(to_come) * sum(self.traces.values()) / len(self.traces)
        if self.metric_seconds and self.cfg.metrics:
            every = max(float(self.cfg.metrics_kimg), 1e-3)
            evaluations = 1 + sum(1 for k in range(int(kimg // every) + 1, int(total // every) + 1) if k * every < total)
            seconds += evaluations * sum(self.metric_seconds) / len(self.metric_seconds)
        return seconds


# What tensorboard's `tf.summary.scalar` writes, without needing the tensorboard package to write it
# (TF 2.21 does not install tensorboard; `pip install tensorboard` to view the logs).
_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"), data_class=summary_pb2.DATA_CLASS_SCALAR
)
_SCHEDULE_KEYS = ("kimg", "lod", "resolution", "batch_size", "lr", "images_per_sec", "sec_per_kimg", "trace_sec")
_NOT_IN_LINE = _SCHEDULE_KEYS + ("skipped", "D_skipped", "G_skipped")
_TB_NAMES = {"lod": "Progress/lod", "resolution": "Progress/resolution", "batch_size": "Progress/batch_size",
             "lr": "Progress/lr", "images_per_sec": "Timing/images_per_sec", "sec_per_kimg": "Timing/sec_per_kimg",
             "trace_sec": "Timing/first_step_sec",
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
