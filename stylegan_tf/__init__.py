"""stylegan_tf: StyleGAN (Karras, Laine, Aila, CVPR 2019) in Keras 3 / TensorFlow 2.

Public API:
    preset(name, **overrides) -> StyleGANConfig
    build_generator(cfg) -> Generator
    build_discriminator(cfg) -> Discriminator
    load_model(path) -> the network in any .keras file the project writes (G_ema, G, D; training or `convert`)
    load_generator(path) -> the Generator of a .keras file or a run folder (load_model, refusing D)
"""

import os
import sys

# The package is TensorFlow-only (losses need nested GradientTapes, training uses tf.distribute).
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
if os.environ["KERAS_BACKEND"] != "tensorflow":
    raise ImportError(
        f"stylegan_tf needs the TensorFlow backend of Keras, but KERAS_BACKEND="
        f"{os.environ['KERAS_BACKEND']!r}. Unset it or set KERAS_BACKEND=tensorflow."
    )

# oneDNN's kernels: TensorFlow turns them on by default only on CPUs with AVX-512; on this project's
# AVX2-only CPU they made the 32 px demo training step cheaper (docs/performance.md), so they are on
# unless the user chose (TF_ENABLE_ONEDNN_OPTS=0 turns them off). Read when TensorFlow loads: it has
# no effect if TensorFlow was imported before stylegan_tf.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"

from stylegan_tf.config import PRESETS, SCALES, StyleGANConfig, preset  # noqa: E402  (no TensorFlow)

# The networks import TensorFlow (seconds), so they load on first use: `import stylegan_tf` and
# `python -m stylegan_tf --help` stay fast. Importing them registers the Keras layers, which
# `keras.saving.load_model` needs: use `stylegan_tf.load_model(path)` (it imports them first); plain
# `keras.saving.load_model` works after any of these names was touched, or when Keras was imported
# before stylegan_tf (then the networks are registered at import, below: TensorFlow is loaded already).
_LAZY = {
    "Generator": "stylegan_tf.networks", "Discriminator": "stylegan_tf.networks",
    "MappingNetwork": "stylegan_tf.networks", "SynthesisNetwork": "stylegan_tf.networks",
    "build_generator": "stylegan_tf.networks", "build_discriminator": "stylegan_tf.networks",
    "load_generator": "stylegan_tf.generation.figures",
    "load_model": "stylegan_tf.loading",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'stylegan_tf' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))


__all__ = [
    "PRESETS",
    "SCALES",
    "StyleGANConfig",
    "preset",
    "Generator",
    "build_generator",
    "Discriminator",
    "build_discriminator",
    "MappingNetwork",
    "SynthesisNetwork",
    "load_generator",
    "load_model",
]

if "keras" in sys.modules:  # Keras (so TensorFlow) is loaded already: register the networks for keras.saving.load_model
    from stylegan_tf import networks  # noqa: E402,F401
