"""stylegan_tf: StyleGAN (Karras, Laine, Aila, CVPR 2019) in Keras 3 / TensorFlow 2.

Public API:
    preset(name, **overrides) -> StyleGANConfig
    build_generator(cfg) -> Generator
    build_discriminator(cfg) -> Discriminator
"""

import os

# The package is TensorFlow-only (losses need nested GradientTapes, training uses tf.distribute).
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
if os.environ["KERAS_BACKEND"] != "tensorflow":
    raise ImportError(
        f"stylegan_tf needs the TensorFlow backend of Keras, but KERAS_BACKEND="
        f"{os.environ['KERAS_BACKEND']!r}. Unset it or set KERAS_BACKEND=tensorflow."
    )

__version__ = "0.1.0"

from stylegan_tf.config import PRESETS, SCALES, StyleGANConfig, preset  # noqa: E402
from stylegan_tf.networks import (Discriminator, Generator, MappingNetwork, SynthesisNetwork,  # noqa: E402
                                  build_discriminator, build_generator)

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
]
