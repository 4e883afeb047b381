"""One training iteration -- D step, G step, G_ema update -- as a tf.function per resolution.

The step runs under any tf.distribute strategy (default, Mirrored, MultiWorkerMirrored):

- Random numbers. Every random tensor of a step (z, the mixing latents and crossover, the noise maps,
  the WGAN-GP interpolation factors) is drawn for the GLOBAL batch with stateless ops seeded by
  (cfg.seed, step), identically on every replica; each replica then takes its own slice. So replicas
  see different samples, the run is reproducible and resumable from the step counter alone, and a
  run on N replicas equals a single-device run with the same global batch (up to float round-off,
  and up to the minibatch-stddev groups, which are formed within a replica as in the official
  multi-GPU code). One mixing crossover is drawn per global minibatch (the official 1-GPU behaviour).
- Losses. Per-example losses become scalars with `tf.nn.compute_average_loss(global_batch_size=B)`;
  Keras 3 optimizers SUM gradients over replicas, so the update is the mean over the global batch.
- Non-finite updates. If any replica's gradient has a NaN/Inf, the update is skipped on all of them
  (the flag is all-reduced first, so replicas never diverge): no weight and no Adam state changes.
- XLA (cfg.xla). Only the per-replica math -- forward passes, losses, gradients -- is compiled
  with `jit_compile`; the all-reduces, the finite check, Adam and the EMA stay in the surrounding
  tf.function, so XLA works under every strategy (a whole-function jit cannot reach the other
  devices' variables).
- Mixed precision. Under a float16 policy the losses are scaled by a dynamic loss scale (halved on
  overflow, doubled after 2000 finite steps); overflow steps are skipped like any non-finite update.
"""

import tensorflow as tf

from stylegan_tf import losses
from stylegan_tf.layers.resample import downsample_2x, upsample_2x

SUM = tf.distribute.ReduceOp.SUM
GROWTH_STEPS = 2000  # finite steps before the mixed-precision loss scale doubles


def fade_reals(reals, lod):
    """lerp(x, up(avgpool2(x)), frac(lod)): reals faded like the networks (official process_reals, SPEC §4.4)."""
    fade = lod - tf.floor(lod)
    blurry = upsample_2x(downsample_2x(reals))  # [N, R, R, C], the half resolution shown at R
    return reals + (blurry - reals) * fade


def replica_slice(x, local_batch):
    """This replica's rows of a global-batch tensor [B, ...] -> [local_batch, ...]."""
    ctx = tf.distribute.get_replica_context()
    rid = tf.cast(ctx.replica_id_in_sync_group, tf.int32)
    return x[rid * local_batch: (rid + 1) * local_batch]


def draw(seed, G, cfg, global_batch, local_batch, resolution):
    """The random tensors of one half-step (D or G), drawn for the global batch, sliced for this replica."""
    seeds = [tf.random.experimental.stateless_fold_in(seed, i) for i in range(6)]
    take = lambda x: replica_slice(x, local_batch)  # noqa: E731
    noise = [None] * G.num_ws  # layers above `resolution` are not evaluated
    if cfg.use_noise:
        for i in range(G.num_ws):
            size = 2 ** (i // 2 + 2)  # layer i runs at 4, 4, 8, 8, 16, ...
            if size <= resolution:
                noise_seed = tf.random.experimental.stateless_fold_in(seeds[4], i)
                noise[i] = take(tf.random.stateless_normal([global_batch, size, size, 1], noise_seed))
    return {"z": take(tf.random.stateless_normal([global_batch, cfg.z_dim], seeds[0])),  # [b, z_dim]
            "z2": take(tf.random.stateless_normal([global_batch, cfg.z_dim], seeds[1])),  # mixing latents
            "crossover": G.mixing_crossover(seeds[2]),  # G's rule, one draw for the global batch
            "noise": noise,  # num_ws entries, [b, size, size, 1] or None
            "alpha": take(tf.random.stateless_uniform([global_batch, 1, 1, 1], seeds[5]))}  # WGAN-GP lerp


def generate(G, draws, resolution, mixing):
    """G(z, training=True, resolution=R) with the trainer's random draws: mixing, explicit noise.

    Returns `(images, ws[:, :1])`; the caller passes the latter to `G.track_w_avg` outside the
    (possibly XLA-compiled) math, since w_avg is averaged over replicas.
    """
    ws = G.mapping(draws["z"])  # [N, num_ws, w_dim]
    w_first = ws[:, :1]  # [N, 1, w_dim], before mixing, as in G.call
    if mixing:
        ws = G.style_mix(ws, G.mapping(draws["z2"]), draws["crossover"])
    return G.synthesis(ws, noise=draws["noise"], resolution=resolution), w_first


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


def make_train_step(trainer, resolution, global_batch):
    """Builds the tf.function `step(reals) -> stats` for one (resolution, global batch).

    `reals` is a distributed batch of [B / replicas, R, R, C] images in [-1, 1]. The returned dict
    holds global means: G_loss, D_loss, R1 (or GP, the weighted penalty term) and D_skipped/G_skipped.
    """
    t, cfg, strategy = trainer, trainer.cfg, trainer.strategy
    G, D = t.G, t.D
    local_batch = global_batch // strategy.num_replicas_in_sync
    mixing = cfg.style_mixing_prob > 0
    ema_beta = 0.5 ** (global_batch / max(cfg.ema_kimg * 1000.0, 1e-8))  # official Gs_beta, half-life ema_kimg
    mean = lambda per_example: tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)  # noqa: E731

    def d_math(reals, draws):
        """D step: logistic + R1 on the processed reals (B-F), or WGAN-GP + drift (A) -> grads, stats."""
        fakes, w_first = generate(G, draws, resolution, mixing)  # outside the tape: no gradient to G
        with tf.GradientTape() as tape:
            fake_logits = D(fakes)
            if cfg.loss == "logistic_r1":
                penalty, real_logits = losses.r1_penalty(D, reals, cfg.r1_gamma, return_logits=True)
                d_per_example = losses.d_logistic(real_logits, fake_logits) + penalty
            else:  # losses.d_wgan_gp, term by term so the penalty can be logged
                real_logits = D(reals)
                penalty = losses.wgan_gradient_penalty(D, reals, fakes, draws["alpha"], cfg.wgan_target)
                penalty *= cfg.wgan_lambda / cfg.wgan_target**2
                d_per_example = (losses.d_wgan(real_logits, fake_logits) + penalty
                                 + cfg.wgan_epsilon * losses.wgan_drift(real_logits))
            d_loss = mean(d_per_example)
            scaled = d_loss * t.D_loss_scale if t.D_loss_scale is not None else d_loss
        grads = unscale(tape.gradient(scaled, D.trainable_variables), t.D_loss_scale)
        return grads, d_loss, mean(penalty), w_first

    def g_math(draws):
        """G step: non-saturating logistic (B-F) or WGAN (A), with mixing regularisation -> grads, stats."""
        with tf.GradientTape() as tape:
            fakes, w_first = generate(G, draws, resolution, mixing)
            fake_logits = D(fakes)
            if cfg.loss == "logistic_r1":
                g_loss = mean(losses.g_nonsaturating(fake_logits))
            else:
                g_loss = mean(losses.g_wgan(fake_logits))
            scaled = g_loss * t.G_loss_scale if t.G_loss_scale is not None else g_loss
        grads = unscale(tape.gradient(scaled, G.trainable_variables), t.G_loss_scale)
        return grads, g_loss, w_first

    if cfg.xla:
        d_math = tf.function(d_math, jit_compile=True, autograph=False)
        g_math = tf.function(g_math, jit_compile=True, autograph=False)

    def replica_step(reals, seed):
        reals = fade_reals(tf.cast(reals, tf.float32), tf.cast(D.lod, tf.float32))
        fold = tf.random.experimental.stateless_fold_in
        d_draws = draw(fold(seed, 0), G, cfg, global_batch, local_batch, resolution)
        g_draws = draw(fold(seed, 1), G, cfg, global_batch, local_batch, resolution)

        d_grads, d_loss, penalty, d_w_first = d_math(reals, d_draws)
        d_skipped = apply_if_finite(t.D_opt, d_grads, D.trainable_variables)
        g_grads, g_loss, g_w_first = g_math(g_draws)  # sees the updated D
        g_skipped = apply_if_finite(t.G_opt, g_grads, G.trainable_variables)
        G.track_w_avg(d_w_first)  # w_avg follows both G forward passes, as in the official code
        G.track_w_avg(g_w_first)
        if t.G_loss_scale is not None:
            update_loss_scale(t.D_loss_scale, t.D_good_steps, d_skipped)
            update_loss_scale(t.G_loss_scale, t.G_good_steps, g_skipped)

        # per-replica parts of global means (summed over replicas below); skip flags are replica-identical
        n = float(strategy.num_replicas_in_sync)
        return {"G_loss": g_loss, "D_loss": d_loss, "R1" if cfg.loss == "logistic_r1" else "GP": penalty,
                "D_skipped": d_skipped / n, "G_skipped": g_skipped / n}

    def update_ema():
        # G_ema <- G + (G_ema - G) * beta for trainables; non-trainables (lod, w_avg, const noise) copied
        for v_ema, v in zip(t.G_ema.trainable_weights, G.trainable_weights):
            strategy.extended.update(v_ema.value, lambda a, b: a.assign(b + (a - b) * ema_beta),
                                     args=(v.value,), group=False)
        for v_ema, v in zip(t.G_ema.non_trainable_weights, G.non_trainable_weights):
            strategy.extended.update(v_ema.value, lambda a, b: a.assign(b), args=(v.value,), group=False)

    def step(reals):
        t.trace_count += 1  # Python side effect: runs once per trace, never per call
        seed = tf.stack([tf.constant(cfg.seed, tf.int64), t.step.read_value()])
        stats = strategy.run(replica_step, args=(reals, seed))
        stats = {k: strategy.reduce(SUM, v, axis=None) for k, v in stats.items()}
        update_ema()
        t.skipped.assign_add(tf.cast(tf.round(stats["D_skipped"] + stats["G_skipped"]), tf.int64))
        t.cur_nimg.assign_add(global_batch)
        t.step.assign_add(1)
        return stats

    return tf.function(step, autograph=False)
