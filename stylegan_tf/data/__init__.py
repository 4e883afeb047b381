"""Training data: the embedded synthetic-faces dataset, `prepare` for image folders, and the tf.data pipeline.

    faces.py, face_drawing.py   the procedural faces with known factors (the embedded dataset)
    prepare.py                  folder / .zip of images -> TFRecord levels 4x4 ... RxR (`python -m stylegan_tf prepare`)
    sources.py                  the source names and `dataset_info` (reads dataset.json; no TensorFlow)
    pipeline.py                 `make_dataset`, the embedded dataset's cache

Importing this package does not import TensorFlow (the command line checks `--data` before TensorFlow
loads); `pipeline` and `prepare` do, through `stylegan_tf._quiet`.
"""

from stylegan_tf.data.sources import ACCEPTED, SYNTHETIC, dataset_info

_LAZY = {"cache_dir": "stylegan_tf.data.pipeline", "make_dataset": "stylegan_tf.data.pipeline",
         "synthetic_faces_path": "stylegan_tf.data.pipeline"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'stylegan_tf.data' has no attribute {name!r}")


__all__ = ["ACCEPTED", "SYNTHETIC", "cache_dir", "dataset_info", "make_dataset", "synthetic_faces_path"]
