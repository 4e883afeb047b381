"""The training ETA (run_log.EtaModel): trace time is measured apart and never extrapolated.

A synthetic run of the bare command's schedule (8 -> 16 -> 32 px, a tick every 2 kimg, 120 kimg) is fed to
the model as the trainer feeds it: a first step at each new resolution (pipeline, trace, compile), then steady
ticks. The truth is the synthetic run's own remaining time, so the ETA's error is known exactly.
"""

import math

import numpy as np
import pytest

from stylegan_tf import preset
from stylegan_tf.training.run_log import EtaModel, RunLog, _hms
from stylegan_tf.training.schedule import image_cost, phase_at, remaining_cost

CFG = preset("F", "demo")  # the bare command: 10 + 10 kimg per resolution from 8 px, 120 kimg, ticks of 2 kimg
BATCH = CFG.minibatch_base


def _run(sec_per_kimg, trace_sec, noise=0.0, seed=0):
    """The synthetic run: [(kimg, resolution, time at the tick)] and the first steps [(time, nimg, seconds, res)].

    Step by step as the trainer goes (the phase is read before each step): sec_per_kimg {resolution: steady
    seconds per kimg}; trace_sec {resolution: seconds of its first step}; noise: each tick's pace is multiplied
    by a uniform draw in [1 - noise, 1 + noise].
    """
    rng = np.random.default_rng(seed)
    t, nimg, res, ticks, firsts = 0.0, 0, None, [], []
    tick, total = int(CFG.tick_kimg * 1000), int(CFG.total_kimg * 1000)
    factor = rng.uniform(1 - noise, 1 + noise)
    while nimg < total:
        phase = phase_at(nimg, CFG)
        if phase.resolution != res:  # the trainer's first step at a new resolution
            res = phase.resolution
            firsts.append((t, nimg, trace_sec[res], res))
            t += trace_sec[res]
        else:
            t += BATCH / 1000 * sec_per_kimg[res] * factor
        nimg += BATCH
        if nimg % tick == 0 or nimg >= total:
            ticks.append((nimg / 1000, res, t))
            factor = rng.uniform(1 - noise, 1 + noise)
    return ticks, firsts


def _etas(ticks, firsts):
    """[(kimg, predicted seconds left, true seconds left)] at every tick."""
    model = EtaModel(CFG)
    model.start(0.0, 0)
    pending = list(firsts)
    out = []
    end = ticks[-1][2]
    for kimg, res, t in ticks:
        while pending and pending[0][1] < kimg * 1000:
            t0, nimg, seconds, r = pending.pop(0)
            model.first_step(t0, t0 + seconds, nimg, BATCH, r)
        model.tick(t, int(round(kimg * 1000)), res)
        out.append((kimg, model.seconds_left(kimg), end - t))
    return out


def _old_eta(ticks):
    """The ETA before issue 25: the last tick's seconds per modelled cost, trace included, times the cost left."""
    out, prev_k, prev_t = [], 0.0, 0.0
    for kimg, _, t in ticks:
        out.append((kimg, (t - prev_t) / remaining_cost(CFG, prev_k, kimg) * remaining_cost(CFG, kimg)))
        prev_k, prev_t = kimg, t
    return out


# an idle machine where the cost model is right: seconds per kimg in proportion to image_cost
IDLE = ({r: 2.0 * image_cost(CFG, r) / image_cost(CFG, 8) for r in (8, 16, 32)}, {8: 12.0, 16: 9.0, 32: 10.0})
# the loaded AVX2 machine of /work/exp/bare_avx2 (load 15-21): its steady paces and first steps (27, 10, 177 s),
# the larger resolutions 2.0-2.4 times dearer per modelled unit than the model says
LOADED = ({8: 2.5, 16: 15.8, 32: 50.5}, {8: 27.0, 16: 10.0, 32: 177.0})


def test_where_the_cost_model_holds_the_eta_is_within_10_percent_from_the_first_tick():
    ticks, firsts = _run(*IDLE, noise=0.05)
    etas = _etas(ticks, firsts)
    for kimg, eta, truth in etas[:-1]:
        assert abs(eta - truth) <= 0.10 * truth + 2.0, (kimg, _hms(eta), _hms(truth))
    # the old ETA extrapolated each tick's trace: 2 kimg and 32 kimg (a first step in the tick) much too long
    old = dict(_old_eta(ticks))
    truth = {k: tr for k, _, tr in etas}
    assert old[2.0] > 1.5 * truth[2.0] and old[32.0] > 1.2 * truth[32.0]


@pytest.mark.parametrize("machine", [IDLE, LOADED], ids=["idle", "loaded"])
def test_a_first_step_is_never_extrapolated(machine):
    """The same run with and without its first steps' time: the ETAs differ by the traces still to come only."""
    paces, traces = machine
    with_traces = _etas(*_run(paces, traces, noise=0.10, seed=2))
    instant = _etas(*_run(paces, {r: 1e-6 for r in traces}, noise=0.10, seed=2))
    seen = []
    for (kimg, eta, _), (_, eta0, _) in zip(with_traces, instant):
        seen += [r for r in traces if r == phase_at(int(kimg * 1000) - 1, CFG).resolution and r not in seen]
        to_come = sum(1 for r in traces if r not in seen)
        allowance = to_come * sum(traces[r] for r in seen) / len(seen)  # the mean of those measured, each
        assert eta - eta0 == pytest.approx(allowance, rel=1e-6, abs=1e-3), kimg


def test_on_a_loaded_machine_the_measured_growth_is_extrapolated():
    """The paces of the loaded AVX2 run: 8 -> 16 px costs 2.7 times more per modelled unit than the model says,
    16 -> 32 px 2.0 times. Stated bounds: the cost model's guess at the first ticks (too short by its own error),
    within -30 % / +45 % once two resolutions ran (the growth of 8 -> 16 is extrapolated to 32), within 15 % once
    all have."""
    ticks, firsts = _run(*LOADED, noise=0.10, seed=1)
    etas = _etas(ticks, firsts)
    for kimg, eta, truth in etas[:-1]:
        assert eta <= 1.45 * truth, (kimg, _hms(eta), _hms(truth))
        if kimg >= 12:
            assert eta >= 0.70 * truth, (kimg, _hms(eta), _hms(truth))
        if kimg >= 32:
            assert abs(eta - truth) <= 0.15 * truth + 2.0, (kimg, _hms(eta), _hms(truth))
    first = etas[0]
    assert 0.15 * first[2] < first[1] < 0.5 * first[2]  # 2 kimg: the cost model alone, about a quarter
    by_kimg = {k: eta for k, eta, _ in etas}
    old = dict(_old_eta(ticks))
    assert old[32.0] > 2.0 * by_kimg[32.0]  # the old ETA at the 32 px trace tick (3 h 20 min for 1 h 14 in the log)


def test_traces_still_to_come_and_metric_evaluations_are_added():
    model = EtaModel(CFG)
    model.start(0.0, 0)
    model.first_step(0.0, 30.0, 0, BATCH, 8)  # 30 s first step at 8 px
    model.tick(30.0 + 1984 / 1000 * 2.0, 2000, 8)  # then 2 s per kimg
    rate = 2.0 / 1000 / image_cost(CFG, 8)
    expected = rate * remaining_cost(CFG, 2.0) + 2 * 30.0  # 16 and 32 px still to trace, like the one seen
    assert model.seconds_left(2.0) == pytest.approx(expected, rel=1e-9)
    model.metrics(12.0)  # a metric evaluation inside the next stretch: not training time
    model.tick(30.0 + 1984 / 1000 * 2.0 + 4.0 + 12.0, 4000, 8)
    assert model.seconds_per_cost()[8] == pytest.approx(rate, rel=1e-9)  # unchanged by the evaluation
    assert model.seconds_left(4.0) == pytest.approx(rate * remaining_cost(CFG, 4.0) + 60.0, rel=1e-9)
    with_metrics = preset("F", "demo", metrics=("swd",), metrics_kimg=10.0)
    model.cfg = with_metrics  # evaluations at 10, 20, ..., 110 and at the end: 12 of 12 s
    assert model.seconds_left(4.0) == pytest.approx(rate * remaining_cost(CFG, 4.0) + 60.0 + 12 * 12.0, rel=1e-9)
    assert model.seconds_left(120.0) == 0.0 and EtaModel(CFG).seconds_left(0.0) is None


def test_growth_is_the_last_two_resolutions_ratio_per_doubling_clipped():
    model = EtaModel(CFG)
    model.rates = {8: [1.0, 1.0], 16: [3.0, 1.0]}
    assert model.growth() == pytest.approx(3.0)
    model.rates = {8: [1.0, 1.0], 32: [9.0, 1.0]}  # two doublings: 3 per doubling
    assert model.growth() == pytest.approx(3.0)
    model.rates = {8: [1.0, 1.0], 16: [100.0, 1.0]}
    assert model.growth() == EtaModel.MAX_GROWTH
    model.rates = {16: [1.0, 1.0]}
    assert model.growth() == 1.0
    assert model.guessing(20.0)  # 32 px still to come, and only 16 px measured
    model.rates = {32: [1.0, 1.0]}
    assert not model.guessing(40.0)  # resumed at the last resolution: nothing larger to come
    model.rates = {8: [1.0, 1.0], 16: [3.0, 1.0]}
    assert not model.guessing(20.0)  # the growth is measured


class _StandIn:  # what RunLog reads from the trainer
    def __init__(self, cfg):
        import tensorflow as tf

        self.cfg, self.cur_nimg, self.skipped = cfg, tf.Variable(0, dtype=tf.int64), 0

    def G_ema(self, z, **kwargs):
        import tensorflow as tf

        r = kwargs["resolution"]
        return tf.tanh(tf.reshape(tf.tile(z[:, :1], [1, r * r * 3]), [-1, r, r, 3]))


def test_run_log_keeps_the_first_step_out_of_the_rate_and_names_it_in_the_tick_line(tmp_path, monkeypatch):
    from stylegan_tf.training import run_log

    clock = [1000.0]
    monkeypatch.setattr(run_log.time, "time", lambda: clock[0])
    log = RunLog(str(tmp_path), CFG, progress=False)
    assert log.eta(0.0) == "?"
    clock[0] += 40.0  # 40 s: the pipeline, the trace and the first step of 16 images
    log.first_step(8, 40.0, 0, BATCH)
    clock[0] += (2000 - BATCH) / 1000 * 2.5  # then 2.5 s per kimg
    t = _StandIn(CFG)
    t.cur_nimg.assign(2000)
    log.tick(t, phase_at(2000, CFG), {"G_loss": 0.7})
    line = log.lines[-1]
    assert "(first step at 8 px: 40.0 s)" in line
    left = log._eta.seconds_left(2.0)
    expected = 2.5 / 1000 / image_cost(CFG, 8) * remaining_cost(CFG, 2.0) + 2 * 40.0
    assert left == pytest.approx(expected, rel=1e-9) and f"eta ~{_hms(left)}" in line  # ~: 16, 32 px not measured
    naive = (clock[0] - 1000.0) / remaining_cost(CFG, 0, 2.0) * remaining_cost(CFG, 2.0)  # the trace extrapolated
    assert naive > 5 * left


@pytest.mark.slow
def test_the_trainer_reports_each_first_step():
    from stylegan_tf.training.trainer import Trainer

    class Log:
        def __init__(self):
            self.calls = []

        def first_step(self, resolution, seconds, nimg, n_images):
            self.calls.append((resolution, seconds, nimg, n_images))

        def tick(self, *args):
            pass

        def progress(self, n):
            pass

        def close(self):
            pass

    cfg = preset("F", "tiny", data="synthetic-faces:64")  # 4 px up to 8 images (lod 1 there), then 8 px
    log = Log()
    Trainer(cfg, log=log).train(total_kimg=0.016, progress=False)
    assert [(r, nimg, n) for r, _, nimg, n in log.calls] == [(4, 0, 4), (8, 12, 4)]  # the step at 8 is still 4 px
    assert all(seconds > 0 and math.isfinite(seconds) for _, seconds, _, _ in log.calls)


def test_replaying_log_txt_gives_the_eta_the_run_printed(tmp_path, monkeypatch):
    """benchmarks/eta_replay.py reads the tick lines back (first steps included) to the ETA the run showed."""
    import importlib.util
    import os

    from stylegan_tf.training import run_log

    spec = importlib.util.spec_from_file_location(
        "eta_replay", os.path.join(os.path.dirname(__file__), "..", "benchmarks", "eta_replay.py"))
    eta_replay = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(eta_replay)

    cfg = preset("F", "demo", total_kimg=24.0)
    clock = [0.0]
    monkeypatch.setattr(run_log.time, "time", lambda: clock[0])
    log = RunLog(str(tmp_path), cfg, progress=False)
    t, nimg = _StandIn(cfg), 0
    log.write_grid = lambda *a, **k: None  # the pictures are not what this test is about
    for kimg, pace, first in ((2, 25.0, 30.0), (4, 25.0, 0), (10, 25.0, 0), (12, 90.0, 40.0), (14, 90.0, 0)):
        if first:
            clock[0] += first
            log.first_step(phase_at(nimg + 1, cfg).resolution, first, nimg, BATCH)
            nimg += BATCH
        clock[0] += (kimg * 1000 - nimg) / 1000 * pace
        nimg = kimg * 1000
        t.cur_nimg.assign(nimg)
        log.tick(t, phase_at(nimg - 1, cfg), {"G_loss": 0.7})
    rows = eta_replay.read_log(str(tmp_path / "log.txt"))
    assert [r[4] for r in rows] == [30.0, None, None, 40.0, None]
    out, firsts = eta_replay.replay(cfg, rows)
    assert firsts == {8: 30.0, 16: 40.0}
    for (k, _, _, logged, _), (_, _, _, new, guessing) in zip(rows, out):
        h, m, sec = (int(x) for x in logged.lstrip("~").replace("h", " ").replace("m", " ").rstrip("s").split())
        assert logged.startswith("~") == guessing
        assert new == pytest.approx(3600 * h + 60 * m + sec, rel=0.03), (k, logged)  # log.txt keeps whole seconds
    assert rows[0][3].startswith("~") and not rows[3][3].startswith("~")  # two resolutions measured at 12 kimg
