"""AdaIN: instance norm followed by a per-channel affine transform computed from w."""

import keras

from stylegan_tf.layers.equalized import EqualizedDense
from stylegan_tf.layers.normalization import instance_norm


@keras.saving.register_keras_serializable(package="stylegan_tf")
class AdaIN(keras.layers.Layer):
    """Adaptive instance normalisation controlled by an intermediate latent `w`.

    Each feature map is normalised over its spatial extent, then scaled and shifted by a
    per-channel style y = (y_s, y_b) computed from `w` by a learned affine map (the "A"
    boxes of Fig. 1b; equalized LR with gain 1, bias initialised to 0):

        y = A(w) = w @ W_A + b_A,   split into y_s, y_b (first C entries, last C entries)
        AdaIN(x, w) = (y_s + 1) * (x - mean(x)) / std(x) + y_b

    The scale is centred on 1 (the official `style_mod` adds the constant), so an untrained
    style is close to the identity. With `normalize=False` only the modulation is applied
    (a style-based generator without instance norm).

    Paper: Sec. 2, Eq. 1. Introduced in Table 1, row C.
    Derived step by step in notebooks/03_mapping_and_styles.ipynb.

    Args:
        normalize: Apply instance norm before the modulation (official `use_instance_norm`).
        epsilon: Added to the variance in the instance norm.
        **kwargs: Base layer arguments.

    Call arguments:
        inputs: Tuple `(x, w)`, `x` of shape `[N, H, W, C]` and `w` of shape `[N, w_dim]`.

    Returns:
        A tensor with the shape of `x`.
    """

    def __init__(self, normalize=True, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.normalize = normalize
        self.epsilon = epsilon

    def build(self, input_shape):
        x_shape, w_shape = input_shape
        self.channels = x_shape[-1]
        self.affine = EqualizedDense(2 * self.channels, gain=1.0, name="affine")
        self.affine.build(w_shape)  # Keras 3: a parent builds its children

    def call(self, inputs):
        x, w = inputs
        if self.normalize:
            x = instance_norm(x, self.epsilon)
        y = keras.ops.reshape(self.affine(w), (-1, 1, 1, 2, self.channels))  # [N, 2C] -> [N, 1, 1, 2, C]
        y_s, y_b = y[..., 0, :], y[..., 1, :]  # [N, 1, 1, C] each
        return x * (y_s + 1.0) + y_b

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "normalize": self.normalize, "epsilon": self.epsilon}
