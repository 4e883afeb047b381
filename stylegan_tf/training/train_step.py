"""One training iteration -- D step, G step, G_ema update -- as a tf.function per resolution.

The step runs under any tf.distribute strategy (default, Mirrored, MultiWorkerMirrored). What it
computes comes from a loss object (`losses.GANLoss`: random draws, G and D forward passes, the
per-example losses); this module adds what turns them into an update:

- Losses. Per-example losses become scalars with `tf.nn.compute_average_loss(global_batch_size=B)`;
  Keras 3 optimizers SUM gradients over replicas, so the update is the mean over the global batch.
- Non-finite updates. If any replica's gradient has a NaN/Inf, the update is skipped on all of them
  (the flag is all-reduced first, so replicas never diverge): no weight and no Adam state changes.
  Finite gradients can still overflow in the update (an enormous learning rate): after both updates
  every float weight of G and D and every Adam variable is checked, and if one is not finite the
  step's updates are rolled back from a copy taken before it (so the step costs one copy of those
  variables; the official code checks nothing). Each skip or rollback adds 1 to `skipped`; the
  trainer stops after a run of skipped steps.
- XLA (`xla=True`). Only the per-replica math -- forward passes, losses, gradients -- is compiled
  with `jit_compile`; the all-reduces, the finite check, Adam and the EMA stay in the surrounding
  tf.function, so XLA works under every strategy (a whole-function jit cannot reach the other
  devices' variables).
- Mixed precision. Under a float16 policy the losses are scaled by a dynamic loss scale (halved on
  overflow, doubled after 2000 finite steps); overflow steps are skipped like any non-finite update.
"""

import keras
import tensorflow as tf

from stylegan_tf.layers.resample import downsample_2x, upsample_2x

SUM = tf.distribute.ReduceOp.SUM
GROWTH_STEPS = 2000  # finite steps before the mixed-precision loss scale doubles


class TrainState:
    """The counters a train step advances, and the mixed-precision loss scales (create inside `strategy.scope()`).

    Attributes:
        cur_nimg: int64 variable, real images shown so far.
        step: int64 variable, steps done; with the config's seed it is the whole RNG state of training.
        skipped: int64 variable, updates skipped because a gradient was not finite.
        consecutive_skips: int64 variable, steps in a row (up to now) whose update was skipped or rolled back;
            the trainer reads it now and then, so the step never waits for the host (not checkpointed).
        G_loss_scale, D_loss_scale, G_good_steps, D_good_steps: dynamic loss scaling (None unless float16).
        trace_count: Python traces of the train steps (a test checks lod changes never retrace).
    """

    def __init__(self, mixed_precision=False):
        counter = dict(dtype=tf.int64, trainable=False, aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.cur_nimg = tf.Variable(0, name="cur_nimg", **counter)
        self.skipped = tf.Variable(0, name="skipped", **counter)
        self.step = tf.Variable(0, name="step", **counter)
        self.consecutive_skips = tf.Variable(0, name="consecutive_skips", **counter)
        self.G_loss_scale = self.D_loss_scale = self.G_good_steps = self.D_good_steps = None
        if mixed_precision:
            scale = dict(trainable=False, aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            self.G_loss_scale = tf.Variable(2.0**15, name="G_loss_scale", **scale)
            self.D_loss_scale = tf.Variable(2.0**15, name="D_loss_scale", **scale)
            self.G_good_steps = tf.Variable(0, dtype=tf.int64, name="G_good_steps", **scale)
            self.D_good_steps = tf.Variable(0, dtype=tf.int64, name="D_good_steps", **scale)
        self.trace_count = 0

    def variables(self) -> dict:
        """name -> variable, for checkpoints."""
        names = ("cur_nimg", "skipped", "step", "G_loss_scale", "D_loss_scale", "G_good_steps", "D_good_steps")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


class Adam(keras.optimizers.Adam):
    """keras.optimizers.Adam whose per-variable update is TensorFlow's fused `ResourceApplyAdam` kernel.

    The same update, m += (g - m)(1 - b1), v += (g^2 - v)(1 - b2), var -= m * alpha / (sqrt(v) + eps) with
    alpha = lr sqrt(1 - b2^t) / (1 - b1^t), in one kernel per variable instead of about fifteen ops
    (issue 25: a 32 px demo step runs ~5,800 kernels, a third of them Adam's). It is the kernel of the
    official code's own optimizer (`tf.train.AdamOptimizer` in NVlabs/stylegan `dnnlib/tflib/optimizer.py`);
    the one numerical difference from Keras' update is that the kernel forms 1 - b2 in float32 rather
    than in Python floats (for b2 = 0.99: 1 - 0.99f = 0.00999999 instead of 0.01, a relative 1e-6 in v's
    rate). Variables, their names and the checkpoint layout are Keras' own; amsgrad and non-float32
    variables fall back to Keras' update.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or variable.dtype != tf.float32:
            return super().update_step(gradient, variable, learning_rate)
        local_step = tf.cast(self.iterations + 1, tf.float32)
        index = self._get_variable_index(variable)
        beta_1, beta_2 = tf.constant(self.beta_1, tf.float32), tf.constant(self.beta_2, tf.float32)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle, v=self._velocities[index].handle,
            beta1_power=tf.pow(beta_1, local_step), beta2_power=tf.pow(beta_2, local_step),
            lr=tf.cast(learning_rate, tf.float32), beta1=beta_1, beta2=beta_2,
            epsilon=tf.constant(self.epsilon, tf.float32), grad=tf.cast(gradient, tf.float32))


def fade_reals(reals, lod):
    """lerp(x, up(avgpool2(x)), frac(lod)): reals faded like the networks (official `process_reals`)."""
    fade = lod - tf.floor(lod)
    blurry = upsample_2x(downsample_2x(reals))  # [N, R, R, C], the half resolution shown at R
    return reals + (blurry - reals) * fade


def apply_if_finite(opt, grads, variables):
    """opt.apply(grads) unless a gradient on ANY replica is non-finite; returns 1.0 if skipped, else 0.0.

    Variables without a gradient (blocks above the current resolution) are left out of the update,
    which equals the official zero gradient for them: their Adam moments stay 0, so they do not move.
    """
    pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
    grads, variables = [g for g, _ in pairs], [v for _, v in pairs]
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads])
    ctx = tf.distribute.get_replica_context()
    num_bad = ctx.all_reduce(SUM, 1.0 - tf.cast(finite, tf.float32))  # the same on every replica
    ok = tf.equal(num_bad, 0.0)

    def update():
        opt.apply(grads, variables)
        return tf.constant(True)

    if tf.__internal__.distribute.strategy_supports_no_merge_call():
        tf.cond(ok, update, lambda: tf.constant(False))
    else:
        # A cond whose branch calls merge_call (as opt.apply does) must run in cross-replica
        # context; the same pattern as keras.optimizers.LossScaleOptimizer.
        def cross_replica(distribution, ok, grads):
            def update_all():
                distribution.extended.call_for_each_replica(opt.apply, args=(grads, variables))
                return tf.constant(True)

            tf.cond(distribution.experimental_local_results(ok)[0], update_all, lambda: tf.constant(False))

        ctx.merge_call(cross_replica, args=(ok, grads))
    return 1.0 - tf.cast(ok, tf.float32)


def unscale(grads, loss_scale):
    return grads if loss_scale is None else [None if g is None else g / loss_scale for g in grads]


def update_loss_scale(scale, good_steps, skipped):
    """Dynamic loss scaling: halve on overflow, double after GROWTH_STEPS finite steps (replica context)."""
    grow = tf.logical_and(skipped == 0.0, good_steps + 1 >= GROWTH_STEPS)
    new_scale = tf.where(skipped > 0.0, scale * 0.5, tf.where(grow, scale * 2.0, scale))
    scale.assign(tf.maximum(new_scale, 1.0))
    good_steps.assign(tf.where(tf.logical_or(skipped > 0.0, grow), tf.zeros_like(good_steps), good_steps + 1))


def make_train_step(loss, G_ema, G_opt, D_opt, state, *, strategy, resolution, global_batch, seed, ema_kimg,
                    xla=False):
    """Builds the tf.function `step(reals) -> stats` for one (resolution, global batch).

    Args:
        loss: A `losses.GANLoss` holding G and D.
        G_ema: The moving average of G's weights (updated after every step).
        G_opt, D_opt: Keras optimizers, built on G's and D's trainable variables.
        state: A `TrainState` (counters and loss scales).
        strategy: The tf.distribute strategy the variables were created under.
        resolution: Static resolution of the step.
        global_batch: Batch over all replicas.
        seed: The run's seed; with `state.step` it seeds every random draw.
        ema_kimg: Half-life of G_ema in thousands of images (official `G_smoothing_kimg`).
        xla: Compile the per-replica math with XLA.

    `reals` is a distributed batch of [B / replicas, R, R, C] images in [-1, 1]. The returned dict
    holds global means: G_loss, D_loss, the penalty (`loss.penalty_name`), D_skipped and G_skipped.
    """
    G, D = loss.G, loss.D
    ema_beta = 0.5 ** (global_batch / max(ema_kimg * 1000.0, 1e-8))  # official Gs_beta, half-life ema_kimg
    mean = lambda per_example: tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)  # noqa: E731

    def d_math(reals, draws):
        fakes, w_first = loss.run_G(draws, resolution)  # outside the tape: no gradient to G
        with tf.GradientTape() as tape:
            d_per_example, penalty = loss.d_loss(reals, fakes, draws)
            d_loss = mean(d_per_example)
            scaled = d_loss * state.D_loss_scale if state.D_loss_scale is not None else d_loss
        grads = unscale(tape.gradient(scaled, D.trainable_variables), state.D_loss_scale)
        return grads, d_loss, mean(penalty), w_first

    def g_math(draws):
        with tf.GradientTape() as tape:
            fakes, w_first = loss.run_G(draws, resolution)
            g_loss = mean(loss.g_loss(fakes, draws))
            scaled = g_loss * state.G_loss_scale if state.G_loss_scale is not None else g_loss
        grads = unscale(tape.gradient(scaled, G.trainable_variables), state.G_loss_scale)
        return grads, g_loss, w_first

    if xla:
        d_math = tf.function(d_math, jit_compile=True, autograph=False)
        g_math = tf.function(g_math, jit_compile=True, autograph=False)

    def replica_step(reals, step_seed):
        reals = fade_reals(tf.cast(reals, tf.float32), tf.cast(D.lod, tf.float32))
        fold = tf.random.experimental.stateless_fold_in
        d_draws = loss.draw(fold(step_seed, 0), global_batch, resolution)
        g_draws = loss.draw(fold(step_seed, 1), global_batch, resolution)

        d_grads, d_loss, penalty, d_w_first = d_math(reals, d_draws)
        d_skipped = apply_if_finite(D_opt, d_grads, D.trainable_variables)
        g_grads, g_loss, g_w_first = g_math(g_draws)  # sees the updated D
        g_skipped = apply_if_finite(G_opt, g_grads, G.trainable_variables)
        G.track_w_avg(d_w_first)  # w_avg follows both G forward passes, as in the official code
        G.track_w_avg(g_w_first)
        if state.G_loss_scale is not None:
            update_loss_scale(state.D_loss_scale, state.D_good_steps, d_skipped)
            update_loss_scale(state.G_loss_scale, state.G_good_steps, g_skipped)

        # per-replica parts of global means (summed over replicas below); skip flags are replica-identical
        n = float(strategy.num_replicas_in_sync)
        return {"G_loss": g_loss, "D_loss": d_loss, loss.penalty_name: penalty,
                "D_skipped": d_skipped / n, "G_skipped": g_skipped / n}

    def update_ema():
        # G_ema <- G + (G_ema - G) * beta for trainables; non-trainables (lod, w_avg, const noise) copied
        for v_ema, v in zip(G_ema.trainable_weights, G.trainable_weights):
            strategy.extended.update(v_ema.value, lambda a, b: a.assign(b + (a - b) * ema_beta),
                                     args=(v.value,), group=False)
        for v_ema, v in zip(G_ema.non_trainable_weights, G.non_trainable_weights):
            strategy.extended.update(v_ema.value, lambda a, b: a.assign(b), args=(v.value,), group=False)

    watched = [v.value for v in G.weights + D.weights + G_opt.variables + D_opt.variables]  # what a step may change
    checked = [v for v in watched if v.dtype.is_floating]

    def rollback_if_not_finite(before):
        """Cross-replica: restores `watched` from `before` unless every checked variable is finite; 1 if restored."""
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in checked])

        def rollback():
            for v, old in zip(watched, before):
                v.assign(old)
            return tf.constant(1, tf.int64)

        return tf.cond(finite, lambda: tf.constant(0, tf.int64), rollback)

    def step(reals):
        state.trace_count += 1  # Python side effect: runs once per trace, never per call
        step_seed = tf.stack([tf.constant(seed, tf.int64), state.step.read_value()])
        before = [tf.identity(v.read_value()) for v in watched]  # mirrored variables: the same on every replica
        stats = strategy.run(replica_step, args=(reals, step_seed))
        stats = {k: strategy.reduce(SUM, v, axis=None) for k, v in stats.items()}
        rolled_back = rollback_if_not_finite(before)  # before G_ema follows G
        update_ema()
        skipped = tf.cast(tf.round(stats["D_skipped"] + stats["G_skipped"]), tf.int64) + rolled_back
        state.skipped.assign_add(skipped)
        state.consecutive_skips.assign(tf.where(skipped > 0, state.consecutive_skips + 1, tf.zeros_like(skipped)))
        state.cur_nimg.assign_add(global_batch)
        state.step.assign_add(1)
        return stats

    return tf.function(step, autograph=False)
