"""Equalized learning rate: dense and conv layers whose weights are scaled at run time (ProGAN)."""

import math

import keras
import tensorflow as tf

from stylegan_tf.layers.resample import downsample_2x, upsample_2x

SQRT2 = math.sqrt(2.0)


@keras.saving.register_keras_serializable(package="stylegan_tf")
class EqualizedDense(keras.layers.Layer):
    """Fully connected layer with equalized learning rate.

    The weight variable is drawn from N(0, 1/lrmul) and multiplied at run time by
    the He constant, so every weight sees the same effective learning rate under Adam:

        y = x @ (W * gain * lrmul / sqrt(fan_in)) + b * lrmul,   W ~ N(0, 1/lrmul), b = 0

    Paper: ProGAN (Karras et al. 2018) Sec. 4.1; StyleGAN appendix C (lrmul 0.01 in the
    mapping network). Used by every row of Table 1 (A-F).

    Args:
        units: Output width.
        gain: Gain of the He constant; sqrt(2) before a leaky ReLU, 1 for linear outputs.
        lrmul: Learning-rate multiplier (0.01 in the mapping network).
        use_bias: Whether to add a bias (also scaled by `lrmul`).
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: Tensor of shape `[N, ..., fan_in]`.

    Returns:
        Tensor of shape `[N, ..., units]`.
    """

    def __init__(self, units, gain=SQRT2, lrmul=1.0, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.gain = gain
        self.lrmul = lrmul
        self.use_bias = use_bias

    def build(self, input_shape):
        fan_in = input_shape[-1]
        self.w_scale = self.gain * self.lrmul / math.sqrt(fan_in)  # applied at run time, not at init
        self.kernel = self.add_weight(
            shape=(fan_in, self.units), initializer=keras.initializers.RandomNormal(0.0, 1.0 / self.lrmul),
            name="kernel",
        )
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias") if self.use_bias else None

    def call(self, inputs):
        y = keras.ops.matmul(inputs, self.kernel * self.w_scale)
        if self.bias is not None:
            y = y + (self.bias if self.lrmul == 1.0 else self.bias * self.lrmul)  # no multiply by 1
        return y

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "gain": self.gain, "lrmul": self.lrmul,
                "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="stylegan_tf")
class EqualizedConv2D(keras.layers.Layer):
    """2-D convolution with equalized learning rate, optionally fused with 2x up- or down-sampling.

        y = conv(x, W * gain / sqrt(k * k * C_in)) + b,   W ~ N(0, 1)

    `resample="up"` doubles the resolution (nearest up-sampling, then the conv); `"down"` halves
    it (the conv, then a 2x2 box average). With `fused=True` the same weights are applied as one
    strided op with a 4x4 kernel built from the four shifted 3x3 kernels, as the official code
    does from 128 px up: a transposed conv for "up" (equal to nearest + conv with the kernel
    flipped in both spatial axes) and a stride-2 conv for "down" (exactly equal to conv + box).

    The unfused forms (official `upscale2d` + `conv2d`, `conv2d` + `downscale2d`) are computed as
    the same strided ops too, with the kernel flipped back for "up": the same function (only the
    float summation order differs, ~1e-7 relative), at 16/36 of the multiply-adds for a 3x3 kernel
    and without the up-sampled or full-resolution intermediate (issue 25: 3x3 convs are most of a
    training step's time on a CPU).

    Paper: ProGAN Sec. 4.1 (equalized LR); fused resampling: NVlabs/stylegan
    `upscale2d_conv2d` / `conv2d_downscale2d`. Used by every row of Table 1 (A-F).

    Args:
        filters: Output channels.
        kernel_size: Spatial size of the square kernel.
        gain: Gain of the He constant.
        lrmul: Learning-rate multiplier.
        use_bias: Whether to add a bias (the synthesis layers add theirs after the noise instead).
        resample: None, "up" or "down".
        fused: Use the fused 4x4 strided form for `resample` (needs `kernel_size=3`).
        **kwargs: Base layer arguments.

    Call arguments:
        inputs: Tensor `[N, H, W, C_in]`.

    Returns:
        Tensor `[N, H', W', filters]` with H' = 2H ("up"), H/2 ("down") or H.
    """

    def __init__(self, filters, kernel_size, gain=SQRT2, lrmul=1.0, use_bias=True, resample=None, fused=False,
                 **kwargs):
        super().__init__(**kwargs)
        if resample not in (None, "up", "down"):
            raise ValueError(f"resample must be None, 'up' or 'down', got {resample!r}")
        if fused and (resample is None or kernel_size != 3):
            raise ValueError("fused=True needs resample='up' or 'down' and kernel_size=3")
        self.filters = filters
        self.kernel_size = kernel_size
        self.gain = gain
        self.lrmul = lrmul
        self.use_bias = use_bias
        self.resample = resample
        self.fused = fused

    def build(self, input_shape):
        fan_in = self.kernel_size * self.kernel_size * input_shape[-1]
        self.w_scale = self.gain * self.lrmul / math.sqrt(fan_in)
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.kernel_size, input_shape[-1], self.filters),
            initializer=keras.initializers.RandomNormal(0.0, 1.0 / self.lrmul), name="kernel",
        )
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias") if self.use_bias else None

    def call(self, inputs):
        w = self.kernel * self.w_scale  # [k, k, C_in, C_out]
        if self.resample == "up" and self.kernel_size == 3:
            # unfused: nearest 2x + conv(w) equals the transposed conv of the flipped kernel
            y = _fused_upsample_conv(inputs, w if self.fused else w[::-1, ::-1])
        elif self.resample == "down" and self.kernel_size == 3:
            y = _fused_conv_downsample(inputs, w)  # conv + 2x2 box, fused or not
        else:
            x = upsample_2x(inputs) if self.resample == "up" else inputs
            y = keras.ops.conv(x, w, padding="same")
            if self.resample == "down":
                y = downsample_2x(y)
        if self.bias is not None:
            y = y + (self.bias if self.lrmul == 1.0 else self.bias * self.lrmul)  # no multiply by 1
        return y

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        f = {"up": 2.0, "down": 0.5, None: 1.0}[self.resample]
        scale = (lambda d: None if d is None else int(d * f))
        return (n, scale(h), scale(w), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "gain": self.gain, "lrmul": self.lrmul, "use_bias": self.use_bias, "resample": self.resample,
                "fused": self.fused}


def _shifted_sum(w):
    # [3, 3, ...] -> [4, 4, ...]: sum of the kernel placed at the four one-pixel offsets; four pads rather than
    # four slices of one padded kernel (the same sums, in the same order), so the gradient is four cheap
    # slices instead of four StridedSliceGrads that each build a zero kernel
    def at(top, left):
        return keras.ops.pad(w, [[top, 1 - top], [left, 1 - left], [0, 0], [0, 0]])

    return at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)


def _fused_upsample_conv(x, w):
    # The official code runs the 4x4 kernel as a transposed conv (TF op, so borders match it exactly).
    w = _shifted_sum(keras.ops.transpose(w, (0, 1, 3, 2)))  # [4, 4, C_out, C_in]
    n, h, wd = tf.shape(x)[0], x.shape[1], x.shape[2]
    out_shape = tf.stack([n, 2 * h, 2 * wd, w.shape[2]])
    return tf.nn.conv2d_transpose(x, w, out_shape, strides=2, padding="SAME")


def _fused_conv_downsample(x, w):
    w = _shifted_sum(w) * 0.25  # [4, 4, C_in, C_out]
    return keras.ops.conv(x, w, strides=2, padding="same")
