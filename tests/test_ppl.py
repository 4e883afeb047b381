"""Perceptual path length: closed-form values for a linear generator, the official filtering and slerp."""

import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import scipy.stats

from stylegan_tf import build_generator, preset
from stylegan_tf.metrics import calc_metric, lpips
from stylegan_tf.metrics import ppl as M

D, C = 16, 3.0  # latent size, image = C * latent


class LinearG:
    """mapping = identity broadcast to 2 style inputs; synthesis = C * ws[:, 0] as a [N, 1, 1, D] image."""

    z_dim, num_ws = D, 2

    def mapping(self, z):
        return np.repeat(np.asarray(z, np.float32)[:, None], self.num_ws, axis=1)

    def synthesis(self, ws, noise=None):
        return C * np.asarray(ws)[:, 0, None, None, :]


def squared_l2(a, b):
    return np.sum((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2, axis=(1, 2, 3))


def truncated_mean(ppf, cdf_moment):
    """E[X | q01 <= X <= q99] from the quantile function and x -> E[X; X <= x]."""
    lo, hi = ppf(0.01), ppf(0.99)
    return (cdf_moment(hi) - cdf_moment(lo)) / 0.98


def test_filtered_mean_follows_the_official_percentiles():
    values = np.arange(1.0, 201.0)  # 1 .. 200: 1st percentile "lower" = 2, 99th "higher" = 199
    assert M.filtered_mean(values) == pytest.approx(np.mean(np.arange(2.0, 200.0)))
    assert M.filtered_mean(np.r_[np.ones(99), 1e9]) == pytest.approx((99 + 1e9) / 100)  # 99th 'higher' keeps it


def test_slerp_moves_at_constant_angular_speed():
    rng = np.random.RandomState(0)
    a, b = rng.randn(5, D), rng.randn(5, D)
    omega = np.arccos(np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))
    t = rng.uniform(size=(5, 1))
    np.testing.assert_allclose(M.slerp_unit(a, b, np.zeros((5, 1))), a / np.linalg.norm(a, axis=1, keepdims=True),
                               atol=1e-12)
    np.testing.assert_allclose(M.slerp_unit(a, b, np.ones((5, 1))), b / np.linalg.norm(b, axis=1, keepdims=True),
                               atol=1e-12)
    step = np.linalg.norm(M.slerp_unit(a, b, t + 1e-3) - M.slerp_unit(a, b, t), axis=1)
    np.testing.assert_allclose(step, 2 * np.sin(omega * 1e-3 / 2), rtol=1e-6)


@pytest.mark.parametrize("sampling", ["full", "end"])
def test_w_path_length_of_a_linear_generator(sampling):
    """d / eps^2 = C^2 ||w1 - w0||^2 = 2 C^2 chi2_D for every t: the filtered mean is a truncated chi2 moment."""
    out = M.ppl(LinearG(), None, 4000, space="w", sampling=sampling, distance=squared_l2, batch_size=500)
    chi2 = scipy.stats.chi2(D)
    expected = 2 * C**2 * truncated_mean(chi2.ppf, lambda x: D * scipy.stats.chi2(D + 2).cdf(x))
    assert out["distance"] == "custom" and out["num_images"] == 4000
    assert out[f"ppl_w_{sampling}"] == pytest.approx(expected, rel=0.03)


def test_z_path_length_of_a_linear_generator():
    """Slerp of unit vectors moves at angular speed omega: d / eps^2 = C^2 omega^2, omega the angle between
    two Gaussian vectors in D dims (density proportional to sin^(D-2))."""
    out = M.ppl(LinearG(), None, 4000, space="z", sampling="full", distance=squared_l2, batch_size=500)
    pdf = lambda w: np.sin(w) ** (D - 2)  # noqa: E731
    norm = scipy.integrate.quad(pdf, 0, np.pi)[0]
    cdf = lambda w: scipy.integrate.quad(pdf, 0, w)[0] / norm  # noqa: E731
    ppf = lambda q: scipy.optimize.brentq(lambda w: cdf(w) - q, 0, np.pi)  # noqa: E731
    moment = lambda w: scipy.integrate.quad(lambda v: v**2 * pdf(v), 0, w)[0] / norm  # noqa: E731
    lo, hi = ppf(0.01), ppf(0.99)
    expected = C**2 * truncated_mean(lambda q: {0.01: lo**2, 0.99: hi**2}[q], lambda x: moment(np.sqrt(x)))
    assert out["ppl_z_full"] == pytest.approx(expected, rel=0.03)


def test_registered_ppl_runs_a_generator_with_the_offline_distance():
    G = build_generator(preset("F", "tiny"))
    out = calc_metric("ppl_z_end", G, None, num_images=8, distance="probe", batch_size=4)
    assert out["distance"] == "probe" and np.isfinite(out["ppl_z_end"]) and out["ppl_z_end"] >= 0
    a = calc_metric("ppl_w_full", G, None, num_images=8, distance="probe", seed=1)
    b = calc_metric("ppl_w_full", G, None, num_images=8, distance="probe", seed=1)
    assert a["ppl_w_full"] == pytest.approx(b["ppl_w_full"], rel=1e-5)  # seeded latents, t and noise


def test_lpips_missing_or_present(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEGAN_TF_LPIPS", str(tmp_path / "absent.npz"))
    assert M.resolve_distance("auto")[0] == "probe"
    with pytest.raises(FileNotFoundError, match="STYLEGAN_TF_LPIPS"):
        M.resolve_distance("lpips")
    # a file in the lpips package's state_dict layout (random weights) is found and gives a distance
    rng = np.random.RandomState(0)
    keys, k, c_in = {}, 0, 3
    for s, widths in enumerate(lpips._BLOCKS, start=1):
        for c in widths:
            idx = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)[k]
            keys[f"net.slice{s}.{idx}.weight"] = rng.randn(c, c_in, 3, 3).astype(np.float32) / np.sqrt(9 * c_in)
            keys[f"net.slice{s}.{idx}.bias"] = np.zeros(c, np.float32)
            c_in, k = c, k + 1
        keys[f"lin{s - 1}.model.1.weight"] = rng.uniform(size=(1, c_in, 1, 1)).astype(np.float32)
    path = tmp_path / "lpips_vgg16.npz"
    np.savez(path, **keys)
    monkeypatch.setenv("STYLEGAN_TF_LPIPS", str(path))
    assert M.resolve_distance("auto")[0] == "lpips"
    x = rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    assert lpips.lpips_distance(x, x) == pytest.approx([0, 0], abs=1e-9)
    d = lpips.lpips_distance(x, x[::-1])
    assert d[0] > 0 and d[0] == pytest.approx(d[1], rel=1e-4)
