"""FID: the Fréchet distance against closed forms, and the Inception plumbing with random weights (no download)."""

import numpy as np
import pytest

from stylegan_tf.metrics import calc_metric, fid
from stylegan_tf.metrics.frechet import feature_statistics, frechet_distance

SOURCE = "synthetic-faces:64"


def test_frechet_distance_closed_form_two_gaussians():
    # 1-D: d^2 = (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)
    # S2 = c S1 (non-diagonal S1): d^2 = |dm|^2 + Tr(S1) (1 - sqrt(c))^2
    rng = np.random.RandomState(0)
    a = rng.randn(5, 5)
    s1 = a @ a.T + 0.5 * np.eye(5)
    m1, m2 = rng.randn(5), rng.randn(5)
    expected = np.sum((m1 - m2) ** 2) + np.trace(s1) * (1 - np.sqrt(2.25)) ** 2
    assert frechet_distance(m1, s1, m2, 2.25 * s1) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(m1, s1, m1, s1) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_of_samples_approaches_the_closed_form():
    rng = np.random.RandomState(1)
    x = rng.randn(20000, 3)
    y = rng.randn(20000, 3) * 2.0 + 1.0  # N(1, 4 I): d^2 = 3 * 1 + 3 * (2 - 1)^2 = 6
    assert frechet_distance(*feature_statistics(x), *feature_statistics(y)) == pytest.approx(6.0, rel=0.05)


class _ImageG:
    resolution, z_dim = 16, 4

    def __init__(self, scale=1.0):
        self.scale = scale

    def __call__(self, z, truncation_psi=1.0, noise_mode="random"):
        import tensorflow as tf

        ramp = tf.reshape(tf.linspace(-1.0, 1.0, 16), [1, 16, 1, 1])
        return tf.tanh(self.scale * ramp * z[:, None, None, :3])


@pytest.fixture(scope="module")
def random_inception():
    return fid.build_inception(weights=None, input_size=75)  # the smallest input InceptionV3 accepts


def test_inception_features_shape_and_uint8_conversion(random_inception):
    images = np.random.RandomState(0).uniform(-1, 1, (5, 16, 16, 3)).astype(np.float32)
    feats = fid.inception_features([images[:3], images[3:]], random_inception, input_size=75)
    assert feats.shape == (5, 2048) and feats.dtype == np.float64 and np.isfinite(feats).all()
    # images are compared as uint8, as the official metric does: a sub-quantum change does not move them
    again = fid.inception_features([images + 1e-3], random_inception, input_size=75)
    np.testing.assert_allclose(again, feats, rtol=1e-4, atol=1e-5)


def test_fid_metric_plumbing(random_inception, capsys):
    import keras

    # the first 32 of the 2048 features: sqrtm of a 2048 x 2048 product costs minutes on a loaded 2-core CPU
    model = keras.Sequential([random_inception, keras.layers.Lambda(lambda f: f[:, :32])])
    kw = dict(num_images=24, batch_size=12, model=model, input_size=75)
    near = calc_metric("fid", _ImageG(1.0), SOURCE, **kw)
    assert set(near) >= {"fid", "num_images", "num_reals", "seconds"} and near["num_reals"] == 24
    assert near["fid"] == pytest.approx(calc_metric("fid", _ImageG(1.0), SOURCE, **kw)["fid"], rel=1e-5)  # seeded
    floor = calc_metric("fid", None, SOURCE, resolution=16, **kw)
    assert 0.0 <= floor["fid"] < near["fid"]  # two halves of the reals are closer than ramps are to faces
    capped = calc_metric("fid", _ImageG(1.0), "synthetic-faces:16", **kw)
    assert capped["num_images"] == 24 and capped["num_reals"] == 16  # reals capped at the dataset's size
    capsys.readouterr()
    calc_metric("fid", _ImageG(1.0), SOURCE, progress=True, **kw)  # stderr is no terminal here: plain lines
    err = capsys.readouterr().err
    assert "\r" not in err and "fid: 48/48 img (100%)" in err


def test_missing_weights_fail_with_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv(fid.WEIGHTS_ENV, raising=False)
    with pytest.raises(FileNotFoundError) as info:
        fid.inception_weights_path(str(tmp_path / "nowhere.h5"))
    message = str(info.value)
    assert "\n" not in message and fid.WEIGHTS_URL in message and "--inception-weights" in message
    assert ".keras/models" in message or "KERAS_HOME" in message or "models" in message
    monkeypatch.setenv(fid.WEIGHTS_ENV, str(tmp_path / "env.h5"))
    with pytest.raises(FileNotFoundError, match="env.h5"):
        fid.inception_weights_path()
    (tmp_path / "env.h5").write_bytes(b"")
    assert fid.inception_weights_path() == str(tmp_path / "env.h5")
