"""Trainer: progressive growing of G and D under any tf.distribute strategy, in one explicit loop.

The loop follows the official `training_loop()` (NVlabs/stylegan `training/training_loop.py`):

    while cur_nimg < total:
        phase = phase_at(cur_nimg)                 # lod, resolution, batch, lr (schedule.py)
        assign lod to G, D, G_ema; set lr; reset Adam at each lod boundary
        reals = next batch at phase.resolution     # a new pipeline only when resolution/batch change
        step(reals)                                # D step (+R1), G step (+mixing), G_ema, cur_nimg += batch
        every tick: log; every checkpoint_kimg: checkpoint
    checkpoint

The step itself (loss reduction over replicas, skipping non-finite updates) is in train_step.py and
the forward pass in losses.py (`GANLoss`); a step is compiled once per (resolution, batch) and never
retraced when lod changes.

Small departures from the official loop, none of which changes what is optimised: the schedule is
re-read every step (official: every `minibatch_repeats` = 4 steps); G_ema follows G after each G
step (official: together with the next D step); a resumed run keeps its Adam state (official:
resets it at start-up) and, as the reals are a function of (seed, images shown) (`make_dataset`'s
`start_nimg`), sees the same batches as an uninterrupted run: killed anywhere and resumed on the same
machine, a run ends with bit-identical weights (official: the input restarts). A run of
`max_consecutive_skips` steps whose updates were all skipped (non-finite gradients or weights) stops
with `TrainingDiverged` instead of running on without learning; the last checkpoint stays the last good one.
So does a shorter `train()` call in which every update of G and D was skipped: it learned nothing.
"""

import inspect
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from stylegan_tf.config import check_mbstd_groups
from stylegan_tf.networks import build_discriminator, build_generator
from stylegan_tf.training.checkpoint import named_variables
from stylegan_tf.training.losses import GANLoss
from stylegan_tf.training.schedule import lod_bounds, phase_at
from stylegan_tf.training.train_step import Adam, TrainState, make_train_step


MAX_CONSECUTIVE_SKIPS = 20  # steps in a row with a skipped update before training stops (mixed precision
#                             halves its loss scale on each overflow: 2^15 reaches 1 in 15 steps)


class TrainingDiverged(ValueError):
    """Raised when `max_consecutive_skips` steps in a row had their update skipped (a ValueError: one line in the CLI)."""


class Trainer:
    """Owns G, D, G_ema, both Adams and the counters, and runs the training loop.

    Args:
        cfg: A `StyleGANConfig`.
        out_dir: Run folder (used by the caller's `log` and `checkpointer`; kept for reference).
        strategy: A tf.distribute strategy (default: the current one, i.e. one device).
        checkpointer: Optional object with `save(trainer)`, called every `cfg.checkpoint_kimg` and at the end.
        log: Optional object with `tick(trainer, phase, stats)`, `progress(n_images)` and `close()`.
        dataset_fn: Optional `fn(resolution, global_batch) -> tf.data.Dataset` of [B, R, R, C] batches
            in [-1, 1] (tests use it; given a `start_nimg` keyword if it takes one); default:
            `stylegan_tf.data.make_dataset(cfg.data, ..., start_nimg=cur_nimg)`.
        max_consecutive_skips: Stop with `TrainingDiverged` once this many steps in a row had their update skipped
            (checked every `max_consecutive_skips` steps, so at most twice as many run, and at the end, where
            a call of fewer steps stops with it too if no update of G or D was applied).

    Construction seeds Keras' global RNG with `cfg.seed`, so the initial weights follow from the config,
    and builds the networks under the `mixed_float16` policy when `cfg.mixed_precision` is set (the
    global policy is left as it was), so a script that uses `Trainer` directly gets what the CLI gets.

    Attributes:
        G, D, G_ema: The networks (G_ema starts as a copy of G).
        loss: The `GANLoss` of `cfg.loss`, which runs G and D for training.
        G_opt, D_opt: Keras Adam optimizers (`train_step.Adam`: one fused kernel per variable; beta =
            (cfg.adam_beta1, cfg.adam_beta2), eps = cfg.adam_epsilon).
        state: The `TrainState`: `cur_nimg` (real images shown), `step` (with cfg.seed the whole RNG state of
            training), `skipped` (updates skipped because a gradient was not finite), loss scales;
            `cur_nimg`, `step`, `skipped` and `trace_count` are also attributes of the trainer.
    """

    def __init__(self, cfg, *, out_dir=None, strategy=None, checkpointer=None, log=None, dataset_fn=None,
                 max_consecutive_skips=MAX_CONSECUTIVE_SKIPS):
        self.cfg = cfg
        self.max_consecutive_skips = max_consecutive_skips
        self.out_dir = out_dir
        self.strategy = strategy or tf.distribute.get_strategy()
        check_mbstd_groups(cfg, self.strategy.num_replicas_in_sync)  # before minutes of building and compiling
        self.checkpointer = checkpointer
        self.log = log
        self.dataset_fn = dataset_fn
        self._steps = {}  # (resolution, global batch) -> compiled step
        self.last_stats = {}
        keras.utils.set_random_seed(cfg.seed)  # weight initialisation is reproducible from the config
        previous_policy = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy("mixed_float16" if cfg.mixed_precision else "float32")
        try:
            with self.strategy.scope():
                self.G = build_generator(cfg, name="G")
                self.D = build_discriminator(cfg, name="D")
                self.G_ema = build_generator(cfg, name="G_ema")
                for v_ema, v in zip(self.G_ema.weights, self.G.weights):
                    v_ema.assign(v)
                self.G_opt, self.D_opt = (
                    Adam(learning_rate=float(cfg.lr_base), beta_1=cfg.adam_beta1, beta_2=cfg.adam_beta2,
                         epsilon=cfg.adam_epsilon, name=name)  # Keras' Adam with a fused kernel (train_step.Adam)
                    for name in ("G_opt", "D_opt"))
                self.G_opt.build(self.G.trainable_variables)
                self.D_opt.build(self.D.trainable_variables)
                self.state = TrainState(mixed_precision=cfg.mixed_precision)  # loss scaling for float16
        finally:
            keras.mixed_precision.set_global_policy(previous_policy)
        self.loss = GANLoss.from_config(cfg, self.G, self.D)

    cur_nimg = property(lambda self: self.state.cur_nimg)
    step = property(lambda self: self.state.step)
    skipped = property(lambda self: self.state.skipped)
    trace_count = property(lambda self: self.state.trace_count)

    def checkpoint_objects(self) -> dict:
        """Every variable a checkpoint must hold to resume exactly, by name, for `tf.train.Checkpoint(**objects)`.

        Networks and optimizers are given as {variable path: variable} dicts of ALL their variables
        (weights, lod, w_avg, const noise, the layers' seed-generator states; Adam moments, iterations
        and learning rate): Keras 3 layers kept in Python lists are invisible to TF's object graph, so
        `tf.train.Checkpoint(G=G)` would silently leave most of G_ema out. Restoring matches names, so
        a checkpoint of a differently built model is refused (`Checkpointer.restore`), never misapplied.
        """
        objects = {name: named_variables(getattr(self, name)) for name in ("G", "D", "G_ema", "G_opt", "D_opt")}
        objects["state"] = self.state.variables()
        return objects

    def phase(self, cur_nimg=None):
        """The schedule's Phase at `cur_nimg` (default: now), with the batch rounded to the replicas."""
        nimg = int(self.cur_nimg.numpy()) if cur_nimg is None else cur_nimg
        return phase_at(nimg, self.cfg, num_replicas=self.strategy.num_replicas_in_sync)

    def train(self, total_kimg=None, *, progress=True):
        """Trains until `total_kimg` (default `cfg.total_kimg`) thousand real images have been shown."""
        cfg = self.cfg
        total_nimg = int(round((cfg.total_kimg if total_kimg is None else total_kimg) * 1000))
        cur_nimg = int(self.cur_nimg.numpy())
        tick_nimg, ckpt_nimg = _interval(cfg.tick_kimg), _interval(cfg.checkpoint_kimg)
        next_tick, next_ckpt = _next_multiple(cur_nimg, tick_nimg), _next_multiple(cur_nimg, ckpt_nimg)
        metrics_nimg = _interval(cfg.metrics_kimg)
        next_metrics = _next_multiple(cur_nimg, metrics_nimg)
        # Adam is reset whenever floor(lod) or ceil(lod) changes; G.lod still holds the last step's lod
        prev_bounds = lod_bounds(float(self.G.lod.numpy())) if cur_nimg > 0 else None
        data_key, batches, lr, assigned_lod, first_step_start = None, None, None, None, None
        saved_nimg, tick_start, tick_nimg0, skipped0 = cur_nimg, time.time(), cur_nimg, int(self.skipped.numpy())
        steps_done, applied, applied0 = 0, 0, self._updates_applied()  # Adam's step counts: updates not skipped

        try:
            while cur_nimg < total_nimg:
                phase = self.phase(cur_nimg)
                lod = float(np.float32(phase.lod))  # the value the lod variables will hold

                # 1. level of detail (no retrace: lod is a variable) and learning rate; three eager assigns
                # cost ~7% of a 32 px demo step, so they happen only when the lod moves
                if lod != assigned_lod:
                    for net in (self.G, self.D, self.G_ema):
                        net.lod.assign(lod)
                    assigned_lod = lod
                if phase.lr != lr:
                    lr = phase.lr
                    self.G_opt.learning_rate.assign(lr)
                    self.D_opt.learning_rate.assign(lr)

                # 2. fresh Adam state at each new lod interval (official reset_opt_for_new_lod)
                if cfg.reset_opt_for_new_lod and lod_bounds(lod) != prev_bounds:
                    applied += self._updates_applied() - applied0  # the counts restart at 0
                    reset_optimizer(self.G_opt)
                    reset_optimizer(self.D_opt)
                    applied0 = 0
                prev_bounds = lod_bounds(lod)

                # 3. a batch of reals at the networks' resolution (new pipeline when resolution or batch change)
                if data_key != (phase.resolution, phase.batch_size):
                    data_key = (phase.resolution, phase.batch_size)
                    first_step_start = time.time()  # this pipeline and the step's trace, timed apart for the ETA
                    batches = iter(self.make_batches(phase.resolution, phase.batch_size, start_nimg=cur_nimg))
                reals = next(batches)

                # 4. D step, G step, G_ema update, cur_nimg += batch (one compiled call)
                stats = self.train_step(phase.resolution, phase.batch_size)(reals)
                cur_nimg += phase.batch_size
                if first_step_start is not None:
                    if self.log is not None and hasattr(self.log, "first_step"):
                        self.log.first_step(phase.resolution, time.time() - first_step_start,
                                            cur_nimg - phase.batch_size, phase.batch_size)
                    first_step_start = None
                if self.log is not None and progress:
                    self.log.progress(phase.batch_size)
                steps_done += 1
                if steps_done % self.max_consecutive_skips == 0:  # reading a variable waits for the step: not each step
                    consecutive = int(self.state.consecutive_skips.numpy())
                    if consecutive >= self.max_consecutive_skips:
                        self._diverged(cur_nimg, consecutive)

                # 5. ticks and checkpoints
                if cur_nimg >= next_tick or cur_nimg >= total_nimg:
                    dt = time.time() - tick_start
                    stats = {k: float(v) for k, v in stats.items()}
                    skipped = int(self.skipped.numpy())
                    stats.update(kimg=cur_nimg / 1000.0, lod=phase.lod, lr=phase.lr, skipped=skipped,
                                 images_per_sec=(cur_nimg - tick_nimg0) / max(dt, 1e-9),
                                 sec_per_kimg=dt / max((cur_nimg - tick_nimg0) / 1000.0, 1e-9))
                    if skipped > skipped0:
                        print(f"warning: {skipped - skipped0} update(s) skipped since the last tick: non-finite "
                              f"gradients or weights (kimg {cur_nimg / 1000:.3f})", file=sys.stderr, flush=True)
                    self.last_stats = stats
                    if cfg.metrics and (cur_nimg >= next_metrics or cur_nimg >= total_nimg):
                        self.evaluate_metrics()  # official: at each network snapshot
                        next_metrics = _next_multiple(cur_nimg, metrics_nimg)
                    if self.log is not None:
                        self.log.tick(self, phase, stats)
                    next_tick = _next_multiple(cur_nimg, tick_nimg)
                    tick_start, tick_nimg0, skipped0 = time.time(), cur_nimg, skipped
                if self.checkpointer is not None and cur_nimg >= next_ckpt:
                    self.checkpointer.save(self)
                    saved_nimg, next_ckpt = cur_nimg, _next_multiple(cur_nimg, ckpt_nimg)
        except KeyboardInterrupt:  # Ctrl-C: keep everything up to the last finished step
            if self.checkpointer is not None and int(self.cur_nimg.numpy()) != saved_nimg:
                print("interrupted: saving a checkpoint", file=sys.stderr, flush=True)
                self.checkpointer.save(self)
            raise
        if steps_done and applied + self._updates_applied() - applied0 == 0:  # e.g. shorter than max_consecutive_skips
            self._diverged(cur_nimg, steps_done)
        if self.checkpointer is not None and saved_nimg != cur_nimg:  # at the end, once more
            self.checkpointer.save(self)
        if self.log is not None:
            self.log.close()

    def evaluate_metrics(self, names=None) -> dict:
        """Runs `cfg.metrics` (or `names`) on G_ema against `cfg.data`; returns {name: result} and logs it.

        Only the chief evaluates. A metric that fails (e.g. FID offline without weights) prints one warning
        line and training goes on; `cfg.metrics_num_images` (0 = each metric's default) sets the sample size.
        """
        from stylegan_tf.metrics import calc_metric
        from stylegan_tf.training.checkpoint import is_chief

        if not is_chief(self.strategy):
            return {}
        results, kimg = {}, int(self.cur_nimg.numpy()) / 1000.0
        for name in names or self.cfg.metrics:
            try:
                results[name] = calc_metric(name, self.G_ema, self.cfg.data, self.cfg.metrics_num_images or None)
            except (ValueError, FileNotFoundError, ImportError, OSError) as e:
                print(f"warning: metric {name} failed at kimg {kimg:.3f}: {e}", file=sys.stderr, flush=True)
        if results and self.log is not None and hasattr(self.log, "metrics"):
            self.log.metrics(self, results)
        return results

    def _updates_applied(self) -> int:
        """Updates G_opt and D_opt applied since their last reset (a skipped or rolled-back one does not count)."""
        return int(self.G_opt.iterations.numpy()) + int(self.D_opt.iterations.numpy())

    def _diverged(self, cur_nimg, steps):
        last = self.checkpointer.latest() if hasattr(self.checkpointer, "latest") else None
        if self.log is not None:
            self.log.close()
        raise TrainingDiverged(
            f"training stopped at kimg {cur_nimg / 1000:.3f}: the last {steps} steps were all skipped because "
            f"gradients or updated weights were not finite (NaN/Inf); " +
            (f"the last good checkpoint is {last}; " if last else "") +
            "lower the learning rate (lr_base, lr_dict) or r1_gamma and start again (or --resume with other values)")

    def train_step(self, resolution, batch_size):
        """The compiled step for (resolution, global batch), built on first use."""
        key = (resolution, batch_size)
        if key not in self._steps:
            self._steps[key] = make_train_step(
                self.loss, self.G_ema, self.G_opt, self.D_opt, self.state, strategy=self.strategy,
                resolution=resolution, global_batch=batch_size, seed=self.cfg.seed, ema_kimg=self.cfg.ema_kimg,
                xla=self.cfg.xla)
        return self._steps[key]

    def make_batches(self, resolution, batch_size, start_nimg=0):
        """A distributed dataset of global batches [B, R, R, C] in [-1, 1], split over the replicas.

        The batches are those the stream of reals holds from position `start_nimg` (images shown) on.
        """
        if self.dataset_fn is not None:
            takes_start = "start_nimg" in inspect.signature(self.dataset_fn).parameters
            ds = self.dataset_fn(resolution, batch_size, **({"start_nimg": start_nimg} if takes_start else {}))
        else:
            from stylegan_tf.data import make_dataset  # the data pipeline (mirroring happens there)

            ds = make_dataset(self.cfg.data, resolution, batch_size, strategy=self.strategy,
                              mirror_augment=self.cfg.mirror_augment, seed=self.cfg.seed, start_nimg=start_nimg)
        if isinstance(ds, tf.data.Dataset):
            ds = self.strategy.experimental_distribute_dataset(ds)
        return ds


def reset_optimizer(opt):
    """Zeroes Adam's moments and step count (bias correction restarts); keeps the learning rate."""
    for v in opt.variables:
        if v is not opt.learning_rate:
            v.assign(tf.zeros(v.shape, v.dtype))


def _interval(kimg):
    return max(int(round(kimg * 1000)), 1)


def _next_multiple(nimg, interval):
    return (nimg // interval + 1) * interval
