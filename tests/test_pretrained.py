"""Shipped Table 1 models: the loader checks files against the manifest; every shipped model loads and draws."""

import json
import shutil

import numpy as np
import pytest

from stylegan_tf import preset, pretrained
from stylegan_tf.pretrained import __main__ as build
from tolerance import assert_close

SHIPPED = pretrained.names() if pretrained.MANIFEST.is_file() else []


def test_every_row_of_table_1_is_shipped():
    assert set("ABCDEF") <= set(SHIPPED), f"shipped: {SHIPPED}"
    for name in SHIPPED:
        info = pretrained.entry(name)
        assert info["bytes"] < 5e6, f"{name} is {info['bytes'] / 1e6:.1f} MB (budget 5 MB)"
        assert info["command"].startswith(f"python -m stylegan_tf train --preset {info['row']} --seed {info['seed']}")
        # the recipe is the same for every row: the whole demo scale of the row's preset, as the bare `train` runs it
        assert "--kimg" not in info["command"] and info["kimg"] == build.KIMG == preset("F", "demo").total_kimg
        expected = json.loads(preset(info["row"], "demo", seed=info["seed"]).to_json())
        assert info["config"] == expected
    assert pretrained.manifest()["recipe"] == build.RECIPE, "the manifest's recipe text is the code's (install writes it)"


def test_metrics_are_the_headline_values_of_the_stored_results():
    stored = pretrained.entry("F")["metrics"]
    values = pretrained.metrics("F")
    assert values["fd_probe"] == stored["fd_probe"]["fd_probe"] and values["swd"] == stored["swd"]["swd"]
    assert all(isinstance(v, float) for v in values.values()), values
    assert "swd_32" not in values and "num_images" not in values  # only the value named after each metric


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_loads_and_generates_finite_images(name):
    from stylegan_tf.generation import figures

    G = pretrained.load(name)
    info = pretrained.entry(name)
    images = figures.generate_images(G, [0, 1], psi=1.0)
    assert images.shape == (2, info["resolution"], info["resolution"], 3)
    assert np.isfinite(images).all()
    assert images.std() > 0.05, "a trained model draws varied images, not a constant"
    assert G.use_styles == (info["row"] in "CDEF") and G.use_noise == (info["row"] in "EF")


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """A private model folder with a tiny generator installed as 'F' (the real package is not touched)."""
    import keras

    from stylegan_tf import build_generator

    monkeypatch.setattr(pretrained, "MODEL_DIR", tmp_path / "models")
    monkeypatch.setattr(pretrained, "MANIFEST", tmp_path / "models" / "manifest.json")
    cfg = preset("F", "tiny", seed=3)
    run = tmp_path / "run"
    run.mkdir()
    G = build_generator(cfg)
    G(np.zeros([1, cfg.z_dim], np.float32))
    G.save(run / "G_ema.keras")
    (run / "config.json").write_text(cfg.to_json())
    build.install(str(run), "F")
    return G, keras


def test_install_records_a_verified_entry_that_loads_back(package_copy):
    G, _ = package_copy
    info = pretrained.entry("f")  # names are case-insensitive rows
    assert (info["row"], info["seed"], info["file"]) == ("F", 3, "F.keras")
    assert info["sha256"] == pretrained.sha256(pretrained.MODEL_DIR / "F.keras")
    loaded = pretrained.load("F")
    z = np.random.RandomState(0).randn(2, G.z_dim).astype(np.float32)
    assert_close(loaded(z, noise_mode="const"), G(z, noise_mode="const"))


def test_altered_file_is_refused_with_how_to_restore(package_copy):
    path = pretrained.MODEL_DIR / "F.keras"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match the manifest.*altered or truncated.*Restore it"):
        pretrained.load("F")


def test_missing_file_names_the_retrain_command(package_copy):
    (pretrained.MODEL_DIR / "F.keras").unlink()
    with pytest.raises(FileNotFoundError, match=r"is missing.*python -m stylegan_tf train --preset F --seed 3"):
        pretrained.load("F")


def test_wrong_file_under_the_right_name_is_refused(package_copy, tmp_path):
    shutil.copyfile(pretrained.MANIFEST, pretrained.MODEL_DIR / "F.keras")  # any other file in its place
    with pytest.raises(ValueError, match="does not match the manifest"):
        pretrained.load("F")


def test_unknown_name_lists_the_shipped_models(package_copy):
    with pytest.raises(KeyError, match="no shipped model named 'G'.*F"):
        pretrained.load("G")


def test_missing_manifest_says_how_to_restore(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "MANIFEST", tmp_path / "manifest.json")
    with pytest.raises(FileNotFoundError, match="reinstall the package"):
        pretrained.names()


def test_separation_table_marks_each_claim_from_the_stored_group_means():
    """`tables` prints the separation test of every model with a factor-control matrix, and only those."""
    groups = {f"{g} styles/{s} factors": 0.2 for g in ("coarse", "middle", "fine") for s in ("coarse", "middle", "fine")}
    noise = {f"noise/{s} factors": 0.01 for s in ("coarse", "middle", "fine")}
    good = {**groups, **noise, "coarse styles/coarse factors": 0.5, "fine styles/fine factors": 0.5}
    no_pose = {**good, "coarse styles/coarse factors": 0.1}
    data = {"models": {"good": {"metrics": {"factor_control": good}}, "no_pose": {"metrics": {"factor_control": no_pose}},
                       "unmeasured": {"metrics": {"fd_probe": {"fd_probe": 1.0}}}}}
    data["models"]["no_noise"] = {"metrics": {"factor_control": groups}}  # rows C, D: no noise group
    lines = build.separation_markdown(data).splitlines()
    assert len(lines) == 5 and not any("unmeasured" in ln for ln in lines)
    assert lines[4].startswith("| no_noise |") and "| 0.00 |" in lines[4]
    assert lines[2] == "| good | 0.50 / 0.20 / 0.20 | 0.20 / 0.20 / 0.50 | 0.01 | pass | pass | pass |"
    assert lines[3].startswith("| no_pose | 0.10 / 0.20 / 0.20 |") and lines[3].endswith("| fail | pass | pass |")
