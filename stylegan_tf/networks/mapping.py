"""MappingNetwork f: Z -> W, an MLP that untangles the latent space before the styles."""

import keras

from stylegan_tf.layers import EqualizedDense, PixelNorm


@keras.saving.register_keras_serializable(package="stylegan_tf")
class MappingNetwork(keras.layers.Layer):
    """Maps z to w with `mapping_layers` equalized dense layers, then broadcasts w to `num_ws` rows.

        w = lrelu_0.2(dense_8(... lrelu_0.2(dense_1(z / sqrt(mean(z^2) + 1e-8))) ...))
        ws = [w, w, ..., w]   (one copy per style input of the synthesis network)

    Every dense layer (the last one included) is followed by leaky ReLU 0.2 and uses
    lrmul 0.01, so under Adam the mapping weights move 100x more slowly than the rest.
    With `mapping_layers=0`, w is the pixel-normalised z (the traditional generators).

    Paper: Sec. 2, Fig. 1b; appendix C (lrmul). Introduced in Table 1, row C; Table 4 varies the depth.

    Args:
        z_dim: Width of z.
        w_dim: Width of w (the last layer's output).
        num_ws: Rows of the broadcast output (2 * log2(resolution) - 2).
        mapping_layers: Number of dense layers.
        lrmul: Learning-rate multiplier of the dense layers.
        normalize_latents: Pixel-normalise z first.
        mapping_fmaps: Width of the hidden layers (official `mapping_fmaps`); None = `w_dim`.
        **kwargs: Base layer arguments.

    Call arguments:
        z: Tensor `[N, z_dim]`.

    Returns:
        ws: Tensor `[N, num_ws, w_dim]`.
    """

    def __init__(self, z_dim=512, w_dim=512, num_ws=18, mapping_layers=8, lrmul=0.01, normalize_latents=True,
                 mapping_fmaps=None, **kwargs):
        super().__init__(**kwargs)
        if mapping_layers == 0 and z_dim != w_dim:
            raise ValueError(f"with mapping_layers=0, w is the normalised z: w_dim must equal z_dim ({z_dim})")
        self.z_dim = z_dim
        self.w_dim = w_dim
        self.num_ws = num_ws
        self.mapping_layers = mapping_layers
        self.lrmul = lrmul
        self.normalize_latents = normalize_latents
        self.mapping_fmaps = mapping_fmaps

    def build(self, input_shape):
        self.pixel_norm = PixelNorm(name="pixel_norm")
        hidden = self.w_dim if self.mapping_fmaps is None else self.mapping_fmaps
        self.dense = [EqualizedDense(self.w_dim if i == self.mapping_layers - 1 else hidden, lrmul=self.lrmul,
                                     name=f"dense{i}") for i in range(self.mapping_layers)]
        shape = (None, self.z_dim)
        for layer in self.dense:
            layer.build(shape)
            shape = (None, layer.units)

    def call(self, z):
        w = self.pixel_norm(z) if self.normalize_latents else z
        for layer in self.dense:
            w = keras.ops.leaky_relu(layer(w), 0.2)
        return keras.ops.repeat(w[:, None, :], self.num_ws, axis=1)  # [N, w_dim] -> [N, num_ws, w_dim]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_ws, self.w_dim)

    def get_config(self):
        return {**super().get_config(), "z_dim": self.z_dim, "w_dim": self.w_dim, "num_ws": self.num_ws,
                "mapping_layers": self.mapping_layers, "lrmul": self.lrmul,
                "normalize_latents": self.normalize_latents, "mapping_fmaps": self.mapping_fmaps}
