"""GAN losses as pure functions of logits (and of D and the images, for gradient penalties).

Transcribed from NVlabs/stylegan `training/loss.py` (SPEC §4.1). Every function returns PER-EXAMPLE
losses of shape [N] in float32; the trainer reduces them over the global batch
(`tf.nn.compute_average_loss`), so the same code is right on one device and under tf.distribute.

- configs B-F: G `g_nonsaturating`, D `d_logistic` + `r1_penalty` (gamma = 10) on the processed reals;
- config A (ProGAN): G `g_wgan`, D `d_wgan_gp` (lambda = 10, target = 1, drift epsilon = 0.001).
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


def r1_penalty(D, reals, gamma, *, return_logits=False):
    """R1 gradient penalty on the reals: `gamma / 2 * ||grad_x D(x)||^2`, summed over H, W, C per sample.

    The gradient is of `sum(D(x))` w.r.t. the processed reals `x` (after mirroring and the lod fade),
    as in the official `D_logistic_simplegp(r1_gamma=10)`, loss.py:L162-170 (Mescheder et al. 2018).
    Call it inside the D step's outer `tf.GradientTape`: the inner tape here is nested, so the outer
    tape differentiates the penalty w.r.t. D's weights (a second-order gradient).

    Args:
        D: Callable images [N, R, R, C] -> logits [N, 1].
        reals: Processed real images [N, R, R, C].
        gamma: R1 weight (the official r1_gamma; the penalty uses gamma / 2).
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
    return (penalty, real_logits) if return_logits else penalty


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


def wgan_gradient_penalty(D, reals, fakes, alpha, target=1.0):
    """Squared deviation of the critic's gradient norm from `target` on random interpolates.

        x_hat = reals + (fakes - reals) * alpha,   alpha ~ U(0, 1) per sample, shape [N, 1, 1, 1]
        penalty = (||grad_x_hat D(x_hat)||_2 - target)^2

    Paper: Gulrajani et al. 2017 (WGAN-GP); official `D_wgan_gp`, loss.py:L52-62. Not yet weighted by
    lambda / target^2 (see `d_wgan_gp`). `fakes` should be `tf.stop_gradient`-ed by the caller if G is trained.

    Returns: [N] float32.
    """
    reals = tf.cast(reals, fakes.dtype)
    x_hat = reals + (fakes - reals) * tf.cast(alpha, fakes.dtype)  # lerp(reals, fakes, alpha)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        total = tf.reduce_sum(_per_example(D(x_hat)))
    grads = tape.gradient(total, x_hat, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    grads = tf.cast(grads, tf.float32)  # [N, R, R, C]
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
    return tf.square(norms - target)


def wgan_drift(real_logits):
    """Drift term `D(x)^2` that keeps the critic's output near 0 (ProGAN, "epsilon penalty"), loss.py:L64-66."""
    return tf.square(_per_example(real_logits))


def d_wgan_gp(D, reals, fakes, real_logits, fake_logits, *, wgan_lambda=10.0, wgan_target=1.0,
              wgan_epsilon=0.001, alpha):
    """WGAN-GP critic loss with the ProGAN drift term (official `D_wgan_gp`, loss.py:L37-67).

        loss = D(G(z)) - D(x) + lambda / target^2 * (||grad D(x_hat)|| - target)^2 + epsilon * D(x)^2

    Args:
        D: Callable images -> logits [N, 1].
        reals, fakes: [N, R, R, C] images (fakes without gradient to G).
        real_logits, fake_logits: D(reals), D(fakes), [N, 1] or [N].
        wgan_lambda, wgan_target, wgan_epsilon: Penalty weight, target norm, drift weight.
        alpha: [N, 1, 1, 1] interpolation factors in [0, 1] (the caller draws them from its seeded RNG).

    Returns: [N] float32.
    """
    loss = d_wgan(real_logits, fake_logits)
    gp = wgan_gradient_penalty(D, reals, fakes, alpha, wgan_target)
    loss += gp * (wgan_lambda / (wgan_target**2))
    loss += wgan_drift(real_logits) * wgan_epsilon
    return loss
