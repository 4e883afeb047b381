"""Discriminator: the ProGAN-style D with blur, shared by every row of Table 1."""

import keras

from stylegan_tf.geometry import feature_maps, resolution_log2, use_fused
from stylegan_tf.layers import Blur, EqualizedConv2D, EqualizedDense, FromRGB, MinibatchStdDev, downsample_2x, lerp_clip


@keras.saving.register_keras_serializable(package="stylegan_tf")
class Discriminator(keras.Model):
    """Scores images with one logit each, shrinking from the input resolution to 4x4.

        x = FromRGB_top(images)
        for r = top ... 3:   x = lrelu(conv0(x));  x = lrelu(conv1_down(blur(x)))
                             x = lerp_clip(x, FromRGB_{r-1}(box_down(images_r)), lod - (L - r))
        4x4 head:            mbstd -> lrelu(conv) -> lrelu(dense) -> dense (gain 1) -> logit

    `lod` is a non-trainable scalar with the same meaning as in the synthesis network. The
    first block is chosen by the static input size, so the trainer feeds R x R reals and fakes;
    full-size inputs work as well (the official 'linear' structure).

    Paper: ProGAN Sec. 3-4 (growing, minibatch stddev); StyleGAN Table 1 row B (blur); all rows.

    Args:
        resolution: Largest input resolution.
        num_channels: Image channels.
        fmap_base, fmap_decay, fmap_max: Channel counts per stage.
        blur_filter: Filter before every down-sampling conv; () for none (row A).
        fused_scale: "auto" (fused down-sampling convs for inputs of 128 px and up), True or False.
        mbstd_group_size, mbstd_num_features: Minibatch standard deviation settings.
        **kwargs: Base model arguments.

    Call arguments:
        images: `[N, R, R, num_channels]`, R a power of two in [4, resolution].

    Returns:
        float32 logits `[N, 1]`.
    """

    def __init__(self, resolution=1024, num_channels=3, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                 blur_filter=(1, 2, 1), fused_scale="auto", mbstd_group_size=4, mbstd_num_features=1, **kwargs):
        super().__init__(**kwargs)
        self.resolution = resolution
        self.num_channels = num_channels
        self.fmap_base = fmap_base
        self.fmap_decay = fmap_decay
        self.fmap_max = fmap_max
        self.blur_filter = tuple(blur_filter)
        self.fused_scale = fused_scale
        self.mbstd_group_size = mbstd_group_size
        self.mbstd_num_features = mbstd_num_features
        self.resolution_log2 = resolution_log2(resolution)

    def nf(self, stage):
        return feature_maps(stage, self.fmap_base, self.fmap_decay, self.fmap_max)

    def build(self, input_shape):
        self.lod = self.add_weight(shape=(), initializer="zeros", trainable=False, name="lod")
        self.from_rgb, self.conv0, self.blur, self.conv1_down = [], [], [], []
        for r in range(2, self.resolution_log2 + 1):  # index r - 2
            res, c = 2**r, self.nf(r - 1)
            layer = FromRGB(c, name=f"from_rgb{res}")
            layer.build((None, res, res, self.num_channels))
            self.from_rgb.append(layer)
            if r == 2:
                continue
            conv0 = EqualizedConv2D(c, 3, name=f"b{res}_conv0")
            conv0.build((None, res, res, c))
            blur = Blur(self.blur_filter, name=f"b{res}_blur") if self.blur_filter else None
            if blur is not None:
                blur.build((None, res, res, c))
            conv1 = EqualizedConv2D(self.nf(r - 2), 3, resample="down", fused=use_fused(res, self.fused_scale),
                                    name=f"b{res}_conv1_down")
            conv1.build((None, res, res, c))
            self.conv0.append(conv0)
            self.blur.append(blur)
            self.conv1_down.append(conv1)
        c = self.nf(1)
        self.mbstd = MinibatchStdDev(self.mbstd_group_size, self.mbstd_num_features, name="mbstd")
        self.conv = EqualizedConv2D(c, 3, name="b4_conv")
        self.conv.build((None, 4, 4, c + self.mbstd_num_features))
        self.dense0 = EqualizedDense(self.nf(0), name="b4_dense0")
        self.dense0.build((None, 16 * c))
        self.dense1 = EqualizedDense(1, gain=1.0, name="b4_dense1")
        self.dense1.build((None, self.nf(0)))

    def call(self, images):
        size = images.shape[1]
        if size not in [2**r for r in range(2, self.resolution_log2 + 1)]:
            raise ValueError(f"D takes images of a power-of-two size in [4, {self.resolution}], got {images.shape}")
        top = resolution_log2(size)
        lod = keras.ops.cast(self.lod, self.compute_dtype)
        x = self.from_rgb[top - 2](images)
        for r in range(top, 2, -1):
            i = r - 3  # blocks are stored from 8x8 up
            x = keras.ops.leaky_relu(self.conv0[i](x), 0.2)
            if self.blur[i] is not None:
                x = self.blur[i](x)
            x = keras.ops.leaky_relu(self.conv1_down[i](x), 0.2)
            images = downsample_2x(images)
            x = lerp_clip(x, self.from_rgb[r - 3](images), lod - (self.resolution_log2 - r))
        x = self.mbstd(x)
        x = keras.ops.leaky_relu(self.conv(x), 0.2)
        x = keras.ops.reshape(x, (-1, 16 * self.nf(1)))  # [N, 4, 4, C] -> [N, 16C]
        x = keras.ops.leaky_relu(self.dense0(x), 0.2)
        return keras.ops.cast(self.dense1(x), "float32")  # [N, 1]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {**super().get_config(), "resolution": self.resolution, "num_channels": self.num_channels,
                "fmap_base": self.fmap_base, "fmap_decay": self.fmap_decay, "fmap_max": self.fmap_max,
                "blur_filter": self.blur_filter, "fused_scale": self.fused_scale,
                "mbstd_group_size": self.mbstd_group_size, "mbstd_num_features": self.mbstd_num_features}


def discriminator_kwargs(cfg):
    """The Discriminator's keyword arguments for a StyleGANConfig."""
    return dict(resolution=cfg.resolution, num_channels=cfg.num_channels, fmap_base=cfg.fmap_base,
                fmap_decay=cfg.fmap_decay, fmap_max=cfg.fmap_max, blur_filter=cfg.blur_filter,
                fused_scale=cfg.fused_scale, mbstd_group_size=cfg.mbstd_group_size,
                mbstd_num_features=cfg.mbstd_num_features)


def build_discriminator(cfg, name="D"):
    """Builds the Discriminator for `cfg` (a StyleGANConfig); `count_params()` works at once."""
    D = Discriminator(**discriminator_kwargs(cfg), name=name)
    D.build((None, cfg.resolution, cfg.resolution, cfg.num_channels))
    return D
