"""FD_probe: the Fréchet distance between generated and real images in the factor probe's feature space.

    FD_probe = ||mu_g - mu_r||^2 + Tr(S_g + S_r - 2 (S_g S_r)^(1/2))     over the probe's 128-d features

It is FID with Inception-v3 replaced by `probe.py`'s network, which was trained on this dataset's true
factors: it needs no download and its features are the dataset's own factors of variation. Beside the
value we report the floor: FD_probe between two disjoint halves of the same reals (even and odd
images), the value a generator that reproduced the data exactly would get at half the sample size.
The estimate is biased upwards by about (feature variance) / N, so compare values at equal N.

Registered metric (see `stylegan_tf.metrics.calc_metric`):
    "fd_probe"  -> {"fd_probe", "fd_probe_floor", "num_images", "floor_num_images"}

Defaults: 10,000 generated and 10,000 real images (the whole embedded dataset); psi = 1, random noise,
as the official FID. The probe reads 32 px (see `probe.to_probe_resolution` for other resolutions).
Measured at 32 px (10,000 images, 21-27 CPU-s with the demo model's generation): floor 0.16 (5,000 vs
5,000); against one half of the reals the other half + Gaussian pixel noise of std 0.05 / 0.2 / 0.4
gives 0.96 / 20.8 / 50.8 and the other half with shuffled pixels 149; the 60-kimg demo model 70.8 / 70.1
(seeds 0 / 1).

Paper: Heusel et al. 2017 (FID); the official `metrics/frechet_inception_distance.py` (the statistics
and `scipy.linalg.sqrtm`), with our probe in place of Inception.
"""

import numpy as np

from stylegan_tf.metrics import register_metric
from stylegan_tf.metrics.frechet import feature_statistics, frechet_distance
from stylegan_tf.metrics.probe import load_probe, probe_outputs
from stylegan_tf.metrics.sampling import generated_images, real_images

__all__ = ["probe_features", "generated_outputs", "real_outputs", "fd_between", "fd_probe"]


def probe_features(batches, keys=("features",)):
    """Probe outputs for an iterable of image batches in [-1, 1]: {key: [N, ...]}."""
    model = load_probe()
    parts = [probe_outputs(batch, model, keys=keys) for batch in batches]
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def generated_outputs(G, num_images, seed=0, batch_size=64, keys=("features",)):
    """Probe outputs of `num_images` images of G (psi = 1, random noise, latents from `seed`)."""
    return probe_features(generated_images(G, num_images, batch_size=batch_size, seed=seed), keys)


def real_outputs(data, resolution, num_images, seed=0, batch_size=64, keys=("features",)):
    """Probe outputs of `num_images` reals of `data` at `resolution` (shuffled with `seed`, no mirroring)."""
    return probe_features(real_images(data, resolution, num_images, batch_size=batch_size, seed=seed), keys)


def fd_between(features_a, features_b):
    """FD_probe between two feature sets [N, D]."""
    return frechet_distance(*feature_statistics(features_a), *feature_statistics(features_b))


@register_metric("fd_probe")
def fd_probe(G, data, num_images=10000, seed=0, batch_size=64, floor=True):
    """FD_probe of G against the reals of `data`, with the real-vs-real floor (see the module docstring)."""
    gen = generated_outputs(G, num_images, seed, batch_size)["features"]
    real = real_outputs(data, G.resolution, num_images, seed, batch_size)["features"]
    result = {"fd_probe": fd_between(gen, real), "num_images": int(num_images)}
    if floor:
        result["fd_probe_floor"] = fd_between(real[0::2], real[1::2])
        result["floor_num_images"] = int(len(real[1::2]))
    return result
