"""stylegan_tf.load_model: G_ema / G / D .keras files load after `import stylegan_tf` alone, equal to the saved networks."""

import json
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from stylegan_tf import build_discriminator, build_generator, load_generator, load_model, preset

FRESH = """
import sys
import numpy as np
{prelude}
folder = sys.argv[1]
G = {load}(folder + "/G_ema.keras")
D = {load}(folder + "/D.keras")
np.save(folder + "/G_out.npy", np.asarray(G(np.load(folder + "/z.npy"), truncation_psi=1.0, noise_mode="const")))
np.save(folder + "/D_out.npy", np.asarray(D(np.load(folder + "/images.npy"))))
print(type(G).__name__, type(D).__name__)
"""


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny G and D (preset F, tiny scale) saved as training and `convert` save them, with their outputs."""
    cfg = preset("F", "tiny")
    G, D = build_generator(cfg), build_discriminator(cfg)
    z = np.random.RandomState(0).randn(3, cfg.z_dim).astype(np.float32)
    images = np.random.RandomState(1).uniform(-1, 1, (3, cfg.resolution, cfg.resolution, 3)).astype(np.float32)
    G_out = np.asarray(G(z, truncation_psi=1.0, noise_mode="const"))
    D_out = np.asarray(D(images))
    folder = tmp_path_factory.mktemp("saved")
    G.save(folder / "G_ema.keras")
    D.save(folder / "D.keras")
    np.save(folder / "z.npy", z)
    np.save(folder / "images.npy", images)
    return folder, G_out, D_out


def _fresh_process(folder, prelude, load):
    script = FRESH.format(prelude=prelude, load=load)
    proc = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["Generator", "Discriminator"]
    return np.load(folder / "G_out.npy"), np.load(folder / "D_out.npy")


def _assert_close(actual, expected):
    scale = float(np.max(np.abs(expected)))
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5 * max(scale, 1.0))


def test_load_model_after_import_stylegan_tf_alone(saved):
    """The failing case of the issue: a fresh process that only does `import stylegan_tf` and loads D."""
    folder, G_out, D_out = saved
    G_new, D_new = _fresh_process(folder, "import stylegan_tf", "stylegan_tf.load_model")
    assert not np.allclose(G_out, 0) and G_out.shape == (3, 8, 8, 3)
    _assert_close(G_new, G_out)
    _assert_close(D_new, D_out)


@pytest.mark.slow
def test_keras_load_model_after_keras_then_stylegan_tf(saved):
    """With Keras imported before stylegan_tf, `import stylegan_tf` registers the networks: plain Keras loads them."""
    folder, G_out, D_out = saved
    G_new, D_new = _fresh_process(folder, "import keras\nimport stylegan_tf", "keras.saving.load_model")
    _assert_close(G_new, G_out)
    _assert_close(D_new, D_out)


def test_load_model_in_process_and_load_generator(saved):
    folder, G_out, D_out = saved
    _assert_close(np.asarray(load_model(folder / "D.keras")(np.load(folder / "images.npy"))), D_out)
    for source in (folder, folder / "G_ema.keras"):  # a run folder means its G_ema.keras
        G = load_model(source)
        _assert_close(np.asarray(G(np.load(folder / "z.npy"), truncation_psi=1.0, noise_mode="const")), G_out)
    with pytest.raises(ValueError, match=r"D\.keras holds a stylegan_tf>Discriminator, not a stylegan_tf Generator"):
        load_generator(folder / "D.keras")  # the generator loader refuses D


def _one_line_error(error, pattern, path):
    with pytest.raises(error) as caught:
        load_model(path)
    message = str(caught.value)
    assert re.search(pattern, message) and "\n" not in message, message


def test_bad_files_are_one_line_errors_naming_the_file(saved, tmp_path):
    import keras

    folder = saved[0]
    _one_line_error(FileNotFoundError, r"missing\.keras does not exist", tmp_path / "missing.keras")
    (tmp_path / "garbage.keras").write_bytes(b"not a zip archive" * 50)
    _one_line_error(ValueError, r"garbage\.keras is not a \.keras file \(not a zip archive", tmp_path / "garbage.keras")
    keras.saving.save_model(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]), tmp_path / "other.keras")
    _one_line_error(ValueError, r"other\.keras holds a .*Sequential, not a stylegan_tf network", tmp_path / "other.keras")
    with zipfile.ZipFile(folder / "D.keras") as src, zipfile.ZipFile(tmp_path / "truncated.keras", "w") as dst:
        for name in src.namelist():  # a valid config.json, the weights cut in half
            data = src.read(name)
            dst.writestr(name, data if name.endswith(".json") else data[: len(data) // 2])
    _one_line_error(ValueError, r"could not load a stylegan_tf network from .*truncated\.keras", tmp_path / "truncated.keras")
    with zipfile.ZipFile(tmp_path / "noconfig.keras", "w") as z:
        z.writestr("metadata.json", json.dumps({}))
    _one_line_error(ValueError, r"noconfig\.keras \(config\.json: KeyError", tmp_path / "noconfig.keras")
