"""The network geometry every module shares: log2 resolution, style inputs, widths, fused rule, layer sizes.

Plain integer arithmetic with no TensorFlow, so the config, the networks, the trainer and the figures
all derive these numbers from the same lines (official `networks_stylegan.py`: `resolution_log2`,
`num_layers`, `nf()`, `fused_scale='auto'`).
"""

import math

__all__ = ["resolution_log2", "num_ws", "layer_resolution", "feature_maps", "use_fused"]

FUSED_MIN_RESOLUTION = 128  # fused_scale="auto" fuses up/down-sampling convs from this resolution up


def resolution_log2(resolution: int) -> int:
    """log2 of a power-of-two resolution; ValueError for anything else."""
    log2 = int(math.log2(resolution)) if isinstance(resolution, int) and resolution > 0 else -1
    if log2 < 0 or 2**log2 != resolution:
        raise ValueError(f"resolution must be a power of two, got {resolution!r}")
    return log2


def num_ws(resolution: int) -> int:
    """Style inputs of a generator (two per resolution from 4x4): 18 at 1024, 8 at 32."""
    return 2 * resolution_log2(resolution) - 2


def layer_resolution(index: int) -> int:
    """Resolution at which synthesis layer `index` runs: 4, 4, 8, 8, 16, ... (its noise map's size)."""
    return 2 ** (index // 2 + 2)


def feature_maps(stage: int, fmap_base: int = 8192, fmap_decay: float = 1.0, fmap_max: int = 512) -> int:
    """min(fmap_base / 2^(stage * fmap_decay), fmap_max); a block at resolution 2^r uses stage r - 1."""
    return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)


def use_fused(resolution: int, fused_scale) -> bool:
    """Whether the up/down-sampling conv of the block at `resolution` is fused (transposed / strided)."""
    return fused_scale is True or (fused_scale == "auto" and resolution >= FUSED_MIN_RESOLUTION)
