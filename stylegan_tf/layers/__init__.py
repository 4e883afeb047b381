"""Custom Keras layers of StyleGAN; each is registered under the `stylegan_tf` package."""

from stylegan_tf.layers.adain import AdaIN
from stylegan_tf.layers.equalized import EqualizedConv2D, EqualizedDense
from stylegan_tf.layers.minibatch_std import MinibatchStdDev
from stylegan_tf.layers.noise import NOISE_MODES, NoiseInjection
from stylegan_tf.layers.normalization import InstanceNorm, PixelNorm, instance_norm
from stylegan_tf.layers.resample import Blur, Downsample2D, Upsample2D, downsample_2x, upsample_2x
from stylegan_tf.layers.rgb import FromRGB, ToRGB

__all__ = [
    "AdaIN", "Blur", "Downsample2D", "EqualizedConv2D", "EqualizedDense", "FromRGB", "InstanceNorm",
    "MinibatchStdDev", "NOISE_MODES", "NoiseInjection", "PixelNorm", "ToRGB", "Upsample2D", "downsample_2x",
    "instance_norm", "upsample_2x",
]
