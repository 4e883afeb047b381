"""Bad command lines are answered before TensorFlow loads: exit status 2, one line naming the problem and the fix.

All cases run in one fresh interpreter (this test process has TensorFlow loaded by conftest), which
records after each case whether `tensorflow` is in `sys.modules`: the error line was printed without it.
"""

import json
import os
import subprocess
import sys
import zipfile

import pytest

SCRIPT = """
import contextlib, io, json, sys
from stylegan_tf.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main(argv)
        except SystemExit as e:  # argparse
            rc = e.code
    results.append({"rc": rc, "err": err.getvalue(), "tensorflow": "tensorflow" in sys.modules})
print(json.dumps(results))
"""


def _fake_keras(path, registered_name):
    """A .keras archive whose config.json names `registered_name` (enough for the checks made before TensorFlow)."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps({"module": "x", "class_name": registered_name.split(">")[-1],
                                              "registered_name": registered_name, "config": {}}))
        z.writestr("metadata.json", "{}")
    return str(path)


def _run_all(argvs, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "STYLEGAN_TF_DEBUG")}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(argvs)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_bad_command_lines_fail_in_one_line_before_tensorflow_loads(tmp_path):
    G = _fake_keras(tmp_path / "G.keras", "stylegan_tf>Generator")
    D = _fake_keras(tmp_path / "D.keras", "stylegan_tf>Discriminator")
    foreign = _fake_keras(tmp_path / "other.keras", "keras>Sequential")
    (tmp_path / "garbage.keras").write_bytes(b"\x00not a zip" * 100)
    garbage = str(tmp_path / "garbage.keras")
    (tmp_path / "a_file").write_text("x")
    a_file = str(tmp_path / "a_file")
    (tmp_path / "empty_run").mkdir()
    (tmp_path / "images").mkdir()
    (tmp_path / "exists").mkdir()
    pkl = tmp_path / "network.pkl"
    pkl.write_bytes(b"x")
    out = str(tmp_path / "out")
    cases = [
        (["train", "--preset", "Z"], ["--preset 'Z'", "A, B, C, D, E, F"]),
        (["train", "--defaults", "tiny", "--set", "lr_base=inf"], ["--set lr_base=inf", "must be finite"]),
        (["train", "--set", "r1_gamma=nan"], ["--set r1_gamma=nan", "must be finite"]),
        (["train", "--set", "truncation_psi=-inf"], ["truncation_psi=-inf", "must be finite"]),
        (["train", "--set", "lr_base=1e999"], ["lr_base=1e999", "must be finite"]),
        (["train", "--kimg", "inf"], ["total_kimg=inf", "finite number > 0"]),
        (["train", "--set", "fmap_max=wide"], ["--set fmap_max=wide", "expected a value of type int"]),
        (["train", "--set", "colour=3"], ["--set colour", "allowed:"]),
        (["train", "--resolution", "48"], ["resolution=48", "power of two"]),
        (["train", "--set", "mbstd_group_size=3"], ["mbstd_group_size=3", "must divide the minibatch"]),
        (["train", "--set", "mbstd_num_features=3"], ["mbstd_num_features=3", "divisor"]),
        (["train", "--set", "truncation_cutoff=-1"], ["truncation_cutoff=-1", ">= 0"]),
        (["train", "--set", "wgan_target=0"], ["wgan_target=0.0", "> 0"]),
        (["train", "--set", "minibatch_dict={6: 8}"], ["minibatch_dict", "powers of two"]),
        (["train", "--data", "/no/such/folder"], ["/no/such/folder", "does not exist", "prepare"]),
        (["train", "--data", str(tmp_path / "images")], ["not a complete prepared dataset", "dataset.json"]),
        (["train", "--resolution", "512"], ["up to 256px", "--resolution"]),
        (["train", "--strategy", "multiworker", "--out", out], ["TF_CONFIG"]),
        (["train", "--out", a_file], ["is an existing file"]),
        (["generate", "--model", "/no/such/G.keras"], ["/no/such/G.keras does not exist"]),
        (["generate", "--model", garbage], ["garbage.keras is not a .keras file", "damaged"]),
        (["generate", "--model", D], ["D.keras holds a stylegan_tf>Discriminator", "not a stylegan_tf Generator"]),
        (["generate", "--model", foreign], ["other.keras holds a keras>Sequential"]),
        (["generate", "--run", str(tmp_path / "empty_run")], ["no .keras generator in"]),
        (["generate", "--model", "Q"], ["no shipped model named 'Q'", "A, B, C, D, E, F"]),
        (["generate", "--file", "/no/such/G.keras"], ["/no/such/G.keras does not exist"]),
        (["generate", "--file", D], ["D.keras holds a stylegan_tf>Discriminator"]),
        (["generate", "--model", G, "--psi", "nan"], ["--psi nan", "must be finite"]),
        (["generate", "--model", G, "--cutoff", "-2"], ["--cutoff -2", ">= 0"]),
        (["generate", "--model", G, "--out", a_file], ["is an existing file"]),
        (["metrics", "/no/such/run"], ["/no/such/run does not exist"]),
        (["metrics", G, "--num-images", "1"], ["--num-images must be >= 2"]),
        (["metrics", garbage], ["not a .keras file"]),
        (["export", garbage, out], ["not a .keras file"]),
        (["export", "/no/such/G.keras", out], ["does not exist"]),
        (["export", G, a_file], ["is an existing file"]),
        (["convert", "/no/such/network.pkl", out], ["is not a file", "official network pickle"]),
        (["convert", str(pkl), str(tmp_path / "exists")], ["already exists", "--overwrite"]),
        (["prepare", "/no/such/images", out, "--resolution", "32"], ["source /no/such/images does not exist"]),
        (["prepare", str(tmp_path / "images"), out, "--resolution", "48"], ["--resolution 48", "power of two"]),
        (["prepare", str(tmp_path / "images"), a_file, "--resolution", "32"], ["is an existing file"]),
        (["configs", "Z"], ["unknown preset 'Z'"]),
    ]
    argparse_cases = [  # argparse's own errors: a usage line, then the error
        (["train", "--no-such-option"], "unrecognized arguments: --no-such-option"),
        (["generate", "--model", G, "--psis", "1,inf"], "invalid parse_floats value: '1,inf'"),
        (["generate", "--model", G, "--seeds", "0-99999999999"], "invalid parse_seeds value"),
    ]
    results = _run_all([argv for argv, _ in cases + argparse_cases], cwd=tmp_path)
    for (argv, needle), r in zip(argparse_cases, results[len(cases):]):
        assert r["rc"] == 2 and needle in r["err"] and not r["tensorflow"], (argv, r)
    for (argv, needles), r in zip(cases, results):
        lines = r["err"].strip().splitlines()
        assert r["rc"] == 2 and len(lines) == 1, (argv, r)
        assert lines[0].startswith(f"python -m stylegan_tf {argv[0]}: error: "), (argv, lines)
        for needle in needles:
            assert needle in lines[0], (argv, needle, lines[0])
        assert not r["tensorflow"], f"{argv}: TensorFlow was imported before the error"


def test_dry_run_and_help_need_no_tensorflow(tmp_path):
    results = _run_all([["train", "--defaults", "tiny", "--set", "lr_base=0.01", "--dry-run"]], cwd=tmp_path)
    assert results[0]["rc"] == 0 and not results[0]["tensorflow"] and not results[0]["err"]


@pytest.mark.parametrize("argv, needles", [
    (["--set", "lr_base=inf"], ["--set lr_base=inf: the value must be finite"]),
    (["--set", "lr_base=nan"], ["--set lr_base=nan: the value must be finite"]),
])
def test_set_inf_names_finiteness_in_process(capsys, argv, needles):
    from stylegan_tf import cli

    assert cli.main(["train", *argv, "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(n in err[0] for n in needles), err


def test_pretrained_install_of_a_missing_run_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "stylegan_tf.pretrained", "install", str(tmp_path / "nothing"), "F"],
                          capture_output=True, text=True, timeout=600)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("python -m stylegan_tf.pretrained install: error: ") and "G_ema.keras is missing" in lines[0]
