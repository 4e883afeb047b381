"""Trainer on one device: the updates, skipping non-finite updates, no retrace, Adam resets, resume.

Compiling a train step costs most of these tests' time, so one module-wide trainer is shared by the
tests below, which run IN ORDER and continue its run: a 4 -> 8 px schedule of 8 images per phase,
started in the middle of the fade-in to 8x8 so every step runs at 8x8 (one compiled step).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import preset
from stylegan_tf.training.checkpoint import flatten_objects
from stylegan_tf.training.trainer import Trainer, reset_optimizer

CFG = preset(
    "F", resolution=8, fmap_base=32, fmap_max=16, z_dim=16, w_dim=16, mapping_layers=2,
    lod_initial_resolution=4, lod_training_kimg=0.008, lod_transition_kimg=0.008,  # 4: 0-8, fade 8-16, 8: 16+
    minibatch_base=4, minibatch_dict={}, tick_kimg=0.004, ema_kimg=0.004,  # G_ema beta = 0.5 at batch 4
)
START_NIMG = 10  # lod 0.75: fading in 8x8


def random_reals(resolution, batch_size, seed=0):
    """Seeded, different images in every batch."""
    def image(i):
        return tf.random.stateless_uniform([resolution, resolution, 3], tf.stack([i, seed]), -1.0, 1.0)

    return tf.data.Dataset.range(10**6).map(image).batch(batch_size, drop_remainder=True)


def nan_reals(resolution, batch_size):
    x = np.zeros([batch_size, resolution, resolution, 3], np.float32)
    x[0, 0, 0, 0] = np.nan
    return tf.data.Dataset.from_tensors(x).repeat()


def values(variables):
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


def max_diff(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def trainer():
    t = Trainer(CFG, dataset_fn=random_reals)
    t.cur_nimg.assign(START_NIMG)
    return t


def test_a_few_steps_train_G_D_G_ema_and_w_avg(trainer):
    G0, D0 = values(trainer.G.trainable_weights), values(trainer.D.trainable_weights)
    assert max_diff(values(trainer.G_ema.weights), values(trainer.G.weights)) == 0  # G_ema starts as G
    trainer.train(total_kimg=0.018, progress=False)  # 2 steps, lod 0.75 and 0.25

    assert int(trainer.cur_nimg.numpy()) == 18 and int(trainer.step.numpy()) == 2
    stats = trainer.last_stats
    assert all(np.isfinite(stats[k]) for k in ("G_loss", "D_loss", "R1")) and stats["R1"] > 0
    assert stats["skipped"] == 0 and int(trainer.skipped.numpy()) == 0
    G1, D1 = values(trainer.G.trainable_weights), values(trainer.D.trainable_weights)
    assert max_diff(G1, G0) > 1e-4 and max_diff(D1, D0) > 1e-4
    # G_ema moved off G's start, towards G (beta = 0.5 per step)
    E1 = values(trainer.G_ema.trainable_weights)
    assert max_diff(E1, G0) > 1e-5
    dist = lambda a, b: np.sqrt(sum(np.sum((x - y) ** 2) for x, y in zip(a, b)))  # noqa: E731
    assert dist(E1, G1) < 0.5 * dist(G0, G1)
    w_avg = trainer.G.w_avg.numpy()
    assert np.abs(w_avg).max() > 0 and np.array_equal(trainer.G_ema.w_avg.numpy(), w_avg)  # tracked, copied
    assert trainer.G.lod.numpy() == trainer.D.lod.numpy() == trainer.G_ema.lod.numpy() == 0.25
    assert int(trainer.G_opt.iterations.numpy()) == 2


def test_lod_changes_do_not_retrace_and_adam_resets_at_the_boundary(trainer):
    assert trainer.trace_count == 1  # lod 0.75 and 0.25 ran on one trace
    trainer.train(total_kimg=0.026, progress=False)  # steps at 18 (lod 0: new lod interval) and 22
    assert trainer.G.lod.numpy() == 0.0 and trainer.trace_count == 1
    # Adam was reset before the step at 18: 2 updates since, not 4
    assert int(trainer.G_opt.iterations.numpy()) == 2 and int(trainer.D_opt.iterations.numpy()) == 2
    reset_optimizer(trainer.D_opt)
    assert int(trainer.D_opt.iterations.numpy()) == 0
    assert all(not np.any(v) for v in values(trainer.D_opt.variables[2:]))  # after iteration, learning_rate
    assert trainer.D_opt.learning_rate.numpy() == pytest.approx(CFG.lr_base)


def test_non_finite_update_is_skipped_counted_and_changes_nothing(trainer, capsys):
    D0, Dopt0 = values(trainer.D.trainable_weights), values(trainer.D_opt.variables)
    G0 = values(trainer.G.trainable_weights)
    trainer.dataset_fn = nan_reals  # a NaN real makes every D gradient NaN
    try:
        trainer.train(total_kimg=0.030, progress=False)
    finally:
        trainer.dataset_fn = random_reals
    assert int(trainer.skipped.numpy()) == 1 and trainer.last_stats["skipped"] == 1
    assert int(trainer.state.consecutive_skips.numpy()) == 1  # the streak the trainer checks now and then
    assert max_diff(values(trainer.D.trainable_weights), D0) == 0  # weights untouched ...
    assert max_diff(values(trainer.D_opt.variables), Dopt0) == 0  # ... and Adam state too
    assert max_diff(values(trainer.G.trainable_weights), G0) > 0  # the G step did not see the reals
    assert all(np.all(np.isfinite(v)) for v in values(trainer.D.weights))
    assert "skipped" in capsys.readouterr().err


class Recorder:
    """Stands in for the run log and the checkpointer (their interfaces as the trainer calls them)."""

    def __init__(self, interrupt_at_progress=None):
        self.ticks, self.saves, self.progress_calls, self.closed = [], [], 0, 0
        self.interrupt_at_progress = interrupt_at_progress

    def tick(self, trainer, phase, stats):
        self.ticks.append((phase, stats))

    def progress(self, n_images):
        self.progress_calls += 1
        if self.progress_calls == self.interrupt_at_progress:
            raise KeyboardInterrupt

    def close(self):
        self.closed += 1

    def save(self, trainer):
        self.saves.append(int(trainer.cur_nimg.numpy()))


def test_ticks_checkpoints_and_ctrl_c(trainer):
    start = int(trainer.cur_nimg.numpy())
    rec = trainer.log = trainer.checkpointer = Recorder()
    try:
        trainer.train(total_kimg=(start + 8) / 1000)  # 2 steps; a tick every 4 images
        assert len(rec.ticks) == 2 and rec.progress_calls == 2 and rec.closed == 1
        phase, stats = rec.ticks[-1]
        assert phase.resolution == 8 and stats["kimg"] == (start + 8) / 1000
        keys = {"G_loss", "D_loss", "R1", "lod", "lr", "images_per_sec", "sec_per_kimg", "skipped", "kimg"}
        assert keys <= set(stats) and stats["images_per_sec"] > 0
        assert rec.saves == [start + 8]  # checkpoint_kimg is far away: saved once, at the end
        assert int(trainer.state.consecutive_skips.numpy()) == 0  # a good step ends the streak of the NaN test

        rec = trainer.log = trainer.checkpointer = Recorder(interrupt_at_progress=1)
        with pytest.raises(KeyboardInterrupt):  # Ctrl-C after the first step: that step is kept
            trainer.train(total_kimg=(start + 16) / 1000)
        assert rec.saves == [start + 12]
        trainer.train(total_kimg=(start + 12) / 1000)  # nothing left to do: no second save
        assert rec.saves == [start + 12]
    finally:
        trainer.log = trainer.checkpointer = None


def test_resume_from_checkpoint_objects_is_exact(trainer, tmp_path):
    start = int(trainer.cur_nimg.numpy())
    path = tf.train.Checkpoint(**flatten_objects(trainer.checkpoint_objects())).write(str(tmp_path / "ckpt"))
    trainer.train(total_kimg=(start + 8) / 1000, progress=False)  # k = 2 more steps, straight on
    straight = {k: v.numpy() for k, v in flatten_objects(trainer.checkpoint_objects()).items()}

    keras.utils.set_random_seed(99)  # resuming must not depend on the global seed
    resumed = Trainer(CFG, dataset_fn=random_reals)
    tf.train.Checkpoint(**flatten_objects(resumed.checkpoint_objects())).read(path).assert_consumed()
    assert int(resumed.cur_nimg.numpy()) == start
    resumed.train(total_kimg=(start + 8) / 1000, progress=False)
    assert set(resumed.checkpoint_objects()) == {"G", "D", "G_ema", "G_opt", "D_opt", "state"}
    assert {"state/cur_nimg", "state/skipped", "state/step"} <= set(straight)
    got = {k: v.numpy() for k, v in flatten_objects(resumed.checkpoint_objects()).items()}
    assert set(got) == set(straight)
    for k in got:
        np.testing.assert_allclose(got[k], straight[k], rtol=1e-6, atol=1e-7, err_msg=k)


def test_wgan_gp_preset_A_under_mixed_precision_trains_on_cpu():
    cfg = preset("A", resolution=8, fmap_base=32, fmap_max=16, z_dim=16, w_dim=16, lod_initial_resolution=8,
                 minibatch_base=4, minibatch_dict={}, tick_kimg=0.004, mixed_precision=True)
    t = Trainer(cfg, dataset_fn=random_reals)  # the Trainer applies cfg.mixed_precision itself ...
    assert keras.mixed_precision.global_policy().name == "float32"  # ... and leaves the global policy alone
    assert t.G.synthesis.to_rgb[-1].compute_dtype == "float16" and t.D.conv.compute_dtype == "float16"
    assert t.state.G_loss_scale is not None and "G_loss_scale" in t.checkpoint_objects()["state"]
    G0, D0 = values(t.G.trainable_weights), values(t.D.trainable_weights)
    t.train(total_kimg=0.012, progress=False)
    assert {"G_loss", "D_loss", "GP"} <= set(t.last_stats)
    assert all(np.isfinite(t.last_stats[k]) for k in ("G_loss", "D_loss", "GP"))
    assert all(v.dtype == "float32" and np.all(np.isfinite(v.numpy())) for v in t.G.weights + t.D.weights)
    assert max_diff(values(t.G.trainable_weights), G0) > 0 and max_diff(values(t.D.trainable_weights), D0) > 0
    # each overflowing float16 step is skipped and halves its loss scale (no growth within 3 steps)
    halvings = sum(np.log2(2.0**15 / float(s.numpy())) for s in (t.state.G_loss_scale, t.state.D_loss_scale))
    assert halvings == int(t.skipped.numpy())
