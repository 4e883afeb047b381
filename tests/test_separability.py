"""Linear separability: the official entropy, and latents whose labels are exactly linear vs random."""

import numpy as np
import pytest

from stylegan_tf import build_generator, preset
from stylegan_tf.metrics import calc_metric
from stylegan_tf.metrics.probe import BINARY
from stylegan_tf.metrics.separability import conditional_entropy, separability

N, D, A = 2000, 16, 5


def official_conditional_entropy(x, y):
    """NumPy transcription of the official H(Y) - I(X; Y) on the 2x2 table p[x][y], in bits."""
    p = np.array([[np.mean((x == a) & (y == b)) for b in (0, 1)] for a in (0, 1)])
    px, py = p.sum(1), p.sum(0)
    mi = sum(p[a, b] * np.log2(p[a, b] / (px[a] * py[b])) for a in (0, 1) for b in (0, 1) if p[a, b] > 0)
    hy = -sum(q * np.log2(q) for q in py if q > 0)
    return max(0.0, hy - mi)


def test_conditional_entropy_matches_the_official_formula():
    rng = np.random.RandomState(0)
    y = rng.rand(1000) < 0.3
    for x in (y, ~y, rng.rand(1000) < 0.5, np.where(rng.rand(1000) < 0.9, y, ~y)):
        assert conditional_entropy(x, y) == pytest.approx(official_conditional_entropy(x, y), abs=1e-9)
    assert conditional_entropy(y, y) == pytest.approx(0.0, abs=1e-12)


def test_exactly_linear_labels_give_the_minimum():
    rng = np.random.RandomState(1)
    z = rng.randn(N, D)
    directions = rng.randn(D, A)
    probs = 1 / (1 + np.exp(-4 * z @ directions))  # attribute i is the side of the hyperplane a_i . z = 0
    score, entropies = separability(z, probs)
    assert score == pytest.approx(1.0, abs=0.05) and entropies.max() < 0.02


def test_random_labels_give_a_high_score():
    """Labels independent of the latent: H(Y|X) = H(Y) - I ~ 1 bit each, so LS approaches 2^5 = 32."""
    rng = np.random.RandomState(2)
    score, entropies = separability(rng.randn(N, D), rng.rand(N, A))
    assert 20 < score <= 32.0 + 1e-9 and entropies.min() > 0.85


def test_half_linear_labels_land_in_between():
    rng = np.random.RandomState(3)
    z = rng.randn(N, D)
    probs = np.concatenate([1 / (1 + np.exp(-4 * z @ rng.randn(D, 2))), rng.rand(N, 3)], axis=1)
    score, _ = separability(z, probs)
    assert 5 < score <= 8.0 + 1e-9  # two free attributes, three coin flips: about 2^3


def test_registered_ls_runs_a_generator():
    G = build_generator(preset("F", "tiny"))
    out = calc_metric("ls", G, None, num_images=64)
    assert out["num_images"] == 64 and out["num_keep"] == 32
    for space in "zw":
        assert 1.0 <= out[f"ls_{space}"] <= 2.0 ** len(BINARY) + 1e-9
        assert set(f"h_{space}/{n}" for n in BINARY) <= set(out)


def test_too_few_images_for_the_dimension_warn_that_the_score_is_trivial():
    rng = np.random.RandomState(0)
    probs = rng.uniform(size=(20, 2))
    with pytest.warns(UserWarning, match="1 by construction"):
        score, _ = separability(rng.randn(20, 16), probs)  # 10 kept points in 16 dimensions
    assert score == 1.0
