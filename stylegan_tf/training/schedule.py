"""The progressive-growing schedule: images shown -> (lod, resolution, batch, learning rate).

A transcription of the official `training_schedule()` (NVlabs/stylegan `training/training_loop.py`), as a pure function with no TensorFlow in it, so it can be tested and plotted on its own.

Training starts at `lod_initial_resolution`. Each resolution is first trained stable for `lod_training_kimg`,
then the next one is faded in over `lod_transition_kimg`:

    phase_idx  = floor(kimg / (training_kimg + transition_kimg))
    phase_kimg = kimg - phase_idx * (training_kimg + transition_kimg)
    lod        = L - log2(initial_res) - phase_idx - max(phase_kimg - training_kimg, 0) / transition_kimg
    lod        = max(lod, 0)
    resolution = 2^(L - floor(lod))        # during a fade-in this is already the NEW resolution

Batch size and learning rate are looked up by that resolution (so a fade-in already uses the new
resolution's values), falling back to `minibatch_base` / `lr_base`.

Official FFHQ values (L = 10, 600 + 600 kimg): 8x8 stable for kimg 0-600 (lod 7), fade to 16x16 for
600-1200 (lod 6.5 at 900), ... , lod 0 (1024x1024) from 8400 kimg on.
Small-dataset defaults for CPU demos are set by the `train` CLI (e.g. a few kimg per phase); they go
through this same function.
"""

import math
from dataclasses import dataclass

from stylegan_tf.geometry import resolution_log2


@dataclass(frozen=True)
class Phase:
    """The training state at one point of the schedule.

    Attributes:
        kimg: Thousands of real images shown so far.
        lod: Level of detail, `L - log2(resolution)` plus the fade fraction; 0 = full resolution.
        resolution: Resolution the networks run at, `2^(L - floor(lod))` (the new one during a fade-in).
        batch_size: Global minibatch (over all replicas).
        lr: Learning rate of both G and D.
    """

    kimg: float
    lod: float
    resolution: int
    batch_size: int
    lr: float

    @property
    def fade(self) -> float:
        """`lod - floor(lod)` in [0, 1): weight of the upsampled lower resolution (0 = not fading)."""
        return self.lod - math.floor(self.lod)

    @property
    def alpha(self) -> float:
        """`1 - fade` in (0, 1]: weight of the newest (highest) resolution's layers."""
        return 1.0 - self.fade

    @property
    def lod_bounds(self) -> tuple:
        """(floor(lod), ceil(lod)); the official code resets Adam whenever this pair changes."""
        return lod_bounds(self.lod)


def lod_bounds(lod: float) -> tuple:
    """(floor(lod), ceil(lod)): the lod interval; official `reset_opt_for_new_lod` resets Adam when it changes."""
    return (math.floor(lod), math.ceil(lod))


def phase_at(cur_nimg: int, cfg, num_replicas: int = 1) -> Phase:
    """Returns the schedule's `Phase` after `cur_nimg` real images (official `training_schedule`).

    Args:
        cur_nimg: Real images shown so far (the trainer's `cur_nimg`).
        cfg: A `StyleGANConfig` (reads resolution, lod_*, minibatch_*, lr_*).
        num_replicas: The global batch is rounded down to a multiple of this (official: of the GPU count).
    """
    kimg = cur_nimg / 1000.0
    L = cfg.resolution_log2
    phase_dur = cfg.lod_training_kimg + cfg.lod_transition_kimg
    phase_idx = int(math.floor(kimg / phase_dur)) if phase_dur > 0 else 0
    phase_kimg = kimg - phase_idx * phase_dur

    lod = float(L - resolution_log2(cfg.lod_initial_resolution) - phase_idx)
    if cfg.lod_transition_kimg > 0:
        lod -= max(phase_kimg - cfg.lod_training_kimg, 0.0) / cfg.lod_transition_kimg
    lod = max(lod, 0.0)
    resolution = 2 ** (L - int(math.floor(lod)))

    batch_size = int(cfg.minibatch_dict.get(resolution, cfg.minibatch_base))
    batch_size -= batch_size % num_replicas
    if batch_size < 1:
        raise ValueError(
            f"global batch {batch_size} at {resolution}x{resolution} is smaller than the {num_replicas} replicas; "
            f"raise minibatch_base / minibatch_dict[{resolution}] to at least {num_replicas}"
        )
    lr = float(cfg.lr_dict.get(resolution, cfg.lr_base))
    return Phase(kimg=kimg, lod=lod, resolution=resolution, batch_size=batch_size, lr=lr)


@dataclass(frozen=True)
class Segment:
    """One stretch of constant kind and resolution: `kind` is "stable" or "fade" (fading in `resolution`)."""

    kind: str
    resolution: int
    start_kimg: float
    end_kimg: float  # math.inf for the final stable stretch


def segments(cfg, total_kimg: float = None) -> list:
    """The schedule as a list of `Segment`s up to `total_kimg` (default `cfg.total_kimg`), for ETA and plots.

    Example (FFHQ, official): [stable 8 0-600, fade 16 600-1200, stable 16 1200-1800, ..., stable 1024 8400-25000].
    """
    total = cfg.total_kimg if total_kimg is None else total_kimg
    L = cfg.resolution_log2
    res = cfg.lod_initial_resolution
    out, start = [], 0.0
    while start < total:
        stable_end = start + cfg.lod_training_kimg if res < cfg.resolution else math.inf
        if res == cfg.resolution or cfg.lod_training_kimg > 0:
            out.append(Segment("stable", res, start, min(stable_end, total)))
        if res == cfg.resolution or stable_end >= total:
            break
        res *= 2
        fade_end = stable_end + cfg.lod_transition_kimg
        if cfg.lod_transition_kimg > 0:
            out.append(Segment("fade", res, stable_end, min(fade_end, total)))
        start = fade_end
    assert res <= 2**L
    return out


def image_cost(cfg, resolution: int) -> float:
    """Relative cost of training on one image at `resolution`: multiply-adds of G's and D's convolutions.

    G runs its blocks up to `resolution` and D its blocks from there down (each 3x3 conv costs
    H * W * 9 * C_in * C_out), so the cost of a step grows with the pixels and the channels of the
    active blocks. A fixed overhead of one 4x4 block per image stands for the work that does not scale
    (dense layers, small ops). Used to turn images still to show into an ETA (`remaining_cost`).
    """
    nf = cfg.nf
    cost = 16 * 9 * nf(1) ** 2  # G's 4x4 conv; D's 4x4 conv costs about the same
    for r in range(3, resolution_log2(resolution) + 1):
        pixels = 4**r
        cost += pixels * 9 * (nf(r - 2) * nf(r - 1) + nf(r - 1) ** 2)  # G: conv0_up, conv1
        cost += pixels * 9 * (nf(r - 1) ** 2 + nf(r - 1) * nf(r - 2))  # D: conv0, conv1_down
    return 2.0 * cost + 16 * 9 * nf(1) ** 2


def remaining_cost(cfg, kimg: float, total_kimg: float = None) -> float:
    """Sum of `image_cost` over the images still to show from `kimg` to `total_kimg` (default cfg.total_kimg).

    Divide by the cost done so far (`remaining_cost(cfg, 0, kimg)`) and multiply by the time taken so far
    for an ETA that knows later resolutions are slower (a fade-in runs at the new resolution).
    """
    total = cfg.total_kimg if total_kimg is None else total_kimg
    cost = 0.0
    for seg in segments(cfg, total):
        lo, hi = max(seg.start_kimg, kimg), min(seg.end_kimg, total)
        if hi > lo:
            cost += (hi - lo) * 1000.0 * image_cost(cfg, seg.resolution)
    return cost
