"""FID: the Fréchet distance between Inception-v3 pool features of generated and real images.

    FID = ||mu_g - mu_r||^2 + Tr(S_g + S_r - 2 (S_g S_r)^(1/2))     over the 2048-d pool3 features

Paper: Heusel et al. 2017, Eq. 6; StyleGAN Table 1 reports it. The official
`metrics/frechet_inception_distance.py` (`API._evaluate`): 50,000 images of `Gs` without truncation and
with random noise, converted to uint8, against 50,000 reals; numpy covariance, `scipy.linalg.sqrtm`.

Ours: `keras.applications.InceptionV3` with ImageNet weights (`include_top=False, pooling="avg"`: the
same 2048-d pool3 vector); uint8 images are resized bilinearly to 299 px and scaled to [-1, 1] as
Keras' Inception expects. The official feature network is a pickled graph with its own resizing, so
values are close to, not identical with, published FIDs. Default sample size: 50,000 (official) when
a GPU is visible, 5,000 on a CPU (one Inception pass costs ~6 GFLOP per image); the reals are capped
at the dataset's size ("num_reals" says how many were used). `G=None` gives the real-vs-real floor.

Weights: `inception_weights=FILE`, else $STYLEGAN_TF_INCEPTION_WEIGHTS, else Keras' cache
(~/.keras/models/, downloaded once when online). Offline without them the metric fails with one line
that names the file to download and where to put it.
"""

import functools
import os

import numpy as np

from stylegan_tf.metrics import register_metric
from stylegan_tf.metrics.frechet import feature_statistics, frechet_distance
from stylegan_tf.progress import optional_progress_bar

__all__ = ["fid", "inception_weights_path", "build_inception", "inception_features", "WEIGHTS_FILE", "WEIGHTS_URL"]

WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" + WEIGHTS_FILE
WEIGHTS_ENV = "STYLEGAN_TF_INCEPTION_WEIGHTS"
GPU_NUM_IMAGES, CPU_NUM_IMAGES = 50000, 5000
_FEATURE_FNS = {}  # (id(model), input size) -> (model, compiled feature function)
_REAL_STATS = {}  # (data, resolution, num_reals, seed, weights, size) -> (mu, sigma): reals are read once per process


def _keras_cache():
    return os.path.join(os.path.expanduser(os.environ.get("KERAS_HOME", os.path.join("~", ".keras"))), "models",
                        WEIGHTS_FILE)


def inception_weights_path(path=None):
    """The ImageNet weights file: `path`, else $STYLEGAN_TF_INCEPTION_WEIGHTS, else Keras' cache (downloaded once)."""
    how = (f"download {WEIGHTS_URL} to {_keras_cache()}, or pass its path with --inception-weights FILE "
           f"(or ${WEIGHTS_ENV})")
    path = path or os.environ.get(WEIGHTS_ENV)
    if path:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"FID: Inception-v3 weights {path} not found: {how}")
        return path
    if os.path.isfile(_keras_cache()):
        return _keras_cache()
    import keras

    try:
        return keras.utils.get_file(WEIGHTS_FILE, WEIGHTS_URL, cache_subdir="models")
    except Exception as e:  # offline, proxy, ...: one line instead of a traceback
        raise FileNotFoundError(f"FID needs the Inception-v3 ImageNet weights and could not download them "
                                f"({type(e).__name__}): {how}") from None


def build_inception(weights="imagenet", input_size=299):
    """InceptionV3 [N, size, size, 3] in [-1, 1] -> [N, 2048] pool features; `weights=None`: random (tests)."""
    import keras

    path = inception_weights_path() if weights == "imagenet" else weights
    return keras.applications.InceptionV3(include_top=False, weights=path, pooling="avg",
                                          input_shape=(input_size, input_size, 3))


_cached_inception = functools.lru_cache(maxsize=2)(build_inception)  # training evaluates again and again


def inception_features(batches, model, input_size=299, bar=None):
    """Pool features [N, 2048] (float64) of image batches in [-1, 1], compared as uint8 like the official metric."""
    import tensorflow as tf

    from stylegan_tf.generation.viz import to_uint8

    key = (id(model), input_size)
    if key not in _FEATURE_FNS:  # one tf.function per network: Inception is traced once per batch shape

        @tf.function
        def features(x):  # x: [B, R, R, C] uint8
            x = tf.cast(x, tf.float32)
            if x.shape[-1] == 1:
                x = tf.tile(x, [1, 1, 1, 3])
            x = tf.image.resize(x, [input_size, input_size], method="bilinear")  # [B, 299, 299, 3]
            return model(x / 127.5 - 1.0, training=False)

        _FEATURE_FNS[key] = (model, features)  # holding the model keeps its id unique
    features = _FEATURE_FNS[key][1]
    out = []
    for batch in batches:
        out.append(features(tf.constant(to_uint8(batch))).numpy().astype(np.float64))
        if bar is not None:
            bar.update(len(batch))
    return np.concatenate(out)


def _default_num_images():
    import tensorflow as tf

    return GPU_NUM_IMAGES if tf.config.list_physical_devices("GPU") else CPU_NUM_IMAGES


@register_metric("fid")
def fid(G, data, num_images=None, *, resolution=None, batch_size=32, seed=0, psi=1.0, inception_weights=None,
        model=None, input_size=299, progress=False):
    """FID of `num_images` images of G (psi = 1, random noise) against up to as many reals of `data`.

    `G=None`: the real-vs-real floor, two disjoint sets of `num_images` reals (`resolution` required).
    `model`: a feature network to use instead of Inception (tests pass a random-weight one).
    Returns {"fid", "num_images", "num_reals"}.
    """
    from stylegan_tf.data import dataset_info
    from stylegan_tf.metrics.sampling import generated_images, real_images

    num_images = int(num_images or _default_num_images())
    resolution = int(resolution or G.resolution)
    available = dataset_info(data).get("num_images") or num_images * 2
    if G is None and available < 2 * num_images:
        raise ValueError(f"{data} holds {available} images, fewer than the 2 x {num_images} a real-vs-real FID needs")
    num_reals = num_images if G is None else min(num_images, available)
    if model is None:
        weights = inception_weights_path(inception_weights)
        model = _cached_inception(weights, input_size)
        key = (str(data), resolution, num_reals, seed, weights, input_size)
    else:
        key = None
    bar = optional_progress_bar(progress, total=num_images + num_reals, unit="img", desc="fid", leave=False)
    if G is None:
        feats = inception_features(real_images(data, resolution, 2 * num_images, batch_size, seed), model,
                                   input_size, bar)
        stats_a, stats_b = feature_statistics(feats[:num_images]), feature_statistics(feats[num_images:])
    else:
        if key not in _REAL_STATS:
            reals = real_images(data, resolution, num_reals, batch_size, seed)
            stats_b = feature_statistics(inception_features(reals, model, input_size, bar))
            if key is not None:
                _REAL_STATS[key] = stats_b
        else:
            stats_b = _REAL_STATS[key]
            bar.update(num_reals)
        fake = inception_features(generated_images(G, num_images, batch_size, seed, psi=psi), model, input_size, bar)
        stats_a = feature_statistics(fake)
    bar.close()
    return {"fid": frechet_distance(*stats_a, *stats_b), "num_images": num_images, "num_reals": num_reals}
