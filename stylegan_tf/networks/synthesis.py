"""SynthesisNetwork g: W -> image, with per-layer styles and noise and progressive-growing fade-in."""

import keras

from stylegan_tf.geometry import feature_maps, num_ws, resolution_log2, use_fused
from stylegan_tf.layers import (AdaIN, Blur, EqualizedConv2D, EqualizedDense, NoiseInjection, PixelNorm, ToRGB,
                                instance_norm, lerp_clip, upsample_2x)
from stylegan_tf.layers.equalized import SQRT2


@keras.saving.register_keras_serializable(package="stylegan_tf")
class SynthesisLayer(keras.layers.Layer):
    """One layer of the synthesis network: optional conv, then the official epilogue.

        x = conv(x)            (3x3; "up": nearest 2x first, then blur)   -- skipped for the input layer
        x = x + b_noise * n    (noise)
        x = lrelu_0.2(x + bias)
        x = pixel_norm(x)      (if use_pixel_norm)
        x = AdaIN(x, w)        (instance norm if use_instance_norm; style if use_styles)

    Paper: Sec. 2, Fig. 1b (one "A" and one "B" box per layer); rows A-F switch the parts.

    Args:
        filters: Output channels.
        kernel_size: Conv size, or None for the 4x4 input layer (no conv).
        up: Double the resolution in the conv.
        fused: Use the fused transposed conv for `up`.
        blur_filter: Filter applied after an up-sampling conv; () for none.
        use_noise, use_pixel_norm, use_instance_norm, use_styles: the official switches.
        seed: Seed of the noise layer.
        **kwargs: Base layer arguments.

    Call arguments:
        inputs: Tuple `(x, w)`: x `[N, H, W, C_in]`, w `[N, w_dim]`.
        noise: Optional explicit noise `[N or 1, H', W', 1]`.
        noise_mode: "random", "const" or "none".

    Returns:
        Tensor `[N, H', W', filters]`.
    """

    def __init__(self, filters, kernel_size=3, up=False, fused=False, blur_filter=(1, 2, 1), use_noise=True,
                 use_pixel_norm=False, use_instance_norm=True, use_styles=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.up = up
        self.fused = fused
        self.blur_filter = tuple(blur_filter)
        self.use_noise = use_noise
        self.use_pixel_norm = use_pixel_norm
        self.use_instance_norm = use_instance_norm
        self.use_styles = use_styles
        self.seed = seed

    def build(self, input_shape):
        x_shape, w_shape = input_shape
        n, h, w, _ = x_shape
        self.conv = self.blur = self.noise = self.style = None
        if self.kernel_size:
            self.conv = EqualizedConv2D(self.filters, self.kernel_size, use_bias=False,
                                        resample="up" if self.up else None, fused=self.fused, name="conv")
            self.conv.build(x_shape)
            if self.up:
                h, w = 2 * h, 2 * w
        out_shape = (n, h, w, self.filters)
        if self.up and self.blur_filter:
            self.blur = Blur(self.blur_filter, name="blur")
            self.blur.build(out_shape)
        if self.use_noise:
            self.noise = NoiseInjection(seed=self.seed, name="noise")
            self.noise.build(out_shape)
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")
        self.pixel_norm = PixelNorm(name="pixel_norm") if self.use_pixel_norm else None
        if self.use_styles:
            self.style = AdaIN(normalize=self.use_instance_norm, name="adain")
            self.style.build((out_shape, w_shape))

    def call(self, inputs, noise=None, noise_mode="random"):
        x, w = inputs
        if self.conv is not None:
            x = self.conv(x)
        if self.blur is not None:
            x = self.blur(x)
        if self.noise is not None:
            x = self.noise(x, noise=noise, noise_mode=noise_mode)
        x = keras.ops.leaky_relu(x + keras.ops.cast(self.bias, x.dtype), 0.2)
        if self.pixel_norm is not None:
            x = self.pixel_norm(x)
        if self.style is not None:
            x = self.style((x, w))
        elif self.use_instance_norm:
            x = instance_norm(x)
        return x

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape[0]
        f = 2 if self.up else 1
        return (n, h and h * f, w and w * f, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size, "up": self.up,
                "fused": self.fused, "blur_filter": self.blur_filter, "use_noise": self.use_noise,
                "use_pixel_norm": self.use_pixel_norm, "use_instance_norm": self.use_instance_norm,
                "use_styles": self.use_styles, "seed": self.seed}


@keras.saving.register_keras_serializable(package="stylegan_tf")
class SynthesisNetwork(keras.layers.Layer):
    """Turns one w per layer into an image, growing from 4x4 to `resolution`.

        x_0 = const (4x4, ones)  or  reshape(dense(ws[:, 0]))   (traditional input, gain sqrt(2)/4)
        two SynthesisLayers per resolution (layer 2r-4 up-samples), one ToRGB per resolution
        images = lerp_clip(toRGB_r(x_r), up(images), lod - (log2(resolution) - r))   for r = 3 ... top

    `lod` is a non-trainable scalar: lod = 0 shows the full resolution, lod = 1.5 is half way
    through the fade from 1/4 to 1/2 of it. Changing it needs no rebuild and no retrace.
    With `resolution=R` at call time only the blocks up to R run and the output is R x R
    (what the trainer uses); by default all blocks run and lower resolutions are shown
    nearest-upsampled, as in the official 'linear' structure.

    Paper: Sec. 2, Fig. 1b; ProGAN Sec. 3 (fade-in). Const input: Table 1 row D.

    Args:
        resolution: Output resolution (power of two >= 8).
        num_channels: Image channels.
        w_dim: Width of w.
        fmap_base, fmap_decay, fmap_max: Channel counts per stage (official `nf()`).
        const_input: Learned 4x4 constant (D-F) instead of the dense input from ws[:, 0] (A-C).
        use_noise, use_pixel_norm, use_instance_norm, use_styles: The Table 1 switches.
        blur_filter: Filter after every up-sampling conv; () for none (row A).
        fused_scale: "auto" (fused up-sampling convs from 128 px), True or False.
        seed: Base seed of the noise layers.
        **kwargs: Base layer arguments.

    Call arguments:
        ws: Tensor `[N, num_ws, w_dim]`.
        noise_mode: "random", "const" or "none".
        noise: Optional list of `num_ws` entries, each None or noise `[N or 1, H, W, 1]`.
        resolution: Optional static output resolution <= `resolution`.

    Returns:
        float32 images `[N, R, R, num_channels]`.
    """

    def __init__(self, resolution=1024, num_channels=3, w_dim=512, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                 const_input=True, use_noise=True, use_pixel_norm=False, use_instance_norm=True, use_styles=True,
                 blur_filter=(1, 2, 1), fused_scale="auto", seed=None, **kwargs):
        super().__init__(**kwargs)
        self.resolution = resolution
        self.num_channels = num_channels
        self.w_dim = w_dim
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
        self.seed = seed
        self.resolution_log2 = resolution_log2(resolution)
        self.num_ws = num_ws(resolution)

    def nf(self, stage):
        return feature_maps(stage, self.fmap_base, self.fmap_decay, self.fmap_max)

    def build(self, input_shape):
        self.lod = self.add_weight(shape=(), initializer="zeros", trainable=False, name="lod")
        c = self.nf(1)
        if self.const_input:
            self.const = self.add_weight(shape=(1, 4, 4, c), initializer="ones", name="const")
            self.dense_input = None
        else:
            self.dense_input = EqualizedDense(16 * c, gain=SQRT2 / 4, use_bias=False, name="dense_input")
            self.dense_input.build((None, self.w_dim))
        switches = dict(blur_filter=self.blur_filter, use_noise=self.use_noise, use_pixel_norm=self.use_pixel_norm,
                        use_instance_norm=self.use_instance_norm, use_styles=self.use_styles)
        w_shape = (None, self.w_dim)
        self.synthesis_layers = []
        self.to_rgb = []
        for r in range(2, self.resolution_log2 + 1):
            res, c_in, c = 2**r, self.nf(r - 2), self.nf(r - 1)
            if r == 2:
                specs = [dict(kernel_size=None, in_shape=(None, 4, 4, c)), dict(in_shape=(None, 4, 4, c))]
            else:
                specs = [dict(up=True, fused=use_fused(res, self.fused_scale), in_shape=(None, res // 2, res // 2, c_in)),
                         dict(in_shape=(None, res, res, c))]
            for j, spec in enumerate(specs):
                in_shape = spec.pop("in_shape")
                index = len(self.synthesis_layers)
                layer = SynthesisLayer(c, **spec, **switches, seed=None if self.seed is None else self.seed + index,
                                       name=f"b{res}_layer{j}")
                layer.build((in_shape, w_shape))
                self.synthesis_layers.append(layer)
            to_rgb = ToRGB(self.num_channels, name=f"to_rgb{res}")
            to_rgb.build((None, res, res, c))
            self.to_rgb.append(to_rgb)

    def call(self, ws, noise_mode="random", noise=None, resolution=None):
        if resolution is not None and resolution not in [2**r for r in range(2, self.resolution_log2 + 1)]:
            raise ValueError(f"resolution must be a power of two in [4, {self.resolution}], got {resolution}")
        noise = list(noise) if noise is not None else [None] * self.num_ws
        if len(noise) != self.num_ws:
            raise ValueError(f"noise must have one entry per layer ({self.num_ws}), got {len(noise)}")
        if self.const_input:
            x = keras.ops.tile(keras.ops.cast(self.const, ws.dtype), (keras.ops.shape(ws)[0], 1, 1, 1))  # [N,4,4,C]
        else:
            x = keras.ops.reshape(self.dense_input(ws[:, 0]), (-1, 4, 4, self.nf(1)))  # [N, 16C] -> [N,4,4,C]
        top = self.resolution_log2 if resolution is None else resolution_log2(resolution)
        images = None
        lod = keras.ops.cast(self.lod, ws.dtype)
        for r in range(2, top + 1):
            for i in (2 * r - 4, 2 * r - 3):
                x = self.synthesis_layers[i]((x, ws[:, i]), noise=noise[i], noise_mode=noise_mode)
            y = self.to_rgb[r - 2](x)
            images = y if images is None else lerp_clip(y, upsample_2x(images), lod - (self.resolution_log2 - r))
        return keras.ops.cast(images, "float32")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.resolution, self.resolution, self.num_channels)

    def get_config(self):
        return {**super().get_config(), "resolution": self.resolution, "num_channels": self.num_channels,
                "w_dim": self.w_dim, "fmap_base": self.fmap_base, "fmap_decay": self.fmap_decay,
                "fmap_max": self.fmap_max, "const_input": self.const_input, "use_noise": self.use_noise,
                "use_pixel_norm": self.use_pixel_norm, "use_instance_norm": self.use_instance_norm,
                "use_styles": self.use_styles, "blur_filter": self.blur_filter, "fused_scale": self.fused_scale,
                "seed": self.seed}
