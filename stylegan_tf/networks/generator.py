"""Generator = mapping + synthesis, with w_avg tracking, style mixing and truncation."""

import keras
import tensorflow as tf

from stylegan_tf.geometry import layer_resolution, num_ws
from stylegan_tf.networks.mapping import MappingNetwork
from stylegan_tf.networks.synthesis import SynthesisNetwork


@keras.saving.register_keras_serializable(package="stylegan_tf")
class Generator(keras.Model):
    """The style-based generator G(z) = g(f(z)) of Fig. 1b (or the traditional one of Fig. 1a).

        ws = f(z)                                              [N, num_ws, w_dim]
        ws[:, i] <- w_avg + psi * (ws[:, i] - w_avg)   for i < cutoff   (truncation)
        images = g(ws)

    Calling the model is inference. The training forward pass (w_avg tracking, style mixing,
    explicit noise draws) is `stylegan_tf.training.losses.GANLoss.run_G`, built from the
    methods below: `track_w_avg`, `mixing_crossover`, `style_mix`; `truncate` serves inference.

    Paper: Sec. 2 (style-based generator), Sec. 3.1 (mixing regularisation, Table 1 row F),
    appendix B (truncation trick in W).

    Args:
        resolution, num_channels, z_dim, w_dim: Output size and latent widths.
        mapping_layers, mapping_lrmul: Mapping network depth and learning-rate multiplier.
        mapping_fmaps: Width of the hidden mapping layers; None = `w_dim`.
        fmap_base, fmap_decay, fmap_max: Channel counts per stage.
        const_input, use_noise, use_pixel_norm, use_instance_norm, use_styles, blur_filter,
        fused_scale: The synthesis switches (see SynthesisNetwork).
        style_mixing_prob: Probability of mixing two latents in a training minibatch.
        truncation_psi: Default psi at inference (None or 1: no truncation).
        truncation_cutoff: Default number of leading layers truncated (None: all; in the official
            G_style None switches truncation off).
        w_avg_beta: Decay of the tracked mean of W.
        seed: Seed of the noise layers (the synthesis network uses seed + 1).
        **kwargs: Base model arguments.

    Call arguments:
        z: Latents `[N, z_dim]`.
        truncation_psi, truncation_cutoff: Override the defaults. None means "the model's default",
            not "off" as in the official `Gs.run`; pass `truncation_psi=1` for no truncation.
        noise_mode, noise: See SynthesisNetwork.
        resolution: Optional static output resolution (see SynthesisNetwork).

    Returns:
        float32 images `[N, R, R, num_channels]`, nominally in [-1, 1].
    """

    def __init__(self, resolution=1024, num_channels=3, z_dim=512, w_dim=512, mapping_layers=8, mapping_lrmul=0.01,
                 fmap_base=8192, fmap_decay=1.0, fmap_max=512, const_input=True, use_noise=True, use_pixel_norm=False,
                 use_instance_norm=True, use_styles=True, blur_filter=(1, 2, 1), fused_scale="auto",
                 style_mixing_prob=0.9, truncation_psi=0.7, truncation_cutoff=8, w_avg_beta=0.995, seed=None,
                 mapping_fmaps=None, **kwargs):
        super().__init__(**kwargs)
        self.resolution = resolution
        self.num_channels = num_channels
        self.z_dim = z_dim
        self.w_dim = w_dim
        self.mapping_layers = mapping_layers
        self.mapping_lrmul = mapping_lrmul
        self.fmap_base = fmap_base
        self.fmap_decay = fmap_decay
        self.fmap_max = fmap_max
        self.const_input = const_input
        self.use_noise = use_noise
        self.use_pixel_norm = use_pixel_norm
        self.use_instance_norm = use_instance_norm
        self.use_styles = use_styles
        self.blur_filter = tuple(blur_filter)
        self.fused_scale = fused_scale
        self.style_mixing_prob = style_mixing_prob
        self.truncation_psi = truncation_psi
        self.truncation_cutoff = truncation_cutoff
        self.w_avg_beta = w_avg_beta
        self.seed = seed
        self.mapping_fmaps = mapping_fmaps
        self.num_ws = num_ws(resolution)

    def build(self, input_shape):
        self.mapping = MappingNetwork(self.z_dim, self.w_dim, self.num_ws, self.mapping_layers, self.mapping_lrmul,
                                      mapping_fmaps=self.mapping_fmaps, name="mapping")
        self.mapping.build(input_shape)
        self.synthesis = SynthesisNetwork(
            self.resolution, self.num_channels, self.w_dim, self.fmap_base, self.fmap_decay, self.fmap_max,
            const_input=self.const_input, use_noise=self.use_noise, use_pixel_norm=self.use_pixel_norm,
            use_instance_norm=self.use_instance_norm, use_styles=self.use_styles, blur_filter=self.blur_filter,
            fused_scale=self.fused_scale, seed=None if self.seed is None else self.seed + 1, name="synthesis",
        )
        self.synthesis.build((None, self.num_ws, self.w_dim))
        # replicas average their updates, so the copies of w_avg never drift apart
        self.w_avg = self.add_weight(shape=(self.w_dim,), initializer="zeros", trainable=False, name="w_avg",
                                     aggregation="mean")

    @property
    def lod(self):
        """The synthesis network's level-of-detail variable (assign to it; it never retraces)."""
        return self.synthesis.lod

    def call(self, z, truncation_psi=None, truncation_cutoff=None, noise_mode="random", noise=None,
             resolution=None):
        psi = self.truncation_psi if truncation_psi is None else truncation_psi
        cutoff = self.truncation_cutoff if truncation_cutoff is None else truncation_cutoff
        ws = self.truncate(self.mapping(z), psi, cutoff)  # [N, num_ws, w_dim]
        return self.synthesis(ws, noise_mode=noise_mode, noise=noise, resolution=resolution)

    def noise_shapes(self, batch_size, resolution=None):
        """Per synthesis layer, the shape of its noise input `[N, H, W, 1]`, or None for layers above
        `resolution` (default: all run) and for every layer when the model has no noise inputs."""
        top = self.resolution if resolution is None else resolution
        return [(batch_size, layer_resolution(i), layer_resolution(i), 1)
                if self.use_noise and layer_resolution(i) <= top else None for i in range(self.num_ws)]

    def track_w_avg(self, ws):
        batch_avg = keras.ops.mean(keras.ops.cast(ws[:, 0], "float32"), axis=0)  # [w_dim], first latent, pre-mixing
        self.w_avg.assign(batch_avg + (self.w_avg - batch_avg) * self.w_avg_beta)

    def active_layers(self):
        """Style inputs in use at the current lod: num_ws - 2 * floor(lod)."""
        return self.num_ws - 2 * keras.ops.cast(keras.ops.floor(self.lod), "int32")

    def mixing_crossover(self, seed):
        """One draw per minibatch: U{1, ..., active - 1} with prob p, else `active` (no mixing).

        `seed` is a [2] integer tensor: the draw is stateless, so it is the same on every replica, as the
        trainer needs for its global-batch draws (official `G_style`: one crossover per minibatch).
        """
        active = self.active_layers()
        crossover = tf.random.stateless_uniform((), seed, minval=1, maxval=active, dtype="int32")
        u = tf.random.stateless_uniform((), tf.random.experimental.stateless_fold_in(seed, 1))
        return keras.ops.where(u < self.style_mixing_prob, crossover, active)

    def style_mix(self, ws, ws2, crossover):
        """Layers i < crossover keep ws, layers i >= crossover take ws2."""
        layer_idx = keras.ops.arange(self.num_ws)[None, :, None]  # [1, num_ws, 1]
        return keras.ops.where(layer_idx < crossover, ws, ws2)

    def truncate(self, ws, psi, cutoff=None):
        """w' = w_avg + psi * (w - w_avg) on layers [0, cutoff); psi None or 1 leaves ws unchanged."""
        if psi is None or (isinstance(psi, (int, float)) and psi == 1):
            return ws
        w_avg = keras.ops.cast(self.w_avg, ws.dtype)
        truncated = w_avg + keras.ops.cast(psi, ws.dtype) * (ws - w_avg)
        if cutoff is None:
            return truncated
        layer_idx = keras.ops.arange(self.num_ws)[None, :, None]  # [1, num_ws, 1]
        return keras.ops.where(layer_idx < cutoff, truncated, ws)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.resolution, self.resolution, self.num_channels)

    def get_config(self):
        return {**super().get_config(), "resolution": self.resolution, "num_channels": self.num_channels,
                "z_dim": self.z_dim, "w_dim": self.w_dim, "mapping_layers": self.mapping_layers,
                "mapping_lrmul": self.mapping_lrmul, "fmap_base": self.fmap_base, "fmap_decay": self.fmap_decay,
                "fmap_max": self.fmap_max, "const_input": self.const_input, "use_noise": self.use_noise,
                "use_pixel_norm": self.use_pixel_norm, "use_instance_norm": self.use_instance_norm,
                "use_styles": self.use_styles, "blur_filter": self.blur_filter, "fused_scale": self.fused_scale,
                "style_mixing_prob": self.style_mixing_prob, "truncation_psi": self.truncation_psi,
                "truncation_cutoff": self.truncation_cutoff, "w_avg_beta": self.w_avg_beta, "seed": self.seed,
                "mapping_fmaps": self.mapping_fmaps}


def generator_kwargs(cfg):
    """The Generator's keyword arguments for a StyleGANConfig (the only bridge from config to model)."""
    return dict(
        resolution=cfg.resolution, num_channels=cfg.num_channels, z_dim=cfg.z_dim, w_dim=cfg.w_dim,
        mapping_layers=cfg.mapping_layers, mapping_lrmul=cfg.mapping_lrmul, fmap_base=cfg.fmap_base,
        fmap_decay=cfg.fmap_decay, fmap_max=cfg.fmap_max, const_input=cfg.const_input, use_noise=cfg.use_noise,
        use_pixel_norm=cfg.use_pixel_norm, use_instance_norm=cfg.use_instance_norm, use_styles=cfg.use_styles,
        blur_filter=cfg.blur_filter, fused_scale=cfg.fused_scale, style_mixing_prob=cfg.style_mixing_prob,
        truncation_psi=cfg.truncation_psi, truncation_cutoff=cfg.truncation_cutoff, w_avg_beta=cfg.w_avg_beta,
        seed=cfg.seed, mapping_fmaps=cfg.mapping_fmaps,
    )


def build_generator(cfg, name="G"):
    """Builds the Generator for `cfg` (a StyleGANConfig); `count_params()` works at once."""
    G = Generator(**generator_kwargs(cfg), name=name)
    G.build((None, cfg.z_dim))
    return G
