"""The generation API: images for seeds and the paper's figures as arrays.

Every function takes a built `Generator` and returns float32 NHWC images in [-1, 1] (turn them
into files or plots with `stylegan_tf.generation.viz`). Latents come from seeds the official way,
`z = RandomState(seed).randn(z_dim)`, so a seed names the same image everywhere. Unless a
function says otherwise the noise is the layers' stored constant noise (`noise_mode="const"`,
the official `randomize_noise=False`), which makes every figure a pure function of its seeds and
the same images the exported SavedModel gives.

Truncation follows `G(z)`: `psi=None` uses the model's default psi (config `truncation_psi`) and
`cutoff=None` its default cutoff (`truncation_cutoff`); psi=1 turns truncation off.

Paper: Fig. 3 (style mixing, Sec. 3.1), Fig. 4 and Fig. 5 (stochastic variation, Sec. 3.2),
Fig. 8 (truncation trick, appendix B). See notebooks/00_tour.ipynb (all of them) and chapters 05-07.
"""

import dataclasses
import os

import numpy as np

from stylegan_tf.geometry import layer_resolution

__all__ = ["load_generator", "seeds_to_z", "mapping_ws", "synthesize", "generate_images", "style_ranges",
           "paper_mixing_styles", "style_mixing", "MixingGrid", "stochastic_variation", "Variation", "noise_ranges", "noise_components",
           "truncation_sweep", "slerp", "interpolation_frames", "PAPER_PSIS"]

PAPER_PSIS = (1.0, 0.7, 0.5, 0.0, -0.5, -1.0)  # Fig. 8, left to right


def load_generator(path):
    """Loads a Generator from a `.keras` file or a run folder (its `G_ema.keras`, else its newest `*.keras`).

    `stylegan_tf.load_model(path)` that also refuses a file holding anything but a Generator (e.g. D.keras).
    """
    from stylegan_tf.loading import load_model, model_file, saved_class

    path = model_file(path)
    saved_class(path, expected="Generator")
    G = load_model(path)
    G.source_file = os.path.abspath(path)  # for figure titles (e.g. factor_control.model_label)
    return G


def seeds_to_z(seeds, z_dim):
    """Latents `[N, z_dim]` float32, row i = RandomState(seeds[i]).randn(z_dim) (as the official figures)."""
    seeds = [int(s) for s in seeds]
    if not seeds or any(not 0 <= s < 2**32 for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of integers in [0, 2**32), got {seeds}")
    return np.stack([np.random.RandomState(s).randn(z_dim) for s in seeds]).astype(np.float32)


def mapping_ws(G, z, psi=None, cutoff=None):
    """ws = f(z) `[N, num_ws, w_dim]` as numpy, truncated like `G(z)` (psi None: model default; 1: off)."""
    psi = G.truncation_psi if psi is None else psi
    cutoff = G.truncation_cutoff if cutoff is None else cutoff
    return np.asarray(G.truncate(G.mapping(np.asarray(z, np.float32)), psi, cutoff), np.float32)


def synthesize(G, ws, noise_mode="const", noise=None, batch_size=16):
    """images = g(ws) in minibatches; `noise` entries `[N or 1, H, W, 1]` are sliced along with ws."""
    ws = np.asarray(ws, np.float32)
    out = []
    for i in range(0, len(ws), batch_size):
        part = None if noise is None else [n if n is None or len(n) == 1 else n[i:i + batch_size] for n in noise]
        out.append(np.asarray(G.synthesis(ws[i:i + batch_size], noise_mode=noise_mode, noise=part)))
    return np.concatenate(out)


def generate_images(G, seeds, psi=None, cutoff=None, noise_mode="const", batch_size=16):
    """Images `[N, R, R, C]` for `seeds`; deterministic unless `noise_mode="random"`."""
    ws = mapping_ws(G, seeds_to_z(seeds, G.z_dim), psi, cutoff)
    return synthesize(G, ws, noise_mode=noise_mode, batch_size=batch_size)


def style_ranges(num_ws):
    """Coarse / middle / fine layer ranges: the paper's split by resolution, kept for small models.

    The paper (Sec. 3.1, Fig. 3) calls the styles of 4²-8² coarse (pose, face shape, glasses),
    16²-32² middle (features, hair style, eyes) and 64²-1024² fine (colour scheme, micro
    structure). We keep those absolute boundaries, which is exact from 64 px up, and for a model
    that stops below 64 px its top resolution plays the fine role, since that is where its colours
    and finest detail are drawn:

        32 px: coarse 4-8, middle 16, fine 32      16 px: coarse 4, middle 8, fine 16
        64 px: coarse 4-8, middle 16-32, fine 64   8 px: coarse 4, fine 8 (no middle)

    Layer i runs at 2**(i // 2 + 2) px (`geometry.layer_resolution`), two layers per resolution.
    """
    top = layer_resolution(num_ws - 1)
    fine_from = min(64, top)  # the first fine resolution
    coarse_to = max(4, min(8, fine_from // 4))  # the last coarse resolution
    group = lambda r: "coarse" if r <= coarse_to else ("fine" if r >= fine_from else "middle")  # noqa: E731
    out = {"coarse": [], "middle": [], "fine": []}
    for i in range(num_ws):
        out[group(layer_resolution(i))].append(i)
    return {name: range(idx[0], idx[-1] + 1) if idx else range(0) for name, idx in out.items()}


def paper_mixing_styles(num_rows):
    """Fig. 3's rows: which style group each of `num_rows` destinations copies, coarse first, then middle, fine.

    The paper's figure has 6 destination rows: 3 copy the coarse styles, 2 the middle, 1 the fine. With fewer
    or more rows each group keeps at least one row (while there are 3) and the rest follow the same 3:2:1 order:
    1 -> coarse; 2 -> coarse, middle; 3 -> one of each; 5 -> 2, 2, 1; 6 -> 3, 2, 1 as in the paper.
    """
    counts = {"coarse": 0, "middle": 0, "fine": 0}
    order = ["coarse", "middle", "fine"] + ["coarse", "middle", "coarse"] * num_rows
    for name in order[:num_rows]:
        counts[name] += 1
    return [name for name in counts for _ in range(counts[name])]


def _layers(spec, num_ws):
    if isinstance(spec, str):
        groups = style_ranges(num_ws)
        if spec not in groups:
            raise ValueError(f"styles must be one of {sorted(groups)}, a range or a list of layer indices, got {spec!r}")
        return list(groups[spec])
    layers = [int(i) for i in spec]
    if any(not 0 <= i < num_ws for i in layers):
        raise ValueError(f"layer indices must be in [0, {num_ws}) for this {num_ws}-layer model, got {layers}")
    return layers


@dataclasses.dataclass
class MixingGrid:
    """Fig. 3: `images[d, s]` is destination d with the `layers[d]` styles copied from source s."""

    src_images: np.ndarray  # [S, R, R, C] sources (across the top)
    dst_images: np.ndarray  # [D, R, R, C] destinations (down the side)
    images: np.ndarray  # [D, S, R, R, C]
    ws: np.ndarray  # [D, S, num_ws, w_dim] the styles each grid image was made from
    src_ws: np.ndarray  # [S, num_ws, w_dim]
    dst_ws: np.ndarray  # [D, num_ws, w_dim]
    layers: list  # per destination row: the layer indices copied from the sources


def style_mixing(G, src_seeds, dst_seeds, styles="coarse", psi=None, cutoff=None, noise_mode="const",
                 batch_size=16):
    """Style mixing grid (Fig. 3): each destination row takes the chosen layers' styles from each source.

    Args:
        styles: "coarse", "middle" or "fine" (see `style_ranges`), a range / list of layer indices,
            or a list with one such entry per destination row (the paper uses 3 coarse, 2 middle, 1 fine).

    Returns:
        A `MixingGrid`.
    """
    src_ws = mapping_ws(G, seeds_to_z(src_seeds, G.z_dim), psi, cutoff)
    dst_ws = mapping_ws(G, seeds_to_z(dst_seeds, G.z_dim), psi, cutoff)
    per_row = isinstance(styles, (list, tuple)) and any(isinstance(s, (str, range, list, tuple)) for s in styles)
    if per_row and len(styles) != len(dst_ws):
        raise ValueError(f"styles has {len(styles)} entries but there are {len(dst_ws)} destination seeds")
    layers = [_layers(s, G.num_ws) for s in styles] if per_row else [_layers(styles, G.num_ws)] * len(dst_ws)
    ws = np.repeat(dst_ws[:, None], len(src_ws), axis=1)  # [D, S, num_ws, w_dim]
    for d, rows in enumerate(layers):
        ws[d][:, rows] = src_ws[:, rows]
    flat = synthesize(G, ws.reshape(-1, *ws.shape[2:]), noise_mode, batch_size=batch_size)  # [D * S, R, R, C]
    return MixingGrid(src_images=synthesize(G, src_ws, noise_mode, batch_size=batch_size),
                      dst_images=synthesize(G, dst_ws, noise_mode, batch_size=batch_size),
                      images=flat.reshape(len(dst_ws), len(src_ws), *flat.shape[1:]), ws=ws, src_ws=src_ws,
                      dst_ws=dst_ws, layers=layers)


def _noise_draws(G, num_draws, noise_seed, layers):
    """Explicit noise for `num_draws` realisations, `[num_draws, H, W, 1]` per layer; zeros off `layers`."""
    rng = np.random.RandomState(noise_seed)
    noise = []
    for i in range(G.num_ws):  # every layer draws, so a layer's noise does not depend on `layers`
        size = layer_resolution(i)
        n = rng.randn(num_draws, size, size, 1).astype(np.float32)
        noise.append(n if i in layers else np.zeros((1, size, size, 1), np.float32))
    return noise


@dataclasses.dataclass
class Variation:
    """Fig. 4: one w under several noise draws, and the per-pixel std over all draws."""

    images: np.ndarray  # [num_show, R, R, C] the first draws
    std: np.ndarray  # [R, R] float64 std over the draws, averaged over channels
    ws: np.ndarray  # [1, num_ws, w_dim] the styles of the one image (after truncation)


def stochastic_variation(G, seed, num_draws=100, num_show=4, psi=None, cutoff=None, noise_seed=0, layers=None,
                         batch_size=25):
    """Stochastic variation (Fig. 4): `num_draws` noise realisations of one image and their std map.

    `layers` (default all) restricts the noise to those layers (zeros elsewhere), as in Fig. 5. The std is
    taken in float64 over the [-1, 1] images, so it is exactly 0 where the noise has no effect.
    """
    if num_draws < 2:
        raise ValueError(f"num_draws must be >= 2 for a standard deviation, got {num_draws}")
    ws = mapping_ws(G, seeds_to_z([seed], G.z_dim), psi, cutoff)  # [1, num_ws, w_dim]
    layers = range(G.num_ws) if layers is None else _layers(layers, G.num_ws)
    noise = _noise_draws(G, num_draws, noise_seed, set(layers))
    images = synthesize(G, np.repeat(ws, num_draws, axis=0), noise=noise, batch_size=batch_size)
    std = images.astype(np.float64).std(axis=0).mean(axis=-1)  # [R, R]
    return Variation(images=images[:num_show], std=std, ws=ws)


def noise_ranges(num_ws):
    """Fig. 5's noise settings: all layers, coarse only (the coarse and middle styles' layers, 4-32 px at
    1024 px), fine only (the fine layers, 64-1024 px), none; scaled like `style_ranges`."""
    groups = style_ranges(num_ws)
    return {"all": range(num_ws), "coarse": range(0, groups["fine"].start), "fine": groups["fine"],
            "none": range(0)}


def noise_components(G, seeds, ranges=None, psi=None, cutoff=None, batch_size=16):
    """Noise at chosen layers (Fig. 5): the stored constant noise kept on some layers, zeroed on the rest.

    Returns:
        dict name -> images `[len(seeds), R, R, C]`, one entry per item of `ranges` (default `noise_ranges`).
    """
    ranges = noise_ranges(G.num_ws) if ranges is None else ranges
    ws = mapping_ws(G, seeds_to_z(seeds, G.z_dim), psi, cutoff)
    const = [layer.noise.const_noise.numpy() if layer.noise is not None else None
             for layer in G.synthesis.synthesis_layers]  # [1, H, W, 1] per layer
    out = {}
    for name, spec in ranges.items():
        keep = set(_layers(spec, G.num_ws))
        noise = [None if n is None else (n if i in keep else np.zeros_like(n)) for i, n in enumerate(const)]
        out[name] = synthesize(G, ws, noise_mode="none", noise=noise, batch_size=batch_size)
    return out


def truncation_sweep(G, seeds, psis=PAPER_PSIS, cutoff=None, noise_mode="const", batch_size=16):
    """Truncation trick (Fig. 8): images `[len(seeds), len(psis), R, R, C]`, w' = w_avg + psi (w - w_avg)."""
    z = seeds_to_z(seeds, G.z_dim)
    cols = [synthesize(G, mapping_ws(G, z, float(psi), cutoff), noise_mode, batch_size=batch_size) for psi in psis]
    return np.stack(cols, axis=1)


def slerp(a, b, t):
    """Spherical interpolation of directions (and linear of lengths) between vectors a, b `[D]`; t `[T]` -> `[T, D]`."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.asarray(t, np.float64)[:, None]  # [T, 1]
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    ua, ub = a / na, b / nb
    omega = np.arccos(np.clip(np.dot(ua, ub), -1.0, 1.0))
    if np.sin(omega) < 1e-6:  # (anti)parallel: the great circle is undefined, fall back to lerp
        direction = (1 - t) * ua + t * ub
    else:
        direction = (np.sin((1 - t) * omega) * ua + np.sin(t * omega) * ub) / np.sin(omega)
    return direction * ((1 - t) * na + t * nb)


def interpolation_frames(G, seeds, steps=16, space="w", loop=True, psi=None, cutoff=None, noise_mode="const",
                         batch_size=16):
    """Frames `[T, R, R, C]` walking through the seeds' latents: lerp in W or slerp in Z, `steps` per pair.

    With `loop` the walk returns to the first seed, so the GIF repeats smoothly (T = steps * len(seeds)).
    """
    if space not in ("w", "z"):
        raise ValueError(f"space must be 'w' (lerp in W) or 'z' (slerp in Z), got {space!r}")
    if len(seeds) < 2:
        raise ValueError(f"interpolation needs at least 2 seeds, got {list(seeds)}")
    z = seeds_to_z(seeds, G.z_dim)
    pairs = list(zip(range(len(z)), list(range(1, len(z))) + ([0] if loop else [])))
    t = np.arange(steps) / steps
    if space == "w":  # truncation is affine, so lerp-then-truncate = truncate-then-lerp
        ws = mapping_ws(G, z, psi, cutoff)
        path = [ws[i][None] + t[:, None, None] * (ws[j] - ws[i])[None] for i, j in pairs]
    else:
        path = [mapping_ws(G, slerp(z[i], z[j], t).astype(np.float32), psi, cutoff) for i, j in pairs]
    path = np.concatenate(path)
    if not loop:
        path = np.concatenate([path, mapping_ws(G, z[-1:], psi, cutoff)])  # end exactly on the last seed
    return synthesize(G, path, noise_mode, batch_size=batch_size)
