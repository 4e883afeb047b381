"""Losses against hand-computed values and analytic cases (official training/loss.py)."""

import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf.training import losses

RNG = np.random.default_rng(0)
X = tf.constant(RNG.normal(size=(3, 4, 4, 2)), tf.float32)  # [N, H, W, C]
A = tf.constant(RNG.normal(size=(4, 4, 2)), tf.float32)  # weights of a linear critic


def linear_D(a):
    """D(x) = <a, x> per sample, as [N, 1] logits."""
    return lambda x: tf.reduce_sum(x * a, axis=[1, 2, 3])[:, None]


def softplus(x):
    return np.log1p(np.exp(x))


def test_logistic_losses_match_hand_values():
    fake = np.array([[-2.0], [0.0], [3.0]], np.float32)
    real = np.array([[1.0], [-1.0], [0.5]], np.float32)
    np.testing.assert_allclose(losses.g_nonsaturating(fake), softplus(-fake[:, 0]), rtol=1e-6)
    np.testing.assert_allclose(losses.d_logistic(real, fake), softplus(fake[:, 0]) + softplus(-real[:, 0]),
                               rtol=1e-6)
    assert losses.g_nonsaturating(fake).shape == (3,)  # per-example: the trainer reduces
    # non-saturating: the G loss keeps a gradient where D confidently rejects fakes
    l = tf.constant([[-10.0]])
    with tf.GradientTape() as tape:
        tape.watch(l)
        g = losses.g_nonsaturating(l)
    assert tape.gradient(g, l).numpy()[0, 0] == pytest.approx(-1.0, abs=1e-4)


def test_wgan_generator_loss_and_drift():
    fake = tf.constant([[2.0], [-1.5]])
    np.testing.assert_allclose(losses.g_wgan(fake), [-2.0, 1.5])
    np.testing.assert_allclose(losses.wgan_drift(tf.constant([[3.0], [-0.5]])), [9.0, 0.25])


def test_r1_is_zero_for_a_constant_discriminator():
    np.testing.assert_array_equal(losses.r1_penalty(lambda x: tf.ones([3, 1]), X, gamma=10.0), [0, 0, 0])
    np.testing.assert_allclose(losses.r1_penalty(lambda x: 0.0 * x[:, :1, 0, 0] + 5.0, X, 10.0), [0, 0, 0])


def test_r1_of_a_linear_discriminator_is_gamma_half_norm_squared():
    gamma = 10.0
    expected = gamma / 2 * float(tf.reduce_sum(A * A))
    penalty, logits = losses.r1_penalty(linear_D(A), X, gamma, return_logits=True)
    np.testing.assert_allclose(penalty, [expected] * 3, rtol=1e-5)
    np.testing.assert_allclose(logits, linear_D(A)(X)[:, 0], rtol=1e-6)


def test_r1_is_per_sample_and_differentiable_in_the_weights():
    # D(x) = <a, x^2>/2: grad = a * x, so R1_i = gamma/2 * sum(a^2 x_i^2), and d R1 / d a = gamma * a * x^2
    a = tf.Variable(A)
    with tf.GradientTape() as tape:
        penalty = losses.r1_penalty(lambda x: tf.reduce_sum(a * x * x, axis=[1, 2, 3])[:, None] / 2, X, 2.0)
        total = tf.reduce_sum(penalty)
    np.testing.assert_allclose(penalty, tf.reduce_sum((A * X) ** 2, axis=[1, 2, 3]), rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(total, a), 2.0 * tf.reduce_sum(A * X * X, axis=0), rtol=1e-5)


def test_wgan_gp_penalty_is_zero_for_a_critic_with_target_norm():
    target = 2.5
    a_unit = A * (target / tf.norm(A))  # ||a|| = target: the linear critic has gradient norm = target everywhere
    fakes = tf.constant(RNG.normal(size=X.shape), tf.float32)
    alpha = tf.constant(RNG.uniform(size=(3, 1, 1, 1)), tf.float32)
    np.testing.assert_allclose(losses.wgan_gradient_penalty(linear_D(a_unit), X, fakes, alpha, target), 0,
                               atol=1e-5)
    # a critic with norm 2 * target is penalised (target)^2 per sample
    np.testing.assert_allclose(losses.wgan_gradient_penalty(linear_D(2 * a_unit), X, fakes, alpha, target),
                               [target**2] * 3, rtol=1e-5)


def test_wgan_gp_loss_sums_its_terms():
    D = linear_D(2 * A / tf.norm(A))  # gradient norm 2 with target 1 -> penalty (2 - 1)^2 = 1
    fakes = tf.constant(RNG.normal(size=X.shape), tf.float32)
    real_logits, fake_logits = D(X), D(fakes)
    wgan = losses.WGANGPLoss(None, D, wgan_lambda=10.0, wgan_target=1.0, wgan_epsilon=0.001)
    loss, penalty = wgan.d_loss(X, fakes, {"alpha": tf.fill([3, 1, 1, 1], 0.3)})
    np.testing.assert_allclose(penalty, [10.0] * 3, rtol=1e-5)  # the weighted penalty, logged as "GP"
    expected = fake_logits[:, 0] - real_logits[:, 0] + 10.0 * 1.0 + 0.001 * real_logits[:, 0] ** 2
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_losses_are_float32_for_float16_logits():
    assert losses.g_nonsaturating(tf.constant([[1.0]], tf.float16)).dtype == tf.float32
    assert losses.d_logistic(tf.constant([[1.0]], tf.float16), tf.constant([[1.0]], tf.float16)).dtype == tf.float32


@pytest.mark.parametrize("lod", [1.0, 1.5, 2.0])
def test_penalties_below_the_final_resolution_have_the_official_strength(lod):
    """Official: reals upscaled to full resolution, D downscales them, the gradient is over full-res pixels.

    Ours runs D on R x R reals; LogisticR1Loss / WGANGPLoss must give the penalty the official code
    computes on the upscaled reals (R1 / f^2 and ||grad|| / f with f = 16 / R), here checked by running our
    own D on the upscaled reals, which is the official 'linear' D structure.
    """
    import keras

    from stylegan_tf import build_discriminator, preset
    from stylegan_tf.layers import upsample_2x

    keras.utils.set_random_seed(3)
    D = build_discriminator(preset("B", resolution=16, fmap_base=32, fmap_max=16, mbstd_group_size=1))
    D.lod.assign(lod)
    R = 2 ** (4 - int(np.floor(lod)))  # the resolution the trainer runs at
    f = 16 // R
    rng = np.random.default_rng(4)
    reals = tf.constant(rng.uniform(-1, 1, (3, R, R, 3)), tf.float32)
    fakes = tf.constant(rng.uniform(-1, 1, (3, R, R, 3)), tf.float32)
    up = lambda x: upsample_2x(x, f)  # noqa: E731 - official process_reals: nearest upscaling

    _, r1 = losses.LogisticR1Loss(None, D, r1_gamma=10.0).d_loss(reals, fakes, {})
    official = losses.r1_penalty(D, up(reals), 10.0)
    np.testing.assert_allclose(r1, official, rtol=1e-4, atol=1e-7)
    if f > 1:  # and the old, unscaled penalty was f^2 times too strong
        np.testing.assert_allclose(losses.r1_penalty(D, reals, 10.0), official * f**2, rtol=1e-4, atol=1e-7)

    alpha = tf.constant(rng.uniform(size=(3, 1, 1, 1)), tf.float32)
    _, gp = losses.WGANGPLoss(None, D, wgan_lambda=1.0).d_loss(reals, fakes, {"alpha": alpha})
    official_gp = losses.wgan_gradient_penalty(D, up(reals), up(fakes), alpha, 1.0)
    np.testing.assert_allclose(gp, official_gp, rtol=1e-4, atol=1e-6)
