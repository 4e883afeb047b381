"""Factor statistics: how often and how much each factor occurs in generated vs real images.

The factor probe reads every image's factors; we compare the two distributions factor by factor:

    binary      rate = fraction with p > 0.5;   distance = |rate_gen - rate_real|
    continuous  distance = W1(gen, real) / std_real    (1-D Wasserstein, in units of the real spread;
                background_hue on the circle: W1 of the hue unwrapped at the real median's opposite)

so "does G draw glasses as often as the data has them" is `glasses_gen` vs `glasses_real`. Both sides are
probe readings (not the reals' true labels), so the probe's own errors cancel to first order; the floor
repeats the comparison between two disjoint halves of the reals.

Registered metric (see `stylegan_tf.metrics.calc_metric`):
    "factor_stats" -> {"<factor>_gen", "<factor>_real", "<factor>_dist" for each factor of
                       `probe.PROBE_FACTORS` ("_gen"/"_real": rates for binary, means for continuous),
                       "factor_stats_mean" (mean of the distances), "factor_stats_floor", "num_images"}

Paper: none (our addition; the embedded dataset is what makes it possible).
"""

import numpy as np
import scipy.stats

from stylegan_tf.metrics import register_metric
from stylegan_tf.metrics.fd_probe import generated_outputs, real_outputs
from stylegan_tf.metrics.probe import BINARY, CIRCULAR, PROBE_FACTORS, decode

__all__ = ["factor_distances", "factor_stats"]


def _unwrap(values, reference):
    """Circular values in [0, 1) cut at the point opposite the reference's circular mean."""
    angle = np.angle(np.mean(np.exp(2j * np.pi * reference))) / (2 * np.pi)
    return (values - angle + 0.5) % 1.0  # the cut lies opposite the mean


def factor_distances(gen, real):
    """Per-factor comparison of two probe readings {factor: [N]} (see the module docstring).

    Returns:
        (dict of "<factor>_gen", "<factor>_real", "<factor>_dist", mean of the distances).
    """
    out, dists = {}, []
    for name in PROBE_FACTORS:
        g, r = np.asarray(gen[name], np.float64), np.asarray(real[name], np.float64)
        if name in BINARY:
            out[f"{name}_gen"], out[f"{name}_real"] = float(np.mean(g > 0.5)), float(np.mean(r > 0.5))
            dist = abs(out[f"{name}_gen"] - out[f"{name}_real"])
        else:
            if name in CIRCULAR:
                g, r = _unwrap(g, r), _unwrap(r, r)
            out[f"{name}_gen"], out[f"{name}_real"] = float(np.mean(g)), float(np.mean(r))
            dist = scipy.stats.wasserstein_distance(g, r) / max(np.std(r), 1e-12)
        out[f"{name}_dist"] = float(dist)
        dists.append(dist)
    return out, float(np.mean(dists))


@register_metric("factor_stats")
def factor_stats(G, data, num_images=10000, seed=0, batch_size=64):
    """Factor statistics of G's images against the reals of `data` (see the module docstring)."""
    keys = ("logits", "regression")
    gen = generated_outputs(G, num_images, seed, batch_size, keys)
    real = real_outputs(data, G.resolution, num_images, seed, batch_size, keys)
    gen, real = decode(gen["logits"], gen["regression"]), decode(real["logits"], real["regression"])
    result, mean = factor_distances(gen, real)
    _, floor = factor_distances({k: v[0::2] for k, v in real.items()}, {k: v[1::2] for k, v in real.items()})
    result.update(factor_stats_mean=mean, factor_stats_floor=floor, num_images=int(num_images))
    return result
