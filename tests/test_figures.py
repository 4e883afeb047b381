"""figures + generate CLI: shapes, determinism for seeds, and the invariant each paper figure shows."""

import os

import keras
import numpy as np
import pytest
from PIL import Image

from stylegan_tf import build_generator, cli, preset
from stylegan_tf.generation import figures as F
from stylegan_tf.generation.viz import to_uint8
from tolerance import assert_close

SEEDS = [3, 1, 4]


def _tiny_cfg(**kw):
    return preset("F", resolution=16, fmap_base=64, fmap_max=32, z_dim=16, w_dim=16, mapping_layers=2, seed=7, **kw)


def _set_strength(G, layer, value):
    noise = G.synthesis.synthesis_layers[layer].noise
    noise.strength.assign(np.full(noise.strength.shape, value, np.float32))


@pytest.fixture(scope="module")
def G():
    G = build_generator(_tiny_cfg())
    G.w_avg.assign(np.random.default_rng(0).normal(size=G.w_dim).astype(np.float32))  # truncation is visible
    return G


@pytest.fixture
def G_noisy():
    """A fresh model (all noise strengths 0) the test may change."""
    return build_generator(_tiny_cfg())


def test_seeds_give_the_official_latents_and_deterministic_images(G):
    z = F.seeds_to_z(SEEDS, G.z_dim)
    np.testing.assert_array_equal(z[1], np.random.RandomState(1).randn(G.z_dim).astype(np.float32))
    images = F.generate_images(G, SEEDS, batch_size=2)
    assert images.shape == (3, 16, 16, 3) and images.dtype == np.float32
    # same seeds, same images (through another batch size: equal to round-off, which differs between CPUs)
    assert_close(images, F.generate_images(G, SEEDS))
    assert_close(images[2], F.generate_images(G, [4])[0])  # independent of batch
    assert np.abs(images[0] - images[1]).max() > 1e-3  # different seeds differ
    keras_images = G(z, truncation_psi=0.5, truncation_cutoff=2, noise_mode="const")
    assert_close(F.generate_images(G, SEEDS, psi=0.5, cutoff=2), keras_images)
    with pytest.raises(ValueError, match="seeds must be"):
        F.seeds_to_z([-1], G.z_dim)


def test_style_ranges_follow_the_paper_split():
    paper = F.style_ranges(18)  # 1024 px: 4-8 / 16-32 / 64-1024 px
    assert (paper["coarse"], paper["middle"], paper["fine"]) == (range(0, 4), range(4, 8), range(8, 18))
    assert F.style_ranges(14) == {"coarse": range(0, 4), "middle": range(4, 8), "fine": range(8, 14)}  # 256 px
    # below 64 px the top resolution plays the fine role: 32 px = coarse 4-8, middle 16, fine 32
    assert F.style_ranges(8) == {"coarse": range(0, 4), "middle": range(4, 6), "fine": range(6, 8)}
    assert F.style_ranges(10) == {"coarse": range(0, 4), "middle": range(4, 8), "fine": range(8, 10)}  # 64 px
    assert F.style_ranges(4) == {"coarse": range(0, 2), "middle": range(0), "fine": range(2, 4)}  # 8 px
    for num_ws in (4, 6, 8, 10, 12, 16, 18):
        groups = F.style_ranges(num_ws)
        assert [i for r in groups.values() for i in r] == list(range(num_ws))  # a partition, in order
        assert len(groups["coarse"]) >= 2 and len(groups["fine"]) >= 2
    assert F.noise_ranges(18)["coarse"] == range(0, 8) and F.noise_ranges(18)["fine"] == range(8, 18)
    for num_ws in (4, 6, 8, 10, 18):  # Fig. 5's "coarse" and "fine" noise split every layer, even without a middle group
        noise = F.noise_ranges(num_ws)
        assert list(noise["coarse"]) + list(noise["fine"]) == list(range(num_ws)) and len(noise["coarse"]) >= 2


def test_style_mixing_copies_exactly_the_chosen_styles(G):
    grid = F.style_mixing(G, src_seeds=[1, 2, 3], dst_seeds=[4, 5], styles="fine")
    assert grid.images.shape == (2, 3, 16, 16, 3) and grid.ws.shape == (2, 3, G.num_ws, G.w_dim)
    fine, coarse = list(F.style_ranges(G.num_ws)["fine"]), list(F.style_ranges(G.num_ws)["coarse"])
    for d in range(2):
        for s in range(3):
            np.testing.assert_array_equal(grid.ws[d, s, fine], grid.src_ws[s, fine])
            np.testing.assert_array_equal(grid.ws[d, s, coarse], grid.dst_ws[d, coarse])  # row shares dst's coarse
    np.testing.assert_array_equal(grid.src_ws, F.mapping_ws(G, F.seeds_to_z([1, 2, 3], G.z_dim)))
    assert_close(grid.src_images, F.generate_images(G, [1, 2, 3]))

    everything = F.style_mixing(G, [1, 2], [4], styles=range(G.num_ws))  # copy all: the sources themselves
    assert_close(everything.images[0], everything.src_images)
    nothing = F.style_mixing(G, [1, 2], [4], styles=[])  # copy none: the destination in every column
    assert_close(nothing.images[0], np.repeat(nothing.dst_images, 2, axis=0))

    per_row = F.style_mixing(G, [1], [4, 5, 6], styles=["coarse", "middle", [5]])
    assert per_row.layers == [[0, 1], [2, 3], [5]]
    np.testing.assert_array_equal(per_row.ws[2, 0, :5], per_row.dst_ws[2, :5])
    with pytest.raises(ValueError, match="one of"):
        F.style_mixing(G, [1], [4], styles="medium")
    with pytest.raises(ValueError, match="destination seeds"):
        F.style_mixing(G, [1], [4, 5], styles=["coarse"])


def test_std_map_is_zero_where_noise_strengths_are_zero(G_noisy):
    fresh = F.stochastic_variation(G_noisy, seed=1, num_draws=8, num_show=3)
    assert fresh.images.shape == (3, 16, 16, 3) and fresh.std.shape == (16, 16)
    # every strength starts at 0: the noise has no effect (rows of one batch may differ in the last bit)
    assert fresh.std.max() < 1e-6

    k = 2  # the first 8x8 layer
    _set_strength(G_noisy, k, 0.5)
    var = F.stochastic_variation(G_noisy, seed=1, num_draws=8)
    assert (var.std > 0).mean() > 0.5
    assert F.stochastic_variation(G_noisy, seed=1, num_draws=8, layers=range(0, k)).std.max() < 1e-6
    assert F.stochastic_variation(G_noisy, seed=1, num_draws=8, layers=range(k + 1, G_noisy.num_ws)).std.max() < 1e-6
    only_k = F.stochastic_variation(G_noisy, seed=1, num_draws=8, layers=[k])
    assert_close(only_k.std, var.std)  # all the variation comes from layer k
    again = F.stochastic_variation(G_noisy, seed=1, num_draws=8)
    np.testing.assert_array_equal(again.images, var.images)  # noise draws are seeded
    other = F.stochastic_variation(G_noisy, seed=1, num_draws=8, noise_seed=1)
    assert np.abs(other.images - var.images).max() > 0


def test_noise_components_switch_noise_per_layer_group(G_noisy):
    fresh = F.noise_components(G_noisy, [1, 2])
    assert list(fresh) == ["all", "coarse", "fine", "none"] and fresh["all"].shape == (2, 16, 16, 3)
    _set_strength(G_noisy, G_noisy.num_ws - 1, 1.0)  # noise only matters in the last (fine) layer
    parts = F.noise_components(G_noisy, [1, 2])
    np.testing.assert_array_equal(parts["all"], F.noise_components(G_noisy, [1, 2])["all"])  # deterministic
    np.testing.assert_array_equal(parts["coarse"], parts["none"])
    np.testing.assert_array_equal(parts["fine"], parts["all"])
    assert np.abs(parts["fine"] - parts["none"]).max() > 1e-3
    assert_close(parts["all"], F.generate_images(G_noisy, [1, 2]))  # = stored noise


def test_truncation_sweep_collapses_to_w_avg_at_psi_zero(G):
    sweep = F.truncation_sweep(G, SEEDS, psis=F.PAPER_PSIS)
    assert sweep.shape == (3, 6, 16, 16, 3)
    zero = sweep[:, F.PAPER_PSIS.index(0.0)]
    assert_close(zero, np.repeat(zero[:1], 3, axis=0))  # every seed gives the same image
    assert_close(sweep[:, 0], F.generate_images(G, SEEDS, psi=1.0))  # psi=1: none
    assert np.abs(sweep[0, 0] - sweep[1, 0]).max() > 1e-3
    np.testing.assert_array_equal(sweep, F.truncation_sweep(G, SEEDS))


def test_interpolation_frames_start_on_seeds_and_slerp_keeps_the_sphere(G):
    for space in ("w", "z"):
        frames = F.interpolation_frames(G, [1, 2, 3], steps=3, space=space)
        assert frames.shape == (9, 16, 16, 3)
        assert_close(frames[::3], F.generate_images(G, [1, 2, 3]))
        np.testing.assert_array_equal(frames, F.interpolation_frames(G, [1, 2, 3], steps=3, space=space))
        assert np.abs(frames[1] - frames[0]).max() > 0  # in-between frames are new images
    open_walk = F.interpolation_frames(G, [1, 2], steps=2, loop=False)
    assert open_walk.shape == (3, 16, 16, 3)
    assert_close(open_walk[-1], F.generate_images(G, [2])[0])
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 2.0, 0.0])
    path = F.slerp(a, b, np.linspace(0, 1, 5))
    np.testing.assert_allclose(path[[0, -1]], [a, b], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linspace(1, 2, 5), atol=1e-12)
    np.testing.assert_allclose(path[2] / np.linalg.norm(path[2]), [np.sqrt(0.5), np.sqrt(0.5), 0], atol=1e-12)
    with pytest.raises(ValueError, match="space"):
        F.interpolation_frames(G, [1, 2], space="x")


def test_load_generator_from_run_dir_or_file(G, tmp_path):
    with pytest.raises(FileNotFoundError, match="no .keras generator"):
        F.load_generator(tmp_path)
    G.save(tmp_path / "G_ema.keras")
    for source in (tmp_path, tmp_path / "G_ema.keras"):
        G2 = F.load_generator(source)
        np.testing.assert_array_equal(G2.w_avg.numpy(), G.w_avg.numpy())
        assert_close(F.generate_images(G2, [5]), F.generate_images(G, [5]))
    keras.saving.save_model(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]), tmp_path / "other.keras")
    with pytest.raises(ValueError, match="not a stylegan_tf Generator"):
        F.load_generator(tmp_path / "other.keras")


def test_generate_cli_writes_every_figure(G, tmp_path, capsys):
    model = tmp_path / "G.keras"
    G.save(model)
    out = tmp_path / "figs"
    argv = ["generate", "--file", str(model), "--figures", "all", "--seeds", "1-2", "--num-draws", "3", "--steps", "2",
            "--src-seeds", "1,2", "--dst-seeds", "3", "--styles", "fine", "--out", str(out)]
    assert cli.main(argv) == 0
    names = sorted(os.listdir(out))
    assert names == sorted(["seed0001.png", "seed0002.png", "images.png", "style_mixing.png", "variation_seed0001.png",
                            "variation_seed0001_std.png", "variation_seed0002.png", "variation_seed0002_std.png",
                            "noise_all_coarse_fine_none.png", "truncation.png", "interpolation_w.gif"])
    np.testing.assert_array_equal(np.asarray(Image.open(out / "seed0002.png")), to_uint8(F.generate_images(G, [2]))[0])
    # labelled figures, 16 px cells upscaled x8 to 128 px (nearest), labels in margins left of and above the cells
    mixing = np.asarray(Image.open(out / "style_mixing.png"))
    assert mixing.shape[1] > 3 * 128 and mixing.shape[0] > 2 * 128  # corner + 2 sources, header + 1 row, + labels
    sweep = np.asarray(Image.open(out / "truncation.png"))
    h, w = sweep.shape[:2]
    assert w - (6 * 128 + 5 * 2) > 30 and h - (2 * 128 + 2) > 30  # room for the seed and psi labels
    cell = sweep[h - 128:, w - 128:]  # bottom-right: seed 2 at psi = -1, upscaled
    expected = to_uint8(F.truncation_sweep(G, [2], psis=[-1.0]))[0, 0].repeat(8, axis=0).repeat(8, axis=1)
    assert np.abs(cell.astype(int) - expected).max() <= 1
    assert (sweep[: h - 2 * 128 - 2, w - 128:] < 128).any()  # the "psi = -1" label above the last column
    assert Image.open(out / "interpolation_w.gif").n_frames == 4
    err = capsys.readouterr().err
    assert "\r" not in err and "figures: 6/6 figure (100%)" in err  # a log gets plain progress lines
    with pytest.raises(SystemExit):  # argparse refuses a bad seed list with a usage message
        cli.main(["generate", "--model", str(model), "--seeds", "1-x"])
    assert "invalid parse_seeds value" in capsys.readouterr().err
    assert cli.main(["generate", "--run", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_generate_model_takes_a_shipped_name_or_still_a_file(G, tmp_path, monkeypatch):
    """--model F is a shipped model, as in `project` and `export`; --model G.keras (the old form) still works."""
    from stylegan_tf import pretrained

    monkeypatch.chdir(tmp_path)
    assert cli.main(["generate", "--model", "F", "--seeds", "3"]) == 0
    shipped = pretrained.load("F")
    written = np.asarray(Image.open(tmp_path / "generated" / "seed0003.png")).astype(int)
    assert np.abs(written - to_uint8(F.generate_images(shipped, [3]))[0]).max() <= 1  # 1 step: rounding across CPUs
    model = tmp_path / "G.keras"
    G.save(model)
    assert cli.main(["generate", "--model", str(model), "--seeds", "4"]) == 0
    written = np.asarray(Image.open(tmp_path / "generated" / "seed0004.png")).astype(int)
    assert np.abs(written - to_uint8(F.generate_images(G, [4]))[0]).max() <= 1


def test_cli_option_parsers():
    from stylegan_tf.cli.generate import parse_floats, parse_seeds, parse_styles

    assert parse_seeds("0-3,10") == [0, 1, 2, 3, 10] and parse_seeds("7") == [7]
    assert parse_floats("1,-0.5") == [1.0, -0.5]
    assert parse_styles("fine") == "fine" and parse_styles("0-2") == [0, 1, 2]
    assert parse_styles("coarse,middle,4-5") == ["coarse", "middle", [4, 5]]  # one entry per destination row
    with pytest.raises(ValueError, match="bad seed list"):
        parse_seeds("a-b")


def test_generate_mixing_defaults_to_the_rows_of_fig3(G, tmp_path):
    assert F.paper_mixing_styles(6) == ["coarse"] * 3 + ["middle"] * 2 + ["fine"]  # the paper's figure
    assert F.paper_mixing_styles(3) == ["coarse", "middle", "fine"] and F.paper_mixing_styles(1) == ["coarse"]
    assert [len(F.paper_mixing_styles(n)) for n in range(8)] == list(range(8))
    model = tmp_path / "G.keras"
    G.save(model)
    argv = ["generate", "--model", str(model), "--figures", "mixing", "--src-seeds", "1", "--dst-seeds", "3-5",
            "--out", str(tmp_path / "figs")]
    assert cli.main(argv) == 0
    figure = np.asarray(Image.open(tmp_path / "figs" / "style_mixing.png"))[..., :3]
    grid = F.style_mixing(G, [1], [3, 4, 5], ["coarse", "middle", "fine"])
    h, w = figure.shape[:2]
    for k, row in enumerate((2, 1, 0)):  # from the bottom: the fine row, the middle row, the coarse row
        top = h - (k + 1) * 128 - k * 2  # 16 px cells upscaled x8, 2 px apart
        expected = to_uint8(grid.images[row, 0]).repeat(8, axis=0).repeat(8, axis=1)
        assert np.abs(figure[top:top + 128, w - 128:].astype(int) - expected).max() <= 1, row
    assert len({grid.images[row, 0].tobytes() for row in range(3)}) == 3  # three different mixes
