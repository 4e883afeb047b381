"""The trainer under MirroredStrategy (2 logical CPUs) and MultiWorkerMirroredStrategy (2 processes)."""

import dataclasses
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf.training.trainer import Trainer
from test_trainer import CFG, START_NIMG, random_reals, values

# Exact agreement with one device needs the same minibatch-stddev groups: they are formed within
# a replica (as in the official multi-GPU code), so groups of 1 here.
MATCH_CFG = dataclasses.replace(CFG, mbstd_group_size=1)
WORKER = os.path.join(os.path.dirname(__file__), "multiworker_worker.py")


@pytest.fixture(scope="module")
def mirrored():
    """One MirroredStrategy per module (a second one in a process breaks collectives, a TensorFlow limitation)."""
    strategy = tf.distribute.MirroredStrategy()
    assert strategy.num_replicas_in_sync == 2, "conftest splits the CPU into 2 logical devices"
    return strategy


def replica_values(variable):
    return [v.numpy() for v in variable.value.values]


def test_mirrored_replicas_agree_and_match_one_device(mirrored):
    runs = {}
    for name, strategy in (("single", None), ("mirrored", mirrored)):
        t = Trainer(MATCH_CFG, strategy=strategy, dataset_fn=random_reals)
        # The official constant input starts as ones: the first instance norm then divides a zero
        # spatial variance by sqrt(1e-8), amplifying float round-off 1e4 times in G's gradients.
        # A random constant makes the comparison well-conditioned (and changes nothing else).
        const = np.random.default_rng(0).normal(size=t.G.synthesis.const.shape).astype(np.float32)
        t.G.synthesis.const.assign(const)
        t.G_ema.synthesis.const.assign(const)
        t.cur_nimg.assign(START_NIMG)
        t.train(total_kimg=(START_NIMG + 12) / 1000, progress=False)  # 3 steps of global batch 4, lod 0.75 -> 0
        runs[name] = t
    single, multi = runs["single"], runs["mirrored"]
    assert int(multi.cur_nimg.numpy()) == int(single.cur_nimg.numpy()) == START_NIMG + 12

    # both replicas hold bit-identical copies of every variable
    for name in ("G", "D", "G_ema", "G_opt", "D_opt"):
        for v in multi.checkpoint_objects()[name].values():
            a, b = replica_values(v)
            np.testing.assert_array_equal(a, b, err_msg=v.path)

    # ... equal to the single-device run with the same global batch and seed
    for key in ("G_loss", "D_loss", "R1"):
        assert multi.last_stats[key] == pytest.approx(single.last_stats[key], rel=1e-4)
    for name in ("G", "D", "G_ema", "G_opt", "D_opt"):
        a, b = values(single.checkpoint_objects()[name].values()), values(multi.checkpoint_objects()[name].values())
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=2e-5, err_msg=name)


@pytest.mark.slow
def test_xla_step_runs_under_mirrored(mirrored):
    # XLA compiles only each replica's math; a whole-function jit_compile would fail here (variables
    # on the other device). On this CPU XLA is slower than plain tf.function: it is for GPUs.
    cfg = dataclasses.replace(CFG, xla=True, lod_initial_resolution=8)
    t = Trainer(cfg, strategy=mirrored, dataset_fn=random_reals)
    t.train(total_kimg=0.004, progress=False)
    assert int(t.cur_nimg.numpy()) == 4 and int(t.skipped.numpy()) == 0
    assert all(np.isfinite(t.last_stats[k]) for k in ("G_loss", "D_loss", "R1"))
    for v in [*t.checkpoint_objects()["G"].values(), *t.checkpoint_objects()["D"].values()]:
        a, b = replica_values(v)
        np.testing.assert_array_equal(a, b, err_msg=v.path)


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_multiworker_two_processes_end_with_identical_weights(tmp_path):
    workers = [f"127.0.0.1:{p}" for p in free_ports(2)]
    procs, outs = [], []
    for i in range(2):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="",
                   TF_CONFIG=json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}}))
        outs.append(str(tmp_path / f"worker{i}.npz"))
        procs.append(subprocess.Popen([sys.executable, WORKER, outs[-1]], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=300)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log[-3000:]
    a, b = np.load(outs[0]), np.load(outs[1])
    assert sorted(a.files) == sorted(b.files) and int(a["state/cur_nimg"]) == 12 and int(a["state/step"]) == 3
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert np.isfinite(a["G_loss"])
