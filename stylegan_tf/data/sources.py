"""What a data source is, without TensorFlow: its name's syntax and a prepared folder's `dataset.json`.

`dataset_info(source)` describes a source from its name or its `dataset.json` alone, so the command
line checks `--data` before TensorFlow loads (`python -m stylegan_tf train --data /no/such/folder`
answers at once). `stylegan_tf.data.pipeline` reads the images; `stylegan_tf.data.prepare` writes the
folders (format `FORMAT`, described by `META_FILE`).
"""

import json
import os
from pathlib import Path

from stylegan_tf.geometry import resolution_log2

SYNTHETIC = "synthetic-faces"
SYNTHETIC_MAX_RESOLUTION = 256
SYNTHETIC_NUM_IMAGES = 10_000
ACCEPTED = f'"{SYNTHETIC}" (or "{SYNTHETIC}:N"), a folder made by `python -m stylegan_tf prepare`, or tfds:NAME'
FORMAT = "stylegan_tf-tfrecords-v1"  # `format` of a prepared folder's dataset.json
META_FILE = "dataset.json"

__all__ = ["SYNTHETIC", "SYNTHETIC_MAX_RESOLUTION", "SYNTHETIC_NUM_IMAGES", "ACCEPTED", "FORMAT", "META_FILE",
           "dataset_info"]


def _parse_synthetic(source):
    if source == SYNTHETIC:
        return SYNTHETIC_NUM_IMAGES
    count = source[len(SYNTHETIC) + 1 :]
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"source {source!r}: write {SYNTHETIC}:N with N a positive number of images")
    return int(count)


def _is_synthetic(source):
    return source == SYNTHETIC or source.startswith(SYNTHETIC + ":")


def _read_meta(folder):
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"data source {str(folder)!r} does not exist; accepted: {ACCEPTED}")
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        hint = " (an interrupted prepare? run it again)" if any(folder.glob("r*.tfrecord*")) else ""
        raise FileNotFoundError(f"{folder} is not a complete prepared dataset: no {META_FILE}{hint}; "
                                f"accepted: {ACCEPTED}")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{meta_path} is unreadable ({e}); run `python -m stylegan_tf prepare` again") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ValueError(f"{meta_path} has format {found!r}, expected {FORMAT!r}")
    for names in (meta.get("shards") or {}).values():
        for name in names:
            _inside(folder, name, "shard")
    if meta.get("labels"):
        _inside(folder, meta["labels"], "labels file")
    return meta


def _inside(folder, name, what):
    """`folder/name`, refusing a `dataset.json` entry that is not a plain file name inside the folder."""
    if not isinstance(name, str) or not name or os.path.isabs(name) or name != os.path.basename(name) \
            or name in (".", ".."):
        raise ValueError(f"{Path(folder) / META_FILE} lists {what} {name!r}, which is not a file name "
                         f"inside the dataset folder; refusing to open it. Run `python -m stylegan_tf prepare` again")
    return str(Path(folder) / name)


def dataset_info(source):
    """Describes a source without reading its images (and, except for tfds:NAME, without TensorFlow).

    Returns:
        dict with `kind` ("synthetic", "folder" or "tfds"), `resolution` (largest available, None if
        unknown), `num_images`, `has_labels` and `label_fields`; `levels` (resolutions held) except
        for tfds, which is resized on the fly; `path` for folders.
    """
    source = str(source)
    if _is_synthetic(source):
        from stylegan_tf.data.faces import FACTOR_NAMES  # numpy only

        return {"kind": "synthetic", "resolution": SYNTHETIC_MAX_RESOLUTION, "num_images": _parse_synthetic(source),
                "has_labels": True, "label_fields": list(FACTOR_NAMES),
                "levels": [2**k for k in range(2, resolution_log2(SYNTHETIC_MAX_RESOLUTION) + 1)]}
    if source.startswith("tfds:"):
        from stylegan_tf.data.tfds_source import _tfds_info

        return _tfds_info(source[5:])
    meta = _read_meta(source)
    return {"kind": "folder", "resolution": meta["resolution"], "num_images": meta["num_images"],
            "has_labels": bool(meta.get("labels")), "label_fields": meta.get("label_fields", []),
            "levels": meta["levels"], "path": str(Path(source).resolve())}
