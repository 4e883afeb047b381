"""Minibatch standard deviation: a feature telling D how varied a group of samples is."""

import keras


@keras.saving.register_keras_serializable(package="stylegan_tf")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the average standard deviation over a group of samples as extra channels.

    Samples n and n + M (M = N / G) share a group, as in the official reshape to [G, M, ...]:

        s = mean_{h, w, c in feature f} sqrt(var_group(x) + 1e-8)   (biased variance)
        y = concat([x, tile(s)], axis=-1)

    Paper: ProGAN Sec. 3; the 4x4 block of D in every row of Table 1 (group 4, 1 feature).

    Args:
        group_size: Samples per group; min(group_size, N) is used and must divide N.
        num_features: Number of channel groups, each giving one new channel.
        **kwargs: Base layer arguments.

    Call arguments:
        inputs: Tensor `[N, H, W, C]`, C divisible by `num_features`.

    Returns:
        Tensor `[N, H, W, C + num_features]`.
    """

    def __init__(self, group_size=4, num_features=1, **kwargs):
        super().__init__(**kwargs)
        self.group_size = group_size
        self.num_features = num_features

    def call(self, inputs):
        n, h, w, c = keras.ops.shape(inputs)
        g = keras.ops.minimum(self.group_size, n)
        f = self.num_features
        y = keras.ops.reshape(inputs, (g, -1, h, w, f, c // f))  # [G, M, H, W, F, c]
        y = keras.ops.cast(y, "float32")
        y = y - keras.ops.mean(y, axis=0, keepdims=True)  # [G, M, H, W, F, c]
        y = keras.ops.sqrt(keras.ops.mean(keras.ops.square(y), axis=0) + 1e-8)  # [M, H, W, F, c]
        y = keras.ops.mean(y, axis=(1, 2, 4))  # [M, F]
        y = keras.ops.cast(keras.ops.reshape(y, (-1, 1, 1, f)), inputs.dtype)  # [M, 1, 1, F]
        y = keras.ops.tile(y, (g, h, w, 1))  # [N, H, W, F]
        return keras.ops.concatenate([inputs, y], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.num_features)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size, "num_features": self.num_features}
