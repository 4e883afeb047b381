"""tf.data input pipeline: reals as float32 NHWC in [-1, 1], batched per replica.

Sources (the config's `data` field):
    "synthetic-faces"      the embedded dataset (stylegan_tf.data.faces), 10,000 images with factor labels;
    "synthetic-faces:N"    the same with N images (tests and smoke runs use small N);
    a folder               written by `python -m stylegan_tf prepare` (or by the cache below);
    "tfds:NAME"            a TensorFlow Datasets image set (needs tensorflow-datasets and, once, internet).

The embedded dataset is generated on first use at max(resolution, 64) and cached as a prepared
folder (see `cache_dir`: $STYLEGAN_TF_DATA_DIR, a checkout's data/cache, else ~/.cache/stylegan_tf); lower resolutions are the box-averaged
levels of that folder, exactly as `prepare` stores them. Reals are processed as in the
official `process_reals`: uint8 -> [-1, 1], then a horizontal flip with p = 0.5 (mirror augment).

Order: the images shown, and their flips, are a function of (seed, position in the stream of images
shown), not of how long a pipeline has run: `make_dataset(..., start_nimg=k)` gives what an
uninterrupted pipeline gives after k images, so a resumed run trains on the same batches (the official
code restarts its input at every start-up). Shard paths in dataset.json must be file names inside
the folder; anything else is refused. `dataset_info` and the source names are in `sources.py` (no TensorFlow).

Paper: Karras et al. 2019, Sec. 2 and appendix A (FFHQ, mirror augmentation).
"""

import json
import os
import shutil
from pathlib import Path

import numpy as np

from stylegan_tf import _quiet  # noqa: F401  (imports TensorFlow without its C++ start-up lines)
import tensorflow as tf  # noqa: E402

from stylegan_tf.data import faces, prepare  # noqa: E402
from stylegan_tf.data.sources import (ACCEPTED, SYNTHETIC, SYNTHETIC_MAX_RESOLUTION, SYNTHETIC_NUM_IMAGES,  # noqa: E402,F401
                                      _inside, _is_synthetic, _parse_synthetic, _read_meta, dataset_info)

SYNTHETIC_BASE_RESOLUTION = 64  # the cache is drawn at max(resolution, 64); lower levels are box averages


def cache_dir():
    """Where the embedded dataset is cached, first match wins:

    1. $STYLEGAN_TF_DATA_DIR;
    2. <checkout>/data/cache when the package runs from a source checkout (an editable install);
    3. the user's cache directory: $XDG_CACHE_HOME/stylegan_tf, else ~/.cache/stylegan_tf (never site-packages).
    """
    env = os.environ.get("STYLEGAN_TF_DATA_DIR")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2]  # <checkout>/stylegan_tf/data/pipeline.py
    if (checkout / "pyproject.toml").is_file() and (checkout / "data" / "README.md").is_file():
        return checkout / "data" / "cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "stylegan_tf"


def synthetic_faces_path(resolution, num_images=SYNTHETIC_NUM_IMAGES, seed=0, progress=True):
    """Returns the cached embedded dataset folder that holds `resolution`, generating it on first use.

    The faces are drawn at max(resolution, 64) and every level below is box-averaged from there, so
    the images at 8-64 px are the same whichever resolution was asked for first. Generation writes
    to a temporary folder that is renamed when complete: concurrent or interrupted runs never see a
    half-written cache.
    """
    _check_resolution(resolution, 4, SYNTHETIC_MAX_RESOLUTION, SYNTHETIC)
    top = max(resolution, SYNTHETIC_BASE_RESOLUTION)
    final = cache_dir() / f"{SYNTHETIC}-n{num_images}-seed{seed}-r{top}"
    if (final / prepare.META_FILE).is_file():
        return final
    from stylegan_tf.progress import progress_bar  # a tqdm bar on a terminal, plain lines in a log

    for stale in final.parent.glob(f".{final.name}.tmp-*"):  # left by a killed run: remove if its process is gone
        if not _process_alive(int(stale.name.rsplit("-", 1)[1])):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    chunk = 256
    bar = progress_bar(total=num_images, desc=f"generating {SYNTHETIC} at {top}px (once)", unit="img") \
        if progress else None
    with prepare.DatasetWriter(tmp, top) as writer:
        labels = []
        for start in range(0, num_images, chunk):
            images, factors = faces.generate_faces(min(chunk, num_images - start), top, seed, start)
            for image in images:
                writer.add(image)
            labels.append(factors)
            if bar is not None:
                bar.update(len(images))
        writer.finish(labels=np.concatenate(labels), source=f"{SYNTHETIC} seed={seed}",
                      mirror_negate=list(faces.MIRROR_NEGATE))
    if bar is not None:
        bar.close()
    try:
        os.rename(tmp, final)
    except OSError:  # another process finished first: use its copy
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _process_alive(pid):
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _check_resolution(resolution, low, high, source):
    if not isinstance(resolution, int) or resolution < low or resolution & (resolution - 1):
        raise ValueError(f"resolution={resolution!r} is not allowed: use a power of two >= {low}")
    if resolution > high:
        raise ValueError(f"source {source!r} holds images up to {high}px, not {resolution}px; "
                         "prepare it again with a larger --resolution")


def make_dataset(source, resolution, global_batch_size, *, strategy=None, mirror_augment=True, seed=0,
                 shuffle=True, repeat=True, with_labels=False, start_nimg=0):
    """Reals at `resolution` as batches of float32 [B, R, R, 3] in [-1, 1] (with labels: (images, dict)).

    Args:
        source: see the module docstring.
        resolution: power of two; must be a level the source holds.
        global_batch_size: images per step over all replicas; each replica gets global / replicas.
        strategy: a tf.distribute strategy; the result is then a distributed dataset built with
            `distribute_datasets_from_function`, each input pipeline reading its own shard.
        mirror_augment: flip each image horizontally with p = 0.5 (labels in MIRROR_NEGATE change sign).
        seed: seeds shuffling and flips; the same seed gives the same batches.
        start_nimg: the images shown so far; the batches are those an uninterrupted pipeline gives from
            that position on (folders and the embedded dataset; tfds sources start from their beginning).
        shuffle, repeat: shuffle the images; repeat forever. Batches always have a static size.
        with_labels: also return a dict of float32 [B] label tensors (embedded dataset, or folders with labels).
    """
    source = str(source)
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    if global_batch_size < 1 or global_batch_size % replicas:
        raise ValueError(f"global_batch_size={global_batch_size} must be a positive multiple of the "
                         f"{replicas} replicas")
    if source.startswith("tfds:"):
        if with_labels:
            raise ValueError(f"with_labels=True is not supported for {source}; labels exist for {SYNTHETIC}")
        from stylegan_tf.data.tfds_source import _tfds_pipeline

        build = lambda ctx: _tfds_pipeline(source[5:], resolution, ctx, global_batch_size,  # noqa: E731
                                           mirror_augment, seed, shuffle, repeat)
    else:
        folder = synthetic_faces_path(resolution, _parse_synthetic(source)) if _is_synthetic(source) else source
        meta = _read_meta(folder)
        if str(resolution) not in meta["shards"]:
            _check_resolution(resolution, 4, meta["resolution"], source)
        labels = None
        if with_labels:
            if not meta.get("labels"):
                raise ValueError(f"source {source!r} has no labels; labels exist for {SYNTHETIC}")
            labels = np.load(_inside(folder, meta["labels"], "labels file"))
        build = lambda ctx: _tfrecord_pipeline(folder, meta, resolution, ctx, global_batch_size,  # noqa: E731
                                               mirror_augment, seed, shuffle, repeat, labels, start_nimg)
    if strategy is None:
        return build(None)
    return strategy.distribute_datasets_from_function(build)


def _context(ctx, global_batch_size):  # (per-pipeline batch, pipeline id, number of pipelines)
    if ctx is None:
        return global_batch_size, 0, 1
    return ctx.get_per_replica_batch_size(global_batch_size), ctx.input_pipeline_id, ctx.num_input_pipelines


def _flip(images, seed, pipeline_id, step):
    """Per-image horizontal flips (p = 0.5) that depend only on (seed, pipeline, batch number)."""
    key = tf.stack([tf.cast(seed, tf.int64) * 1_000_003 + pipeline_id, tf.cast(step, tf.int64)])
    batch = tf.shape(images)[0]
    flip = tf.random.stateless_uniform([batch], seed=key) < 0.5  # [B]
    # pick each image from [images; mirrored images]: much faster than a broadcast tf.where on CPU
    both = tf.concat([images, tf.reverse(images, axis=[2])], axis=0)  # [2B, H, W, C]
    return tf.gather(both, tf.range(batch) + batch * tf.cast(flip, tf.int32)), flip


def _epoch_records(files, seed, shuffle, window):
    """fn(epoch) -> the raw records of one epoch, in an order that depends only on (files, seed, epoch).

    Shuffled: the shard order is a stateless permutation keyed by (seed, epoch), and the record stream
    is permuted in consecutive windows of `window` records, each by a stateless permutation keyed by
    (seed, epoch, window number). No tf.data shuffle buffer (whose draws depend on the global seed and
    on how far an iterator has run) is involved, so a pipeline started at any image count reproduces
    exactly the images an uninterrupted one shows there.
    """
    files = tf.constant(files)
    cycle = min(4, len(files))

    def epoch_records(epoch):
        if not shuffle:
            return tf.data.Dataset.from_tensor_slices(files).flat_map(tf.data.TFRecordDataset)
        key = tf.stack([tf.constant(seed, tf.int64) * 2 + 1, epoch])
        order = tf.random.experimental.stateless_shuffle(files, seed=key)
        records = tf.data.Dataset.from_tensor_slices(order).interleave(
            tf.data.TFRecordDataset, cycle_length=cycle, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        windows = records.batch(window).enumerate()
        permute = lambda w, recs: tf.random.experimental.stateless_shuffle(  # noqa: E731
            recs, seed=tf.stack([tf.constant(seed, tf.int64) * 2 + 2, epoch * 2**20 + w]))
        return windows.map(permute).unbatch()

    return epoch_records


def _tfrecord_pipeline(folder, meta, resolution, ctx, global_batch_size, mirror, seed, shuffle, repeat, labels,
                       start_nimg=0):
    """Batches whose images are a function of (seed, position in the stream of images shown).

    The stream is epoch after epoch of `_epoch_records`; position p holds record p mod N of epoch p // N.
    A pipeline started at `start_nimg` skips to epoch start_nimg // N (free) and then start_nimg mod N
    records into it (read, not decoded), so a resumed run sees what an uninterrupted one would.
    With several input pipelines (multi-worker), pipeline i takes positions start_nimg + i, + i + n, ...
    of the one global stream: every worker reads every record and keeps its 1/n.
    """
    batch, pipeline_id, num_pipelines = _context(ctx, global_batch_size)
    files = [_inside(folder, name, "shard") for name in meta["shards"][str(resolution)]]
    num_images = int(meta["num_images"])
    if num_images // num_pipelines < batch:
        raise ValueError(f"{folder} gives {num_images // num_pipelines} images per input pipeline, "
                         f"fewer than one batch of {batch}")
    window = min(num_images, max(1024, 2**28 // (resolution * resolution * 3)))  # records permuted together
    first_epoch, offset = divmod(int(start_nimg), num_images)
    epochs = tf.data.Dataset.range(first_epoch, 2**62 if repeat else first_epoch + 1)
    records = epochs.flat_map(_epoch_records(files, seed, shuffle, window)).skip(offset)
    ds = tf.data.Dataset.zip(tf.data.Dataset.range(int(start_nimg), 2**62), records)  # (position, record)
    if num_pipelines > 1:
        ds = ds.shard(num_pipelines, pipeline_id)
    ds = ds.batch(batch, drop_remainder=True)
    spec = {"image": tf.io.FixedLenFeature([], tf.string), "index": tf.io.FixedLenFeature([], tf.int64)}
    table = None if labels is None else {k: tf.constant(labels[k].astype(np.float32)) for k in labels.dtype.names}
    negate = set(meta.get("mirror_negate", []))

    @tf.autograph.experimental.do_not_convert  # plain Python branches only; avoids AutoGraph's closure warning
    def decode(positions, records):
        ex = tf.io.parse_example(records, spec)
        images = tf.reshape(tf.io.decode_raw(ex["image"], tf.uint8), [batch, resolution, resolution, 3])
        flip = tf.zeros([batch], tf.bool)
        if mirror:  # on uint8, before the cast: a quarter of the bytes to move; keyed by the batch's position
            images, flip = _flip(images, seed, 0, positions[0])
        images = tf.cast(images, tf.float32) / 127.5 - 1.0  # [0, 255] -> [-1, 1]
        if table is None:
            return images
        y = {k: tf.gather(v, ex["index"]) for k, v in table.items()}
        y = {k: tf.where(flip, -v, v) if k in negate else v for k, v in y.items()}
        return images, y

    return ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)
