"""tf.data pipeline: range and shape, determinism, mirroring with labels, sharding, replicas, sources."""

import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf.data import faces, pipeline, prepare

N = 64  # embedded images used here: "synthetic-faces:64"
SOURCE = f"synthetic-faces:{N}"


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory):
    """The embedded dataset is cached in a temporary folder, never under the repository."""
    old = os.environ.get("STYLEGAN_TF_DATA_DIR")
    os.environ["STYLEGAN_TF_DATA_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield pipeline.synthetic_faces_path(16, N, progress=False)
    if old is None:
        del os.environ["STYLEGAN_TF_DATA_DIR"]
    else:
        os.environ["STYLEGAN_TF_DATA_DIR"] = old


@pytest.fixture(scope="module")
def strategy():
    return tf.distribute.MirroredStrategy()  # two logical CPUs (conftest); created once per module


def _batches(ds, n):
    return [tuple(np.asarray(t) for t in x) if isinstance(x, tuple) else np.asarray(x) for x in ds.take(n)]


def _labels(ds):  # every label dict of a finite dataset, concatenated
    out = {}
    for _, y in ds:
        for k, v in y.items():
            out.setdefault(k, []).append(v.numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def test_range_dtype_static_shape_and_values(cache):
    ds = pipeline.make_dataset(SOURCE, 16, 8, shuffle=False, mirror_augment=False, with_labels=True)
    assert ds.element_spec[0].shape == (8, 16, 16, 3) and ds.element_spec[0].dtype == tf.float32
    images, labels = next(iter(ds))
    images = images.numpy()
    assert -1.0 <= images.min() and images.max() <= 1.0 and images.std() > 0.2
    np.testing.assert_allclose((images + 1) * 127.5, np.rint((images + 1) * 127.5), atol=1e-3)  # k / 127.5 - 1
    # stored order = generation order, and labels are the generator's factors
    expected = faces.sample_factors(8, seed=0)
    for name in faces.FACTOR_NAMES:
        np.testing.assert_array_equal(labels[name].numpy(), expected[name])
    # the 8x8 level is the box average of the 16x16 level (both rounded from the float chain: <= 1 apart)
    low = next(iter(pipeline.make_dataset(SOURCE, 8, 8, shuffle=False, mirror_augment=False))).numpy()
    box = ((images + 1) * 127.5).reshape(8, 8, 2, 8, 2, 3).mean(axis=(2, 4))
    assert np.abs((low + 1) * 127.5 - box).max() <= 1.0 + 1e-3


def test_generation_killed_earlier_is_cleaned_up(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEGAN_TF_DATA_DIR", str(tmp_path))
    dead = tmp_path / ".synthetic-faces-n8-seed0-r64.tmp-999999999"  # no such process
    dead.mkdir()
    (dead / "r0064-00000.tfrecord.tmp").write_bytes(b"half")
    path = pipeline.synthetic_faces_path(8, 8, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_cache_is_drawn_once_at_64px_and_reused(cache):
    stamp = (cache / "dataset.json").stat().st_mtime_ns
    assert cache.name.endswith("-r64")
    assert pipeline.synthetic_faces_path(8, N) == cache and pipeline.synthetic_faces_path(64, N) == cache
    assert (cache / "dataset.json").stat().st_mtime_ns == stamp
    assert [p.name for p in pipeline.cache_dir().iterdir()] == [cache.name]  # no temporary folder left
    info = pipeline.dataset_info(cache)
    assert info["num_images"] == N and info["has_labels"] and info["levels"] == [4, 8, 16, 32, 64]
    assert pipeline.dataset_info(SOURCE)["resolution"] == 256


def test_deterministic_for_a_seed():
    def first(seed):
        return np.concatenate(_batches(pipeline.make_dataset(SOURCE, 8, 16, seed=seed), 3))

    a, b, c = first(1), first(1), first(2)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 0.05


def test_epochs_cover_every_image_once_and_reshuffle():
    ds = pipeline.make_dataset(SOURCE, 8, 8, repeat=False, with_labels=True, seed=3)
    seeds = _labels(ds)["detail_seed"]
    assert len(seeds) == N and len(set(seeds)) == N  # each image once per epoch
    assert not np.array_equal(seeds, faces.sample_factors(N)["detail_seed"])  # shuffled
    ds = pipeline.make_dataset(SOURCE, 8, N, with_labels=True, seed=3)
    epoch1, epoch2 = (y["detail_seed"].numpy() for _, y in ds.take(2))
    assert set(epoch1) == set(epoch2) and not np.array_equal(epoch1, epoch2)  # reshuffled each epoch


def test_mirror_augment_flips_about_half_and_negates_lateral_labels():
    kw = dict(shuffle=False, repeat=False, with_labels=True)
    plain = list(pipeline.make_dataset(SOURCE, 16, 16, mirror_augment=False, **kw))
    mirrored = list(pipeline.make_dataset(SOURCE, 16, 16, mirror_augment=True, seed=5, **kw))
    flips = []
    for (x, y), (xm, ym) in zip(plain, mirrored):
        x, xm = x.numpy(), xm.numpy()
        flipped = np.all(xm == x[:, :, ::-1], axis=(1, 2, 3))
        assert np.all(flipped | np.all(xm == x, axis=(1, 2, 3)))  # each image as is or mirrored
        for name in ("head_x", "head_turn"):
            np.testing.assert_array_equal(ym[name].numpy(), np.where(flipped, -1, 1) * y[name].numpy())
        np.testing.assert_array_equal(ym["smiling"].numpy(), y["smiling"].numpy())
        flips.append(flipped)
    assert 0.25 < np.mean(flips) < 0.75


def test_each_input_pipeline_reads_its_own_shard(tmp_path):
    # one file (records split between pipelines) and eight files (whole files split between pipelines)
    folders = [pipeline.synthetic_faces_path(16, N)]
    with prepare.DatasetWriter(tmp_path / "multi", 8, images_per_shard=8) as writer:
        images, factors = faces.generate_faces(N, 8)
        for image in images:
            writer.add(image)
        writer.finish(labels=factors)
    folders.append(tmp_path / "multi")
    for folder in folders:
        meta = pipeline._read_meta(folder)
        labels = np.load(folder / "labels.npy")
        seen = []
        for pipeline_id in range(2):
            ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline_id,
                                             num_replicas_in_sync=2)
            ds = pipeline._tfrecord_pipeline(folder, meta, 8, ctx, 8, True, 0, True, False, labels)
            assert ds.element_spec[0].shape == (4, 8, 8, 3)  # global 8 over 2 replicas
            seen.append(set(_labels(ds)["detail_seed"]))
        assert not seen[0] & seen[1] and len(seen[0] | seen[1]) == N, folder.name


def test_per_replica_batches_under_mirrored_strategy(strategy):
    assert strategy.num_replicas_in_sync == 2
    dist = pipeline.make_dataset(SOURCE, 8, 8, strategy=strategy, with_labels=True)
    images, labels = next(iter(dist))
    local = strategy.experimental_local_results(images)
    assert [x.shape for x in local] == [(4, 8, 8, 3)] * 2
    seeds = [set(x.numpy()) for x in strategy.experimental_local_results(labels["detail_seed"])]
    assert not seeds[0] & seeds[1]  # the replicas see different images

    @tf.function
    def step(x):
        return strategy.run(lambda im: tf.reduce_sum(tf.ones_like(im[:, 0, 0, 0])), args=(x,))

    counts = strategy.experimental_local_results(step(images))
    assert [int(c) for c in counts] == [4, 4]
    with pytest.raises(ValueError, match="multiple of the 2 replicas"):
        pipeline.make_dataset(SOURCE, 8, 7, strategy=strategy)


def test_bad_sources_say_what_is_accepted(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        pipeline.dataset_info(tmp_path / "nowhere")
    message = str(e.value)
    assert "nowhere" in message and "synthetic-faces" in message and "prepare" in message and "tfds:" in message
    with pytest.raises(FileNotFoundError, match="nowhere"):
        pipeline.make_dataset(str(tmp_path / "nowhere"), 8, 8)
    with pytest.raises(ValueError, match="up to 64px"):
        pipeline.make_dataset(str(pipeline.synthetic_faces_path(16, N)), 128, 8)
    with pytest.raises(ValueError, match="up to 256px"):
        pipeline.make_dataset(SOURCE, 512, 8)
    with pytest.raises(ValueError, match="power of two"):
        pipeline.make_dataset(SOURCE, 12, 8)
    with pytest.raises(ValueError, match="synthetic-faces:N"):
        pipeline.make_dataset("synthetic-faces:lots", 8, 8)
    with pytest.raises(ValueError, match="fewer than one batch"):
        pipeline.make_dataset(SOURCE, 8, 128)


def test_tfds_missing_or_offline_is_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # makes the import fail
    with pytest.raises(ValueError, match="pip install tensorflow-datasets"):
        pipeline.make_dataset("tfds:celeb_a", 8, 8)
    with pytest.raises(ValueError, match="pip install tensorflow-datasets"):
        pipeline.dataset_info("tfds:celeb_a")

    def offline_load(*args, **kwargs):
        raise ConnectionError("Failed to resolve host")

    fake = types.SimpleNamespace(load=offline_load, ReadConfig=lambda **kwargs: kwargs)
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake)
    with pytest.raises(ValueError, match="connect to the internet"):
        pipeline.make_dataset("tfds:celeb_a", 8, 8)


def test_tfds_source_is_cropped_resized_and_batched(monkeypatch):
    """The tfds path with a stand-in for tensorflow_datasets (the real one would download)."""
    images = np.zeros((12, 24, 40, 3), np.uint8)
    images[:, :, 8:32] = 200  # the centre square is bright, the 8-column side bands black

    def load(name, split, shuffle_files, download, read_config):
        assert name == "tiny" and split == "train"
        return tf.data.Dataset.from_tensor_slices({"image": images, "label": np.arange(12)})

    fake = types.SimpleNamespace(load=load, ReadConfig=lambda **kwargs: kwargs)
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake)
    ds = pipeline.make_dataset("tfds:tiny", 8, 4, seed=1)
    assert ds.element_spec.shape == (4, 8, 8, 3) and ds.element_spec.dtype == tf.float32
    batch = next(iter(ds)).numpy()
    np.testing.assert_allclose(batch, 200 / 127.5 - 1, atol=1e-6)  # centre crop: no black band left
    with pytest.raises(ValueError, match="with_labels"):
        pipeline.make_dataset("tfds:tiny", 8, 4, with_labels=True)



def test_cache_dir_env_then_checkout_then_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("STYLEGAN_TF_DATA_DIR", str(tmp_path / "env"))
    assert pipeline.cache_dir() == tmp_path / "env"
    monkeypatch.delenv("STYLEGAN_TF_DATA_DIR")
    checkout = Path(pipeline.__file__).resolve().parents[2]
    assert pipeline.cache_dir() == checkout / "data" / "cache"  # the tests run from a checkout
    # an installed copy (site-packages) never writes next to itself
    monkeypatch.setattr(pipeline, "__file__", str(tmp_path / "site-packages" / "stylegan_tf" / "data" / "pipeline.py"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert pipeline.cache_dir() == tmp_path / "xdg" / "stylegan_tf"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert pipeline.cache_dir() == Path.home() / ".cache" / "stylegan_tf"
