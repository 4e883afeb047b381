"""Resampling: binomial blur, nearest 2x up-sampling, 2x2 box down-sampling and the fade between them (NHWC)."""

import keras
import numpy as np


def upsample_2x(x, factor=2):
    """Nearest-neighbour up-sampling by pixel replication: [N, H, W, C] -> [N, fH, fW, C]."""
    if factor == 1:
        return x
    x = keras.ops.repeat(x, factor, axis=1)
    return keras.ops.repeat(x, factor, axis=2)


def downsample_2x(x, factor=2):
    """Box-filter down-sampling (mean of each factor x factor block): [N, H, W, C] -> [N, H/f, W/f, C]."""
    if factor == 1:
        return x
    return keras.ops.average_pool(x, pool_size=factor, strides=factor, padding="valid")


def lerp_clip(a, b, t):
    """a + (b - a) * clip(t, 0, 1): the fade between resolutions (official `tflib.lerp_clip`)."""
    return a + (b - a) * keras.ops.clip(t, 0.0, 1.0)


def blur_kernel(blur_filter):
    """Normalised 2-D kernel f^T f / sum from a 1-D binomial filter such as (1, 2, 1)."""
    f = np.asarray(blur_filter, dtype=np.float32)
    k = np.outer(f, f)
    return k / k.sum()


@keras.saving.register_keras_serializable(package="stylegan_tf")
class Blur(keras.layers.Layer):
    """Depthwise low-pass filter; the paper's "bilinear" up/down-sampling filter.

        y = depthwise_conv(x, f^T f / sum(f^T f)),  f = [1, 2, 1], stride 1, zero 'SAME' padding

    Applied after every up-sampling conv in G and before every down-sampling conv in D.
    Zero padding (as in the official code) darkens the one-pixel border of a constant image.

    Paper: Sec. 2 and Table 1 row B ("bilinear up/down-sampling", after Zhang 2019).

    Args:
        blur_filter: 1-D filter taps; the 2-D kernel is their outer product, normalised to sum 1.
        **kwargs: Base layer arguments.

    Call arguments:
        inputs: Tensor `[N, H, W, C]`.

    Returns:
        Tensor of the same shape.
    """

    def __init__(self, blur_filter=(1, 2, 1), **kwargs):
        super().__init__(**kwargs)
        self.blur_filter = tuple(blur_filter)

    def build(self, input_shape):
        k = blur_kernel(self.blur_filter)[:, :, None, None]  # [kh, kw, 1, 1]
        self.kernel = np.tile(k, (1, 1, input_shape[-1], 1))  # [kh, kw, C, 1], a constant, not a weight

    def call(self, inputs):
        kernel = keras.ops.cast(self.kernel, inputs.dtype)
        return keras.ops.depthwise_conv(inputs, kernel, strides=1, padding="same")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "blur_filter": self.blur_filter}
