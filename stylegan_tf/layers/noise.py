"""NoiseInjection: per-pixel Gaussian noise, broadcast over channels with learned strengths."""

import keras

from stylegan_tf.layers._random import replica_normal

NOISE_MODES = ("random", "const", "none")


@keras.saving.register_keras_serializable(package="stylegan_tf")
class NoiseInjection(keras.layers.Layer):
    """Adds single-channel Gaussian noise, scaled by a learned per-channel strength.

        x' = x + b * n,   n ~ N(0, 1) of shape [N, H, W, 1],  b of shape [C] initialised to 0

    Because b starts at 0 a fresh layer is the identity. The noise comes from one of three
    sources: a fresh draw per call ("random", used in training), the layer's fixed stored
    noise map [1, H, W, 1] ("const", the official `randomize_noise=False`), or a tensor passed
    in as `noise` (reproducible figures). "none" adds nothing.

    Paper: Sec. 2 and Sec. 3.2 (stochastic variation). Introduced in Table 1, row E.

    Args:
        seed: Seed of the layer's `SeedGenerator` for the "random" mode (None: from the
            global Keras seed).
        **kwargs: Base layer arguments.

    Call arguments:
        x: Tensor `[N, H, W, C]`.
        noise: Optional noise `[N or 1, H, W, 1]`; overrides `noise_mode`.
        noise_mode: "random", "const" or "none".

    Returns:
        A tensor with the shape of `x`.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="seed_generator")  # a fixed name: checkpoints match by path

    def build(self, input_shape):
        _, h, w, c = input_shape
        self.strength = self.add_weight(shape=(c,), initializer="zeros", name="strength")
        self.const_noise = self.add_weight(  # the official per-layer `noise{i}` variable
            shape=(1, h, w, 1), initializer=keras.initializers.RandomNormal(0.0, 1.0), trainable=False,
            name="const_noise",
        )

    def call(self, x, noise=None, noise_mode="random"):
        if noise is None:
            if noise_mode not in NOISE_MODES:
                raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
            if noise_mode == "none":
                return x
            if noise_mode == "const":
                noise = self.const_noise
            else:
                shape = keras.ops.shape(x)
                noise = replica_normal((shape[0], shape[1], shape[2], 1), self.seed_generator)
        noise = keras.ops.cast(noise, x.dtype)
        return x + noise * keras.ops.cast(self.strength, x.dtype)  # [N|1, H, W, 1] * [C] -> broadcast

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
