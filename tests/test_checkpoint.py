"""Checkpointer: atomic writes, keep-k pruning, leftovers of a killed run ignored, config checks on resume.

These tests use a small stand-in trainer (a Keras model, an Adam optimizer, an image counter and an RNG)
with the same `checkpoint_objects()` contract as `stylegan_tf.training.trainer.Trainer`, so they run in seconds;
the real trainer is checkpointed, killed and resumed in tests/test_train_cli.py.
"""

import errno
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import preset
from stylegan_tf.training.checkpoint import (RESUMABLE_FIELDS, Checkpointer, checkpoint_name, config_diff,
                                             list_checkpoints, named_variables)


class StandIn:
    """The parts of Trainer that Checkpointer uses: cfg, cur_nimg, skipped, checkpoint_objects()."""

    def __init__(self, cfg, seed=0, units=3):
        self.cfg = cfg
        self.G = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, name="dense")], name="G")
        self.G_opt = keras.optimizers.Adam(1e-2, beta_1=0.0, beta_2=0.99, name="G_opt")
        self.G_opt.build(self.G.trainable_variables)
        self.cur_nimg = tf.Variable(0, dtype=tf.int64)
        self.skipped = tf.Variable(0, dtype=tf.int64)
        self.rng = tf.random.Generator.from_seed(seed)

    def checkpoint_objects(self):
        return {"G": named_variables(self.G), "G_opt": named_variables(self.G_opt),
                "state": {"cur_nimg": self.cur_nimg, "skipped": self.skipped, "rng": self.rng.state}}

    def step(self, n=16):
        x = self.rng.normal([n, 4])
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(self.G(x) ** 2)
        grads = tape.gradient(loss, self.G.trainable_variables)
        self.G_opt.apply_gradients(zip(grads, self.G.trainable_variables))
        self.cur_nimg.assign_add(n)

    def state(self):
        return [v.numpy().copy() for v in self.G.weights + self.G_opt.variables] + [
            self.cur_nimg.numpy(), self.rng.state.numpy().copy()]


def _cfg(**kw):
    tiny = dict(resolution=8, fmap_base=32, fmap_max=16, z_dim=16, w_dim=16, mapping_layers=2)
    return preset("F", **{**tiny, **kw})


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_save_restore_roundtrip_and_keep_k(tmp_path):
    t = StandIn(_cfg())
    ckpt = Checkpointer(str(tmp_path), keep=2)
    states = {}
    for _ in range(5):
        t.step()
        path = ckpt.save(t)
        states[path] = t.state()
    kept = ckpt.list()
    assert [os.path.basename(p) for p in kept] == [checkpoint_name(64), checkpoint_name(80)]  # the last k only
    assert sorted(os.listdir(tmp_path / "checkpoints")) == [checkpoint_name(64), checkpoint_name(80)]  # no leftovers
    for path in kept:  # every kept checkpoint is complete and readable, and restores exactly what was saved
        fresh = StandIn(_cfg(), seed=99)
        ckpt.restore(fresh, path)
        _assert_same(fresh.state(), states[path])
    fresh = StandIn(_cfg(), seed=99)
    assert ckpt.restore_latest(fresh) and fresh.cur_nimg.numpy() == 80
    # resumed training continues exactly as the uninterrupted run would (RNG and Adam state restored)
    t.step(), fresh.step()
    _assert_same(fresh.state(), t.state())


def test_restore_latest_without_checkpoints_returns_false(tmp_path):
    assert Checkpointer(str(tmp_path)).restore_latest(StandIn(_cfg())) is False


def test_partial_checkpoint_is_ignored_and_cleaned(tmp_path):
    t = StandIn(_cfg())
    ckpt = Checkpointer(str(tmp_path), keep=3)
    t.step()
    good = ckpt.save(t)
    # a process killed while writing leaves a temporary folder with a truncated checkpoint
    partial = tmp_path / "checkpoints" / f".tmp-{checkpoint_name(32)}-12345"
    partial.mkdir()
    (partial / "ckpt.index").write_bytes(b"\x00garbage")
    assert ckpt.list() == [good]
    assert list_checkpoints(str(tmp_path)) == [good]
    fresh = StandIn(_cfg(), seed=5)
    assert ckpt.restore_latest(fresh) and fresh.cur_nimg.numpy() == 16
    Checkpointer(str(tmp_path), keep=3)  # the next start cleans it
    assert not partial.exists() and os.path.isdir(good)


def test_failure_before_rename_leaves_previous_checkpoints_intact(tmp_path, monkeypatch):
    t = StandIn(_cfg())
    ckpt = Checkpointer(str(tmp_path), keep=2)
    t.step()
    first = ckpt.save(t)
    t.step()

    def killed(src, dst):
        raise KeyboardInterrupt("killed between write and rename")

    monkeypatch.setattr(os, "rename", killed)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save(t)
    monkeypatch.undo()
    assert ckpt.list() == [first]  # the half-done checkpoint is invisible
    fresh = StandIn(_cfg(), seed=3)
    assert ckpt.restore_latest(fresh) and fresh.cur_nimg.numpy() == 16


def test_config_mismatch_names_the_fields(tmp_path):
    t = StandIn(_cfg())
    ckpt = Checkpointer(str(tmp_path))
    t.step()
    ckpt.save(t)
    other = StandIn(_cfg(fmap_max=8, r1_gamma=5.0))
    with pytest.raises(ValueError, match=r"2 field\(s\): fmap_max: checkpoint 16, now 8; r1_gamma") as e:
        ckpt.restore_latest(other)
    assert "z_dim" not in str(e.value)
    # fields that may change on resume are accepted
    longer = StandIn(_cfg(total_kimg=99.0, tick_kimg=0.5, checkpoint_kimg=1.0, keep_checkpoints=7, xla=True))
    assert ckpt.restore_latest(longer) and longer.cur_nimg.numpy() == 16


def test_config_diff_normalises_json_types():
    a = _cfg().to_dict()
    b = _cfg().to_dict()
    b["minibatch_dict"] = {str(k): v for k, v in b["minibatch_dict"].items()}  # as read back from JSON
    b["blur_filter"] = list(b["blur_filter"])
    assert config_diff(a, b) == []
    assert config_diff(a, {**b, "total_kimg": 1.0, "seed": 3}) == ["seed"]
    assert "total_kimg" in RESUMABLE_FIELDS


def test_keep_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="keep at least 1"):
        Checkpointer(str(tmp_path), keep=0)


def test_a_checkpoint_of_a_differently_shaped_model_is_refused_by_name(tmp_path):
    t = StandIn(_cfg())
    t.step()
    ckpt = Checkpointer(str(tmp_path))
    ckpt.save(t)
    wider = StandIn(_cfg(), units=5)  # same config, one layer built wider: restoring by position would misfill it
    before = [v.numpy().copy() for v in wider.G.weights]
    with pytest.raises(ValueError) as e:
        ckpt.restore_latest(wider)
    message = str(e.value)
    assert "G/G/dense/kernel (checkpoint (4, 3), model (4, 5))" in message and "G/G/dense/bias" in message
    assert "differently built model" in message
    _assert_same([v.numpy() for v in wider.G.weights], before)  # nothing was restored


def test_named_variables_refuses_two_variables_with_one_name():
    class Twins(keras.layers.Layer):
        def build(self, input_shape):
            self.a = self.add_weight(shape=(1,), name="w")
            self.b = self.add_weight(shape=(1,), name="w")

    layer = Twins(name="twins")
    layer.build((None, 1))
    with pytest.raises(ValueError, match="both named 'twins/w'"):
        named_variables(layer)


# -- damaged checkpoints, failed writes ------------------------------------------------------------------
def _flip_middle_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


DATA = "ckpt.data-00000-of-00001"
DAMAGE = {
    "data truncated": lambda d: next(d.glob("ckpt.data-*")).write_bytes(next(d.glob("ckpt.data-*")).read_bytes()[:20]),
    "data bit-flipped": lambda d: _flip_middle_byte(next(d.glob("ckpt.data-*"))),
    "data emptied": lambda d: next(d.glob("ckpt.data-*")).write_bytes(b""),
    "index missing": lambda d: (d / "ckpt.index").unlink(),
    "index garbled": lambda d: (d / "ckpt.index").write_bytes(b"\x00garbage" * 8),
    "index bit-flipped": lambda d: _flip_middle_byte(d / "ckpt.index"),
    "config.json garbled": lambda d: (d / "config.json").write_text("{not json"),
    "state.json missing": lambda d: (d / "state.json").unlink(),
    "state.json of another count": lambda d: (d / "state.json").write_text('{"cur_nimg": 5}'),
}
# the one plain reason each warning gives, and (for TensorFlow's errors) the raw text that goes to log.txt instead
REASON = {
    "data truncated": (f"({DATA} is truncated)", "Read less bytes than requested"),
    "data bit-flipped": (f"(checksum mismatch in {DATA})", "Checksum does not match"),
    "data emptied": (f"({DATA} is empty)", None),
    "index missing": ("(ckpt.index is missing)", None),
    "index garbled": ("(ckpt.index is not a checkpoint file (garbled))", "not an sstable"),
    "index bit-flipped": ("(checksum mismatch in ckpt.index)", "block checksum mismatch"),
    "config.json garbled": ("(config.json is not valid JSON)", "Expecting property name"),
    "state.json missing": ("(state.json is missing)", None),
    "state.json of another count": ("(state.json says cur_nimg=5, the folder name 32)", None),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_newest_checkpoint_falls_back_and_is_set_aside(tmp_path, capsys, damage):
    t = StandIn(_cfg())
    ckpt = Checkpointer(str(tmp_path), keep=3)
    t.step()
    good = ckpt.save(t)
    saved = t.state()
    t.step()
    newest = ckpt.save(t)
    DAMAGE[damage](tmp_path / "checkpoints" / os.path.basename(newest))

    fresh = StandIn(_cfg(), seed=7)
    assert ckpt.restore_latest(fresh) == good
    _assert_same(fresh.state(), saved)  # exactly the older checkpoint, whatever the damaged one half-restored
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and newest in err[0] and "damaged" in err[0] and "Traceback" not in err[0]
    reason, raw = REASON[damage]
    assert f"is damaged {reason}; trying the one before" in err[0], err[0]  # one plain reason, no TF internals
    if raw is not None:  # TensorFlow's own words are kept, out of the way, for a bug report
        assert raw in (tmp_path / "log.txt").read_text() and raw not in err[0]
    assert ckpt.list() == [good] and os.path.isdir(newest + ".damaged")  # kept for inspection, out of the way
    fresh.step()
    assert ckpt.save(fresh) == newest and ckpt.restore_latest(StandIn(_cfg())) == newest  # written again, afresh


def test_non_finite_weights_in_a_checkpoint_count_as_damage(tmp_path, capsys):
    t = StandIn(_cfg())
    ckpt = Checkpointer(str(tmp_path), keep=3)
    t.step()
    good = ckpt.save(t)
    t.step()
    t.G.weights[0].assign(np.full(t.G.weights[0].shape, np.nan, np.float32))
    ckpt.save(t)
    assert ckpt.restore_latest(StandIn(_cfg())) == good
    assert "NaN or Inf" in capsys.readouterr().err


def test_no_intact_checkpoint_is_one_error_and_nothing_is_renamed(tmp_path):
    t = StandIn(_cfg())
    ckpt = Checkpointer(str(tmp_path), keep=3)
    t.step()
    only = ckpt.save(t)
    (tmp_path / "checkpoints" / os.path.basename(only) / "ckpt.index").unlink()
    with pytest.raises(ValueError, match="no checkpoint .* restores"):
        ckpt.restore_latest(StandIn(_cfg()))
    assert ckpt.list() == [only]


RAW_SAVE_ERROR = ("{{function_node __wrapped__SaveV2_dtypes_182_device_/job:localhost/replica:0/task:0/device:CPU:0}} "
                  "/run/checkpoints/.tmp-ckpt-000000.032kimg-1/ckpt_temp/part-00000-of-00001.data-00000-of-00001.tempstate1; "
                  "No space left on device [Op:SaveV2]")


@pytest.mark.parametrize("error, reason", [
    (tf.errors.UnknownError(None, None, RAW_SAVE_ERROR), "no space left on device"),
    (tf.errors.ResourceExhaustedError(None, None, "ckpt.data: File too large [Op:SaveV2]"), "file too large"),
    (OSError(errno.ENOSPC, "No space left on device"), "no space left on device"),
    (OSError(errno.EFBIG, "File too large"), "file too large"),
    (OSError(errno.EROFS, "Read-only file system"), "read-only file system"),
])
def test_failed_write_is_one_clear_error_and_keeps_earlier_checkpoints(tmp_path, monkeypatch, error, reason):
    from stylegan_tf.training.checkpoint import CheckpointWriteError

    t = StandIn(_cfg())
    ckpt = Checkpointer(str(tmp_path), keep=2)
    t.step()
    first = ckpt.save(t)
    t.step()

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(tf.train.Checkpoint, "write", fail)
    with pytest.raises(CheckpointWriteError) as e:
        ckpt.save(t)
    monkeypatch.undo()
    message = str(e.value)
    assert "\n" not in message and str(tmp_path / "checkpoints") in message and "--resume" in message
    assert f"could not write to {tmp_path / 'checkpoints'} ({reason}); earlier checkpoints are intact" in message
    assert "Op:" not in message and "{{" not in message and "Error" not in message  # no TensorFlow internals
    if isinstance(error, tf.errors.OpError):
        assert error.message in (tmp_path / "log.txt").read_text()  # the raw text, for a bug report
    assert sorted(os.listdir(tmp_path / "checkpoints")) == [os.path.basename(first)]  # no temporary left
    assert ckpt.restore_latest(StandIn(_cfg())) == first


def test_a_failed_first_write_does_not_suggest_resume(tmp_path, monkeypatch):
    from stylegan_tf.training.checkpoint import CheckpointWriteError

    t = StandIn(_cfg())
    t.step()

    def fail(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tf.train.Checkpoint, "write", fail)
    with pytest.raises(CheckpointWriteError) as e:
        Checkpointer(str(tmp_path)).save(t)
    assert "(no space left on device); no checkpoint was written yet" in str(e.value)
    assert "--resume" not in str(e.value) and "intact" not in str(e.value)


@pytest.mark.parametrize("damage", ["state.json missing", "state.json of another count", "config.json garbled"])
def test_resume_names_a_damaged_checkpoint_once(tmp_path, capsys, damage):
    """The CLI reads the newest readable config first (`latest_readable`), then restores from there: the
    damaged checkpoint both passed over is named in one warning, not two."""
    from stylegan_tf.training.checkpoint import latest_readable

    t = StandIn(_cfg())
    ckpt = Checkpointer(str(tmp_path), keep=3)
    t.step()
    good = ckpt.save(t)
    t.step()
    newest = ckpt.save(t)
    DAMAGE[damage](tmp_path / "checkpoints" / os.path.basename(newest))
    path, config = latest_readable(str(tmp_path))
    assert path == good and config_diff(config, _cfg().to_dict()) == []
    assert ckpt.restore_latest(StandIn(_cfg()), newest=path) == good
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and newest in err[0] and REASON[damage][0] in err[0], err
    assert os.path.isdir(newest + ".damaged")  # set aside all the same


def test_leftovers_of_a_killed_run_are_removed_at_start(tmp_path):
    (tmp_path / "checkpoints" / ".tmp-ckpt-000000.016kimg-999").mkdir(parents=True)
    (tmp_path / ".tmp-999-G_ema.keras").write_bytes(b"half")
    (tmp_path / ".tmp-config.json.999").write_text("{")
    (tmp_path / "config.json").write_text("{}")
    Checkpointer(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["checkpoints", "config.json"]
    assert os.listdir(tmp_path / "checkpoints") == []


def test_a_checkpoint_written_before_a_config_field_existed_resumes():
    from stylegan_tf.training.compatibility import check_resumable

    cfg = _cfg()
    stored = cfg.to_dict()
    del stored["mapping_fmaps"], stored["metrics"]  # fields added after such a checkpoint was written
    check_resumable(stored, cfg, "old")  # their defaults are what the old run used
    with pytest.raises(ValueError, match="mapping_fmaps"):
        check_resumable(stored, _cfg(mapping_fmaps=8), "old")  # a real difference is still refused
