"""`tfds:NAME` sources for `make_dataset`: a TensorFlow Datasets image set, centre-cropped and resized.

Needs the optional tensorflow-datasets package (and, on first use, internet or TFDS_DATA_DIR). Unlike
prepared folders, the order is tf.data's own shuffle: a resumed run starts this source from its beginning.
"""

import importlib
import math

import tensorflow as tf

from stylegan_tf.data.pipeline import SYNTHETIC, _context, _flip


def _import_tfds():
    try:
        return importlib.import_module("tensorflow_datasets")
    except ImportError:
        raise ValueError("tfds:NAME sources need TensorFlow Datasets: pip install tensorflow-datasets "
                         f"(or use {SYNTHETIC} or a folder made by `python -m stylegan_tf prepare`)") from None


def _tfds_info(name):
    tfds = _import_tfds()
    try:
        info = tfds.builder(name).info
    except Exception as e:
        raise ValueError(f"tfds:{name}: {e}") from None
    shape = info.features["image"].shape if "image" in info.features else (None, None)
    side = min(shape[:2]) if None not in shape[:2] else None
    split = info.splits["train"] if "train" in info.splits else None
    return {"kind": "tfds", "resolution": 2 ** int(math.log2(side)) if side else None,
            "num_images": split.num_examples if split else None, "has_labels": False, "label_fields": []}


def _tfds_pipeline(name, resolution, ctx, global_batch_size, mirror, seed, shuffle, repeat):
    tfds = _import_tfds()
    batch, pipeline_id, num_pipelines = _context(ctx, global_batch_size)
    try:
        ds = tfds.load(name, split="train", shuffle_files=shuffle, download=True,
                       read_config=tfds.ReadConfig(shuffle_seed=seed, input_context=ctx))
    except Exception as e:  # offline, unknown name, missing manual download ...
        raise ValueError(f"could not load tfds:{name} ({type(e).__name__}: {str(e)[:200]}); the first use downloads "
                         "it, so connect to the internet or set TFDS_DATA_DIR to a folder that holds it") from None

    def to_square(example):  # centre crop, then area resize (box filter when downsampling by 2^k)
        image = example["image"]
        h, w = tf.shape(image)[0], tf.shape(image)[1]
        side = tf.minimum(h, w)
        image = tf.image.crop_to_bounding_box(image, (h - side) // 2, (w - side) // 2, side, side)
        image = tf.image.resize(tf.cast(image, tf.float32), [resolution, resolution], method="area")
        image = tf.broadcast_to(image, [resolution, resolution, 3]) if image.shape[-1] == 1 else image
        return tf.clip_by_value(tf.round(image), 0, 255) / 127.5 - 1.0

    ds = ds.map(to_square, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if shuffle:
        ds = ds.shuffle(2048, seed=seed + 104729 * pipeline_id)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch, drop_remainder=True).enumerate()
    if mirror:
        ds = ds.map(lambda step, x: _flip(x, seed, pipeline_id, step)[0], num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda step, x: x)
    return ds.prefetch(tf.data.AUTOTUNE)
