"""Perceptual path length: how much the image changes along a short step of a latent interpolation.

    l_Z = E[ d(G(slerp(z0, z1; t)), G(slerp(z0, z1; t + eps))) / eps^2 ]     z ~ N(0, I), slerp of unit z
    l_W = E[ d(g(lerp(f(z0), f(z1); t)), g(lerp(f(z0), f(z1); t + eps))) / eps^2 ]

with eps = 1e-4, t ~ U(0, 1) ("full") or t = 0 ("end"), no truncation, one noise draw shared by every
image of a minibatch (the official code re-initialises its noise variables before each minibatch), and
the mean taken over the values between the 1st percentile ("lower") and the 99th ("higher"), inclusive.

The distance d, named in the result's "distance" entry:
    "lpips"  LPIPS-VGG (Zhang et al. 2018) as the paper, on the official face crop (rows 3/8-7/8,
             columns 2/8-6/8) box-downsampled to 256 px; used when its weights are installed (`lpips.py`);
    "probe"  offline: the same formula with the factor probe's three conv stages in place of VGG and unit
             layer weights: sum_s mean_hw || n(f_s(x0)) - n(f_s(x1)) ||^2, n = unit length over channels,
             on the whole image (the probe was trained on whole images). Values are not comparable to
             the paper's LPIPS figures, only to each other;
    a callable d(images0, images1) -> [N] (tests).
`distance="auto"` (default) takes LPIPS when available, else the probe, and says so once.

Registered metrics (see `stylegan_tf.metrics.calc_metric`), each -> {"ppl_<space>_<sampling>",
"ppl_std", "distance", "num_images"}:
    "ppl_z_full", "ppl_z_end", "ppl_w_full", "ppl_w_end"
num_images counts interpolation pairs. The default is the official 100,000 when TensorFlow sees a GPU
and 2,000 on a CPU (about 13 CPU-s for the 32 px demo model). At 2,000 pairs the 60-kimg demo
model gave, over seeds 0, 1, 2 (probe distance): ppl_w_end 5.25 / 5.28 / 5.46, ppl_z_end 14.8 / 15.0 /
15.5, ppl_w_full 5.02 / 5.01 (seeds 0, 1), ppl_z_full 15.0 / 14.9: the seed spread is a few percent.

Paper: Karras et al. 2019, Sec. 4.1 and appendix; the official `metrics/perceptual_path_length.py`
(`PPL._evaluate`, `slerp`).
"""

import numpy as np

from stylegan_tf.metrics import register_metric

__all__ = ["EPSILON", "slerp_unit", "filtered_mean", "probe_distance", "resolve_distance", "path_lengths",
           "default_num_images", "ppl"]

EPSILON = 1e-4
_NOTICE = []


def slerp_unit(a, b, t):
    """Great-circle interpolation of the unit directions of a, b [N, D] at t [N, 1] (the official `slerp`)."""
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    d = np.sum(a * b, axis=-1, keepdims=True)
    c = b - d * a
    c = c / np.linalg.norm(c, axis=-1, keepdims=True)  # the unit direction orthogonal to a, towards b
    p = t * np.arccos(np.clip(d, -1.0, 1.0))
    out = a * np.cos(p) + c * np.sin(p)
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


def filtered_mean(values):
    """Mean of the values between the 1st percentile (lower) and the 99th (higher), inclusive (official)."""
    values = np.asarray(values, np.float64)
    lo = np.percentile(values, 1, method="lower")
    hi = np.percentile(values, 99, method="higher")
    return float(np.mean(values[(lo <= values) & (values <= hi)]))


def probe_distance(images0, images1):
    """The offline distance: LPIPS's formula on the probe's conv stages, unit weights -> [N] float64."""
    from stylegan_tf.metrics.probe import load_probe, probe_outputs

    keys = ("stage1", "stage2", "stage3")
    f0, f1 = probe_outputs(images0, load_probe(), keys=keys), probe_outputs(images1, load_probe(), keys=keys)
    total = 0.0
    for k in keys:
        a, b = f0[k].astype(np.float64), f1[k].astype(np.float64)  # [N, H, W, C]
        a /= np.sqrt(np.sum(a**2, axis=-1, keepdims=True)) + 1e-10
        b /= np.sqrt(np.sum(b**2, axis=-1, keepdims=True)) + 1e-10
        total = total + np.mean(np.sum((a - b) ** 2, axis=-1), axis=(1, 2))
    return total


def resolve_distance(distance="auto"):
    """(name, d) for "auto", "lpips", "probe" or a callable (see the module docstring)."""
    if callable(distance):
        return "custom", distance
    if distance in ("auto", "lpips"):
        from stylegan_tf.metrics import lpips

        found = lpips.available()
        if found:
            return "lpips", lpips.lpips_distance
        if distance == "lpips":
            raise FileNotFoundError(lpips.MISSING)
        if not _NOTICE:
            _NOTICE.append(True)
            print(f"ppl: {lpips.MISSING}; using the offline probe distance")
        return "probe", probe_distance
    if distance == "probe":
        return "probe", probe_distance
    raise ValueError(f"distance must be 'auto', 'lpips', 'probe' or a callable, got {distance!r}")


def _shared_noise(G, rng):
    """One noise draw per layer, [1, H, W, 1], shared by the whole minibatch (None where G has no noise)."""
    shapes = G.noise_shapes(1) if hasattr(G, "noise_shapes") else [None] * G.num_ws
    return [None if s is None else rng.randn(*s).astype(np.float32) for s in shapes]


def path_lengths(G, num_samples, space="w", sampling="full", epsilon=EPSILON, distance="auto", batch_size=32,
                 seed=0):
    """The unfiltered per-pair values d / eps^2, [num_samples] float64, and the distance's name."""
    if space not in ("z", "w") or sampling not in ("full", "end"):
        raise ValueError(f"space must be 'z' or 'w' and sampling 'full' or 'end', got {space!r}, {sampling!r}")
    name, d = resolve_distance(distance)
    rng = np.random.RandomState(seed)
    out = []
    for start in range(0, num_samples, batch_size):
        n = min(batch_size, num_samples - start)
        z = rng.randn(2 * n, G.z_dim).astype(np.float32)  # [2n, z_dim]: pairs (z0, z1)
        t = rng.uniform(0.0, 1.0 if sampling == "full" else 0.0, size=(n, 1))  # "end": t = 0 exactly
        noise = _shared_noise(G, rng)
        if space == "w":
            ws = np.asarray(G.mapping(z), np.float32)  # [2n, num_ws, w_dim], no truncation
            w0, w1 = ws[0::2], ws[1::2]
            e0 = w0 + t[:, :, None].astype(np.float32) * (w1 - w0)
            e1 = w0 + (t[:, :, None] + epsilon).astype(np.float32) * (w1 - w0)
        else:
            z0, z1 = z[0::2].astype(np.float64), z[1::2].astype(np.float64)
            e0 = np.asarray(G.mapping(slerp_unit(z0, z1, t).astype(np.float32)), np.float32)
            e1 = np.asarray(G.mapping(slerp_unit(z0, z1, t + epsilon).astype(np.float32)), np.float32)
        images = np.asarray(G.synthesis(np.concatenate([e0, e1]), noise=noise), np.float32)  # [2n, R, R, C]
        out.append(np.asarray(d(images[:n], images[n:]), np.float64) / epsilon**2)
    return np.concatenate(out), name


def default_num_images(official, cpu):
    """The official sample count when TensorFlow sees a GPU, else the documented CPU count."""
    import tensorflow as tf

    return official if tf.config.list_physical_devices("GPU") else cpu


def ppl(G, data=None, num_images=None, space="w", sampling="end", epsilon=EPSILON, distance="auto",
        batch_size=32, seed=0):
    """Perceptual path length of G (see the module docstring); `data` is not used."""
    num_images = default_num_images(100000, 2000) if num_images is None else int(num_images)
    values, name = path_lengths(G, num_images, space, sampling, epsilon, distance, batch_size, seed)
    return {f"ppl_{space}_{sampling}": filtered_mean(values), "ppl_std": float(np.std(values)), "distance": name,
            "num_images": int(num_images)}


def _register(space, sampling):
    def metric(G, data, num_images=None, **options):
        return ppl(G, data, num_images, space=space, sampling=sampling, **options)

    metric.__name__ = metric.__qualname__ = f"ppl_{space}_{sampling}"
    metric.__doc__ = f"PPL in {space.upper()} with '{sampling}' sampling (see `ppl`)."
    return register_metric(f"ppl_{space}_{sampling}")(metric)


ppl_z_full, ppl_z_end, ppl_w_full, ppl_w_end = (_register(s, m) for s in "zw" for m in ("full", "end"))
