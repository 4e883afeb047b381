"""`python -m stylegan_tf prepare SRC OUT --resolution R`: images -> sharded multi-resolution TFRecords.

Like the official `dataset_tool.py`, every power-of-two level from 4x4 up to R is stored, each one
the 2x2 box average of the level above (kept in float, rounded only when written), so a trainer at
any resolution of progressive growing reads exact official-style reals. Layout of OUT:

    r0004-00000.tfrecord ... r<R>-<k>.tfrecord   one shard set per level, same image order in each
    labels.npy                                  optional structured array, one record per image
    dataset.json                                written last: a folder without it is incomplete

Each record holds `image` (raw uint8 bytes, HWC) and `index` (the image's row in labels.npy).
Shards are written under `.tmp` names and renamed when closed, so an interrupted run never leaves a
folder that looks complete; running again clears the leftovers and starts afresh.
"""

import json
import os
import time
from pathlib import Path

import numpy as np

from stylegan_tf import _quiet  # noqa: F401  (imports TensorFlow without its C++ start-up lines)
import tensorflow as tf  # noqa: E402
from PIL import Image

from stylegan_tf.data.image_files import IMAGE_EXTENSIONS, MAX_PIXELS, list_source, load_rgb, reason  # noqa: F401
from stylegan_tf.data.sources import FORMAT, META_FILE  # noqa: F401  (dataset.json is read without TensorFlow)
from stylegan_tf.geometry import resolution_log2

LABELS_FILE = "labels.npy"


def _is_ours(name):
    return (name.startswith("r") and (".tfrecord" in name)) or name in (META_FILE, LABELS_FILE) or name.endswith(".tmp")


class DatasetWriter:
    """Writes uint8 images [R, R, 3] as TFRecord shards for every level 4..R, then `dataset.json`.

    Use as a context manager: on an exception the open `.tmp` shards are deleted and no
    `dataset.json` is written. Shared by `prepare` and the synthetic-faces cache.

    Args:
        out_dir: folder to write; must be empty, missing, or hold only files of an earlier writer.
        resolution: top level R (power of two >= 4).
        images_per_shard: images per shard file (default: about 32 MB of top-level pixels).
    """

    def __init__(self, out_dir, resolution, images_per_shard=None):
        if resolution < 4 or resolution & (resolution - 1):
            raise ValueError(f"resolution={resolution} is not allowed: use a power of two >= 4 (8, 16, ..., 1024)")
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        foreign = sorted(p.name for p in self.out_dir.iterdir() if not _is_ours(p.name))
        if foreign:
            raise ValueError(f"{self.out_dir} holds files that prepare did not write ({', '.join(foreign[:3])}); "
                             "choose an empty or new output folder")
        for p in self.out_dir.iterdir():  # leftovers of an earlier (maybe interrupted) run
            p.unlink()
        self.levels = [2**k for k in range(2, resolution_log2(resolution) + 1)]
        self.images_per_shard = images_per_shard or max(1, 2**25 // (resolution * resolution * 3))
        self.num_images = 0
        self.shards = {r: [] for r in self.levels}
        self._writers = {}

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()

    def add(self, image, index=None):
        """Appends one uint8 image [R, R, 3]; `index` (default: running count) links to labels.npy."""
        top = self.levels[-1]
        if image.shape != (top, top, 3) or image.dtype != np.uint8:
            raise ValueError(f"expected a uint8 image of shape ({top}, {top}, 3), got {image.dtype} {image.shape}")
        if self.num_images % self.images_per_shard == 0:
            self._close_shards()
        index = self.num_images if index is None else int(index)
        level = image.astype(np.float32)
        for r in reversed(self.levels):
            if r != top:  # 2x2 box average of the level above, as the official tool does
                level = (level[0::2, 0::2] + level[0::2, 1::2] + level[1::2, 0::2] + level[1::2, 1::2]) * 0.25
            quant = np.rint(level).clip(0, 255).astype(np.uint8)
            feature = {
                "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[quant.tobytes()])),
                "index": tf.train.Feature(int64_list=tf.train.Int64List(value=[index])),
            }
            self._writer(r).write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
        self.num_images += 1

    def _writer(self, r):
        if r not in self._writers:
            name = f"r{r:04d}-{len(self.shards[r]):05d}.tfrecord"
            self._writers[r] = (name, tf.io.TFRecordWriter(str(self.out_dir / (name + ".tmp"))))
        return self._writers[r][1]

    def _close_shards(self):
        for r, (name, writer) in sorted(self._writers.items()):
            writer.close()
            os.replace(self.out_dir / (name + ".tmp"), self.out_dir / name)
            self.shards[r].append(name)
        self._writers = {}

    def finish(self, labels=None, **extra):
        """Closes the shards, writes labels.npy (if given) and dataset.json; returns the metadata."""
        if self.num_images == 0:
            raise ValueError("no images were written")
        self._close_shards()
        meta = {"format": FORMAT, "resolution": self.levels[-1], "levels": self.levels,
                "num_images": self.num_images, "channels": 3,
                "shards": {str(r): names for r, names in self.shards.items()}, "labels": None, **extra}
        if labels is not None:
            if len(labels) != self.num_images:
                raise ValueError(f"{len(labels)} labels for {self.num_images} images")
            with open(self.out_dir / (LABELS_FILE + ".tmp"), "wb") as fh:
                np.save(fh, labels)
            os.replace(self.out_dir / (LABELS_FILE + ".tmp"), self.out_dir / LABELS_FILE)
            meta["labels"] = LABELS_FILE
            meta["label_fields"] = list(labels.dtype.names)
        (self.out_dir / (META_FILE + ".tmp")).write_text(json.dumps(meta, indent=1))
        os.replace(self.out_dir / (META_FILE + ".tmp"), self.out_dir / META_FILE)  # the dataset is complete
        return meta

    def abort(self):
        for name, writer in self._writers.values():
            writer.close()
            (self.out_dir / (name + ".tmp")).unlink(missing_ok=True)
        self._writers = {}


# -- reading users' images -------------------------------------------------------------------------------


def square(image, resolution, pad=False):
    """Centre-crops (or, with pad, letterboxes in black) to a square and resizes to `resolution`."""
    h, w = image.shape[:2]
    side = max(h, w) if pad else min(h, w)
    if pad:
        out = np.zeros((side, side, 3), np.uint8)
        out[(side - h) // 2 : (side - h) // 2 + h, (side - w) // 2 : (side - w) // 2 + w] = image
    else:
        out = image[(h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side]
    if side != resolution:
        out = np.asarray(Image.fromarray(out).resize((resolution, resolution), Image.LANCZOS))
    return out


def prepare_dataset(source, out_dir, resolution, *, pad=False, strict=False, images_per_shard=None, progress=True,
                    max_pixels=MAX_PIXELS):
    """Converts a folder or .zip of images to a dataset folder; see the module docstring.

    Lenient by default: unreadable files, non-images, images smaller than `resolution` or larger than
    `max_pixels`, and entries that are not files (links, FIFOs, unsafe zip paths: `image_files.py`) are
    skipped and listed with a reason in the returned summary; `strict=True` raises ValueError at the first.
    Hidden files and folders (names starting with ".") are listed too, but never stop a strict run.

    Returns:
        dict with `num_images`, `skipped` (list of (name, reason)), `out_dir`, `seconds` and `meta`.
    """
    from stylegan_tf.progress import progress_bar

    start = time.time()
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(f"OUT {out_dir} is an existing file; give a folder path (it is created if missing)")
    names, read, unlisted = list_source(source)
    if not names and not unlisted:
        raise ValueError(f"source {source} is empty; put .jpg, .png, .webp or .bmp images in it")
    skipped = []

    def skip(name, reason):
        if strict:
            raise ValueError(f"{name}: {reason} (run without --strict to skip such files)")
        skipped.append((name, reason))

    for name, why in unlisted:
        if why.startswith("hidden"):  # .DS_Store, .git/, __MACOSX/._x: listed, but never an error under strict
            skipped.append((name, why))
        else:
            skip(name, why)
    with DatasetWriter(out_dir, resolution, images_per_shard) as writer:
        bar = progress_bar(names, desc="prepare", unit="img") if progress else None  # plain lines in a log
        for name in names if bar is None else bar:
            if not name.lower().endswith(IMAGE_EXTENSIONS):
                skip(name, "not an image (extension not in " + " ".join(IMAGE_EXTENSIONS) + ")")
                continue
            try:
                image = load_rgb(read(name), max_pixels)
            except Exception as e:  # Pillow raises many kinds for corrupt or truncated files
                skip(name, reason(e))
                continue
            h, w = image.shape[:2]
            if (max(h, w) if pad else min(h, w)) < resolution:
                skip(name, f"{w}x{h} is smaller than {resolution}" + ("" if pad else " after cropping to a square"))
                continue
            writer.add(square(image, resolution, pad))
        if writer.num_images == 0:
            raise ValueError(f"source {source} holds no usable image ({len(skipped)} entries skipped, e.g. "
                             f"{skipped[0][0]}: {skipped[0][1]})")
        meta = writer.finish(source=str(source), fit="pad" if pad else "crop")
    return {"num_images": writer.num_images, "skipped": skipped, "out_dir": str(out_dir),
            "seconds": time.time() - start, "meta": meta}


def format_summary(summary, max_listed=20):
    meta, out = summary["meta"], Path(summary["out_dir"])
    size = sum(p.stat().st_size for p in out.iterdir()) / 2**20
    lines = [f"wrote {summary['num_images']} images at {', '.join(map(str, meta['levels']))} px to {out} "
             f"({sum(map(len, meta['shards'].values()))} shards, {size:.1f} MB) in {summary['seconds']:.1f} s"]
    if summary["skipped"]:
        lines.append(f"skipped {len(summary['skipped'])} file(s):")
        lines += [f"  {name}: {reason}" for name, reason in summary["skipped"][:max_listed]]
        if len(summary["skipped"]) > max_listed:
            lines.append(f"  ... and {len(summary['skipped']) - max_listed} more")
    return "\n".join(lines)
