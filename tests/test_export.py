"""export: the SavedModel runs without stylegan_tf, gives the Keras model's images, and refuses bad inputs."""

import os
import subprocess
import sys
import sysconfig
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import build_generator, cli, preset
from stylegan_tf.generation.viz import to_uint8
from tolerance import assert_close

SIGNATURES = {  # name -> {input: (dtype, shape)} as saved_model_cli prints them (z_dim = w_dim = 16, num_ws = 6)
    "generate": {"z": ("DT_FLOAT", "(-1, 16)"), "psi": ("DT_FLOAT", "()")},
    "mapping": {"z": ("DT_FLOAT", "(-1, 16)")},
    "synthesis": {"ws": ("DT_FLOAT", "(-1, 6, 16)")},
    "style_mix": {"z_a": ("DT_FLOAT", "(-1, 16)"), "z_b": ("DT_FLOAT", "(-1, 16)"), "crossover": ("DT_INT32", "()")},
}
OUTPUTS = {"generate": ("images", "DT_UINT8", "(-1, 16, 16, 3)"), "mapping": ("ws", "DT_FLOAT", "(-1, 6, 16)"),
           "synthesis": ("images", "DT_FLOAT", "(-1, 16, 16, 3)"),
           "style_mix": ("images", "DT_UINT8", "(-1, 16, 16, 3)")}

# Runs under `python -I -S`: no site processing, so the editable install's import hook (a .pth file) never
# loads; site-packages is put back on sys.path by hand for TensorFlow and numpy only.
FRESH = textwrap.dedent("""
    import importlib.util, sys
    sys.path += sys.argv[1].split("|")
    assert importlib.util.find_spec("stylegan_tf") is None, "stylegan_tf is importable in the fresh process"
    try:
        import stylegan_tf  # noqa
        raise SystemExit("stylegan_tf was imported")
    except ModuleNotFoundError:
        pass
    import numpy as np
    import tensorflow as tf
    work = sys.argv[2]
    x = dict(np.load(work + "/inputs.npz"))
    m = tf.saved_model.load(sys.argv[3])
    out = {
        "generate": m.generate(x["z"], x["psi"])["images"],
        "mapping": m.mapping(x["z"])["ws"],
        "synthesis": m.synthesis(x["ws"])["images"],
        "style_mix": m.style_mix(x["z_a"], x["z_b"], x["crossover"])["images"],
        "signature_generate": m.signatures["generate"](z=tf.constant(x["z"]), psi=tf.constant(x["psi"]))["images"],
    }
    np.savez(work + "/saved_model_outputs.npz", **{k: v.numpy() for k, v in out.items()})
    assert not any(name.startswith("stylegan_tf") for name in sys.modules)
    print("ok")
""")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny G with non-zero noise strengths and w_avg, saved as a run folder and exported by the CLI."""
    root = tmp_path_factory.mktemp("export")
    cfg = preset("F", resolution=16, fmap_base=64, fmap_max=32, z_dim=16, w_dim=16, mapping_layers=2, seed=3)
    G = build_generator(cfg)
    rng = np.random.default_rng(0)
    G.w_avg.assign(rng.normal(size=G.w_dim).astype(np.float32))
    for layer in G.synthesis.synthesis_layers:  # make the stored noise matter
        layer.noise.strength.assign(rng.uniform(0.2, 0.8, layer.noise.strength.shape).astype(np.float32))
    run_dir = root / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(cfg.to_json())
    G.save(run_dir / "G_ema.keras")
    out = root / "served"
    assert cli.main(["export", str(run_dir), str(out)]) == 0
    return G, run_dir, out / "1"


def _inputs(G):
    rng = np.random.default_rng(1)
    return {"z": rng.normal(size=(3, G.z_dim)).astype(np.float32), "psi": np.array(0.7, np.float32),
            "ws": rng.normal(size=(2, G.num_ws, G.w_dim)).astype(np.float32),
            "z_a": rng.normal(size=(2, G.z_dim)).astype(np.float32),
            "z_b": rng.normal(size=(2, G.z_dim)).astype(np.float32), "crossover": np.array(2, np.int32)}


def _keras_outputs(G, x):
    mixed = G.style_mix(G.mapping(x["z_a"]), G.mapping(x["z_b"]), int(x["crossover"]))  # layers < 2 from z_a
    mixed = G.truncate(mixed, G.truncation_psi, G.truncation_cutoff)
    return {"generate": to_uint8(G(x["z"], truncation_psi=float(x["psi"]), noise_mode="const")),
            "mapping": np.asarray(G.mapping(x["z"])),
            "synthesis": np.asarray(G.synthesis(x["ws"], noise_mode="const")),
            "style_mix": to_uint8(G.synthesis(mixed, noise_mode="const"))}


def test_serving_layout_and_no_overwrite(exported, capsys):
    _, run_dir, version_dir = exported
    assert os.path.isfile(version_dir / "saved_model.pb") and os.path.isdir(version_dir / "variables")
    assert sorted(os.listdir(version_dir.parent)) == ["1"]  # no temporary left behind
    capsys.readouterr()
    assert cli.main(["export", str(run_dir), str(version_dir.parent)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_fresh_process_without_stylegan_tf_gives_the_keras_images(exported, tmp_path):
    G, _, version_dir = exported
    x = _inputs(G)
    np.savez(tmp_path / "inputs.npz", **x)
    script = tmp_path / "load.py"
    script.write_text(FRESH)
    paths = sysconfig.get_paths()
    site = "|".join(dict.fromkeys([paths["purelib"], paths["platlib"]]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    proc = subprocess.run([sys.executable, "-I", "-S", str(script), site, str(tmp_path), str(version_dir)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]
    served = dict(np.load(tmp_path / "saved_model_outputs.npz"))
    expected = _keras_outputs(G, x)
    assert served["generate"].dtype == np.uint8 and served["generate"].shape == (3, 16, 16, 3)
    # Measured bit-identical here; the tolerances only leave room for graph-vs-eager float rounding
    # (a uint8 step where x * 127.5 + 127.5 lies at .5). Wrong noise or truncation moves pixels by tens.
    for name in ("generate", "signature_generate", "style_mix"):
        assert np.abs(served[name].astype(int) - expected[name.replace("signature_", "")]).max() <= 1, name
    assert_close(served["mapping"], expected["mapping"])
    assert_close(served["synthesis"], expected["synthesis"])
    assert np.abs(served["generate"][0].astype(int) - served["generate"][1]).max() > 0


def test_saved_model_cli_lists_the_four_signatures(exported):
    _, _, version_dir = exported
    tool = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    if not os.path.exists(tool):
        pytest.skip("saved_model_cli is not installed next to this Python")
    proc = subprocess.run([tool, "show", "--all", "--dir", str(version_dir)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    blocks = {b.split("']")[0]: b for b in proc.stdout.split("signature_def['")[1:]}
    for name, inputs in SIGNATURES.items():
        block = blocks[name]
        for arg, (dtype, shape) in inputs.items():
            assert f"inputs['{arg}'] tensor_info:\n        dtype: {dtype}\n        shape: {shape}" in block, name
        out, dtype, shape = OUTPUTS[name]
        assert f"outputs['{out}'] tensor_info:\n        dtype: {dtype}\n        shape: {shape}" in block, name


def test_wrong_shapes_and_dtypes_are_rejected_naming_the_expected_input(exported):
    G, _, version_dir = exported
    m = tf.saved_model.load(str(version_dir))
    z = np.zeros((2, G.z_dim), np.float32)
    with pytest.raises(TypeError, match=r"TensorSpec\(shape=\(None, 16\), dtype=tf.float32, name='z'\)"):
        m.generate(tf.constant(z, tf.float64), 0.7)
    with pytest.raises(TypeError, match=r"TensorSpec\(shape=\(None, 16\), dtype=tf.float32, name='z'\)"):
        m.generate(np.zeros((2, 5), np.float32), 0.7)
    generate = m.signatures["generate"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a float tensor but is a double"):
        generate(z=tf.constant(z, tf.float64), psi=tf.constant(0.7))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Shape of tensor z \[2,5\] is not compatible with "
                                                             r"expected shape \[\?,16\]"):
        generate(z=tf.zeros((2, 5)), psi=tf.constant(0.7))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"expected shape \[\?,6,16\]"):
        m.signatures["synthesis"](ws=tf.zeros((2, 5, 16)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a int32 tensor"):
        m.signatures["style_mix"](z_a=tf.constant(z), z_b=tf.constant(z), crossover=tf.constant(1.0))
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size"):
        m.style_mix(z, z[:1], 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"crossover must be in \[0, 6\]"):
        m.style_mix(z, z, 9)


def test_onnx_generate_matches_tensorflow_at_each_psi(exported, tmp_path):
    pytest.importorskip("tf2onnx", reason="ONNX export needs tf2onnx (pip install -e \".[test]\")")
    ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime (pip install -e \".[test]\")")
    from stylegan_tf.export.savedmodel import export_onnx

    G = exported[0]
    path = export_onnx(G, str(tmp_path / "generate.onnx"))
    z = _inputs(G)["z"]
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    images = {}
    for psi in (1.0, 0.7, 0.0, -0.5):  # psi = 0 gives the average image on the truncated layers
        (images[psi],) = session.run(None, {"z": z, "psi": np.array(psi, np.float32)})
        expected = to_uint8(G(z, truncation_psi=psi, noise_mode="const"))
        assert images[psi].dtype == np.uint8
        assert np.abs(images[psi].astype(int) - expected).max() <= 1, psi  # float rounding at .5 boundaries only
    assert np.abs(images[1.0].astype(int) - images[0.7]).max() > 10  # psi reaches the graph


def test_onnx_mapping_and_synthesis_graphs_match_keras(exported, tmp_path):
    pytest.importorskip("tf2onnx", reason="ONNX export needs tf2onnx (pip install -e \".[test]\")")
    ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime (pip install -e \".[test]\")")
    from stylegan_tf.export.onnx_graphs import (export_mapping_onnx, export_synthesis_onnx, noise_layers,
                                                stored_noise)

    G = exported[0]
    mapping = ort.InferenceSession(export_mapping_onnx(G, str(tmp_path / "m.onnx")), providers=["CPUExecutionProvider"])
    synthesis = ort.InferenceSession(export_synthesis_onnx(G, str(tmp_path / "s.onnx")),
                                     providers=["CPUExecutionProvider"])
    assert [i.name for i in synthesis.get_inputs()] == ["ws"] + [f"noise{k}" for k in range(G.num_ws)]
    assert noise_layers(G) == list(range(G.num_ws))
    x = _inputs(G)
    (ws,) = mapping.run(None, {"z": x["z"]})
    assert_close(ws, G.mapping(x["z"]))  # untruncated: psi and mixing are the caller's, in W

    # truncation and mixing done on the graph's ws in NumPy, as the web page does in JavaScript
    (ws_b,) = mapping.run(None, {"z": x["z_b"][:1]})
    w_avg = np.asarray(G.w_avg)
    mixed = ws.copy()
    mixed[:, 2:4] = ws_b[:, 2:4]  # the middle layers from a second latent
    mixed[:, :3] = w_avg + np.float32(0.6) * (mixed[:, :3] - w_avg)  # psi = 0.6, cutoff = 3
    ws_a, ws_b_keras = G.mapping(x["z"]), np.repeat(np.asarray(G.mapping(x["z_b"][:1])), len(ws), axis=0)
    reference = G.style_mix(ws_a, G.style_mix(ws_b_keras, ws_a, 4), 2)  # layers 2-3 from z_b
    reference = G.truncate(reference, 0.6, 3)
    assert_close(mixed, reference)
    const = stored_noise(G)
    feeds = {"ws": mixed, **{f"noise{k}": n for k, n in enumerate(const)}}
    (images,) = synthesis.run(None, feeds)
    assert_close(images, G.synthesis(mixed, noise_mode="const"))
    # noise off on the fine layers (zeros), and per-image noise maps [N, H, W, 1]
    rng = np.random.default_rng(5)
    noise = [n if i < 4 else np.zeros_like(n) for i, n in enumerate(const)]
    noise[1] = rng.normal(size=(len(mixed), 4, 4, 1)).astype(np.float32)
    (images2,) = synthesis.run(None, {"ws": mixed, **{f"noise{k}": n for k, n in enumerate(noise)}})
    assert_close(images2, G.synthesis(mixed, noise=noise))
    assert np.abs(images2 - images).max() > 1e-2  # the noise inputs reach the images


def test_non_finite_inputs_and_psi_out_of_range_are_refused(exported):
    G, _, version_dir = exported
    m = tf.saved_model.load(str(version_dir))
    z = np.zeros((2, G.z_dim), np.float32)
    bad_z = z.copy()
    bad_z[1, 3] = np.nan
    cases = [(lambda: m.generate(bad_z, 0.7), "z must be finite"),
             (lambda: m.signatures["generate"](z=tf.constant(z + np.inf), psi=tf.constant(0.7)), "z must be finite"),
             (lambda: m.generate(z, np.float32(np.nan)), "psi must be finite"),
             (lambda: m.generate(z, np.float32(np.inf)), "psi must be finite"),
             (lambda: m.generate(z, np.float32(1.5)), r"psi must be in \[-1, 1\]"),
             (lambda: m.generate(z, np.float32(-1.01)), r"psi must be in \[-1, 1\]"),
             (lambda: m.mapping(bad_z), "z must be finite"),
             (lambda: m.synthesis(np.full((1, G.num_ws, G.w_dim), np.inf, np.float32)), "ws must be finite"),
             (lambda: m.style_mix(z, bad_z, 1), "z_b must be finite")]
    for call, message in cases:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            call()
    for psi in (-1.0, 0.0, 1.0):  # the ends of the range are allowed
        assert m.generate(z, np.float32(psi))["images"].shape == (2, 16, 16, 3)


def test_cli_bad_inputs_are_one_line_errors(exported, tmp_path, capsys):
    import zipfile

    (tmp_path / "garbage.keras").write_bytes(os.urandom(2000))
    with zipfile.ZipFile(tmp_path / "junk.keras", "w") as z:
        z.writestr("config.json", "{not json")
    (tmp_path / "file").write_text("x")
    run_dir = exported[1]
    cases = [([str(tmp_path / "garbage.keras"), str(tmp_path / "o1")], "not a .keras file"),
             ([str(tmp_path / "junk.keras"), str(tmp_path / "o2")], "could not load a generator"),
             ([str(tmp_path / "missing.keras"), str(tmp_path / "o3")], "does not exist"),
             ([str(run_dir), str(tmp_path / "file")], "is an existing file")]
    for argv, words in cases:
        assert cli.main(["export", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0] and "Traceback" not in err[0], err
