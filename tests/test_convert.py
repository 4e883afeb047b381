"""Converting NVIDIA's StyleGAN v1 pickles: exactness against the official forward pass, the derived config,
and the restricted unpickler against hostile and foreign files. Pickles are written here in the official layout
from known arrays (tests/official_layout.py); nothing is downloaded."""

import json
import os

import numpy as np
import pytest

import official_layout as official
from stylegan_tf import build_generator, preset
from stylegan_tf.cli import main
from stylegan_tf.export.convert import convert_official_pickle, save_converted
from stylegan_tf.export.official_pickle import UnsupportedPickleError, load_official_pickle
from stylegan_tf.generation.figures import load_generator

TOL = 2e-4  # float32 Keras vs float64 NumPy; instance norm amplifies rounding where a map is nearly flat
CASES = {
    # row F; fused up/down convs from the static kwarg fused_scale=True; mapping_fmaps 12 != dlatent_size 8
    "F_fused16": dict(spec=dict(fused_scale=True)),
    # row F at 128 px with only the kwargs the FFHQ file has: widths and switches come from the variables,
    # fused_scale='auto' fuses the 128 px convs, truncation cutoff 8 < 12 layers
    "F_auto128": dict(spec=dict(resolution=128, fmap_max=8, latent_size=8, dlatent_size=8, mapping_fmaps=8),
                      with_kwargs=False),
    # row C: the 4x4 dense input from w[:, 0] (channel-first reshape), no noise
    "C": dict(spec=dict(const_input_layer=False, use_noise=False), g_kwargs=dict(style_mixing_prob=0.0)),
    # row B: no mapping, no styles, pixel norm, truncation off (official truncation_psi=None)
    "B": dict(spec=dict(resolution=8, mapping_layers=0, latent_size=8, dlatent_size=8, const_input_layer=False,
                        use_noise=False, use_styles=False, use_pixel_norm=True, use_instance_norm=False),
              g_kwargs=dict(truncation_psi=None, style_mixing_prob=0.0)),
}
LODS = (1.3, 0.6, 0.0)  # lod of G, D, Gs in the written pickles


def write_case(tmp_path, name, **overrides):
    case = {**CASES[name], **overrides}
    spec = {**official.SPEC, **case["spec"]}
    rng = np.random.default_rng(sum(map(ord, name)))
    variables = official.official_variables(spec, rng)
    w_avg = rng.standard_normal(spec["dlatent_size"]).astype(np.float32)
    nets = official.official_networks(spec, variables, LODS, w_avg, case.get("g_kwargs"),
                                      with_kwargs=case.get("with_kwargs", True),
                                      **{k: v for k, v in overrides.items() if k == "build_module_src"})
    path = official.write_pickle(os.path.join(tmp_path, f"karras2019stylegan-{name}.pkl"), nets)
    return path, spec, variables, w_avg


@pytest.fixture(scope="module", params=list(CASES))
def case(request, tmp_path_factory):
    path, spec, variables, w_avg = write_case(tmp_path_factory.mktemp(request.param), request.param)
    return request.param, spec, variables, w_avg, convert_official_pickle(path)


def max_diff(images_nhwc, reference_nchw):
    return float(np.max(np.abs(np.asarray(images_nhwc).transpose(0, 3, 1, 2) - reference_nchw)))


class TestExactness:
    def test_config_is_derived_from_the_pickle(self, case):
        name, spec, _, _, converted = case
        cfg = converted.cfg
        assert (cfg.resolution, cfg.z_dim, cfg.w_dim, cfg.mapping_layers) == (
            spec["resolution"], spec["latent_size"], spec["dlatent_size"], spec["mapping_layers"])
        assert cfg.nf(1) == official.nf(1, spec) and cfg.nf(0) == official.nf(0, spec)
        assert all(cfg.nf(s) == official.nf(s, spec) for s in range(cfg.resolution_log2))
        assert (cfg.const_input, cfg.use_noise, cfg.use_styles, cfg.use_pixel_norm, cfg.use_instance_norm) == (
            spec["const_input_layer"], spec["use_noise"], spec["use_styles"], spec["use_pixel_norm"],
            spec["use_instance_norm"])
        assert cfg.mapping_fmaps == (12 if name in ("F_fused16", "C") else None)
        assert cfg.fused_scale == spec["fused_scale"] and cfg.blur_filter == (1, 2, 1)
        assert (cfg.truncation_psi, cfg.truncation_cutoff) == ((None, 8) if name == "B" else (0.7, 8))
        assert cfg.style_mixing_prob == (0.9 if name.startswith("F") else 0.0)
        assert float(converted.G.lod) == pytest.approx(LODS[0]) and float(converted.D.lod) == pytest.approx(LODS[1])

    def test_generator_matches_the_official_forward_pass(self, case):
        name, spec, variables, w_avg, converted = case
        z = np.random.default_rng(0).standard_normal((3, spec["latent_size"])).astype(np.float32)
        psi = None if name == "B" else 0.7  # the official Gs defaults: psi 0.7 on layers < 8
        G_ema, G = converted.G_ema, converted.G
        diffs = {
            "lod 0, default truncation": max_diff(G_ema(z, noise_mode="const"),
                                                  official.G_style(variables, w_avg, z, 0.0, spec, psi, 8)),
            "lod 0, no truncation": max_diff(G_ema(z, truncation_psi=1.0, noise_mode="const"),
                                             official.G_style(variables, w_avg, z, 0.0, spec, None, None)),
            f"lod {LODS[0]} (G), default truncation": max_diff(
                G(z, noise_mode="const"), official.G_style(variables, w_avg, z, LODS[0], spec, psi, 8)),
        }
        print(name, {k: f"{v:.2e}" for k, v in diffs.items()})
        assert max(diffs.values()) < TOL, diffs

    def test_discriminator_matches_the_official_forward_pass(self, case):
        name, spec, variables, _, converted = case
        images = np.random.default_rng(1).uniform(-1, 1, (4, spec["resolution"], spec["resolution"], 3))
        images = images.astype(np.float32)
        D, diffs = converted.D, {}
        for lod in (LODS[1], 0.0):
            D.lod.assign(lod)
            expected = official.D_basic(variables["D"], images.transpose(0, 3, 1, 2), lod, spec)
            diffs[f"lod {lod}"] = float(np.max(np.abs(D(images).numpy() - expected)))
        D.lod.assign(LODS[1])
        print(name, "D", {k: f"{v:.2e}" for k, v in diffs.items()})
        assert max(diffs.values()) < TOL, diffs


def test_convert_cli_writes_models_that_reload(tmp_path, capsys):
    path, spec, variables, w_avg = write_case(tmp_path, "F_fused16")
    cars = os.path.join(tmp_path, "karras2019stylegan-cars-16x12.pkl")  # a wide model, like the 512x384 cars
    os.rename(path, cars)
    out = os.path.join(tmp_path, "converted")
    assert main(["convert", cars, out]) == 0
    assert sorted(os.listdir(out)) == ["D.keras", "G.keras", "G_ema.keras", "config.json", "source.json"]
    assert json.load(open(os.path.join(out, "config.json")))["mapping_fmaps"] == 12
    source = json.load(open(os.path.join(out, "source.json")))
    assert source["crop"] == {"top": 2, "left": 0, "height": 12, "width": 16}
    assert source["networks"]["Gs"]["build_func_name"] == "G_style"
    G = load_generator(out)  # what `generate --run` and `export` read
    z = np.random.default_rng(2).standard_normal((2, spec["latent_size"])).astype(np.float32)
    expected = official.G_style(variables, w_avg, z, 0.0, spec)
    assert max_diff(G(z, noise_mode="const"), expected) < TOL
    capsys.readouterr()
    assert main(["convert", cars, out]) == 2  # refuses to replace without --overwrite
    err = capsys.readouterr().err
    assert "already exists" in err and err.count("\n") == 1
    assert main(["convert", cars, out, "--overwrite"]) == 0
    assert not [n for n in os.listdir(tmp_path) if ".tmp-" in n or ".old-" in n]


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _refused(path, match):
    with pytest.raises(UnsupportedPickleError, match=match) as info:
        load_official_pickle(path)
    assert "\n" not in str(info.value)
    return str(info.value)


class TestRestrictedUnpickler:
    def test_os_system_is_refused_before_it_runs(self, tmp_path):
        marker = tmp_path / "pwned"
        path = official.write_pickle(tmp_path / "evil.pkl", (Evil(marker), 1, 2))
        _refused(path, r"refers to (posix|nt)\.system")
        assert not marker.exists()

    def test_a_malicious_object_hidden_among_the_variables_of_a_genuine_state(self, tmp_path):
        marker = tmp_path / "pwned"
        spec = {**official.SPEC, "resolution": 8}
        variables = official.official_variables(spec, np.random.default_rng(3))
        variables["synthesis"]["4x4/Conv/weight"] = Evil(marker)
        nets = official.official_networks(spec, variables, dlatent_avg=np.zeros(8, np.float32))
        _refused(official.write_pickle(tmp_path / "hidden.pkl", nets), r"(posix|nt)\.system.*nothing in it was run")
        assert not marker.exists()

    def test_build_module_src_is_never_executed_but_its_defaults_are_read(self, tmp_path):
        marker = tmp_path / "executed"
        touch = f"open({str(marker)!r}, 'w').close()"
        src = (f"{touch}\ndef G_style(latents_in, labels_in, truncation_psi=0.5, truncation_cutoff=4, "
               f"scale=({touch}), dlatent_avg_beta=0.99, **kwargs):\n    {touch}\n")
        path, *_ = write_case(tmp_path, "F_fused16", build_module_src=src)
        assert load_official_pickle(path)["Gs"].source_defaults == dict(truncation_psi=0.5, truncation_cutoff=4,
                                                                        dlatent_avg_beta=0.99)
        cfg = convert_official_pickle(path).cfg
        assert (cfg.truncation_psi, cfg.truncation_cutoff, cfg.w_avg_beta) == (0.5, 4, 0.99)
        assert not marker.exists()

    def test_an_unknown_class_is_refused(self, tmp_path):
        from fractions import Fraction
        spec = {**official.SPEC, "resolution": 8}
        variables = official.official_variables(spec, np.random.default_rng(4))
        nets = official.official_networks(spec, variables, g_kwargs=dict(truncation_psi=Fraction(7, 10)))
        _refused(official.write_pickle(tmp_path / "f.pkl", nets), r"fractions\.Fraction")

    def test_an_object_array_among_the_variables_is_refused(self, tmp_path):
        spec = {**official.SPEC, "resolution": 8}
        variables = official.official_variables(spec, np.random.default_rng(5))
        variables["D"]["4x4/Dense1/bias"] = np.array([1, "x"], dtype=object)
        nets = official.official_networks(spec, variables, dlatent_avg=np.zeros(8, np.float32))
        _refused(official.write_pickle(tmp_path / "o.pkl", nets), r"4x4/Dense1/bias.*dtype object")

    def test_stylegan2_and_stylegan2_ada_pickles_are_named(self, tmp_path):
        spec = {**official.SPEC, "resolution": 8}
        variables = official.official_variables(spec, np.random.default_rng(6))
        nets = official.official_networks(spec, variables, dlatent_avg=np.zeros(8, np.float32), version=4)
        for net in nets:
            net.state["build_func_name"] = {"G_style": "G_main", "D_basic": "D_stylegan2"}[net.state["build_func_name"]]
        _refused(official.write_pickle(tmp_path / "sg2.pkl", nets), "StyleGAN2")

        def _reconstruct_persistent_obj(meta):
            return meta

        class Persistent:
            def __reduce__(self):
                return _reconstruct_persistent_obj, ({"module_src": "import os"},)

        path = official.write_pickle(tmp_path / "ada.pkl", {"G_ema": Persistent()},
                                     aliases={_reconstruct_persistent_obj: ("torch_utils.persistence",
                                                                            "_reconstruct_persistent_obj")})
        _refused(path, "StyleGAN2-ADA PyTorch")

    def test_truncated_empty_zip_and_wrong_content(self, tmp_path):
        path, *_ = write_case(tmp_path, "B")
        data = open(path, "rb").read()
        for n, cut in enumerate((len(data) // 2, 100, 0)):
            (tmp_path / f"cut{n}.pkl").write_bytes(data[:cut])
            _refused(tmp_path / f"cut{n}.pkl", "truncated")
        (tmp_path / "model.pt").write_bytes(b"PK\x03\x04" + bytes(100))
        _refused(tmp_path / "model.pt", "zip archive")
        _refused(official.write_pickle(tmp_path / "d.pkl", {"a": np.zeros(2)}), r"holds a dict, not the tuple")
        with pytest.raises(FileNotFoundError, match="is not a file"):
            load_official_pickle(tmp_path / "missing.pkl")

    def test_numpy_1_and_numpy_2_module_names_both_load(self, tmp_path):
        spec = {**official.SPEC, "resolution": 8}
        variables = official.official_variables(spec, np.random.default_rng(7))
        nets = official.official_networks(spec, variables, dlatent_avg=np.ones(8, np.float32))
        old = official.write_pickle(tmp_path / "np1.pkl", nets, legacy_numpy=True)
        new = official.write_pickle(tmp_path / "np2.pkl", nets, legacy_numpy=False)
        assert b"numpy.core.multiarray" in open(old, "rb").read()
        assert b"numpy.core.multiarray" not in open(new, "rb").read()
        a, b = load_official_pickle(old)["Gs"], load_official_pickle(new)["Gs"]
        assert set(a.variables) == set(b.variables) >= {"G_synthesis/4x4/Const/const", "G_mapping/Dense0/weight",
                                                        "dlatent_avg", "lod"}
        np.testing.assert_array_equal(a.variables["G_synthesis/4x4/Conv/weight"],
                                      variables["synthesis"]["4x4/Conv/weight"])


def test_mapping_fmaps_sets_the_hidden_width():
    cfg = preset("F", "tiny", mapping_layers=3, mapping_fmaps=12)
    G = build_generator(cfg)
    assert [tuple(d.kernel.shape) for d in G.mapping.dense] == [(16, 12), (12, 12), (12, 16)]
    default = build_generator(preset("F", "tiny"))
    assert [tuple(d.kernel.shape) for d in default.mapping.dense] == [(16, 16), (16, 16)]  # None = w_dim
    with pytest.raises(ValueError, match="mapping_fmaps"):
        preset("F", "tiny", mapping_fmaps=0)
