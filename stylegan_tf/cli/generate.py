"""`python -m stylegan_tf generate`: PNG images and the paper's figures from a trained generator.

    python -m stylegan_tf generate --run runs/demo                       # images for seeds 0-7
    python -m stylegan_tf generate --file G_ema.keras --figures all --out figs
    python -m stylegan_tf generate --model F --figures mixing --out figs     # a shipped model
    python -m stylegan_tf generate --run runs/demo --figures mixing --src-seeds 1-5 --dst-seeds 6-8 --styles fine

Figures (`--figures`, several allowed): images (one PNG per seed and a grid), mixing (Fig. 3),
variation (Fig. 4, per seed: draws and std map), noise (Fig. 5), truncation (Fig. 8), interpolation
(animated GIF). The noise is the model's stored constant noise unless `--noise-mode` says otherwise,
so the same command writes the same files. See `stylegan_tf.generation.figures` for the maths.
"""

import math
import os

FIGURES = ("images", "mixing", "variation", "noise", "truncation", "interpolation")


def parse_seeds(text):
    """'0-3,10' -> [0, 1, 2, 3, 10]."""
    seeds = []
    for part in str(text).split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        try:
            first, last = (int(lo), int(hi)) if sep else (int(part), int(part))
        except ValueError:
            raise ValueError(f"bad seed list {text!r}: use integers and ranges, e.g. '0-7' or '1,5,9'") from None
        if last >= 2**32 or last - first >= 100_000:  # numpy's RandomState takes seeds in [0, 2**32)
            raise ValueError(f"bad seed list {text!r}: seeds are integers in [0, 2**32), at most 100,000 per range")
        seeds += range(first, last + 1)
    if not seeds:
        raise ValueError(f"bad seed list {text!r}: it names no seed")
    return seeds


def parse_floats(text):
    try:
        values = [float(x) for x in str(text).split(",")]
    except ValueError:
        raise ValueError(f"bad number list {text!r}: use comma-separated numbers, e.g. '1,0.5,0,-1'") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"bad number list {text!r}: the values must be finite, e.g. '1,0.5,0,-1'")
    return values


def parse_styles(text):
    """'fine' | '0-3' | 'coarse,coarse,middle,fine' (one per destination row) -> a `style_mixing` spec."""
    specs = []
    for part in str(text).split(","):
        part = part.strip()
        specs.append(part if part.isalpha() else parse_seeds(part))
    return specs[0] if len(specs) == 1 else specs


def add_arguments(parser):
    a = parser.add_argument
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", metavar="RUN_DIR", help="a training run folder (uses its G_ema.keras)")
    source.add_argument("--model", metavar="NAME", help="a shipped model: A ... F, F-seed1, ... (see pretrained); "
                        "a .keras path is still accepted here, as before --file existed")
    source.add_argument("--file", metavar="G.keras", help="a generator saved as .keras")
    a("--out", help="output folder (default: RUN_DIR/generated, generated/ next to --file, or ./generated for --model)")
    a("--figures", nargs="+", default=["images"], choices=FIGURES + ("all",), help="what to write (default: images)")
    a("--seeds", type=parse_seeds, default=parse_seeds("0-7"), help="seeds, e.g. 0-7 or 1,5,9 (default: 0-7)")
    a("--psi", type=float, default=None, help="truncation psi (default: the model's, 0.7 for C-F; 1 = off)")
    a("--cutoff", type=int, default=None, help="truncate layers below this index (default: the model's)")
    a("--noise-mode", default="const", choices=("const", "random", "none"),
      help="noise for images/mixing/truncation/interpolation (default: const, the stored noise maps)")
    a("--batch-size", type=int, default=16, help="images per forward pass (default: 16)")
    m = parser.add_argument_group("mixing (Fig. 3)")
    m.add_argument("--src-seeds", type=parse_seeds, default=parse_seeds("1-5"), help="sources, across the top")
    m.add_argument("--dst-seeds", type=parse_seeds, default=parse_seeds("6-8"), help="destinations, down the side")
    m.add_argument("--styles", type=parse_styles, default=None,
                   help="styles copied from the sources: coarse, middle, fine, a layer range like 0-3, or one "
                        "comma-separated entry per destination (default: Fig. 3's rows, coarse first, then "
                        "middle, then fine: one of each for the 3 default destinations, 3/2/1 for 6)")
    v = parser.add_argument_group("variation and noise (Figs. 4, 5)")
    v.add_argument("--num-draws", type=int, default=100, help="noise draws for the std map (default: 100)")
    v.add_argument("--noise-seed", type=int, default=0, help="seed of the noise draws (default: 0)")
    t = parser.add_argument_group("truncation (Fig. 8)")
    t.add_argument("--psis", type=parse_floats, default=[1.0, 0.7, 0.5, 0.0, -0.5, -1.0],
                   help="psi values, e.g. 1,0.7,0.5,0,-0.5,-1 (the default, as the paper)")
    i = parser.add_argument_group("interpolation")
    i.add_argument("--steps", type=int, default=16, help="frames between consecutive seeds (default: 16)")
    i.add_argument("--space", default="w", choices=("w", "z"), help="lerp in W or slerp in Z (default: w)")
    i.add_argument("--duration-ms", type=int, default=80, help="GIF frame duration (default: 80)")


def _span(layers):
    """[0, 1, 2, 3] -> 'layers 0-3 (4-8 px)'."""
    from stylegan_tf.geometry import layer_resolution

    layers = list(layers)
    if not layers:
        return "no layers"
    px = sorted({layer_resolution(i) for i in layers})
    res = f"{px[0]} px" if len(px) == 1 else f"{px[0]}-{px[-1]} px"
    return f"layers {layers[0]}-{layers[-1]} ({res})" if layers == list(range(layers[0], layers[-1] + 1)) \
        else f"layers {','.join(map(str, layers))}"


def check_args(args):
    """One-line errors for bad numbers and model paths, before TensorFlow loads; returns the .keras file."""
    from stylegan_tf.loading import model_file, saved_class  # no TensorFlow

    if args.batch_size < 1 or args.steps < 1 or args.num_draws < 2:
        raise ValueError("--batch-size and --steps must be >= 1 and --num-draws >= 2")
    if args.psi is not None and not math.isfinite(args.psi):
        raise ValueError(f"--psi {args.psi}: the value must be finite (1 = no truncation, 0.7 the paper's)")
    for flag, value in (("--cutoff", args.cutoff), ("--noise-seed", args.noise_seed)):
        if value is not None and value < 0:
            raise ValueError(f"{flag} {value}: give an integer >= 0")
    if args.duration_ms < 1:
        raise ValueError(f"--duration-ms {args.duration_ms}: give a positive number of milliseconds")
    path = _model_path(args)
    if args.out is not None and os.path.exists(args.out) and not os.path.isdir(args.out):
        raise ValueError(f"--out {args.out} is an existing file; give a folder path")
    return path


def _model_path(args):
    """The .keras file that --run, --file or --model names (one-line errors, no TensorFlow)."""
    from stylegan_tf.loading import model_file, saved_class  # no TensorFlow

    if args.model is not None and not _is_file_argument(args.model):
        from stylegan_tf import pretrained  # no TensorFlow

        try:
            return str(pretrained.path(args.model))
        except KeyError as e:
            raise ValueError(e.args[0]) from None
    path = model_file(args.run if args.run is not None else args.file if args.file is not None else args.model)
    saved_class(path, expected="Generator")
    return path


def _is_file_argument(value):
    """--model G_ema.keras (the form before --file existed) names a file, --model F a shipped model."""
    return value.endswith(".keras") or os.sep in value or os.path.exists(value)


def run(args):
    path = check_args(args)  # before TensorFlow loads
    import numpy as np
    from stylegan_tf.progress import progress_bar

    from stylegan_tf.generation import figures as F
    from stylegan_tf.generation import viz

    figures = FIGURES if "all" in args.figures else tuple(dict.fromkeys(args.figures))
    G = F.load_generator(args.run if args.run is not None else path)
    if args.run is not None:
        default_root = args.run
    elif args.file is not None or _is_file_argument(args.model):
        default_root = os.path.dirname(os.path.abspath(path))
    else:  # a shipped model: its file lives inside the package, so write here
        default_root = os.getcwd()
    out = args.out or os.path.join(default_root, "generated")
    trunc = dict(psi=args.psi, cutoff=args.cutoff)
    psi = G.truncation_psi if args.psi is None else args.psi
    note = f"psi {psi:g}" if psi is not None else "no truncation"
    seeds = [f"seed {s}" for s in args.seeds]
    save = lambda name, image: written.append(viz.save_png(os.path.join(out, name), image))  # noqa: E731
    written = []
    for fig in (progress_bar(figures, desc="figures", unit="figure") or figures) if len(figures) > 1 else figures:
        if fig == "images":
            images = F.generate_images(G, args.seeds, noise_mode=args.noise_mode, batch_size=args.batch_size, **trunc)
            written += [viz.save_png(os.path.join(out, f"seed{s:04d}.png"), im) for s, im in zip(args.seeds, images)]
            cols = min(8, len(images))
            rows = -(-len(images) // cols)
            padded = np.concatenate([viz.to_uint8(images), np.full((rows * cols - len(images), *images.shape[1:]),
                                                                   255, np.uint8)])
            save("images.png", viz.annotated_figure(
                padded.reshape(rows, cols, *images.shape[1:]), title=f"samples ({note})",
                col_labels=None if rows > 1 else seeds))
        elif fig == "mixing":
            styles = F.paper_mixing_styles(len(args.dst_seeds)) if args.styles is None else args.styles
            grid = F.style_mixing(G, args.src_seeds, args.dst_seeds, styles, noise_mode=args.noise_mode,
                                  batch_size=args.batch_size, **trunc)
            names = styles if isinstance(styles, list) and len(styles) == len(args.dst_seeds) \
                else [styles] * len(args.dst_seeds)
            names = [n if isinstance(n, str) else "styles" for n in names]
            white = np.full((1, *grid.src_images.shape[1:]), 255, np.uint8)
            top = np.concatenate([white, viz.to_uint8(grid.src_images)])[None]  # [1, 1 + S, H, W, C]
            body = np.concatenate([viz.to_uint8(grid.dst_images)[:, None], viz.to_uint8(grid.images)], axis=1)
            rows = [f"seed {d} with the\n{n} styles of\nthe source above:\n{_span(layers)}"
                    for d, n, layers in zip(args.dst_seeds, names, grid.layers)]
            save("style_mixing.png", viz.annotated_figure(
                np.concatenate([top, body]), row_labels=[""] + rows,
                col_labels=["destination"] + [f"source seed {s}" for s in args.src_seeds],
                title=f"Style mixing (Fig. 3), {note}"))
        elif fig == "variation":
            for s in args.seeds:
                var = F.stochastic_variation(G, s, num_draws=args.num_draws, noise_seed=args.noise_seed,
                                             batch_size=args.batch_size, **trunc)
                std = np.repeat(viz.std_to_uint8(var.std), var.images.shape[-1], axis=-1)
                cells = np.concatenate([viz.to_uint8(var.images), std[None]])[None]
                save(f"variation_seed{s:04d}_std.png", viz.figure_to_uint8(viz.std_map_figure(  # with a colour bar
                    var.std, title=f"seed {s}: std of {args.num_draws} noise draws")))
                save(f"variation_seed{s:04d}.png", viz.annotated_figure(
                    cells, col_labels=[f"noise draw {k + 1}" for k in range(len(var.images))]
                    + [f"std of {args.num_draws} draws\n(black 0, white {float(var.std.max()):.3f})"],
                    title=f"Stochastic variation (Fig. 4), seed {s}, {note}"))
        elif fig == "noise":
            parts = F.noise_components(G, args.seeds, batch_size=args.batch_size, **trunc)  # name -> [N, R, R, C]
            ranges = F.noise_ranges(G.num_ws)
            save("noise_" + "_".join(parts) + ".png", viz.annotated_figure(
                np.stack(list(parts.values()), axis=1), row_labels=seeds,
                col_labels=[f"noise: {name}\n{_span(ranges[name])}" for name in parts],
                title=f"Noise at chosen layers (Fig. 5), {note}"))
        elif fig == "truncation":
            sweep = F.truncation_sweep(G, args.seeds, psis=args.psis, cutoff=args.cutoff, noise_mode=args.noise_mode,
                                       batch_size=args.batch_size)
            cutoff = G.truncation_cutoff if args.cutoff is None else args.cutoff
            save("truncation.png", viz.annotated_figure(
                sweep, row_labels=seeds, col_labels=[f"psi = {p:g}" for p in args.psis],
                title=f"Truncation trick (Fig. 8), layers < {cutoff}" if cutoff is not None
                else "Truncation trick (Fig. 8), all layers"))
        elif fig == "interpolation":
            frames = F.interpolation_frames(G, args.seeds, steps=args.steps, space=args.space,
                                            noise_mode=args.noise_mode, batch_size=args.batch_size, **trunc)
            written.append(viz.save_gif(os.path.join(out, f"interpolation_{args.space}.gif"), viz.upscale(frames),
                                        duration_ms=args.duration_ms))
    for path in written:
        print(path)
    return 0
