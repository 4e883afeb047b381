"""The progressive-growing schedule against the official training_schedule (training_loop.py)."""

import math

import numpy as np
import pytest

from stylegan_tf.config import preset
from stylegan_tf.training.schedule import Segment, phase_at, segments

FFHQ = preset("F")  # official: 1024x1024, 600 + 600 kimg, 8-GPU minibatch table


@pytest.mark.parametrize(
    "kimg, lod, resolution",
    [
        (0, 7.0, 8),  # starts at 8x8 (lod_initial_resolution = 8)
        (599.999, 7.0, 8),
        (600, 7.0, 8),  # the fade-in to 16x16 starts here ...
        (600.001, 7.0 - 1 / 600_000, 16),  # ... and from the next image on the networks run at 16
        (900, 6.5, 16),
        (1200, 6.0, 16),
        (1800, 6.0, 16),
        (2100, 5.5, 32),
        (7800, 1.0, 512),
        (8100, 0.5, 1024),
        (8400, 0.0, 1024),
        (25000, 0.0, 1024),
    ],
)
def test_official_ffhq_values(kimg, lod, resolution):
    p = phase_at(int(round(kimg * 1000)), FFHQ)
    assert p.lod == pytest.approx(lod, abs=1e-6)
    assert p.resolution == resolution


def test_fade_in_uses_the_new_resolutions_batch_and_lr():
    stable8, fade16, stable16 = (phase_at(k * 1000, FFHQ) for k in (300, 900, 1500))
    assert (stable8.batch_size, fade16.batch_size, stable16.batch_size) == (256, 128, 128)
    assert phase_at(7_000_000, FFHQ).lr == 0.003  # fading in 512: lr_dict[512]
    assert phase_at(5_000_000, FFHQ).lr == 0.0015  # fading in 128
    assert phase_at(8_400_000, FFHQ).batch_size == FFHQ.minibatch_base  # 1024 not in the 8-GPU dict


def test_lod_monotone_fraction_in_range_and_resolution_doubles_at_boundaries():
    nimgs = np.linspace(0, 10_000_000, 20001).astype(np.int64)
    phases = [phase_at(int(n), FFHQ) for n in nimgs]
    lods = np.array([p.lod for p in phases])
    assert np.all(np.diff(lods) <= 0)  # never goes back up
    assert all(0.0 <= p.fade < 1.0 and 0.0 < p.alpha <= 1.0 for p in phases)
    for p in phases:  # resolution is the one the networks run at, = 2^(L - floor(lod))
        assert p.resolution == 2 ** (FFHQ.resolution_log2 - math.floor(p.lod))
    res = np.array([p.resolution for p in phases])
    changes = np.nonzero(np.diff(res))[0] + 1
    assert np.all(res[changes] == 2 * res[changes - 1])  # only ever doubles
    assert len(changes) == 7  # 8 -> 16 -> ... -> 1024
    for i in range(7):  # it doubles exactly at the start of each fade-in: 600, 1800, 3000, ... kimg
        boundary = 600_000 + 1_200_000 * i
        assert phase_at(boundary + 1, FFHQ).resolution == 2 * phase_at(boundary, FFHQ).resolution
        assert nimgs[changes[i] - 1] <= boundary < nimgs[changes[i]]


def test_tiny_schedule_and_replica_rounding():
    cfg = preset("F", resolution=16, lod_training_kimg=0.008, lod_transition_kimg=0.008,
                 minibatch_base=4, minibatch_dict={8: 6}, mbstd_group_size=2)  # 6 = 3 groups of 2
    assert phase_at(0, cfg).lod == 1.0 and phase_at(0, cfg).resolution == 8
    assert phase_at(12, cfg).lod == pytest.approx(0.5) and phase_at(12, cfg).resolution == 16
    assert phase_at(16, cfg).lod == 0.0 and phase_at(10**6, cfg).lod == 0.0
    assert phase_at(0, cfg, num_replicas=4).batch_size == 4  # 6 rounded down to a multiple of 4
    with pytest.raises(ValueError, match="minibatch"):
        phase_at(0, cfg, num_replicas=8)


def test_lod_bounds_change_exactly_at_stable_and_fade_starts():
    p = [phase_at(k * 1000, FFHQ) for k in (0, 599, 600, 601, 1199, 1200)]
    assert [q.lod_bounds for q in p] == [(7, 7), (7, 7), (7, 7), (6, 7), (6, 7), (6, 6)]


def test_segments_cover_the_run():
    segs = segments(FFHQ)
    assert [(s.kind, s.resolution) for s in segs[:3]] == [("stable", 8), ("fade", 16), ("stable", 16)]
    assert (segs[-1].kind, segs[-1].resolution, segs[-1].start_kimg, segs[-1].end_kimg) == (
        "stable", 1024, 8400, 25000)
    assert all(a.end_kimg == b.start_kimg for a, b in zip(segs, segs[1:]))
    for s in segs:  # every segment agrees with phase_at at its midpoint
        p = phase_at(int((s.start_kimg + s.end_kimg) * 500), FFHQ)
        assert p.resolution == s.resolution and (p.fade > 0) == (s.kind == "fade")
    assert segments(FFHQ, total_kimg=700)[-1] == Segment("fade", 16, 600, 700)  # cut at total_kimg


def test_remaining_cost_weighs_images_by_resolution():
    from stylegan_tf.training.schedule import image_cost, remaining_cost

    cfg = preset("F", "demo", total_kimg=60)  # 8 px 0-10 kimg, fade 16 10-20, 16 20-30, fade 32 30-40, 32 40-60
    assert image_cost(cfg, 8) < image_cost(cfg, 16) < image_cost(cfg, 32)
    assert remaining_cost(cfg, 0, 6) == pytest.approx(6000 * image_cost(cfg, 8))
    assert remaining_cost(cfg, 30) == pytest.approx(30000 * image_cost(cfg, 32))
    assert remaining_cost(cfg, 0) == pytest.approx(remaining_cost(cfg, 0, 20) + remaining_cost(cfg, 20))
    assert remaining_cost(cfg, 60) == 0
    # the demo measured 2.8 / 3.6 / 10 s per kimg at 8 / 16 / 32 px: the model's total is within 25% of
    # what the 8 px rate predicts for the whole schedule (tqdm's images/s extrapolation said 3x too little)
    measured = 10 * 2.8 + 20 * 3.6 + 30 * 10.0  # 0-10 kimg at 8 px, 10-30 at 16 (with its fade), 30-60 at 32
    modelled = remaining_cost(cfg, 0) / (1000 * image_cost(cfg, 8)) * 2.8
    assert abs(modelled - measured) / measured < 0.25
