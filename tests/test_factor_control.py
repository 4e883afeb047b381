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
