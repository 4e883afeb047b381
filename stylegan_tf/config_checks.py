"""Validation of a StyleGANConfig: every field in range, before any TensorFlow work starts.

`validate(cfg)` runs when a config is made (`StyleGANConfig.__post_init__`); `check_mbstd_groups`
also needs the number of replicas, so the trainer calls it again once it knows them.
"""

import math

LOSSES = ("logistic_r1", "wgan_gp")  # the loss families (training.losses.LOSSES has one class each)
FUSED_SCALE = ("auto", True, False)

__all__ = ["LOSSES", "FUSED_SCALE", "validate", "check_mbstd_groups"]


def validate(cfg):
    def fail(name, allowed):
        raise ValueError(f"{name}={getattr(cfg, name)!r} is not allowed: {allowed}")

    r = cfg.resolution
    if not isinstance(r, int) or r < 8 or r & (r - 1):
        fail("resolution", "a power of two >= 8 (8, 16, 32, ..., 1024)")
    for name in ("style_mixing_prob",):
        p = getattr(cfg, name)
        if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            fail(name, "a probability in [0, 1]")
    if cfg.loss not in LOSSES:
        fail("loss", f"one of {LOSSES}")
    if cfg.fused_scale not in FUSED_SCALE:
        fail("fused_scale", "'auto', True or False")
    for name in ("mapping_layers", "truncation_cutoff"):
        value = getattr(cfg, name)
        if (name == "mapping_layers" or value is not None) and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0):
            fail(name, "an integer >= 0" + (" or None (truncate every layer)" if name == "truncation_cutoff" else ""))
    if cfg.mapping_layers == 0 and cfg.z_dim != cfg.w_dim:
        fail("w_dim", f"equal to z_dim ({cfg.z_dim}) when mapping_layers=0 (w is the normalised z)")
    for name in ("z_dim", "w_dim", "fmap_base", "fmap_max", "num_channels", "mbstd_group_size", "mbstd_num_features"):
        if not isinstance(getattr(cfg, name), int) or isinstance(getattr(cfg, name), bool) or getattr(cfg, name) < 1:
            fail(name, "a positive integer")
    if cfg.mapping_fmaps is not None and (not isinstance(cfg.mapping_fmaps, int) or isinstance(cfg.mapping_fmaps, bool)
                                          or cfg.mapping_fmaps < 1):
        fail("mapping_fmaps", "a positive integer, or None for w_dim")
    if cfg.truncation_psi is not None and not isinstance(cfg.truncation_psi, (int, float)):
        fail("truncation_psi", "a number or None")
    li = cfg.lod_initial_resolution
    if li < 4 or li & (li - 1) or li > r:
        fail("lod_initial_resolution", f"a power of two in [4, resolution={r}]")
    if any(not isinstance(t, int) for t in cfg.blur_filter) or (cfg.blur_filter and not sum(cfg.blur_filter)):
        fail("blur_filter", "a tuple of integers with a non-zero sum such as (1, 2, 1), or () for no blur")
    if not isinstance(cfg.metrics, tuple) or any(not isinstance(m, str) or not m for m in cfg.metrics):
        fail("metrics", "a tuple of metric names such as ('swd', 'fd_probe') (command line: --metrics swd,fd_probe)")
    if not isinstance(cfg.metrics_kimg, float) or not math.isfinite(cfg.metrics_kimg) or not cfg.metrics_kimg > 0:
        fail("metrics_kimg", "a finite positive number of kimg")
    if not isinstance(cfg.metrics_num_images, int) or cfg.metrics_num_images < 0:
        fail("metrics_num_images", "an integer >= 0 (0 = each metric's default)")
    _validate_numbers(cfg, fail)


def _validate_numbers(cfg, fail):
    """Run lengths, rates and batch sizes: finite, in range, and a minibatch stddev group that fits every batch."""
    def number(x):
        return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

    for name in ("total_kimg", "tick_kimg", "checkpoint_kimg", "lr_base", "adam_epsilon", "mapping_lrmul",
                 "wgan_target"):
        if not number(getattr(cfg, name)) or getattr(cfg, name) <= 0:
            fail(name, "a finite number > 0")
    if cfg.lr_base > 3.4e38:  # float32's largest: a larger rate is Inf in the optimizer
        fail("lr_base", "a number <= 3.4e38 (larger is Inf in float32)")
    for name in ("lod_training_kimg", "lod_transition_kimg", "ema_kimg", "r1_gamma", "wgan_lambda", "wgan_epsilon"):
        if not number(getattr(cfg, name)) or getattr(cfg, name) < 0:
            fail(name, "a finite number >= 0")
    for name in ("adam_beta1", "adam_beta2"):
        if not number(getattr(cfg, name)) or not 0.0 <= getattr(cfg, name) < 1.0:
            fail(name, "a number in [0, 1)")
    if not number(cfg.w_avg_beta) or not 0.0 <= cfg.w_avg_beta <= 1.0:
        fail("w_avg_beta", "a number in [0, 1]")
    if cfg.truncation_psi is not None and not number(cfg.truncation_psi):
        fail("truncation_psi", "a finite number or None")
    if not number(cfg.fmap_decay):
        fail("fmap_decay", "a finite number (1.0 halves the channels per doubling of the resolution)")
    for name in ("lr_dict", "minibatch_dict"):
        if not isinstance(getattr(cfg, name), dict) or any(
                not isinstance(k, int) or isinstance(k, bool) or k < 4 or k & (k - 1) for k in getattr(cfg, name)):
            fail(name, "a dict whose keys are resolutions, powers of two >= 4, e.g. "
                       + ("{8: 16, 16: 8}" if name == "minibatch_dict" else "{128: 0.0015}"))
    if any(not number(v) or not 0 < v <= 3.4e38 for v in cfg.lr_dict.values()):
        fail("lr_dict", "{resolution: learning rate} with finite rates > 0")
    for name in ("minibatch_base", "keep_checkpoints", "seed"):
        if not isinstance(getattr(cfg, name), int) or isinstance(getattr(cfg, name), bool) or getattr(cfg, name) < (
                0 if name == "seed" else 1):
            fail(name, "an integer >= 0" if name == "seed" else "a positive integer")
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in cfg.minibatch_dict.values()):
        fail("minibatch_dict", "{resolution: global minibatch} with positive integer sizes")
    if cfg.nf(1) % cfg.mbstd_num_features:  # MinibatchStdDev splits D's 4x4 feature maps into that many groups
        fail("mbstd_num_features", f"a divisor of D's feature maps at 4x4 ({cfg.nf(1)})")


def check_mbstd_groups(cfg, num_replicas=1):
    """Raises ValueError unless min(mbstd_group_size, batch) divides each replica's batch at every resolution.

    D's minibatch stddev splits each replica's batch (the global minibatch rounded down to a multiple of
    the replicas, divided among them) into groups; a group that does not divide it fails only inside
    `MinibatchStdDev.call`, minutes into a run. The CLI calls this before TensorFlow starts (one device),
    the Trainer with its strategy's replica count.
    """
    res = cfg.lod_initial_resolution
    while res <= cfg.resolution:
        batch = cfg.minibatch_dict.get(res, cfg.minibatch_base)
        per_replica = (batch - batch % num_replicas) // num_replicas
        if per_replica and per_replica % min(cfg.mbstd_group_size, per_replica):
            raise ValueError(
                f"mbstd_group_size={cfg.mbstd_group_size} is not allowed: it must divide the minibatch of each "
                f"replica at every resolution trained, and at {res}px that is {per_replica} ({batch} over "
                f"{num_replicas} replica(s)); change mbstd_group_size or the minibatch")
        res *= 2
