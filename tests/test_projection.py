"""Projection (stylegan_tf.projection and `python -m stylegan_tf project`) on tiny generators, a few steps each."""

import os

import numpy as np
import pytest
from PIL import Image

import official_layout as official
from stylegan_tf import build_generator, preset
from stylegan_tf.cli import main
from stylegan_tf.projection import (RECIPE, learning_rate, noise_regularization, project, resolve_distance,
                                    w_noise_scale)
from tolerance import assert_close

FAST = dict(RECIPE, dlatent_avg_samples=2000)


@pytest.fixture(scope="module")
def G():
    return build_generator(preset("F", "tiny", seed=3))  # 8 px, w_dim 16, 4 layers with noise


def _drawn(G, n, seed=5):
    """Images G draws from known ws (one w per image, as in W) and known noise, and those ws."""
    z = np.random.RandomState(seed).randn(n, G.z_dim).astype(np.float32)
    ws = np.asarray(G.mapping(z))
    noise = [None if s is None else np.random.RandomState(seed + 1).randn(*s).astype(np.float32)
             for s in G.noise_shapes(n)]
    return np.asarray(G.synthesis(ws, noise=noise)), ws


def test_learning_rate_and_w_noise_follow_the_stylegan2_ramps():
    assert learning_rate(0.0) == 0.0  # ramp-up from zero over the first 5%
    assert learning_rate(0.025) == pytest.approx(0.05)
    assert learning_rate(0.05) == learning_rate(0.5) == pytest.approx(0.1)
    assert learning_rate(0.875) == pytest.approx(0.05)  # half-way down the cosine of the last 25%
    assert learning_rate(0.999) < 1e-4
    assert w_noise_scale(0.0, 2.0) == pytest.approx(0.1)
    assert w_noise_scale(0.375, 2.0) == pytest.approx(0.1 * 0.25)
    assert w_noise_scale(0.75, 2.0) == w_noise_scale(0.9, 2.0) == 0.0


def test_noise_regularization_matches_a_numpy_transcription():
    rng = np.random.default_rng(0)
    maps = [rng.standard_normal((2, s, s, 1)).astype(np.float32) for s in (4, 8, 16, 32)]
    maps[3][1] += np.linspace(0, 3, 32)[None, :, None]  # correlated along x: a large penalty

    def reference(v):  # the official projector's loop, for one image's [H, W] map
        total = 0.0
        while True:
            total += np.mean(v * np.roll(v, 1, axis=1)) ** 2 + np.mean(v * np.roll(v, 1, axis=0)) ** 2
            if v.shape[0] <= 8:
                return total
            v = v.reshape(v.shape[0] // 2, 2, v.shape[1] // 2, 2).mean(axis=(1, 3))

    expected = [sum(reference(m[k, ..., 0].astype(np.float64)) for m in maps) for k in range(2)]
    got = np.asarray(noise_regularization([np.asarray(m) for m in maps]))
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    assert expected[1] > 10 * expected[0]


def test_projecting_a_generated_image_recovers_it(G):
    targets, ws_true = _drawn(G, 2)
    result = project(G, targets, steps=60, seed=0, distance="probe", recipe=FAST)
    assert result.distance == "probe+mse" and result.loss.shape == (60, 2)
    assert np.all(result.loss[-5:].mean(axis=0) < 0.3 * result.loss[:5].mean(axis=0))
    w_avg = np.asarray(G.mapping(np.random.RandomState(123).randn(2000, G.z_dim).astype(np.float32))[:, 0]).mean(0)
    start = np.asarray(G.synthesis(np.tile(w_avg, (1, G.num_ws, 1)), noise_mode="const"))  # where it starts
    err = np.abs(result.images - targets).mean(axis=(1, 2, 3))
    assert np.all(err < 0.5 * np.abs(start - targets).mean(axis=(1, 2, 3))), err
    # in W every layer holds the same w, and it moved toward the true one
    np.testing.assert_array_equal(result.ws, np.broadcast_to(result.ws[:, :1], result.ws.shape))
    assert np.all(np.linalg.norm(result.w - ws_true[:, 0], axis=1) < np.linalg.norm(w_avg - ws_true[:, 0], axis=1))
    for v in result.noise:  # renormalised after every step: zero mean, unit variance per image
        np.testing.assert_allclose(v.mean(axis=(1, 2, 3)), 0, atol=1e-5)
        np.testing.assert_allclose(v.std(axis=(1, 2, 3)), 1, rtol=1e-4)


def test_seed_reproduces_and_batch_equals_one_at_a_time(G):
    targets, _ = _drawn(G, 2, seed=9)
    kwargs = dict(steps=12, seed=4, distance="probe", recipe=FAST)
    batched = project(G, targets, **kwargs)
    again = project(G, targets, **kwargs)
    np.testing.assert_array_equal(batched.ws, again.ws)
    single = project(G, targets[1:], **kwargs)  # the second image alone: its position in the batch is no input
    assert_close(single.ws[0], batched.ws[1], rel=1e-3)
    assert_close(single.loss[:, 0], batched.loss[:, 1], rel=1e-3)
    other = project(G, targets, **{**kwargs, "seed": 5})
    assert np.abs(other.ws - batched.ws).max() > 1e-3


def test_w_plus_has_one_w_per_layer(G):
    targets, _ = _drawn(G, 1, seed=11)
    result = project(G, targets, space="w+", steps=10, seed=0, distance="probe", recipe=FAST)
    assert result.ws.shape == (1, G.num_ws, G.w_dim) and result.space == "w+"
    assert np.abs(result.ws[0, 1:] - result.ws[0, :1]).max() > 1e-3  # the layers moved apart
    assert_close(np.asarray(G.synthesis(result.ws, noise=result.noise)), result.images)


def test_the_probe_reads_images_after_a_first_projection(G):
    """A projection that is the first to load the probe (inside its traced step) leaves the cached probe usable."""
    from stylegan_tf.metrics.probe import load_probe, predict_factors, training_images

    reals, labels = training_images(8, 202)
    load_probe.cache_clear()
    project(G, np.zeros((1, 8, 8, 3), np.float32), steps=1, distance="probe", recipe=FAST)
    read = predict_factors(reals)
    assert np.corrcoef(read["head_turn"], labels["head_turn"])[0, 1] > 0.9, read["head_turn"]


def test_bad_arguments_are_one_line_errors(G, monkeypatch, tmp_path):
    with pytest.raises(ValueError, match=r"targets must be \[N, 8, 8, 3\].*resize"):
        project(G, np.zeros((1, 16, 16, 3), np.float32), steps=1)
    with pytest.raises(ValueError, match="space must be"):
        project(G, np.zeros((1, 8, 8, 3), np.float32), space="z")
    monkeypatch.setenv("STYLEGAN_TF_LPIPS", str(tmp_path / "none.npz"))
    with pytest.raises(FileNotFoundError, match="LPIPS-VGG weights not found"):
        resolve_distance("lpips")
    assert resolve_distance(None)[0] == "probe+mse"  # auto without the weights


def _save(path, array, mode="RGB"):
    Image.fromarray(np.rint((np.asarray(array) + 1) * 127.5).clip(0, 255).astype(np.uint8), mode).save(path)
    return str(path)


def _converted_stand_in(tmp_path):
    """A small NVIDIA StyleGAN v1 pickle (16 px, official layout) converted as a user would."""
    rng = np.random.default_rng(7)
    variables = official.official_variables(official.SPEC, rng)
    w_avg = rng.standard_normal(official.SPEC["dlatent_size"]).astype(np.float32)
    nets = official.official_networks(official.SPEC, variables, (0.0, 0.0, 0.0), w_avg)
    pkl = official.write_pickle(os.path.join(tmp_path, "karras2019stylegan-tiny-16x16.pkl"), nets)
    out = str(tmp_path / "converted")
    assert main(["convert", pkl, out]) == 0
    return out


def test_cli_projects_with_a_converted_pickle_and_survives_bad_files(tmp_path, capsys):
    run = _converted_stand_in(tmp_path)
    from stylegan_tf.generation.figures import load_generator

    G = load_generator(run)
    images, _ = _drawn(G, 2)
    good = _save(tmp_path / "face.png", np.clip(images[0], -1, 1))
    big = tmp_path / "big.png"
    Image.open(good).resize((40, 32)).convert("LA").save(big)  # another size, grey + alpha
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    capsys.readouterr()
    out = tmp_path / "projected"
    rc = main(["project", good, str(tmp_path / "broken.png"), str(big), str(tmp_path / "nope.jpg"),
               "--run", run, "--out", str(out), "--steps", "6", "--distance", "probe", "--gif-frames", "3"])
    captured = capsys.readouterr()
    assert rc == 1  # two files failed, the others were projected
    errors = [line for line in captured.err.splitlines() if "error:" in line]
    assert len(errors) == 2 and "broken.png" in errors[0] and "nope.jpg" in errors[1]
    assert "big.png: LA image converted to RGB" in captured.out
    assert "big.png: 40x32 centre-cropped to a square and resized to 16x16" in captured.out
    assert sorted(os.listdir(out)) == ["big.gif", "big.npz", "big.png", "face.gif", "face.npz", "face.png"]
    saved = np.load(out / "face.npz")
    assert saved["ws"].shape == (G.num_ws, G.w_dim) and str(saved["distance"]) == "probe+mse"
    assert saved["loss"].shape == (6,) and int(saved["steps"]) == 6
    noise = [saved[f"noise{i}"][None] if f"noise{i}" in saved else None for i in range(G.num_ws)]
    png = np.asarray(Image.open(out / "face.png"))
    assert png.ndim == 3 and png.shape[1] > png.shape[0]  # two cells side by side, labelled
    with Image.open(out / "face.gif") as gif:
        assert gif.n_frames == 4  # steps 0, 2, 4 and the final image
    recon = np.asarray(G.synthesis(saved["ws"][None], noise=noise))
    assert np.isfinite(recon).all()


def test_bad_command_lines_exit_2_before_tensorflow_loads(tmp_path):
    from test_cli_errors import _fake_keras, _run_all

    G = _fake_keras(tmp_path / "G.keras", "stylegan_tf>Generator")
    D = _fake_keras(tmp_path / "D.keras", "stylegan_tf>Discriminator")
    (tmp_path / "a_file").write_text("x")
    cases = [
        (["project", "x.png", "--model", "Z", "--out", "o"], "no shipped model named 'Z'"),
        (["project", "x.png", "--file", D, "--out", "o"], "not a stylegan_tf Generator"),
        (["project", "x.png", "--file", str(tmp_path / "none.keras"), "--out", "o"], "does not exist"),
        (["project", "x.png", "--file", G, "--out", "o", "--steps", "0"], "--steps"),
        (["project", "x.png", "--file", G, "--out", str(tmp_path / "a_file")], "existing file"),
        (["project", "x.png", "--run", str(tmp_path), "--file", G, "--out", "o"], "not allowed with"),
    ]
    for (argv, message), result in zip(cases, _run_all([argv for argv, _ in cases], tmp_path)):
        assert result["rc"] == 2, (argv, result)
        assert message in result["err"], (argv, result["err"])
        assert "--run" in argv or len(result["err"].strip().splitlines()) == 1, result["err"]  # argparse: usage too
        assert not result["tensorflow"], argv


def test_lpips_distance_matches_the_metrics_lpips_on_stand_in_weights(tmp_path, monkeypatch):
    """The differentiable LPIPS of the projector = metrics/lpips.py's (uncropped), on random weights of its layout."""
    from stylegan_tf.metrics import lpips
    from stylegan_tf.projection import lpips_tf_distance

    rng = np.random.default_rng(0)
    arrays, c_in, k = {}, 3, 0
    conv_index, slices = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28), (1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5)
    for block in lpips._BLOCKS:
        for width in block:
            name = f"net.slice{slices[k]}.{conv_index[k]}"
            arrays[name + ".weight"] = (rng.standard_normal((width, c_in, 3, 3)) / np.sqrt(9 * c_in)).astype(np.float32)
            arrays[name + ".bias"] = rng.uniform(0, 0.1, width).astype(np.float32)
            c_in, k = width, k + 1
        arrays[f"lin{len([a for a in arrays if a.startswith('lin')])}.model.1.weight"] = \
            rng.uniform(0, 1, (1, c_in, 1, 1)).astype(np.float32)
    np.savez(tmp_path / "lpips.npz", **arrays)
    monkeypatch.setenv("STYLEGAN_TF_LPIPS", str(tmp_path / "lpips.npz"))
    a, b = rng.uniform(-1, 1, (2, 2, 32, 32, 3)).astype(np.float32)
    expected = lpips.lpips_distance(a, b, crop=False)
    assert resolve_distance(None)[0] == "lpips"
    np.testing.assert_allclose(np.asarray(lpips_tf_distance(a, b)), expected, rtol=1e-3)
    assert np.all(expected > 0)
