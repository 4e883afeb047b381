"""ToRGB and FromRGB: the 1x1 convs between feature maps and images at each resolution."""

import keras

from stylegan_tf.layers.equalized import SQRT2, EqualizedConv2D


@keras.saving.register_keras_serializable(package="stylegan_tf")
class ToRGB(EqualizedConv2D):
    """Linear 1x1 conv from feature maps to an image (no activation, no tanh).

        images = conv1x1(x, W / sqrt(C)) + b,   gain 1

    Paper: ProGAN Sec. 3 (one ToRGB per resolution for growing); every row of Table 1.

    Args:
        channels: Image channels (3 for RGB).
        **kwargs: Base layer arguments.

    Call arguments:
        inputs: Tensor `[N, H, W, C]`.

    Returns:
        Images `[N, H, W, channels]`, nominally in [-1, 1].
    """

    def __init__(self, channels=3, **kwargs):
        for k in ("filters", "kernel_size", "gain"):  # fixed by the layer; dropped when reloading a config
            kwargs.pop(k, None)
        super().__init__(filters=channels, kernel_size=1, gain=1.0, **kwargs)
        self.channels = channels

    def get_config(self):
        config = super().get_config()
        for k in ("filters", "kernel_size", "gain", "lrmul", "use_bias", "resample", "fused"):
            config.pop(k)
        return {**config, "channels": self.channels}


@keras.saving.register_keras_serializable(package="stylegan_tf")
class FromRGB(EqualizedConv2D):
    """1x1 conv from an image to feature maps, followed by leaky ReLU 0.2.

        x = lrelu(conv1x1(images, W * sqrt(2) / sqrt(3)) + b)

    Paper: ProGAN Sec. 3 (one FromRGB per resolution in D); every row of Table 1.

    Args:
        filters: Output channels.
        **kwargs: Base layer arguments.

    Call arguments:
        inputs: Images `[N, H, W, 3]`.

    Returns:
        Tensor `[N, H, W, filters]`.
    """

    def __init__(self, filters, **kwargs):
        for k in ("kernel_size", "gain"):
            kwargs.pop(k, None)
        super().__init__(filters=filters, kernel_size=1, gain=SQRT2, **kwargs)

    def call(self, inputs):
        return keras.ops.leaky_relu(super().call(inputs), 0.2)

    def get_config(self):
        config = super().get_config()
        for k in ("kernel_size", "gain", "lrmul", "use_bias", "resample", "fused"):
            config.pop(k)
        return config
