"""The metrics command and metrics during training: table, metrics.jsonl, tick line, TensorBoard, config fields."""

import dataclasses
import glob
import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import preset
from stylegan_tf.cli import main
from stylegan_tf.config import StyleGANConfig, parse_override
from stylegan_tf.networks import build_generator

DATA = "synthetic-faces:64"
CFG = dataclasses.replace(preset("F", "tiny"), data=DATA)  # 8 px, 32 images of training


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder as training leaves it: config.json and G_ema.keras (untrained: enough for plumbing)."""
    path = tmp_path_factory.mktemp("run")
    G = build_generator(CFG, name="G_ema")
    G(tf.zeros([1, CFG.z_dim]))
    G.save(str(path / "G_ema.keras"))
    (path / "config.json").write_text(CFG.to_json())
    return path


def test_list_names_every_registered_metric(capsys):
    assert main(["metrics", "--list"]) == 0
    names = capsys.readouterr().out.split()
    assert {"swd", "fid"} <= set(names) and names == sorted(names)


def test_unknown_metric_is_one_line_error(run_dir, capsys):
    assert main(["metrics", str(run_dir), "--metrics", "swd,nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "nope" in err and "swd" in err


def test_metrics_command_prints_table_and_appends_json_lines(run_dir, capsys):
    argv = ["metrics", str(run_dir), "--metrics", "swd", "--num-images", "16", "--batch-size", "8"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "swd_8" in out and "appended to" in out  # 8 px: one pyramid level
    assert main(argv) == 0  # a second evaluation appends a second line, with the same (seeded) value
    lines = [json.loads(s) for s in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["metric"] for r in lines] == ["swd", "swd"]
    assert lines[0]["data"] == DATA and lines[0]["results"]["num_images"] == 16  # the run's data by default
    assert lines[0]["results"]["swd"] == pytest.approx(lines[1]["results"]["swd"], rel=1e-6)
    assert lines[0]["results"]["swd"] > 0


def test_fid_without_weights_fails_in_one_line_and_the_others_still_run(run_dir, capsys, tmp_path):
    argv = ["metrics", str(run_dir), "--metrics", "fid,swd", "--num-images", "8", "--no-write",
            "--inception-weights", str(tmp_path / "missing.h5")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if "error" in line]  # (the rest: swd's progress bar)
    assert len(errors) == 1 and "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5" in errors[0]
    assert "swd" in captured.out  # swd ran after fid failed


def test_config_fields_and_overrides():
    cfg = CFG
    assert cfg.metrics == () and cfg.metrics_kimg == 10.0 and cfg.metrics_num_images == 0
    assert parse_override(cfg, "metrics=swd,fd_probe") == {"metrics": ("swd", "fd_probe")}
    assert parse_override(cfg, "metrics=['swd']") == {"metrics": ("swd",)}
    with_metrics = dataclasses.replace(cfg, metrics=("swd",), metrics_kimg=2)
    assert with_metrics.metrics_kimg == 2.0
    assert StyleGANConfig.from_json(with_metrics.to_json()) == with_metrics  # JSON list -> tuple
    with pytest.raises(ValueError, match="metrics_kimg"):
        dataclasses.replace(cfg, metrics_kimg=0.0)
    with pytest.raises(ValueError, match="metrics"):
        dataclasses.replace(cfg, metrics=("swd", 3))


def test_training_computes_metrics_into_tick_line_jsonl_and_tensorboard(tmp_path, monkeypatch, capsys):
    from stylegan_tf.training.run_log import RunLog
    from stylegan_tf.training.trainer import Trainer

    monkeypatch.setenv("STYLEGAN_TF_INCEPTION_WEIGHTS", str(tmp_path / "missing.h5"))  # fid fails: no download
    cfg = dataclasses.replace(CFG, metrics=("swd", "fid"), metrics_kimg=0.016, metrics_num_images=8,
                              tick_kimg=0.008)
    log = RunLog(str(tmp_path), cfg, progress=False)
    trainer = Trainer(cfg, out_dir=str(tmp_path), log=log)
    trainer.train(progress=False)  # 32 images: ticks at 8, 16, 24, 32; metrics at 16 and 32 (the end)

    records = [json.loads(s) for s in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [(r["metric"], r["kimg"]) for r in records] == [("swd", 0.016), ("swd", 0.032)]
    assert all(r["results"]["num_images"] == 8 and np.isfinite(r["results"]["swd"]) for r in records)
    lines = (tmp_path / "log.txt").read_text().splitlines()
    assert ["  swd " in line for line in lines] == [False, True, False, True]
    assert f"swd {records[0]['results']['swd']:.4g}" in lines[1]
    assert "warning: metric fid failed at kimg 0.016" in capsys.readouterr().err  # and training went on

    from tensorflow.core.util import event_pb2

    tags = set()
    for path in glob.glob(os.path.join(tmp_path, "events.out.tfevents.*")):
        for raw in tf.data.TFRecordDataset(path):
            tags.update(v.tag for v in event_pb2.Event.FromString(raw.numpy()).summary.value)
    assert {"Metrics/swd", "Metrics/swd_8", "Timing/metric_swd_sec"} <= tags
    assert "Metrics/num_images" not in tags


@pytest.fixture(scope="module")
def factor_result(run_dir, tmp_path_factory):
    """factor_control of the run's (untrained) G_ema, with its heatmap: computed once for the tests below."""
    from stylegan_tf.generation.figures import load_generator
    from stylegan_tf.metrics import calc_metric

    heatmap = tmp_path_factory.mktemp("fc") / "heatmap.png"
    result = calc_metric("factor_control", load_generator(str(run_dir)), DATA, num_images=8, figure=str(heatmap))
    return result, heatmap


def test_factor_control_heatmap_names_its_model(run_dir, factor_result):
    from PIL import Image

    from stylegan_tf import pretrained
    from stylegan_tf.metrics.factor_control import model_label

    _, heatmap = factor_result
    assert Image.open(heatmap).text["Title"] == f"factor control of run {run_dir.name}, 8 images"
    G = build_generator(CFG, name="G_ema")
    assert model_label(G) == "generator G_ema" and model_label(G, "row C") == "row C"
    G.source_file = str(pretrained.MODEL_DIR / "C.keras")
    assert model_label(G) == "shipped model C"
    G.source_file = "/somewhere/G-10kimg.keras"
    assert model_label(G) == "G-10kimg.keras"


def test_factor_control_prints_a_summary_and_everything_with_verbose(run_dir, factor_result, capsys, monkeypatch):
    import stylegan_tf.metrics as metrics

    result, _ = factor_result
    monkeypatch.setattr(metrics, "calc_metric", lambda name, *a, **k: dict(result))  # the metric itself ran above
    argv = ["metrics", str(run_dir), "--metrics", "factor_control", "--no-write"]
    assert main(argv) == 0
    short = capsys.readouterr().out.splitlines()
    assert main(argv + ["--verbose"]) == 0
    full = capsys.readouterr().out.splitlines()
    entries = [k for k in result if re.match(r"(style|noise)\d+/", k)]  # "style3/smiling", "noise0/head_x"
    assert len(entries) > 100  # one per input and factor
    assert sum(1 for line in full if any(f" {k} " in line + " " for k in entries)) == len(entries)
    assert not any(f" {k} " in line + " " for line in short[:-1] for k in entries)  # (the last line: the note)
    groups = [k for k in result if " styles/" in k or k.startswith("noise/")]
    assert groups and all(any(f" {k} " in line + " " for line in short) for k in groups)
    verdict = [line for line in short if line.split()[-2:-1] and " separation " in line + " "]
    assert len(verdict) == 1 and verdict[0].endswith("(pass)" if result["separation"] else "(fail)")
    assert f"({len(entries)} per-input values such as style0/head_x left out: --verbose prints them)" in short[-1]
    assert len(short) < 30 < len(entries) < len(full)
