"""Custom Keras layers of StyleGAN; each is registered under the `stylegan_tf` package."""

from stylegan_tf import _quiet  # noqa: F401,E402  (imports TensorFlow without its C++ start-up lines)

from stylegan_tf.layers.adain import AdaIN
from stylegan_tf.layers.equalized import EqualizedConv2D, EqualizedDense
from stylegan_tf.layers.minibatch_std import MinibatchStdDev
from stylegan_tf.layers.noise import NOISE_MODES, NoiseInjection
from stylegan_tf.layers.normalization import PixelNorm, instance_norm
from stylegan_tf.layers.resample import Blur, downsample_2x, lerp_clip, upsample_2x
from stylegan_tf.layers.rgb import FromRGB, ToRGB

__all__ = [
    "AdaIN", "Blur", "EqualizedConv2D", "EqualizedDense", "FromRGB", "MinibatchStdDev", "NOISE_MODES",
    "NoiseInjection", "PixelNorm", "ToRGB", "downsample_2x", "instance_norm", "lerp_clip", "upsample_2x",
]
