"""Channel counts per stage, shared by the config and the networks (official `nf()`)."""


def feature_maps(stage, fmap_base=8192, fmap_decay=1.0, fmap_max=512):
    """min(fmap_base / 2^(stage * fmap_decay), fmap_max); a block at resolution 2^r uses stage r - 1."""
    return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)


def lerp_clip(a, b, t):
    """a + (b - a) * clip(t, 0, 1): the fade between resolutions (official tflib.lerp_clip)."""
    import keras

    return a + (b - a) * keras.ops.clip(t, 0.0, 1.0)
