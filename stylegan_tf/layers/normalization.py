"""Pixel norm (ProGAN generator, rows A/B) and instance norm (the normalising half of AdaIN)."""

import keras


@keras.saving.register_keras_serializable(package="stylegan_tf")
class PixelNorm(keras.layers.Layer):
    """Normalises each feature vector to unit average square over the channel axis.

        y = x / sqrt(mean_c(x^2) + epsilon)

    Applied to z before the mapping network, and after every conv of the traditional
    (ProGAN) generator.

    Paper: ProGAN Sec. 4.2; StyleGAN Table 1 rows A-B (use_pixel_norm) and the z input of C-F.

    Args:
        epsilon: Added inside the square root.
        **kwargs: Base layer arguments.

    Call arguments:
        inputs: Tensor `[..., C]`.

    Returns:
        Tensor of the same shape.
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, inputs):
        return inputs * keras.ops.rsqrt(keras.ops.mean(keras.ops.square(inputs), axis=-1, keepdims=True)
                                        + self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


def instance_norm(x, epsilon=1e-8):
    """Per sample and channel over H, W: (x - mean) / sqrt(mean((x - mean)^2) + eps), in float32."""
    dtype = x.dtype
    x = keras.ops.cast(x, "float32")
    x = x - keras.ops.mean(x, axis=(1, 2), keepdims=True)  # [N, 1, 1, C] means
    x = x * keras.ops.rsqrt(keras.ops.mean(keras.ops.square(x), axis=(1, 2), keepdims=True) + epsilon)
    return keras.ops.cast(x, dtype)
