"""Exact resume: a run stopped at any checkpoint and resumed ends with the same bits as one never stopped.

Exactness holds by construction on one machine (same ops in the same order on the same inputs), so
these tests assert bit-identity, not closeness: the reals are a function of (seed, images shown)
(`make_dataset(start_nimg=...)`), the step's random draws a function of (seed, step), and the
checkpoint holds every variable (weights, Adam, counters, RNG states). The SIGKILL version, at
random moments of a real `python -m stylegan_tf train` process, is the slow test at the bottom and
benchmarks/fault_campaign.py.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from stylegan_tf import preset
from stylegan_tf.data import pipeline
from stylegan_tf.training.checkpoint import Checkpointer, checkpoint_name, flatten_objects, list_checkpoints
from stylegan_tf.training.trainer import Trainer

N = 6  # images in the dataset: epochs end in the middle of batches of 4
# 4 -> 8 px, batch 4: res 4 for images 0-8, fade-in to 8 for 8-16, then 8 stable; a checkpoint every step
CFG = preset("F", "tiny", data=f"synthetic-faces:{N}", total_kimg=0.024, checkpoint_kimg=0.004,
             keep_checkpoints=10, seed=5)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("data")
    mp.setenv("STYLEGAN_TF_DATA_DIR", str(path))
    yield path
    mp.undo()


def _batches(ds, k):
    return [x.numpy() for x, _ in zip(ds, range(k))]


def test_stream_from_any_position_equals_the_uninterrupted_stream(data_dir):
    whole = np.concatenate(_batches(pipeline.make_dataset(f"synthetic-faces:{N}", 8, 2, seed=3), 12))  # 4 epochs
    for start in (2, 6, 10, 14):  # in an epoch, at its end, across epochs
        later = np.concatenate(_batches(pipeline.make_dataset(f"synthetic-faces:{N}", 8, 2, seed=3, start_nimg=start),
                                        (24 - start) // 2))
        np.testing.assert_array_equal(later, whole[start:])
    epochs = whole.reshape(4, N, -1)
    assert not np.array_equal(epochs[0], epochs[1])  # each epoch its own order (and flips)


def _state(trainer):
    return {k: v.numpy() for k, v in flatten_objects(trainer.checkpoint_objects()).items()}


@pytest.fixture(scope="module")
def straight(data_dir, tmp_path_factory):
    """An uninterrupted run to 24 images; its checkpoints are what a run killed after them left."""
    run = tmp_path_factory.mktemp("run")
    t = Trainer(CFG, checkpointer=Checkpointer(str(run), keep=CFG.keep_checkpoints))
    t.train(progress=False)
    return run, _state(t)


@pytest.mark.parametrize("stop_nimg", [4, 8], ids=["mid-phase-then-across-a-resolution-change", "at-the-resolution-change"])
def test_resumed_run_ends_bit_identical(straight, stop_nimg):
    run, final = straight
    path = os.path.join(run, "checkpoints", checkpoint_name(stop_nimg))
    resumed = Trainer(CFG)
    Checkpointer(str(run), keep=CFG.keep_checkpoints).restore(resumed, path)
    assert int(resumed.cur_nimg.numpy()) == stop_nimg
    resumed.train(progress=False)
    got = _state(resumed)
    assert set(got) == set(final) and int(got["state/cur_nimg"]) == 24
    differ = [k for k in final if not np.array_equal(got[k], final[k])]
    assert not differ, f"{len(differ)} variables differ after resuming at {stop_nimg}, e.g. {differ[:3]}"


# -- SIGKILL at a random moment of a real process (slow) ----------------------------------------------------
TINY_CLI = ["--preset", "F", "--defaults", "tiny", "--seed", "5", "--data", "synthetic-faces:6", "--kimg", "0.048",
            "--set", "checkpoint_kimg=0.004", "--set", "keep_checkpoints=2", "--no-progress"]


def _train(out, env, *extra):
    return [sys.executable, "-m", "stylegan_tf", "train", "--out", str(out), *TINY_CLI, *extra]


def _weights(out):
    import keras

    import stylegan_tf  # noqa: F401 - registers the layers

    return [v.numpy() for v in keras.models.load_model(os.path.join(out, "G_ema.keras")).weights]


@pytest.mark.slow
def test_sigkill_anywhere_then_resume_is_bit_identical(tmp_path):
    env = {**os.environ, "STYLEGAN_TF_DATA_DIR": str(tmp_path / "data"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    ref = tmp_path / "ref"
    assert subprocess.run(_train(ref, env), env=env, capture_output=True, timeout=600).returncode == 0
    expected = _weights(ref)
    rng = np.random.default_rng(0)
    for trial in range(3):
        out = tmp_path / f"run{trial}"
        proc = subprocess.Popen(_train(out, env), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not list_checkpoints(str(out)) and proc.poll() is None:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.0))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        done = subprocess.run(_train(out, env, "--resume"), env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        for a, b in zip(_weights(out), expected):
            np.testing.assert_array_equal(a, b)
