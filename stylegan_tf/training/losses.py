"""GAN losses: pure functions of logits, and one loss class per family that runs G and D for training.

The functions are transcribed from NVlabs/stylegan `training/loss.py`. Every one returns PER-EXAMPLE
losses of shape [N] in float32; the train step reduces them over the global batch
(`tf.nn.compute_average_loss`), so the same code is right on one device and under tf.distribute.

The classes are the library's one training forward pass (`GANLoss`): the random draws of a step,
G with style mixing and explicit noise, D, and the per-example losses of one family.

- configs B-F: `LogisticR1Loss`: G `g_nonsaturating`, D `d_logistic` + `r1_penalty` (gamma = 10);
- config A (ProGAN): `WGANGPLoss`: G `g_wgan`, D `d_wgan` + `wgan_gradient_penalty` (lambda = 10,
  target = 1) + `wgan_drift` (epsilon = 0.001).
"""

import tensorflow as tf


def _per_example(logits):
    """[N, 1] (or [N]) logits -> float32 [N] (mixed precision: the loss is always computed in float32)."""
    return tf.reshape(tf.cast(logits, tf.float32), [-1])


def g_nonsaturating(fake_logits):
    """Non-saturating logistic generator loss: `softplus(-D(G(z)))`.

    Paper: Goodfellow et al. 2014 (non-saturating variant); official `G_logistic_nonsaturating`, loss.py:L131-137.
    Returns: [N] float32.
    """
    return tf.nn.softplus(-_per_example(fake_logits))  # softplus(-x) = -log(sigmoid(x))


def d_logistic(real_logits, fake_logits):
    """Logistic discriminator loss: `softplus(D(G(z))) + softplus(-D(x))`.

    Paper: official `D_logistic_simplegp` without its penalty terms, loss.py:L150-160.
    Returns: [N] float32.
    """
    loss = tf.nn.softplus(_per_example(fake_logits))  # softplus(x) = -log(1 - sigmoid(x))
    loss += tf.nn.softplus(-_per_example(real_logits))  # softplus(-x) = -log(sigmoid(x))
    return loss


def r1_penalty(D, reals, gamma, *, full_resolution=None, return_logits=False):
    """R1 gradient penalty on the reals: `gamma / 2 * ||grad_x D(x)||^2`, summed over H, W, C per sample.

    The gradient is of `sum(D(x))` w.r.t. the processed reals `x` (after mirroring and the lod fade),
    as in the official `D_logistic_simplegp(r1_gamma=10)`, loss.py:L162-170 (Mescheder et al. 2018).
    Call it inside the D step's outer `tf.GradientTape`: the inner tape here is nested, so the outer
    tape differentiates the penalty w.r.t. D's weights (a second-order gradient).

    Below the final resolution the official code feeds D the reals nearest-upscaled to
    `full_resolution` (training_loop.py `process_reals`) and D box-downscales them again (`D_basic`),
    so the R1 sum runs over the full-resolution pixels: each of the f^2 copies of a pixel
    (f = full_resolution / R) gets 1/f^2 of its gradient, and the penalty is ||grad||^2 / f^2.
    Pass `full_resolution` to get that official strength from R x R reals.

    Args:
        D: Callable images [N, R, R, C] -> logits [N, 1].
        reals: Processed real images [N, R, R, C].
        gamma: R1 weight (the official r1_gamma; the penalty uses gamma / 2).
        full_resolution: The model's final resolution (None: the penalty over the R x R pixels as given).
        return_logits: Also return `D(reals)` [N] (float32), so the D loss needs no second forward pass.

    Returns:
        [N] float32 penalties, or `(penalties, real_logits)` with `return_logits=True`.
    """
    reals = tf.convert_to_tensor(reals)
    with tf.GradientTape() as tape:
        tape.watch(reals)
        real_logits = _per_example(D(reals))
        # the sum over the batch gives each sample its own gradient (samples are independent in D,
        # except for the minibatch-stddev layer, exactly as in the official code)
        total = tf.reduce_sum(real_logits)
    grads = tape.gradient(total, reals, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    grads = tf.cast(grads, tf.float32)  # [N, R, R, C]
    penalty = tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) * (gamma * 0.5)
    penalty *= _upscale_factor(reals, full_resolution) ** -2  # sum over f^2 copies of (grad / f^2)^2
    return (penalty, real_logits) if return_logits else penalty


def _upscale_factor(images, full_resolution):
    """f = full_resolution / R for images [N, R, R, C] (1 when full_resolution is None)."""
    return 1.0 if full_resolution is None else float(full_resolution) / float(images.shape[1])


def g_wgan(fake_logits):
    """WGAN generator loss: `-D(G(z))`.

    Paper: Arjovsky et al. 2017; official `G_wgan`, loss.py:L26-33.
    Returns: [N] float32.
    """
    return -_per_example(fake_logits)


def d_wgan(real_logits, fake_logits):
    """WGAN critic loss: `D(G(z)) - D(x)` (the negated Wasserstein estimate), loss.py:L46.

    Returns: [N] float32.
    """
    return _per_example(fake_logits) - _per_example(real_logits)


def wgan_gradient_penalty(D, reals, fakes, alpha, target=1.0, *, full_resolution=None):
    """Squared deviation of the critic's gradient norm from `target` on random interpolates.

        x_hat = reals + (fakes - reals) * alpha,   alpha ~ U(0, 1) per sample, shape [N, 1, 1, 1]
        penalty = (||grad_x_hat D(x_hat)||_2 / f - target)^2,   f = full_resolution / R (1 if None)

    Paper: Gulrajani et al. 2017 (WGAN-GP); official `D_wgan_gp`, loss.py:L52-62. Not yet weighted by
    lambda / target^2 (see `WGANGPLoss`). `fakes` should be `tf.stop_gradient`-ed by the caller if G is trained.
    The official norm is over the full-resolution pixels (see `r1_penalty`): ||grad|| / f.

    Returns: [N] float32.
    """
    reals = tf.cast(reals, fakes.dtype)
    x_hat = reals + (fakes - reals) * tf.cast(alpha, fakes.dtype)  # lerp(reals, fakes, alpha)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        total = tf.reduce_sum(_per_example(D(x_hat)))
    grads = tape.gradient(total, x_hat, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    grads = tf.cast(grads, tf.float32)  # [N, R, R, C]
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3])) / _upscale_factor(x_hat, full_resolution)
    return tf.square(norms - target)


def wgan_drift(real_logits):
    """Drift term `D(x)^2` that keeps the critic's output near 0 (ProGAN, "epsilon penalty"), loss.py:L64-66."""
    return tf.square(_per_example(real_logits))


# -- the training forward pass, one class per loss family -----------------------------------------

def replica_slice(x, local_batch):
    """This replica's rows of a global-batch tensor [B, ...] -> [local_batch, ...]."""
    ctx = tf.distribute.get_replica_context()
    rid = tf.cast(ctx.replica_id_in_sync_group, tf.int32)
    return x[rid * local_batch: (rid + 1) * local_batch]


class GANLoss:
    """Runs G and D for training and turns their outputs into per-example losses of one loss family.

    It is the one place where the training forward pass is written: the train step, the benchmarks
    and anything else that trains call these methods. A new family (a StyleGAN2-style path-length
    regulariser, lazy R1) is one new subclass that overrides `d_loss` and `g_loss`.

    Random numbers: `draw` makes every random tensor of a half-step (z, the mixing latents and
    crossover, the noise maps, the WGAN-GP interpolation factors) for the GLOBAL batch with stateless
    ops, identically on every replica, and each replica keeps its own slice. So replicas see
    different samples, a run is reproducible from (seed, step), and N replicas equal one device.

    Args:
        G: The `Generator` being trained.
        D: The `Discriminator` being trained.

    Attributes:
        penalty_name: Name under which the D loss's regulariser is logged ("R1", "GP").
    """

    penalty_name = "penalty"

    def __init__(self, G, D):
        self.G, self.D = G, D

    def draw(self, seed, global_batch, resolution):
        """The random tensors of one half-step (D or G): a dict for `run_G`, `d_loss` and `g_loss`.

        Args:
            seed: [2] integer tensor; each half-step folds in its own.
            global_batch: Batch over all replicas; this replica keeps `global_batch / replicas` rows.
            resolution: Static resolution of the step (noise maps above it are not drawn).
        """
        ctx = tf.distribute.get_replica_context()
        local_batch = global_batch // (ctx.num_replicas_in_sync if ctx is not None else 1)
        take = lambda x: replica_slice(x, local_batch)  # noqa: E731
        seeds = [tf.random.experimental.stateless_fold_in(seed, i) for i in range(6)]
        noise = [None if shape is None else
                 take(tf.random.stateless_normal(shape, tf.random.experimental.stateless_fold_in(seeds[4], i)))
                 for i, shape in enumerate(self.G.noise_shapes(global_batch, resolution))]
        z_shape = [global_batch, self.G.z_dim]
        return {"z": take(tf.random.stateless_normal(z_shape, seeds[0])),  # [b, z_dim]
                "z2": take(tf.random.stateless_normal(z_shape, seeds[1])),  # mixing latents
                "crossover": self.G.mixing_crossover(seeds[2]),  # one draw for the global batch
                "noise": noise,  # num_ws entries, [b, size, size, 1] or None
                "alpha": take(tf.random.stateless_uniform([global_batch, 1, 1, 1], seeds[5]))}  # WGAN-GP lerp

    def run_G(self, draws, resolution):
        """G's training forward pass at `resolution`: mapping, style mixing, explicit noise, no truncation.

        Returns:
            `(images [b, R, R, C], w_first [b, 1, w_dim])`: pass `w_first` (w before mixing) to
            `G.track_w_avg` outside any XLA-compiled code, since w_avg is averaged over replicas.
        """
        G = self.G
        ws = G.mapping(draws["z"])  # [b, num_ws, w_dim]
        w_first = ws[:, :1]  # [b, 1, w_dim], before mixing, as the official G_style
        if G.style_mixing_prob > 0:
            ws = G.style_mix(ws, G.mapping(draws["z2"]), draws["crossover"])
        return G.synthesis(ws, noise=draws["noise"], resolution=resolution), w_first

    def run_D(self, images):
        """D's logits [b, 1] for images at any resolution of the schedule."""
        return self.D(images)

    def d_loss(self, reals, fakes, draws):
        """Per-example D loss and its regulariser (already weighted, included in the loss): `([b], [b])`."""
        raise NotImplementedError

    def g_loss(self, fakes, draws):
        """Per-example G loss `[b]` for fakes made by `run_G` inside the caller's tape."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, cfg, G, D):
        """The loss object named by `cfg.loss`, with its weights from the config."""
        return LOSSES[cfg.loss].from_config(cfg, G, D)


class LogisticR1Loss(GANLoss):
    """Non-saturating logistic loss with the R1 penalty on the reals (configs B-F).

        D: softplus(D(G(z))) + softplus(-D(x)) + gamma / 2 * ||grad_x D(x)||^2
        G: softplus(-D(G(z)))

    Paper: Sec. 2 and appendix C (Table 1 row B: "non-saturating loss with R1 regularization");
    official `G_logistic_nonsaturating`, `D_logistic_simplegp(r1_gamma=10)` in loss.py.
    """

    penalty_name = "R1"

    def __init__(self, G, D, r1_gamma=10.0):
        super().__init__(G, D)
        self.r1_gamma = r1_gamma

    @classmethod
    def from_config(cls, cfg, G, D):
        return cls(G, D, r1_gamma=cfg.r1_gamma)

    def d_loss(self, reals, fakes, draws):
        # the official strength at every resolution: R1 over the reals upscaled to the final resolution
        full = getattr(self.D, "resolution", None)
        penalty, real_logits = r1_penalty(self.run_D, reals, self.r1_gamma, full_resolution=full, return_logits=True)
        return d_logistic(real_logits, self.run_D(fakes)) + penalty, penalty

    def g_loss(self, fakes, draws):
        return g_nonsaturating(self.run_D(fakes))


class WGANGPLoss(GANLoss):
    """WGAN-GP with the ProGAN drift term (config A).

        D: D(G(z)) - D(x) + lambda / target^2 * (||grad D(x_hat)|| - target)^2 + epsilon * D(x)^2
        G: -D(G(z))

    Paper: Gulrajani et al. 2017; Karras et al. 2018 (ProGAN) Sec. A.1; official `G_wgan`, `D_wgan_gp`
    in loss.py. x_hat = lerp(x, G(z), alpha) with alpha ~ U(0, 1) per sample from `draw`.
    """

    penalty_name = "GP"

    def __init__(self, G, D, wgan_lambda=10.0, wgan_target=1.0, wgan_epsilon=0.001):
        super().__init__(G, D)
        self.wgan_lambda, self.wgan_target, self.wgan_epsilon = wgan_lambda, wgan_target, wgan_epsilon

    @classmethod
    def from_config(cls, cfg, G, D):
        return cls(G, D, wgan_lambda=cfg.wgan_lambda, wgan_target=cfg.wgan_target, wgan_epsilon=cfg.wgan_epsilon)

    def d_loss(self, reals, fakes, draws):
        real_logits = self.run_D(reals)
        penalty = wgan_gradient_penalty(self.run_D, reals, fakes, draws["alpha"], self.wgan_target,
                                        full_resolution=getattr(self.D, "resolution", None))  # official norm, see r1_penalty
        penalty *= self.wgan_lambda / self.wgan_target**2
        loss = d_wgan(real_logits, self.run_D(fakes)) + penalty + self.wgan_epsilon * wgan_drift(real_logits)
        return loss, penalty

    def g_loss(self, fakes, draws):
        return g_wgan(self.run_D(fakes))


LOSSES = {"logistic_r1": LogisticR1Loss, "wgan_gp": WGANGPLoss}  # the config's `loss` field -> class
