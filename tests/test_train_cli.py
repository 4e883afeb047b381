"""`python -m stylegan_tf train`: config resolution, one-line errors, the run folder, and surviving SIGKILL."""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from stylegan_tf import SCALES, StyleGANConfig, cli, preset
from stylegan_tf.training.checkpoint import list_checkpoints
from stylegan_tf.training.run_log import RunLog, sample_grid
from stylegan_tf.training.schedule import phase_at

# A model small enough to train for real in a test: 8x8, 16 channels, batches of 8, a checkpoint every 8 steps.
TINY = [
    "data=synthetic-faces:64", "resolution=8", "fmap_base=32", "fmap_max=16", "z_dim=16", "w_dim=16",
    "mapping_layers=2", "minibatch_base=8", "minibatch_dict={}", "tick_kimg=0.064", "checkpoint_kimg=0.064",
    "keep_checkpoints=2", "ema_kimg=0.1",
]


def _sets(pairs):
    return [a for p in pairs for a in ("--set", p)]


def _one_line_error(capsys, argv, *needles):
    assert cli.main(["train", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m stylegan_tf train: error: "), err
    assert "Traceback" not in err[0]
    for needle in needles:
        assert needle in err[0], err[0]
    return err[0]


# -- config resolution ---------------------------------------------------------------------------
def test_dry_run_prints_resolved_config(capsys):
    argv = ["train", "--preset", "E", "--resolution", "64", "--kimg", "12", "--seed", "7", "--xla",
            "--set", "fmap_max=64", "--set", "minibatch_dict={8: 16}", "--dry-run"]
    assert cli.main(argv) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["style_mixing_prob"] == 0.0  # row E
    assert (cfg["resolution"], cfg["total_kimg"], cfg["seed"], cfg["xla"]) == (64, 12.0, 7, True)
    assert cfg["fmap_max"] == 64 and cfg["minibatch_dict"] == {"8": 16}  # --set wins over the demo defaults
    assert cfg["fmap_base"] == SCALES["demo"]["fmap_base"] and cfg["lod_training_kimg"] == SCALES["demo"]["lod_training_kimg"]


def test_bare_command_uses_demo_defaults_and_official_is_available(capsys):
    assert cli.main(["train", "--dry-run"]) == 0
    demo = json.loads(capsys.readouterr().out)
    assert demo["data"] == "synthetic-faces" and demo["style_mixing_prob"] == 0.9  # preset F, embedded data
    assert {k: demo[k] for k in ("resolution", "fmap_max", "total_kimg")} == {
        k: SCALES["demo"][k] for k in ("resolution", "fmap_max", "total_kimg")}
    assert cli.main(["train", "--defaults", "official", "--resolution", "256", "--dry-run"]) == 0
    official = json.loads(capsys.readouterr().out)
    assert official == json.loads(preset("F", resolution=256).to_json())  # the NVlabs values otherwise


@pytest.mark.parametrize("argv, needles", [
    (["--preset", "Z"], ["--preset 'Z'", "A, B, C, D, E, F"]),
    (["--set", "colour=3"], ["--set colour", "allowed:", "fmap_max"]),
    (["--set", "fmap_max=wide"], ["--set fmap_max=wide", "int"]),
    (["--set", "fmap_max"], ["expected key=value"]),
    (["--set", "resolution=48"], ["resolution=48", "power of two"]),
    (["--data", "/no/such/folder"], ["/no/such/folder", "synthetic-faces", "prepare"]),
    (["--data", "synthetic-faces:x"], ["synthetic-faces:N"]),
    (["--resolution", "512"], ["up to 256px", "--resolution"]),
    (["--resume", "--out", "/no/such/run"], ["no checkpoint", "without --resume"]),
])
def test_bad_input_gives_one_line_error(capsys, argv, needles):
    _one_line_error(capsys, argv + ["--dry-run"], *needles)


def test_multiworker_without_tf_config_is_a_clear_error(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    _one_line_error(capsys, ["--strategy", "multiworker", "--out", str(tmp_path)], "TF_CONFIG")


# -- run folder ----------------------------------------------------------------------------------
class _StandIn:  # what RunLog reads from the trainer
    def __init__(self, cfg):
        self.cfg, self.cur_nimg, self.skipped = cfg, tf.Variable(0, dtype=tf.int64), 0
        self.calls = []

    def G_ema(self, z, **kwargs):
        self.calls.append(kwargs)
        r = kwargs["resolution"]
        return tf.tanh(tf.reshape(tf.tile(z[:, :1], [1, r * r * 3]), [-1, r, r, 3]))


def test_run_log_writes_config_scalars_and_grids(tmp_path):
    cfg = preset("F", resolution=16, z_dim=16, w_dim=16, total_kimg=1.0, seed=3)
    t = _StandIn(cfg)
    log = RunLog(str(tmp_path), cfg, progress=True)
    assert json.loads((tmp_path / "config.json").read_text()) == json.loads(cfg.to_json())
    for n in (256, 512):
        t.cur_nimg.assign(n)
        log.progress(256)
        log.tick(t, phase_at(n, cfg), {"G_loss": 0.7, "D_loss": tf.constant(1.3), "R1": 0.01, "note": "x"})
    log.close()
    assert t.calls[0] == {"training": False, "truncation_psi": 1.0, "noise_mode": "const", "resolution": 8}
    grids = sorted(glob.glob(str(tmp_path / "samples" / "fakes-*.png")))
    assert len(grids) == 2
    img = np.asarray(Image.open(grids[0]))
    h, w = 4 * 96 + 3 * 2, 8 * 96 + 7 * 2  # 8x4 grid of 8x8 images upscaled to 96 px, 2 px apart, under a title
    assert img.shape[1:] == (w, 3) and h < img.shape[0] < h + 40
    assert np.array_equal(img[-h:], np.asarray(Image.open(grids[1]))[-h:])  # fixed latents: same z every tick
    assert Image.open(grids[0]).text["kimg"] == "0.256" and Image.open(grids[1]).text["kimg"] == "0.512"
    lines = (tmp_path / "log.txt").read_text().splitlines()
    assert len(lines) == 2 and "G_loss 0.700" in lines[1] and "img/s" in lines[1]
    tags = set()
    for path in glob.glob(str(tmp_path / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags |= {v.tag for v in event.summary.value}
    assert {"Loss/G_loss", "Loss/D_loss", "Loss/R1", "Progress/lod", "Progress/lr", "Timing/images_per_sec",
            "Timing/sec_per_kimg", "Progress/skipped_updates"} <= tags


@pytest.mark.parametrize("mode", ["auto", "lines", "bar", "off"])
def test_progress_off_a_terminal_is_a_plain_line_every_few_seconds(tmp_path, capsys, monkeypatch, mode):
    """Captured stderr is not a terminal: a plain line (kimg, img/s, ETA) every PLAIN_SECONDS, no `\\r`
    redraws; STYLEGAN_TF_PROGRESS=bar|lines|off overrides the choice."""
    import types

    from stylegan_tf import progress

    clock = [0.0]
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    if mode == "auto":
        monkeypatch.delenv("STYLEGAN_TF_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("STYLEGAN_TF_PROGRESS", mode)
    cfg = preset("F", "tiny", total_kimg=1.0)
    log = RunLog(str(tmp_path), cfg, progress=True)
    for _ in range(200):  # 200 steps of 5 images, 0.25 s each: 50 s in all
        clock[0] += 0.25
        log.progress(5)
    log.close()
    err = capsys.readouterr().err
    if mode in ("bar", "off"):
        assert ("\r" in err) == (mode == "bar") and (err == "") == (mode == "off")
        return
    lines = err.splitlines()
    assert "\r" not in err and all(line.startswith("train: ") and "img/s, ETA" in line for line in lines), err
    kimg = [line.split()[1] for line in lines]  # every 10 s from the first step (at 0.25 s), and the end
    assert kimg == ["0.205/1.000", "0.405/1.000", "0.605/1.000", "0.805/1.000", "1.000/1.000"], err


def test_sample_grid_upscales_small_images():
    x = np.stack([np.full((8, 8, 3), v, np.float32) for v in (-1.0, 1.0, 0.0)])
    grid = sample_grid(x, grid_w=2)
    assert grid.shape == (64, 64, 3) and grid.dtype == np.uint8  # 2 x 2 cells of 32 px
    assert grid[0, 0, 0] == 0 and grid[0, 63, 0] == 255 and grid[63, 0, 0] == 128  # x * 127.5 + 127.5
    assert sample_grid(np.zeros((3, 64, 64, 3), np.float32), grid_w=2).shape == (128, 128, 3)  # no upscaling


# -- a real run, killed and resumed ---------------------------------------------------------------
def _train_cmd(out, *extra):
    return [sys.executable, "-m", "stylegan_tf", "train", "--out", str(out), "--no-progress", *extra]


def test_sigkill_then_resume_loses_nothing(tmp_path, capsys):
    from stylegan_tf.training.checkpoint import Checkpointer
    from stylegan_tf.training.trainer import Trainer

    env = {**os.environ, "STYLEGAN_TF_DATA_DIR": str(tmp_path / "data"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = tmp_path / "run"
    proc = subprocess.Popen(_train_cmd(out, "--kimg", "20", *_sets(TINY)), env=env,  # far more than it gets to do
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 150
        while len(list_checkpoints(str(out))) < 2 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "training ended before it could be killed:\n" + proc.stdout.read().decode()[-3000:]
        os.kill(proc.pid, signal.SIGKILL)  # no handler, no cleanup: the worst case
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # every kept checkpoint is complete and restores into a fresh trainer
    kept = list_checkpoints(str(out))
    assert 2 <= len(kept) <= 2 + 1  # keep_checkpoints=2 (+1 if killed between rename and prune)
    cfg = StyleGANConfig.from_json((out / "config.json").read_text())
    for path in kept:
        trainer = Trainer(cfg)
        Checkpointer(str(out), keep=2).restore(trainer, path)
        saved = json.loads(open(os.path.join(path, "state.json")).read())["cur_nimg"]
        assert int(trainer.cur_nimg.numpy()) == saved > 0
    last_nimg = saved

    # resuming with a contradicting config is refused, naming the field, before anything is touched
    assert cli.main(["train", "--resume", "--out", str(out), "--set", "fmap_max=8", "--set", "total_kimg=9.0"]) == 2
    err = capsys.readouterr().err
    assert "fmap_max: checkpoint 16, now 8" in err and "total_kimg" not in err.split("field(s):")[1].split(".")[0]
    assert list_checkpoints(str(out)) == kept

    # --resume continues from the last checkpoint's image count and finishes the run (shortened: total_kimg
    # may change on resume)
    total = (last_nimg + 128) / 1000
    done = subprocess.run(_train_cmd(out, "--resume", "--kimg", str(total)), env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"at {last_nimg / 1000:.3f} kimg" in done.stdout
    ticks = [float(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("kimg ")]
    assert ticks and ticks[0] > last_nimg / 1000 and ticks[-1] >= total - 1e-3  # after the checkpoint, up to the end
    final = list_checkpoints(str(out))
    assert len(final) == 2 and json.loads(open(os.path.join(final[-1], "state.json")).read())["cur_nimg"] == last_nimg + 128
    assert not [n for n in os.listdir(out / "checkpoints") if n.startswith(".tmp-")]
    import keras

    G = keras.models.load_model(out / "G_ema.keras")
    assert G(tf.zeros([2, 16]), truncation_psi=1.0).shape == (2, 8, 8, 3)
    assert len(glob.glob(str(out / "samples" / "fakes-*.png"))) >= 4


# -- user errors: one line, exit 2, before TensorFlow does any work ------------------------------------
@pytest.mark.parametrize("argv, needles", [
    (["--kimg", "inf"], ["total_kimg=inf", "finite number > 0"]),
    (["--kimg", "nan"], ["total_kimg=nan", "finite number > 0"]),
    (["--kimg", "-1"], ["total_kimg=-1.0", "> 0"]),
    (["--kimg", "0"], ["total_kimg=0.0", "> 0"]),
    (["--set", "mbstd_group_size=3"], ["mbstd_group_size=3", "must divide the minibatch of each replica"]),
    (["--set", "keep_checkpoints=0"], ["keep_checkpoints=0", "positive integer"]),
    (["--set", "minibatch_dict={8: 0}"], ["minibatch_dict", "positive integer"]),
])
def test_bad_numbers_are_one_line_errors(capsys, argv, needles):
    _one_line_error(capsys, argv + ["--dry-run"], *needles)


def test_data_folder_that_is_not_a_dataset_says_what_is_missing(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    line = _one_line_error(capsys, ["--data", str(tmp_path / "empty"), "--dry-run"], "not a complete prepared dataset",
                           "dataset.json", "prepare")
    assert "no such dataset" not in line


def test_out_that_is_a_file_is_one_line_before_any_work(capsys, tmp_path):
    (tmp_path / "out").write_text("x")
    _one_line_error(capsys, ["--out", str(tmp_path / "out"), *_sets(TINY)], "is an existing file")
    assert (tmp_path / "out").read_text() == "x"


def test_resume_skips_a_damaged_newest_checkpoint_and_names_it(tmp_path, capsys):
    """No state.json in the newest checkpoint: --resume names it once, continues from the one before."""
    out = tmp_path / "run"
    os.environ.setdefault("STYLEGAN_TF_DATA_DIR", str(tmp_path / "data"))
    assert cli.main(["train", "--out", str(out), "--kimg", "0.016", "--no-progress", *_sets(TINY[:-4]),
                     "--set", "checkpoint_kimg=0.008", "--set", "tick_kimg=0.008", "--set", "keep_checkpoints=3"]) == 0
    kept = list_checkpoints(str(out))
    assert len(kept) == 2
    os.remove(os.path.join(kept[-1], "state.json"))
    capsys.readouterr()
    assert cli.main(["train", "--out", str(out), "--resume", "--kimg", "0.024", "--no-progress"]) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if "damaged" in line]
    assert warnings == [f"warning: checkpoint {kept[-1]} is damaged (state.json is missing); trying the one before"]
    assert "Traceback" not in captured.err
    assert f"resumed from {kept[0]} at 0.008 kimg" in captured.out
    assert os.path.isdir(kept[-1] + ".damaged")
    assert json.loads(open(os.path.join(list_checkpoints(str(out))[-1], "state.json")).read())["cur_nimg"] == 24


def test_resume_in_a_run_without_a_checkpoint_starts_from_the_beginning(tmp_path, capsys, monkeypatch):
    """Killed during its first checkpoint write, a run has config.json and a temporary folder, no checkpoint:
    --resume starts it again from 0 with its config and a note (as Keras' BackupAndRestore does)."""
    monkeypatch.setenv("STYLEGAN_TF_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "run"
    (out / "checkpoints" / ".tmp-ckpt-000000.008kimg-4242").mkdir(parents=True)
    cfg = preset("F", "tiny", data="synthetic-faces:8", seed=9, total_kimg=0.008, checkpoint_kimg=0.008,
                 tick_kimg=0.008)
    (out / "config.json").write_text(cfg.to_json())
    assert cli.main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert f"note: --resume: {out} holds no checkpoint yet; training starts from the beginning with its config.json" \
        in captured.err and "resumed from" not in captured.out
    assert json.loads((out / "config.json").read_text())["seed"] == 9  # the run's own config, not the defaults
    assert [os.path.basename(p) for p in list_checkpoints(str(out))] == ["ckpt-000000.008kimg"]
    assert not [n for n in os.listdir(out / "checkpoints") if n.startswith(".tmp-")]


def test_a_failed_write_before_any_checkpoint_does_not_suggest_resume(tmp_path, capsys, monkeypatch):
    import errno

    import stylegan_tf.cli.train as train_cli

    def full_disk(args, cfg, latest=None):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "log.txt"))

    monkeypatch.setattr(train_cli, "_train", full_disk)
    line = _one_line_error(capsys, ["--out", str(tmp_path / "run"), *_sets(TINY)], "(no space left on device)",
                           "no checkpoint was written yet", "start the run again")
    assert "--resume" not in line and "intact" not in line


def test_updates_that_overflow_are_rolled_back_and_a_run_of_them_stops_training(tmp_path, monkeypatch):
    """An Inf learning rate makes every update Inf although every gradient is finite: none is applied
    (weights and Adam state roll back), and the run stops with TrainingDiverged after max_consecutive_skips
    steps, its last checkpoint finite. (Config validation refuses such rates; the schedule is patched here.)"""
    import dataclasses

    from stylegan_tf.training.checkpoint import Checkpointer
    from stylegan_tf.training.trainer import Trainer, TrainingDiverged

    monkeypatch.setenv("STYLEGAN_TF_DATA_DIR", str(tmp_path / "data"))
    cfg = preset("F", "tiny", data="synthetic-faces:8", checkpoint_kimg=0.008)
    t = Trainer(cfg, checkpointer=Checkpointer(str(tmp_path)), max_consecutive_skips=4)
    before = [v.numpy().copy() for v in t.G.trainable_weights + t.D.trainable_weights]
    phase = t.phase
    monkeypatch.setattr(t, "phase", lambda nimg=None: dataclasses.replace(phase(nimg), lr=float("inf")))
    with pytest.raises(TrainingDiverged, match=r"last 4 steps were all skipped.*last good checkpoint.*lower the"):
        t.train(progress=False)
    assert int(t.step.numpy()) == 4 and int(t.skipped.numpy()) >= 4  # D rolled back; G skipped or rolled back
    for a, b in zip([v.numpy() for v in t.G.trainable_weights + t.D.trainable_weights], before):
        np.testing.assert_array_equal(a, b)  # nothing applied
    assert all(int(v.numpy()) == 0 for v in (t.G_opt.iterations, t.D_opt.iterations))
    fresh = Trainer(cfg)
    Checkpointer(str(tmp_path)).restore(fresh, list_checkpoints(str(tmp_path))[-1])  # checks values are finite
    # a run shorter than max_consecutive_skips whose every update was skipped is not a success either
    t.max_consecutive_skips = 20
    with pytest.raises(TrainingDiverged, match=r"last 2 steps were all skipped"):
        t.train(total_kimg=(int(t.cur_nimg.numpy()) + 8) / 1000, progress=False)


@pytest.mark.parametrize("flag", ["--set lr_base=1e39", "--set lr_base=1e999"])
def test_learning_rates_that_are_inf_in_float32_are_refused(capsys, flag):
    _one_line_error(capsys, [*flag.split(), "--dry-run"], "lr_base")


def test_a_small_dataset_trains_but_warns_once(tmp_path, capsys):
    import stylegan_tf.cli.train as train_cli

    cfg = preset("F", "tiny", data="synthetic-faces:64")
    train_cli.check_data(cfg)
    assert "warning" not in capsys.readouterr().err  # checking is silent: an error after it stays one line
    train_cli.warn_if_few_images(cfg)
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "holds only 64 images" in err and "Training continues" in err
    train_cli.warn_if_few_images(preset("F", "tiny", data="synthetic-faces"))  # 10,000 images: no warning
    assert "warning" not in capsys.readouterr().err


def test_eta_weighs_the_images_left_by_their_resolution(tmp_path, monkeypatch):
    from stylegan_tf.training import run_log

    cfg = preset("F", "demo", z_dim=16, w_dim=16, total_kimg=60)  # the shipped models' length
    clock = [1000.0]
    monkeypatch.setattr(run_log.time, "time", lambda: clock[0])
    log = RunLog(str(tmp_path), cfg, progress=False)
    assert log.eta(0.0) == "?"  # no rate measured yet
    t = _StandIn(cfg)
    t.cur_nimg.assign(2000)
    clock[0] += 5.6  # 2 kimg at 8 px in 5.6 s: 2.8 s/kimg, as the demo measured
    log.tick(t, phase_at(2000, cfg), {"G_loss": 0.7})
    assert log.eta(2.0).startswith("~")  # one resolution measured, larger ones to come: the cost model's guess
    h, m, s = (int(x) for x in log.eta(2.0)[1:].replace("h", " ").replace("m", " ").rstrip("s").split())
    eta = 3600 * h + 60 * m + s
    naive = 58 * 2.8  # images/s extrapolation: 162 s; 60 kimg took 4.5 to 7.5 minutes on our machines
    assert 2.5 * naive < eta < 5 * naive
    assert "eta ~0h" in log.lines[-1]


def test_mbstd_group_is_checked_against_each_replicas_batch():
    from stylegan_tf.config import check_mbstd_groups

    cfg = preset("F", "tiny", minibatch_base=12)  # group 4
    check_mbstd_groups(cfg, 1)  # 12: groups of 4
    check_mbstd_groups(cfg, 4)  # 3 per replica: one group of 3
    with pytest.raises(ValueError, match=r"at 4px that is 6 \(12 over 2 replica\(s\)\)"):
        check_mbstd_groups(cfg, 2)  # 6 per replica: groups of 4 do not fit
