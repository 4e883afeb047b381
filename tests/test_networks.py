"""Mapping, synthesis, generator and discriminator: official counts and shapes, fade-in, w_avg,
truncation, mixing, serialization, and a whole forward pass against the NumPy reference."""

import math

import keras
import numpy as np
import pytest

import reference as ref
from stylegan_tf import PRESETS, build_discriminator, build_generator, preset
from stylegan_tf.networks.mapping import MappingNetwork

TINY = dict(fmap_base=64, fmap_max=16, z_dim=8, w_dim=8, mapping_layers=2)


def tiny(name="F", resolution=16, **kw):
    return preset(name, resolution=resolution, **{**TINY, **kw})


def trainable_count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def expected_counts(cfg):
    """Parameter counts derived from the official networks_stylegan.py (G_mapping, G_synthesis, D_basic), independently of the model code."""
    nf, L, w = cfg.nf, cfg.resolution_log2, cfg.w_dim
    mapping = sum((cfg.z_dim if i == 0 else w) * w + w for i in range(cfg.mapping_layers))

    def epilogue(c):
        return c * cfg.use_noise + c + (w * 2 * c + 2 * c) * cfg.use_styles

    synthesis = 16 * nf(1) if cfg.const_input else w * 16 * nf(1)
    synthesis += epilogue(nf(1)) + 9 * nf(1) * nf(1) + epilogue(nf(1)) + nf(1) * 3 + 3
    for r in range(3, L + 1):
        synthesis += 9 * nf(r - 2) * nf(r - 1) + 9 * nf(r - 1) ** 2 + 2 * epilogue(nf(r - 1)) + nf(r - 1) * 3 + 3
    d = sum(3 * nf(r - 1) + nf(r - 1) for r in range(2, L + 1))  # FromRGB heads
    d += sum(9 * nf(r - 1) ** 2 + nf(r - 1) + 9 * nf(r - 1) * nf(r - 2) + nf(r - 2) for r in range(3, L + 1))
    d += 9 * (nf(1) + 1) * nf(1) + nf(1) + 16 * nf(1) * nf(0) + nf(0) + nf(0) + 1
    return mapping + synthesis, mapping, d


@pytest.fixture(scope="module")
def official():
    cfg = preset("F", resolution=1024)
    return cfg, build_generator(cfg), build_discriminator(cfg)


class TestOfficialConfiguration:
    def test_parameter_counts(self, official):
        cfg, G, D = official
        assert trainable_count(G) == 26_219_627
        assert trainable_count(G.mapping) == 2_101_248
        assert trainable_count(D) == 23_087_249
        assert G.count_params() > trainable_count(G)  # w_avg, lod and the fixed noise maps are not trainable
        assert expected_counts(cfg) == (26_219_627, 2_101_248, 23_087_249)
        unused_heads = sum(cfg.nf(r - 1) * 3 + 3 for r in range(2, 10))  # the official count keeps only the final ToRGB/FromRGB
        assert trainable_count(G) - unused_heads == 26_212_019
        assert trainable_count(D) - sum(3 * cfg.nf(r - 1) + cfg.nf(r - 1) for r in range(2, 10)) == 23_077_137

    def test_block_shapes_of_spec_2_7(self, official):
        _, G, _ = official
        s = G.synthesis
        assert tuple(s.const.shape) == (1, 4, 4, 512)
        assert np.all(s.const.numpy() == 1)
        for index, layer in enumerate(s.synthesis_layers[:4]):
            assert tuple(layer.noise.strength.shape) == (512,)
            assert np.all(layer.noise.strength.numpy() == 0)
            assert tuple(layer.bias.shape) == (512,)
            assert tuple(layer.style.affine.kernel.shape) == (512, 1024)
            assert tuple(layer.style.affine.bias.shape) == (1024,)
            res = 4 if index < 2 else 8
            assert tuple(layer.noise.const_noise.shape) == (1, res, res, 1)
            if index > 0:
                assert tuple(layer.conv.kernel.shape) == (3, 3, 512, 512)
        assert tuple(s.to_rgb[0].kernel.shape) == (1, 1, 512, 3) and tuple(s.to_rgb[1].bias.shape) == (3,)
        block4 = 8192 + sum(trainable_count(layer) for layer in s.synthesis_layers[:2])
        block8 = sum(trainable_count(layer) for layer in s.synthesis_layers[2:4])
        assert (block4, block8) == (3_420_160, 5_771_264)
        assert not s.synthesis_layers[2].conv.fused and s.synthesis_layers[10].conv.fused  # 128 px and up


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("resolution", [8, 32, 256])
def test_every_preset_follows_the_same_recipe(name, resolution):
    cfg = preset(name, resolution=resolution, fmap_base=256, fmap_max=32, z_dim=16, w_dim=16)
    G, D = build_generator(cfg), build_discriminator(cfg)
    g, m, d = expected_counts(cfg)
    assert (trainable_count(G), trainable_count(G.mapping), trainable_count(D)) == (g, m, d)


def test_table1_rows_change_the_generator_as_the_paper_says():
    counts = {name: trainable_count(build_generator(tiny(name))) for name in PRESETS}
    assert counts["A"] == counts["B"]  # blur has no parameters
    assert counts["C"] > counts["B"]  # mapping network and style affines
    G_d, G_e = build_generator(tiny("D")), build_generator(tiny("E"))
    assert all(layer.noise is None for layer in G_d.synthesis.synthesis_layers)
    assert all(layer.noise is not None for layer in G_e.synthesis.synthesis_layers)
    assert build_generator(tiny("C")).synthesis.dense_input is not None and G_d.synthesis.dense_input is None


def test_mapping_matches_reference():
    layer = MappingNetwork(z_dim=6, w_dim=5, num_ws=4, mapping_layers=2, lrmul=0.01)
    layer.build((None, 6))
    z = np.random.default_rng(1).standard_normal((3, 6)).astype(np.float32)
    weights = [w.numpy() for w in layer.weights]
    h = ref.pixel_norm(z)
    for i in range(2):
        h = ref.lrelu(ref.dense(h, weights[2 * i], weights[2 * i + 1] + 0.5, math.sqrt(2), 0.01))
        layer.dense[i].bias.assign(weights[2 * i + 1] + 0.5)
    ws = layer(z).numpy()
    assert ws.shape == (3, 4, 5)
    for i in range(4):
        np.testing.assert_allclose(ws[:, i], h, rtol=1e-4, atol=1e-5)


def _randomize(model, rng):
    """Gives every zero-initialised trainable (biases, noise strengths) a nonzero value."""
    for v in model.trainable_weights:
        if np.all(v.numpy() == 0):
            v.assign(0.2 * rng.standard_normal(v.shape).astype(np.float32))


def test_generator_forward_matches_reference():
    cfg = tiny("F", resolution=8)
    G = build_generator(cfg)
    rng = np.random.default_rng(2)
    _randomize(G, rng)
    G.lod.assign(0.25)
    z = rng.standard_normal((2, cfg.z_dim)).astype(np.float32)
    noise = [rng.standard_normal((2, 2 ** (i // 2 + 2), 2 ** (i // 2 + 2), 1)).astype(np.float32)
             for i in range(G.num_ws)]
    images = G(z, truncation_psi=1.0, noise=noise).numpy()

    ws = G.mapping(z).numpy()
    x = np.tile(G.synthesis.const.numpy(), (2, 1, 1, 1))
    rgb = None
    for i, layer in enumerate(G.synthesis.synthesis_layers):
        if layer.conv is not None:
            kernel = layer.conv.kernel.numpy() * layer.conv.w_scale
            x = ref.conv2d_same(ref.upscale2d(x) if layer.up else x, kernel)
        if layer.up:
            x = ref.blur2d(x)
        x = x + noise[i] * layer.noise.strength.numpy()  # noise before bias, activation and norms
        x = ref.lrelu(x + layer.bias.numpy())
        x = ref.style_mod(ref.instance_norm(x), ws[:, i], *(w.numpy() for w in layer.style.affine.weights))
        if i % 2:
            to_rgb = G.synthesis.to_rgb[i // 2]
            y = ref.conv2d_same(x, to_rgb.kernel.numpy() * to_rgb.w_scale) + to_rgb.bias.numpy()
            rgb = y if rgb is None else ref.lerp_clip(y, ref.upscale2d(rgb), 0.25 - (3 - (i // 2 + 2)))
    np.testing.assert_allclose(images, rgb, rtol=1e-3, atol=1e-4)


class TestFadeIn:
    def test_generator_at_half_lod_is_the_average(self):
        G = build_generator(tiny())
        z = np.random.default_rng(3).standard_normal((2, 8)).astype(np.float32)
        out = {}
        for lod in (0.0, 1.0, 0.5):
            G.lod.assign(lod)
            out[lod] = G(z, noise_mode="const").numpy()
        np.testing.assert_allclose(out[0.5], (out[0.0] + out[1.0]) / 2, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out[1.0], ref.upscale2d(ref.downscale2d(out[1.0])), atol=1e-6)  # 8 px, replicated

    def test_resolution_argument_matches_the_full_size_path(self):
        G = build_generator(tiny(resolution=32))
        z = np.random.default_rng(4).standard_normal((2, 8)).astype(np.float32)
        for lod in (1.0, 1.5, 2.0):
            G.lod.assign(lod)
            full = G(z, noise_mode="const").numpy()
            small = G(z, noise_mode="const", resolution=32 // 2 ** int(math.floor(lod))).numpy()
            np.testing.assert_allclose(ref.downscale2d(full, 32 // small.shape[1]), small, rtol=1e-5, atol=1e-6)
        with pytest.raises(ValueError, match="power of two"):
            G(z, resolution=12)

    def test_discriminator_at_half_lod_blends_the_two_paths(self):
        D = build_discriminator(tiny())
        _randomize(D, np.random.default_rng(5))
        x = np.random.default_rng(6).standard_normal((4, 16, 16, 3)).astype(np.float32)

        def rest(h):  # the 8 px block (its fade weight is clipped to 0 at lod 0.5), then the 4x4 head
            h = ref.lrelu(D.conv1_down[0](D.blur[0](ref.lrelu(D.conv0[0](h).numpy()))).numpy())
            h = ref.lrelu(D.conv(D.mbstd(h)).numpy())
            return D.dense1(ref.lrelu(D.dense0(h.reshape(4, -1)).numpy())).numpy()

        new = ref.lrelu(D.conv1_down[1](D.blur[1](ref.lrelu(D.conv0[1](D.from_rgb[2](x)).numpy()))).numpy())
        old = D.from_rgb[1](ref.downscale2d(x)).numpy()
        D.lod.assign(0.5)
        np.testing.assert_allclose(D(x), rest((new + old) / 2), rtol=1e-4, atol=1e-5)
        D.lod.assign(1.0)  # at lod 1 the 16 px block is faded out: same as feeding 8 px images
        np.testing.assert_allclose(D(x), D(ref.downscale2d(x).astype(np.float32)), rtol=1e-4, atol=1e-5)


class TestGeneratorLatents:
    def test_w_avg_tracks_the_batch_mean_of_the_first_w(self):
        G = build_generator(tiny(style_mixing_prob=0.0))
        z = np.random.default_rng(7).standard_normal((4, 8)).astype(np.float32)
        G.track_w_avg(G.mapping(z))  # what the training forward pass (training.losses.GANLoss) calls
        mean_w = G.mapping(z).numpy()[:, 0].mean(axis=0)
        np.testing.assert_allclose(G.w_avg.numpy(), 0.005 * mean_w, rtol=1e-4, atol=1e-7)
        G.track_w_avg(G.mapping(z))
        np.testing.assert_allclose(G.w_avg.numpy(), 0.005 * mean_w * (1 + 0.995), rtol=1e-4, atol=1e-7)

    def test_truncation_psi_zero_gives_w_avg(self):
        G = build_generator(tiny())
        w_avg = np.random.default_rng(8).standard_normal(8).astype(np.float32)
        G.w_avg.assign(w_avg)
        ws = G.mapping(np.random.default_rng(9).standard_normal((3, 8)).astype(np.float32))
        np.testing.assert_allclose(G.truncate(ws, 0.0), np.broadcast_to(w_avg, ws.shape), rtol=1e-6)
        cut = G.truncate(ws, 0.0, cutoff=2).numpy()
        np.testing.assert_allclose(cut[:, :2], np.broadcast_to(w_avg, (3, 2, 8)), rtol=1e-6)
        np.testing.assert_array_equal(cut[:, 2:], ws.numpy()[:, 2:])
        half = G.truncate(ws, 0.5).numpy()
        np.testing.assert_allclose(half, w_avg + 0.5 * (ws.numpy() - w_avg), rtol=1e-5, atol=1e-6)
        images = G(np.random.default_rng(10).standard_normal((3, 8)).astype(np.float32), truncation_psi=0.0,
                   truncation_cutoff=None, noise_mode="const").numpy()
        np.testing.assert_allclose(images[0], images[2], atol=1e-5)  # every z lands on w_avg

    def test_mixing_crossover_rule(self):
        G = build_generator(tiny(resolution=32, style_mixing_prob=1.0))  # num_ws = 8
        for lod, active in ((0.0, 8), (1.0, 6), (1.5, 6), (2.0, 4)):
            G.lod.assign(lod)
            draws = {int(G.mixing_crossover(np.array([lod * 10, i], np.int32))) for i in range(80)}
            assert draws == set(range(1, active))  # U{1, ..., active - 1}, every value reached
        G.style_mixing_prob = 0.0
        assert {int(G.mixing_crossover(np.array([3, i], np.int32))) for i in range(20)} == {4}  # crossover = active
        ws, ws2 = np.zeros((2, 8, 8), np.float32), np.ones((2, 8, 8), np.float32)
        mixed = G.style_mix(ws, ws2, 3).numpy()
        np.testing.assert_array_equal(mixed[:, :3], 0)
        np.testing.assert_array_equal(mixed[:, 3:], 1)

    def test_fresh_noise_is_the_identity(self):
        G = build_generator(tiny())
        z = np.random.default_rng(11).standard_normal((2, 8)).astype(np.float32)
        np.testing.assert_array_equal(G(z, noise_mode="random"), G(z, noise_mode="none"))

    def test_same_seed_same_model(self):
        keras.utils.set_random_seed(5)
        a = build_generator(tiny()).get_weights()
        keras.utils.set_random_seed(5)
        b = build_generator(tiny()).get_weights()
        assert all(np.array_equal(x, y) for x, y in zip(a, b))


class TestSerialization:
    def test_get_config_round_trips(self):
        cfg = tiny("C")
        for model in (build_generator(cfg), build_discriminator(cfg)):
            clone = type(model).from_config(model.get_config())
            assert clone.get_config() == model.get_config()
        G = build_generator(cfg)
        for layer in (G.mapping, G.synthesis, G.synthesis.synthesis_layers[2]):
            assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()

    @pytest.mark.parametrize("name", ["B", "F"])
    def test_keras_save_and_load_give_identical_outputs(self, name, tmp_path):
        cfg = tiny(name)
        G, D = build_generator(cfg), build_discriminator(cfg)
        rng = np.random.default_rng(12)
        _randomize(G, rng)
        G.w_avg.assign(rng.standard_normal(8).astype(np.float32))
        G.lod.assign(0.5)
        D.lod.assign(0.5)
        G.save(tmp_path / "G.keras")
        D.save(tmp_path / "D.keras")
        G2, D2 = keras.models.load_model(tmp_path / "G.keras"), keras.models.load_model(tmp_path / "D.keras")
        z = rng.standard_normal((4, 8)).astype(np.float32)
        images = G(z, noise_mode="const").numpy()
        np.testing.assert_array_equal(images, G2(z, noise_mode="const"))
        np.testing.assert_array_equal(D(images), D2(images))
        assert float(G2.lod.numpy()) == 0.5 and np.array_equal(G2.w_avg.numpy(), G.w_avg.numpy())


def test_mixed_precision_runs_and_returns_float32():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        G, D = build_generator(tiny()), build_discriminator(tiny())
        z = np.random.default_rng(13).standard_normal((4, 8)).astype(np.float32)
        images = G(z)
        logits = D(images)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert G.synthesis.synthesis_layers[1].conv.compute_dtype == "float16"
    assert images.dtype == "float32" and logits.dtype == "float32" and G.w_avg.dtype == "float32"
    assert np.all(np.isfinite(images)) and np.all(np.isfinite(logits))


def test_seeded_mixing_crossover_is_stateless():
    G = build_generator(tiny(resolution=32, style_mixing_prob=1.0))
    seeds = [np.array([7, i], np.int32) for i in range(60)]
    draws = [int(G.mixing_crossover(s)) for s in seeds]
    assert draws == [int(G.mixing_crossover(s)) for s in seeds]  # same seed, same draw
    assert set(draws) == set(range(1, 8))
