"""Each custom layer against a NumPy transcription of the official formula, plus the layer contract."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import reference as ref
from stylegan_tf.layers import (AdaIN, Blur, EqualizedConv2D, EqualizedDense, FromRGB, MinibatchStdDev, NoiseInjection,
                                PixelNorm, ToRGB, downsample_2x, instance_norm, upsample_2x)

RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def check_layer_contract(layer, inputs, **call_kwargs):
    """Builds, round-trips its config and serialization, and has finite input gradients."""
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer) and restored.get_config() == config
    x = inputs if isinstance(inputs, tuple) else (inputs,)
    x = tuple(tf.convert_to_tensor(t) for t in x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x if isinstance(inputs, tuple) else x[0], **call_kwargs)
    grads = tape.gradient(y, x)
    assert all(g is not None and np.all(np.isfinite(g)) for g in grads)
    assert tuple(y.shape) == tuple(layer.compute_output_shape(tuple(t.shape for t in x) if isinstance(inputs, tuple)
                                                              else x[0].shape))
    return y


class TestEqualizedDense:
    @pytest.mark.parametrize("gain,lrmul", [(math.sqrt(2), 1.0), (1.0, 0.01)])
    def test_matches_official_formula(self, gain, lrmul):
        layer = EqualizedDense(5, gain=gain, lrmul=lrmul)
        x = randn(3, 7)
        layer.build(x.shape)
        w, b = randn(7, 5) / lrmul, randn(5)
        layer.set_weights([w, b])
        np.testing.assert_allclose(layer(x), ref.dense(x, w, b, gain, lrmul), rtol=1e-5, atol=1e-5)

    def test_weights_drawn_with_std_one_over_lrmul_and_scaled_at_run_time(self):
        layer = EqualizedDense(256, lrmul=0.01)
        layer.build((None, 512))
        assert np.std(layer.kernel.numpy()) == pytest.approx(100.0, rel=0.05)  # not folded into the init
        assert layer.w_scale == pytest.approx(math.sqrt(2) * 0.01 / math.sqrt(512))

    def test_output_variance_is_about_one(self):
        layer = EqualizedDense(512, gain=1.0, use_bias=False)
        y = layer(randn(4096, 512))
        assert np.var(y) == pytest.approx(1.0, rel=0.1)

    def test_contract(self):
        check_layer_contract(EqualizedDense(4, lrmul=0.5), randn(2, 3))


class TestEqualizedConv2D:
    def test_matches_official_formula(self):
        layer = EqualizedConv2D(4, 3)
        x = randn(2, 6, 6, 3)
        layer.build(x.shape)
        w, b = randn(3, 3, 3, 4), randn(4)
        layer.set_weights([w, b])
        expected = ref.conv2d_same(x, w * math.sqrt(2) / math.sqrt(27)) + b
        np.testing.assert_allclose(layer(x), expected, rtol=1e-4, atol=1e-4)

    def test_output_variance_is_about_one(self):
        y = EqualizedConv2D(64, 3, gain=1.0, use_bias=False)(randn(16, 16, 16, 256))
        inner = np.asarray(y)[:, 1:-1, 1:-1]  # zero padding lowers the border
        assert np.var(inner) == pytest.approx(1.0, rel=0.1)

    def test_up_and_down(self):
        x = randn(2, 4, 4, 3)
        up = EqualizedConv2D(5, 3, resample="up", use_bias=False)
        y = up(x)
        w = up.kernel.numpy() * up.w_scale
        np.testing.assert_allclose(y, ref.conv2d_same(ref.upscale2d(x), w), rtol=1e-4, atol=1e-4)
        down = EqualizedConv2D(5, 3, resample="down", use_bias=False)
        y = down(x)
        w = down.kernel.numpy() * down.w_scale
        np.testing.assert_allclose(y, ref.downscale2d(ref.conv2d_same(x, w)), rtol=1e-4, atol=1e-4)

    def test_fused_up_equals_nearest_then_conv_with_flipped_kernel(self):
        # official upscale2d_conv2d: the fused transposed conv is nearest + conv with w[::-1, ::-1]
        x = randn(2, 5, 5, 3)
        fused = EqualizedConv2D(4, 3, resample="up", fused=True, use_bias=False)
        y = fused(x)
        w = fused.kernel.numpy() * fused.w_scale
        np.testing.assert_allclose(y, ref.conv2d_same(ref.upscale2d(x), w[::-1, ::-1]), rtol=1e-4, atol=1e-4)

    def test_fused_down_equals_conv_then_box(self):
        x = randn(2, 6, 6, 3)
        fused = EqualizedConv2D(4, 3, resample="down", fused=True, use_bias=False)
        plain = EqualizedConv2D(4, 3, resample="down", fused=False, use_bias=False)
        plain.build(x.shape)
        fused.build(x.shape)
        plain.set_weights(fused.get_weights())
        np.testing.assert_allclose(fused(x), plain(x), rtol=1e-4, atol=1e-5)

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match="resample"):
            EqualizedConv2D(4, 3, resample="sideways")
        with pytest.raises(ValueError, match="fused"):
            EqualizedConv2D(4, 1, resample="up", fused=True)

    @pytest.mark.parametrize("kwargs", [{}, {"resample": "up", "fused": True}, {"resample": "down"}])
    def test_contract(self, kwargs):
        check_layer_contract(EqualizedConv2D(4, 3, **kwargs), randn(2, 4, 4, 3))


class TestNormalization:
    def test_pixel_norm(self):
        x = randn(3, 4, 4, 8)
        np.testing.assert_allclose(PixelNorm()(x), ref.pixel_norm(x), rtol=1e-5, atol=1e-6)
        check_layer_contract(PixelNorm(), x)

    def test_instance_norm(self):
        x = 3 * randn(3, 4, 4, 8) + 2
        y = instance_norm(x)  # the normalisation half of AdaIN (a function: it has no weights of its own)
        np.testing.assert_allclose(y, ref.instance_norm(x), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.mean(y, axis=(1, 2)), 0, atol=1e-5)
        np.testing.assert_allclose(np.std(y, axis=(1, 2)), 1, atol=1e-4)


class TestAdaIN:
    def build(self, c=8, w_dim=6, normalize=True):
        layer = AdaIN(normalize=normalize)
        layer.build(((None, 4, 4, c), (None, w_dim)))
        weight, bias = randn(w_dim, 2 * c), 0.3 * randn(2 * c)
        layer.set_weights([weight, bias])
        return layer, weight, bias

    def test_matches_official_style_mod(self):
        layer, weight, bias = self.build()
        x, w = randn(2, 4, 4, 8), randn(2, 6)
        expected = ref.style_mod(ref.instance_norm(x), w, weight, bias)
        np.testing.assert_allclose(layer((x, w)), expected, rtol=1e-4, atol=1e-4)
        layer, weight, bias = self.build(normalize=False)
        np.testing.assert_allclose(layer((x, w)), ref.style_mod(x, w, weight, bias), rtol=1e-4, atol=1e-4)

    def test_output_carries_the_style_mean_and_scale(self):
        layer, weight, bias = self.build()
        x, w = 5 * randn(2, 4, 4, 8) - 1, randn(2, 6)
        y = layer((x, w)).numpy()
        style = ref.dense(w, weight, bias, 1.0, 1.0).reshape(2, 2, 8)
        y_s, y_b = style[:, 0], style[:, 1]
        np.testing.assert_allclose(y.mean(axis=(1, 2)), y_b, atol=1e-4)
        np.testing.assert_allclose(y.std(axis=(1, 2)), np.abs(1 + y_s), rtol=1e-3, atol=1e-4)

    def test_affine_has_gain_one_and_zero_bias(self):
        layer = AdaIN()
        layer.build(((None, 4, 4, 8), (None, 16)))
        assert layer.affine.gain == 1.0 and np.all(layer.affine.bias.numpy() == 0)

    def test_contract(self):
        check_layer_contract(AdaIN(), (randn(2, 4, 4, 3), randn(2, 5)))


class TestNoiseInjection:
    def test_fresh_layer_is_the_identity(self):
        x = randn(2, 4, 4, 3)
        layer = NoiseInjection(seed=1)
        np.testing.assert_array_equal(layer(x), x)
        assert np.all(layer.strength.numpy() == 0)

    def test_explicit_noise_is_single_channel_and_scaled_per_channel(self):
        x, n = randn(2, 4, 4, 3), randn(2, 4, 4, 1)
        layer = NoiseInjection()
        layer.build(x.shape)
        strength = np.array([0.5, -1.0, 2.0], np.float32)
        layer.strength.assign(strength)
        np.testing.assert_allclose(layer(x, noise=n), x + n * strength, rtol=1e-6)

    def test_modes(self):
        x = np.zeros((2, 4, 4, 3), np.float32)
        layer = NoiseInjection(seed=3)
        layer.build(x.shape)
        layer.strength.assign(np.ones(3, np.float32))
        a, b = layer(x).numpy(), layer(x).numpy()
        assert not np.allclose(a, b)  # fresh draw per call
        np.testing.assert_array_equal(a[..., 0], a[..., 2])  # one noise image broadcast over channels
        assert abs(a.std() - 1) < 0.35
        c1, c2 = layer(x, noise_mode="const").numpy(), layer(x, noise_mode="const").numpy()
        np.testing.assert_array_equal(c1, c2)
        np.testing.assert_array_equal(c1[0], c1[1])  # same stored noise for the whole minibatch
        np.testing.assert_array_equal(layer(x, noise_mode="none"), x)
        with pytest.raises(ValueError, match="noise_mode"):
            layer(x, noise_mode="loud")

    def test_seeded_draws_are_reproducible(self):
        x = np.zeros((2, 4, 4, 3), np.float32)
        draws = []
        for _ in range(2):
            layer = NoiseInjection(seed=7)
            layer.build(x.shape)
            layer.strength.assign(np.ones(3, np.float32))
            draws.append(layer(x).numpy())
        np.testing.assert_array_equal(*draws)

    def test_contract(self):
        check_layer_contract(NoiseInjection(seed=0), randn(2, 4, 4, 3))


class TestResample:
    def test_blur_matches_official_and_keeps_a_constant_image(self):
        x = randn(2, 6, 6, 3)
        np.testing.assert_allclose(Blur()(x), ref.blur2d(x), rtol=1e-5, atol=1e-5)
        y = Blur()(np.full((1, 8, 8, 2), 0.7, np.float32)).numpy()
        np.testing.assert_allclose(y[:, 1:-1, 1:-1], 0.7, rtol=1e-6)  # zero padding touches only the border
        assert y[0, 0, 0, 0] == pytest.approx(0.7 * 9 / 16)
        check_layer_contract(Blur(), x)

    def test_up_and_down_sampling(self):
        x = randn(2, 4, 4, 3)
        np.testing.assert_array_equal(upsample_2x(x), ref.upscale2d(x))
        np.testing.assert_allclose(downsample_2x(x), ref.downscale2d(x), rtol=1e-6)
        np.testing.assert_allclose(downsample_2x(upsample_2x(x)), x, rtol=1e-6)


class TestMinibatchStdDev:
    @pytest.mark.parametrize("n,group,features", [(8, 4, 1), (6, 4, 1), (4, 2, 2), (3, 4, 1)])
    def test_matches_official(self, n, group, features):
        x = randn(n, 4, 4, 6)
        if n % min(group, n):
            with pytest.raises(Exception):
                MinibatchStdDev(group, features)(x)
            return
        np.testing.assert_allclose(MinibatchStdDev(group, features)(x), ref.minibatch_stddev(x, group, features),
                                   rtol=1e-5, atol=1e-6)

    def test_identical_samples_give_the_epsilon_floor(self):
        x = np.repeat(randn(1, 4, 4, 6), 4, axis=0)
        y = MinibatchStdDev()(x).numpy()
        assert y.shape == (4, 4, 4, 7)
        np.testing.assert_allclose(y[..., -1], 1e-4, rtol=1e-3)  # sqrt(0 + 1e-8)

    def test_contract(self):
        check_layer_contract(MinibatchStdDev(), randn(4, 4, 4, 6))


class TestRGB:
    def test_to_rgb_is_linear_with_gain_one(self):
        layer = ToRGB(3)
        x = randn(2, 4, 4, 8)
        layer.build(x.shape)
        w, b = randn(1, 1, 8, 3), randn(3)
        layer.set_weights([w, b])
        np.testing.assert_allclose(layer(x), ref.conv2d_same(x, w / math.sqrt(8)) + b, rtol=1e-4, atol=1e-5)
        check_layer_contract(ToRGB(3), x)

    def test_from_rgb_has_gain_sqrt2_and_lrelu(self):
        layer = FromRGB(8)
        x = randn(2, 4, 4, 3)
        layer.build(x.shape)
        w, b = randn(1, 1, 3, 8), randn(8)
        layer.set_weights([w, b])
        expected = ref.lrelu(ref.conv2d_same(x, w * math.sqrt(2) / math.sqrt(3)) + b)
        np.testing.assert_allclose(layer(x), expected, rtol=1e-4, atol=1e-5)
        check_layer_contract(FromRGB(8), x)
