"""Factor-control matrix: which input of a generator controls which factor of the image, measured.

For each input (every style input ws[:, i], every layer's noise), resample only that input for N images
and measure how far each probe-read factor moves, in units of its spread on real images:

    M[input, factor] = mean_n |f(x'_n) - f(x_n)| / std_real(f)       (hue: the wrapped difference)

Resampling a factor the probe reads perfectly gives about 1 (binary: E|p' - p| = 0.5 = its std;
uniform: E|u' - u| / std(u) = sqrt(12) / 3 = 1.15); an input that does not touch the factor gives 0 up to
the probe's noise. The paper's Fig. 3 claim (coarse styles bring pose and shape, middle styles facial
features, fine styles colour; Sec. 3.2: noise only stochastic detail) becomes a block pattern in M.
`renderer_matrix` validates the method on the dataset's own renderer, whose inputs are the factors,
so the right answer is known: a diagonal, and a zero row for `detail_seed`.

Registered metric (see `stylegan_tf.metrics.calc_metric`):
    "factor_control" -> {"<input>/<factor>" for every entry ("style3/smiling", "noise0/head_x"),
                         "<group> styles/<scale> factors" and "noise/<scale> factors" (the group means
                         with the groups of `generation.figures.style_ranges` and the factors' scales
                         in `data.faces.FACTORS`), "separation/coarse", "separation/fine", "separation/noise",
                         "separation" (1.0 pass, 0.0 fail: `separation_test`), "num_images"};
                         `figure=PATH` also writes the heatmap.

Paper: Karras et al. 2019, Sec. 3.1 and Fig. 3 (styles by scale), Sec. 3.2 and Fig. 4-5 (noise).
"""

import numpy as np

from stylegan_tf.data import faces
from stylegan_tf.metrics import register_metric
from stylegan_tf.metrics.probe import CIRCULAR, PROBE_FACTORS, predict_factors

__all__ = ["spread", "factor_change", "renderer_matrix", "renderer_bands", "generator_matrix", "group_means",
           "separation_test", "save_heatmap", "model_label", "factor_control"]

NOISE_SILENT = 0.05  # "noise moves neither": a noise group mean below this (the probe's noise is about 0.01)

_SCALE = {f[0]: f[4] for f in faces.FACTORS}


def _diff(name, a, b):
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    return (d + 0.5) % 1.0 - 0.5 if name in CIRCULAR else d


def spread(readings):
    """Per-factor spread of probe readings {factor: [N]}: std, circular for hue."""
    return {name: float(np.sqrt(np.mean(_diff(name, v, np.angle(np.mean(np.exp(2j * np.pi * v))) / (2 * np.pi))
                                        ** 2)) if name in CIRCULAR else np.std(v))
            for name, v in readings.items()}


def factor_change(before, after, scale):
    """Row of M: mean |after - before| / scale per factor of PROBE_FACTORS -> [F]."""
    return np.array([np.mean(np.abs(_diff(n, after[n], before[n]))) / max(scale[n], 1e-12) for n in PROBE_FACTORS])


def _box_down(images, resolution):
    """[N, R, R, C] -> [N, resolution, resolution, C], each pixel the mean of its R/resolution box."""
    k = images.shape[1] // resolution
    return images.reshape(len(images), resolution, k, resolution, k, images.shape[-1]).mean((2, 4))


def _render(factors, resolution):
    images = faces.render_faces(factors, max(resolution, 64))  # drawn as the dataset: 64 px, then box levels
    return np.rint(_box_down(images.astype(np.float32), resolution)) / 127.5 - 1


def renderer_matrix(num_images=512, seed=0, resolution=32):
    """M for the renderer: rows are FACTOR_NAMES (each resampled alone), columns PROBE_FACTORS.

    Returns:
        (M [len(FACTOR_NAMES), len(PROBE_FACTORS)], row names).
    """
    base, other = faces.sample_factors(num_images, seed), faces.sample_factors(num_images, seed + 1)
    before = predict_factors(_render(base, resolution))
    scale = spread(before)
    rows = []
    for name in faces.FACTOR_NAMES:
        edited = base.copy()
        edited[name] = other[name]
        rows.append(factor_change(before, predict_factors(_render(edited, resolution)), scale))
    return np.stack(rows), list(faces.FACTOR_NAMES)


def renderer_bands(num_images=256, seed=0, resolution=32):
    """Where in scale each factor's change lies: the share of its energy in each resolution band.

    Resample one factor alone (as `renderer_matrix`) and split the difference image d = x' - x into
    Laplacian bands: the part a 4-8 px layer can draw (d box-averaged to 8 px), then each doubling up
    to `resolution`. A factor the paper calls coarse (pose, face shape) is a large-scale change on FFHQ;
    this table says whether it is one in our data at `resolution`, which is what a style at a given
    layer resolution can reach.

    Returns:
        (shares [len(FACTOR_NAMES), bands] with rows summing to 1, band names like "<=8px", "16px",
        rms of d per factor [len(FACTOR_NAMES)], row names).
    """
    def up(a):
        k = resolution // a.shape[1]
        return a.repeat(k, 1).repeat(k, 2)

    levels = [r for r in (8, 16, 32, 64, 128) if r < resolution] + [resolution]
    base, other = faces.sample_factors(num_images, seed), faces.sample_factors(num_images, seed + 1)
    x = _render(base, resolution)
    shares, rms = [], []
    for name in faces.FACTOR_NAMES:
        edited = base.copy()
        edited[name] = other[name]
        d = _render(edited, resolution) - x
        parts = [up(_box_down(d, r)) for r in levels]  # cumulative low-pass images, coarsest first
        energy = [np.sum(parts[0] ** 2)] + [np.sum((b - a) ** 2) for a, b in zip(parts, parts[1:])]
        shares.append(np.array(energy) / max(sum(energy), 1e-12))
        rms.append(float(np.sqrt(np.mean(d ** 2))))
    names = [f"<={levels[0]}px"] + [f"{r}px" for r in levels[1:]]
    return np.stack(shares), names, np.array(rms), list(faces.FACTOR_NAMES)


def _noise_streams(shapes, seed, chunk=1 << 20):
    """Per noise layer, a RandomState that yields, batch after batch, the rows of `rng.randn(*shape)` drawn
    layer after layer from `RandomState(seed)`: the same noise as drawing every layer whole, batch by batch."""
    rng, streams = np.random.RandomState(seed), []
    for shape in shapes:
        if shape is None:
            streams.append(None)
            continue
        stream = np.random.RandomState()
        stream.set_state(rng.get_state())
        streams.append(stream)
        for left in range(int(np.prod(shape)), 0, -chunk):  # advance past this layer (sequential draws concatenate)
            rng.randn(min(chunk, left))
    return streams


def generator_matrix(G, scale, num_images=256, seed=0, batch_size=32):
    """M for G: rows "style i" (ws[:, i] from another z) then "noise i" (layer i's noise redrawn).

    `scale` is the real spread per factor (`spread` of the reals' readings). No truncation.
    Streamed: `batch_size` images at a time go through every edit, and the rows sum |change| over the
    batches, so memory does not grow with `num_images`; the latents and noise are those of drawing all
    `num_images` at once (`latents`, then each layer's `randn` in turn from `RandomState(seed)`).
    Returns:
        (M [rows, len(PROBE_FACTORS)], row names like "style0 (4px)").
    """
    from stylegan_tf.generation.figures import synthesize
    from stylegan_tf.geometry import layer_resolution
    from stylegan_tf.metrics.sampling import latents

    z, z2 = latents(num_images, G.z_dim, seed), latents(num_images, G.z_dim, seed + 1)
    shapes = G.noise_shapes(num_images)
    streams, streams2 = _noise_streams(shapes, seed), _noise_streams(shapes, seed + 1)
    names = [f"style{i} ({layer_resolution(i)}px)" for i in range(G.num_ws)]
    names += [f"noise{i} ({layer_resolution(i)}px)" for i, s in enumerate(shapes) if s is not None]
    sums = np.zeros((len(names), len(PROBE_FACTORS)))

    def read(ws_, noise_):
        return predict_factors(synthesize(G, ws_, noise=noise_, batch_size=batch_size))

    for b in range(0, num_images, batch_size):
        n = min(batch_size, num_images - b)
        ws = np.asarray(G.mapping(z[b:b + n]), np.float32)  # [n, num_ws, w_dim]
        ws2 = np.asarray(G.mapping(z2[b:b + n]), np.float32)
        noise = [None if r is None else r.randn(n, *s[1:]).astype(np.float32) for r, s in zip(streams, shapes)]
        noise2 = [None if r is None else r.randn(n, *s[1:]).astype(np.float32) for r, s in zip(streams2, shapes)]
        before = read(ws, noise)
        row = 0
        for i in range(G.num_ws):
            edited = ws.copy()
            edited[:, i] = ws2[:, i]
            sums[row] += _change_sums(before, read(edited, noise))
            row += 1
        for i, n2 in enumerate(noise2):
            if n2 is not None:
                edited = list(noise)
                edited[i] = n2
                sums[row] += _change_sums(before, read(ws, edited))
                row += 1
    scales = np.array([max(scale[n], 1e-12) for n in PROBE_FACTORS])
    return sums / num_images / scales, names


def _change_sums(before, after):
    """sum |after - before| per factor of PROBE_FACTORS (float64): `factor_change` before the mean and scale."""
    return np.array([np.sum(np.abs(_diff(n, after[n], before[n]))) for n in PROBE_FACTORS])


def group_means(matrix, row_groups):
    """{"<row group>/<scale> factors": mean of M over the group's rows and the factors of that scale}."""
    out = {}
    for group, rows in row_groups.items():
        for scale in ("coarse", "middle", "fine"):
            cols = [k for k, n in enumerate(PROBE_FACTORS) if _SCALE[n] == scale]
            if len(rows):
                out[f"{group}/{scale} factors"] = float(matrix[np.ix_(list(rows), cols)].mean())
    return out


def separation_test(means, noise_silent=NOISE_SILENT):
    """The paper's separation claim as three checks on `group_means` (Sec. 3.1, Fig. 3; Sec. 3.2):

        coarse   coarse styles move the coarse factors (head position, turn, size, shape) more than
                 the middle styles and more than the fine styles do
        fine     fine styles move the fine factors (skin tone, hair colour, background hue) more than
                 the coarse and the middle styles do
        noise    no noise group moves any scale of factor by `noise_silent` or more

    A group that does not exist (no middle styles below 16 px) is skipped. Returns
    {"separation/coarse", "separation/fine", "separation/noise", "separation"}: 1.0 pass, 0.0 fail.
    """
    def beats(group, others, scale):
        mine = means[f"{group} styles/{scale} factors"]
        return all(mine > means[f"{o} styles/{scale} factors"] for o in others
                   if f"{o} styles/{scale} factors" in means)

    checks = {"coarse": beats("coarse", ("middle", "fine"), "coarse"),
              "fine": beats("fine", ("coarse", "middle"), "fine"),
              "noise": all(v < noise_silent for k, v in means.items() if k.startswith("noise/"))}
    out = {f"separation/{k}": float(v) for k, v in checks.items()}
    out["separation"] = float(all(checks.values()))
    return out


def save_heatmap(path, matrix, row_names, title=""):
    """Writes M as an annotated heatmap PNG (rows: inputs, columns: PROBE_FACTORS grouped by scale); `title`
    goes above it and into the PNG's "Title" text chunk.

    Drawn on a bare `matplotlib.figure.Figure`, not through pyplot, so that writing the file neither needs a
    display nor changes the backend of a running session (a notebook keeps showing its inline figures).
    """
    from matplotlib.figure import Figure

    from stylegan_tf.generation.viz import write_atomic

    fig = Figure(figsize=(1.0 + 0.62 * len(PROBE_FACTORS), 1.2 + 0.36 * len(row_names)))
    ax = fig.subplots()
    im = ax.imshow(matrix, cmap="viridis", vmin=0.0, vmax=max(1.0, float(matrix.max())), aspect="auto")
    for (r, c), v in np.ndenumerate(matrix):
        ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white" if v < 0.6 else "black")
    ax.set_xticks(range(len(PROBE_FACTORS)), [f"{n}\n({_SCALE[n]})" for n in PROBE_FACTORS], rotation=60,
                  ha="right", fontsize=8)
    ax.set_yticks(range(len(row_names)), row_names, fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.03, label="mean |change| / real std")
    fig.tight_layout()
    return write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=110, metadata={"Title": title}))  # no half file


def model_label(G, model=None) -> str:
    """What a heatmap's title calls the generator: `model` if given, else from the file it was loaded from
    (`figures.load_generator` records it): "shipped model F", "run demo" (a run's G_ema.keras), "G_ema-5.keras";
    else the network's name."""
    import os

    if model:
        return str(model)
    source = getattr(G, "source_file", None)
    if not source:
        return f"generator {G.name}"
    from stylegan_tf.pretrained import MODEL_DIR

    folder, name = os.path.split(os.path.abspath(source))
    if os.path.abspath(folder) == os.path.abspath(MODEL_DIR):
        return f"shipped model {os.path.splitext(name)[0]}"
    if name == "G_ema.keras":
        return f"run {os.path.basename(folder)}"
    return name


@register_metric("factor_control")
def factor_control(G, data, num_images=256, seed=0, batch_size=32, figure=None, num_real=1000, model=None):
    """The factor-control matrix of G, normalised by `num_real` reals of `data` (see the module docstring).

    `figure=PATH` also writes the heatmap, titled with `model_label(G, model)`.
    """
    from stylegan_tf.data import dataset_info
    from stylegan_tf.generation.figures import style_ranges
    from stylegan_tf.metrics.sampling import real_images

    num_real = min(num_real, dataset_info(data).get("num_images") or num_real)
    reals = np.concatenate(list(real_images(data, G.resolution, num_real, seed=seed)))
    matrix, names = generator_matrix(G, spread(predict_factors(reals)), num_images, seed, batch_size)
    result = {f"{row.split(' ')[0]}/{factor}": float(v)
              for row, values in zip(names, matrix) for factor, v in zip(PROBE_FACTORS, values)}
    groups = {f"{g} styles": r for g, r in style_ranges(G.num_ws).items()}
    groups["noise"] = range(G.num_ws, len(names))
    result.update(group_means(matrix, groups))
    result.update(separation_test(result))
    if figure:
        save_heatmap(figure, matrix, names, f"factor control of {model_label(G, model)}, {num_images} images")
    result["num_images"] = int(num_images)
    return result


def main(argv=None):
    """Writes the heatmap of the renderer (no --model) or of a trained generator, and prints the group means."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m stylegan_tf.metrics.factor_control",
                                     description="Factor-control heatmap of the dataset renderer or of a model.")
    parser.add_argument("--model", help="run folder or .keras generator (default: the dataset's renderer)")
    parser.add_argument("--data", default="synthetic-faces")
    parser.add_argument("--num-images", type=int, default=512)
    parser.add_argument("--out", help="PNG to write, e.g. docs/img/factor_control_renderer.png")
    parser.add_argument("--bands", action="store_true",
                        help="print where in scale each factor's change lies (renderer_bands) and exit")
    args = parser.parse_args(argv)
    if args.bands:
        shares, bands, rms, rows = renderer_bands(args.num_images)
        print(f"{'factor':16s} {'rms':>6s} " + " ".join(f"{b:>6s}" for b in bands) + "   (share of the change's energy)")
        for name, r, row in zip(rows, rms, shares):
            print(f"{name:16s} {r:6.3f} " + " ".join(f"{v:6.2f}" for v in row))
        return
    if not args.out:
        parser.error("--out is required (or --bands)")
    if args.model:
        from stylegan_tf.generation.figures import load_generator

        out = factor_control(load_generator(args.model), args.data, args.num_images, figure=args.out)
        print("\n".join(f"{k:32s} {v:.3f}" for k, v in out.items() if "/" in k and " " in k))
        print("separation test:", ", ".join(f"{k.split('/')[-1]} {'pass' if out[k] else 'fail'}"
                                            for k in ("separation/coarse", "separation/fine", "separation/noise",
                                                      "separation")))
    else:
        matrix, rows = renderer_matrix(args.num_images)
        save_heatmap(args.out, matrix, rows, f"factor control of the renderer, {args.num_images} images")
        print("diagonal:", " ".join(f"{n} {matrix[rows.index(n), c]:.2f}" for c, n in enumerate(PROBE_FACTORS)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
