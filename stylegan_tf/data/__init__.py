"""Training data: the embedded synthetic-faces dataset, `prepare` for image folders, and the tf.data pipeline.

    faces.py, face_drawing.py   the procedural faces with known factors (the embedded dataset)
    prepare.py                  folder / .zip of images -> TFRecord levels 4x4 ... RxR (`python -m stylegan_tf prepare`)
    pipeline.py                 `make_dataset`, `dataset_info`, the embedded dataset's cache
"""

from stylegan_tf import _quiet  # noqa: F401,E402  (imports TensorFlow without its C++ start-up lines)

from stylegan_tf.data.pipeline import ACCEPTED, SYNTHETIC, cache_dir, dataset_info, make_dataset, synthetic_faces_path

__all__ = ["ACCEPTED", "SYNTHETIC", "cache_dir", "dataset_info", "make_dataset", "synthetic_faces_path"]
