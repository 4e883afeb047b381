"""Factor-control matrix: the renderer (inputs = factors) gives the known answer; a generator's rows."""

import numpy as np
import pytest

from stylegan_tf import build_generator, preset
from stylegan_tf.data import faces
from stylegan_tf.metrics import calc_metric
from stylegan_tf.metrics import factor_control as FC
from stylegan_tf.metrics.probe import PROBE_FACTORS


@pytest.fixture(scope="module")
def renderer():
    return FC.renderer_matrix(num_images=96, seed=0)


def test_renderer_matrix_is_diagonal(renderer):
    """Resampling one factor moves that factor's reading by about its full spread and the others little."""
    matrix, rows = renderer
    assert matrix.shape == (len(faces.FACTOR_NAMES), len(PROBE_FACTORS)) and rows == list(faces.FACTOR_NAMES)
    for c, name in enumerate(PROBE_FACTORS):
        r = rows.index(name)
        off = np.delete(matrix[:, c], r)
        assert matrix[r, c] > 0.6, (name, matrix[r, c])
        assert matrix[r, c] > 3 * off.max(), (name, matrix[r, c], rows[int(np.argmax(np.delete(matrix[:, c], r)))])
    assert matrix[rows.index("detail_seed")].max() < 0.15  # stochastic detail changes no factor


def test_factor_change_units():
    before = {n: np.zeros(4) for n in PROBE_FACTORS}
    after = {n: np.full(4, 0.5) for n in PROBE_FACTORS}
    after["background_hue"] = np.full(4, 0.9)  # wraps: 0.1 away from 0
    change = FC.factor_change(before, after, {n: 0.5 for n in PROBE_FACTORS})
    expected = np.ones(len(PROBE_FACTORS))
    expected[PROBE_FACTORS.index("background_hue")] = 0.2
    np.testing.assert_allclose(change, expected, atol=1e-12)


def test_generator_rows_and_silent_noise(tmp_path, monkeypatch):
    """A fresh G has zero noise strengths, so its noise rows are exactly 0; style rows are finite, >= 0."""
    monkeypatch.setenv("STYLEGAN_TF_DATA_DIR", str(tmp_path))
    G = build_generator(preset("F", "tiny"))
    out = calc_metric("factor_control", G, "synthetic-faces:64", num_images=16, figure=str(tmp_path / "m.png"))
    assert (tmp_path / "m.png").stat().st_size > 1000
    for i in range(G.num_ws):
        assert out[f"noise{i}/smiling"] == 0.0 and out[f"style{i}/smiling"] >= 0.0
    assert np.isfinite([v for v in out.values()]).all()
    assert out["noise/fine factors"] == 0.0 and out["num_images"] == 16


def _means(coarse_on_coarse, fine_on_fine, noise):
    """Group means where every off-target entry is 0.2 (see `group_means`)."""
    out = {f"{g} styles/{s} factors": 0.2 for g in ("coarse", "middle", "fine") for s in ("coarse", "middle", "fine")}
    out["coarse styles/coarse factors"] = coarse_on_coarse
    out["fine styles/fine factors"] = fine_on_fine
    out.update({f"noise/{s} factors": noise for s in ("coarse", "middle", "fine")})
    return out


@pytest.mark.parametrize("args, expected", [
    ((0.5, 0.5, 0.01), (1, 1, 1, 1)),  # the paper's block pattern
    ((0.19, 0.5, 0.01), (0, 1, 1, 0)),  # coarse styles do not lead on pose (our first demo models)
    ((0.5, 0.2, 0.01), (1, 0, 1, 0)),  # a tie is not a lead
    ((0.5, 0.5, 0.05), (1, 1, 0, 0)),  # noise that moves factors
])
def test_separation_test_checks_each_claim(args, expected):
    out = FC.separation_test(_means(*args))
    assert [out[f"separation/{k}"] for k in ("coarse", "fine", "noise")] + [out["separation"]] == list(expected)


def test_separation_test_skips_a_missing_middle_group():
    means = {k: v for k, v in _means(0.5, 0.5, 0.0).items() if not k.startswith("middle")}
    assert FC.separation_test(means)["separation"] == 1.0


def test_renderer_bands_say_where_each_factor_lies():
    """Shares sum to 1; a background hue change is coarse in space, an eye-spacing change fine, at 32 px."""
    shares, bands, rms, rows = FC.renderer_bands(num_images=32, seed=0, resolution=32)
    assert bands == ["<=8px", "16px", "32px"] and rows == list(faces.FACTOR_NAMES)
    np.testing.assert_allclose(shares.sum(1), 1.0, atol=1e-6)
    assert shares[rows.index("background_hue"), 0] > 0.8
    assert shares[rows.index("eye_spacing"), -1] > 0.5
    assert (rms > 0).all()


def test_heatmap_is_written_without_touching_the_session_backend(tmp_path):
    """A notebook that writes the heatmap keeps its inline backend (pyplot's `use("Agg")` used to switch it off)."""
    import matplotlib
    from PIL import Image

    before = matplotlib.get_backend()
    matplotlib.use("svg")  # a session's own backend, not Agg: the old code replaced it
    try:
        rows = ["style0 (4 px)", "noise0 (4 px)"]
        matrix = np.linspace(0.0, 1.2, len(rows) * len(PROBE_FACTORS)).reshape(len(rows), len(PROBE_FACTORS))
        path = FC.save_heatmap(tmp_path / "new" / "m.png", matrix, rows, "test")  # a folder still to make
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)
    width, height = Image.open(path).size
    expected = (110 * (1.0 + 0.62 * len(PROBE_FACTORS)), 110 * (1.2 + 0.36 * len(rows)))  # figsize x dpi
    assert abs(width - expected[0]) <= 1 and abs(height - expected[1]) <= 1, ((width, height), expected)


def _whole_set_matrix(G, scale, num_images, seed, batch_size):
    """The factor-control matrix computed on all images at once (the metric before it was streamed)."""
    from stylegan_tf.generation.figures import synthesize
    from stylegan_tf.metrics.probe import predict_factors
    from stylegan_tf.metrics.sampling import latents

    ws = np.asarray(G.mapping(latents(num_images, G.z_dim, seed)), np.float32)
    ws2 = np.asarray(G.mapping(latents(num_images, G.z_dim, seed + 1)), np.float32)
    shapes = G.noise_shapes(num_images)
    rng, rng2 = np.random.RandomState(seed), np.random.RandomState(seed + 1)
    noise = [None if s is None else rng.randn(*s).astype(np.float32) for s in shapes]
    noise2 = [None if s is None else rng2.randn(*s).astype(np.float32) for s in shapes]

    def read(ws_, noise_):
        return predict_factors(synthesize(G, ws_, noise=noise_, batch_size=batch_size))

    before, rows = read(ws, noise), []
    for i in range(G.num_ws):
        edited = ws.copy()
        edited[:, i] = ws2[:, i]
        rows.append(FC.factor_change(before, read(edited, noise), scale))
    for i, n2 in enumerate(noise2):
        edited = list(noise)
        edited[i] = n2
        rows.append(FC.factor_change(before, read(ws, edited), scale))
    return np.stack(rows)


def test_streamed_generator_matrix_equals_the_whole_set_computation():
    """Batch by batch (16 + 16 + 8 images) the shipped F's matrix is that of all 40 images at once: the same
    latents and noise draws, the mean taken over the batches' sums."""
    from stylegan_tf import pretrained

    G = pretrained.load("F")
    scale = {n: 0.5 + 0.1 * k for k, n in enumerate(PROBE_FACTORS)}
    matrix, names = FC.generator_matrix(G, scale, num_images=40, seed=3, batch_size=16)
    expected = _whole_set_matrix(G, scale, 40, 3, 16)
    assert names[0] == "style0 (4px)" and names[-1] == f"noise{G.num_ws - 1} (32px)" and len(names) == 2 * G.num_ws
    np.testing.assert_allclose(matrix, expected, rtol=1e-5, atol=1e-6)
    assert matrix[:G.num_ws].mean() > 10 * matrix[G.num_ws:].mean() > 0  # styles move factors, noise barely


def test_noise_streams_continue_the_whole_draws():
    shapes = [(5, 2, 2, 1), None, (5, 4, 4, 1)]
    rng = np.random.RandomState(9)
    whole = [rng.randn(*shapes[0]), rng.randn(*shapes[2])]
    streams = FC._noise_streams(shapes, 9, chunk=7)  # advances in odd chunks: the Gaussian pairs carry over
    assert streams[1] is None
    for stream, full in zip((streams[0], streams[2]), whole):
        got = np.concatenate([stream.randn(3, *full.shape[1:]), stream.randn(2, *full.shape[1:])])
        np.testing.assert_array_equal(got, full)
