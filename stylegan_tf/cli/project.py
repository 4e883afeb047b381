"""`python -m stylegan_tf project`: find the latents whose image matches each of your images.

    python -m stylegan_tf project me.png you.jpg --model F --out projected           # a shipped model
    python -m stylegan_tf project photos/*.png --run runs/demo --out projected --space w+ --steps 500
    python -m stylegan_tf project face.png --run ffhq --out projected        # a converted NVIDIA pickle

Per image NAME it writes NAME.npz (ws [num_ws, w_dim], w, the noise maps noise0..., the loss per step,
the distance, space, steps and seed), NAME.png (the target beside its reconstruction, labelled) and
NAME.gif (the optimisation). Images of another size are centre-cropped to a square and resized to the
generator's resolution, and converted to its channel count, each with a one-line note; a file that
cannot be read as an image is a one-line error naming it, and the other images are still projected
(exit status 1 if any failed). See `stylegan_tf.projection` for the recipe (StyleGAN2's projector).
"""

import os
import sys


def add_arguments(parser):
    a = parser.add_argument
    a("images", nargs="+", metavar="IMAGE", help="image files to project (PNG, JPEG, ...)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", metavar="NAME", help="a shipped model: A ... F, F-seed1, ... (see pretrained)")
    source.add_argument("--run", metavar="RUN_DIR", help="a training run folder or a converted pickle's folder "
                                                          "(its G_ema.keras)")
    source.add_argument("--file", metavar="G.keras", help="a generator saved as .keras")
    a("--out", required=True, help="output folder")
    a("--space", default="w", choices=("w", "w+"), help="one w for all layers (w, default) or one per layer (w+)")
    a("--steps", type=int, default=1000, help="optimisation steps (default: 1000, as the StyleGAN2 projector)")
    a("--seed", type=int, default=0, help="seed of the noise maps and of the perturbation of w (default: 0)")
    a("--distance", default="auto", choices=("auto", "lpips", "probe"),
      help="auto (default): LPIPS-VGG when its weights are installed (see metrics/lpips.py), else probe + pixel MSE")
    a("--batch-size", type=int, default=8, help="images optimised together (default: 8)")
    a("--gif-frames", type=int, default=40, help="frames of the GIF (default: 40)")


def check_args(args):
    """One-line errors for bad numbers, the model and --out, before TensorFlow loads; returns the .keras path."""
    from stylegan_tf.loading import model_file, saved_class  # no TensorFlow

    if args.steps < 1 or args.batch_size < 1 or args.gif_frames < 1:
        raise ValueError("--steps, --batch-size and --gif-frames must be >= 1")
    if args.seed < 0 or args.seed >= 2**32:
        raise ValueError(f"--seed {args.seed}: give an integer in [0, 2**32)")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise ValueError(f"--out {args.out} is an existing file; give a folder path")
    if args.model is not None:
        from stylegan_tf import pretrained  # no TensorFlow

        try:
            return str(pretrained.path(args.model))
        except KeyError as e:
            raise ValueError(e.args[0]) from None
    path = model_file(args.run if args.run is not None else args.file)
    saved_class(path, expected="Generator")
    return path


def read_image(path, resolution, channels, note=print):
    """One image file -> float32 [R, R, C] in [-1, 1]; ValueError naming the file when it is no image.

    Wrong sizes are centre-cropped to a square and resized (Lanczos), wrong channel counts converted
    (grey, palette, alpha, CMYK -> RGB; anything -> grey for a 1-channel generator), each with a note."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    if not os.path.isfile(path):
        raise ValueError(f"{path} does not exist or is not a file; give a PNG or JPEG image")
    try:
        with Image.open(path) as im:
            im.load()
            image = im.copy()
    except (UnidentifiedImageError, OSError, ValueError) as e:
        reason = "not an image Pillow can read" if isinstance(e, UnidentifiedImageError) else \
            " ".join(str(e).split())[:100]
        raise ValueError(f"{path}: {reason}; give a PNG or JPEG image") from None
    want = "RGB" if channels == 3 else "L"
    if image.mode != want:
        note(f"{path}: {image.mode} image converted to {want}")
        image = image.convert(want)
    w, h = image.size
    if (w, h) != (resolution, resolution):
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        image = image.crop((left, top, left + side, top + side)).resize((resolution, resolution), Image.LANCZOS)
        note(f"{path}: {w}x{h} " + ("centre-cropped to a square and " if w != h else "")
             + f"resized to {resolution}x{resolution}")
    array = np.asarray(image, np.float32).reshape(resolution, resolution, channels)
    return array / 127.5 - 1


def _model_shape(path):
    """(resolution, num_channels) from the .keras archive's config.json, without TensorFlow."""
    import json
    import zipfile

    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))["config"]
    return int(config["resolution"]), int(config.get("num_channels", 3))


def _stems(paths):
    """Output names: the file stems, made unique with _2, _3 ... where two images share one."""
    seen, stems = {}, []
    for p in paths:
        stem = os.path.splitext(os.path.basename(p))[0] or "image"
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f"{stem}_{seen[stem]}")
    return stems


def run(args):
    path = check_args(args)  # before TensorFlow loads
    resolution, channels = _model_shape(path)
    images, names, failed = [], [], 0
    for p, stem in zip(args.images, _stems(args.images)):
        try:
            images.append(read_image(p, resolution, channels))
            names.append(stem)
        except ValueError as e:
            print(f"python -m stylegan_tf project: error: {e}", file=sys.stderr)
            failed += 1
    if not images:
        raise ValueError("no image could be read; nothing to project")

    import numpy as np

    from stylegan_tf import projection
    from stylegan_tf.generation import viz
    from stylegan_tf.generation.figures import load_generator
    from stylegan_tf.progress import progress_bar

    G = load_generator(path)
    every = max(1, args.steps // args.gif_frames)
    bar = progress_bar(total=len(images) * args.steps, desc="project", unit="step")
    for start in range(0, len(images), args.batch_size):
        batch = np.stack(images[start:start + args.batch_size])
        result = projection.project(G, batch, space=args.space, steps=args.steps, seed=args.seed,
                                    distance=None if args.distance == "auto" else args.distance,
                                    frames_every=every, callback=None if bar is None else (lambda i, loss: bar.update(len(batch))))
        for k, stem in enumerate(names[start:start + args.batch_size]):
            noise = {f"noise{i}": v[k] for i, v in enumerate(result.noise) if v is not None}
            viz.write_atomic(os.path.join(args.out, stem + ".npz"), lambda tmp: np.savez(
                open(tmp, "wb"), ws=result.ws[k], w=result.w[k], loss=result.loss[:, k], distance=result.distance,
                space=result.space, steps=result.steps, seed=result.seed, **noise))
            final = float(result.loss[-1, k])
            cells = np.stack([batch[k], result.images[k]])[None]  # [1, 2, R, R, C]
            viz.save_png(os.path.join(args.out, stem + ".png"), viz.annotated_figure(
                cells, col_labels=["target", f"projection ({result.space.upper()})"],
                title=f"{stem}: {result.steps} steps, {result.distance} {final:.4g}"))
            viz.save_gif(os.path.join(args.out, stem + ".gif"), viz.upscale(result.frames[:, k]))
            print(os.path.join(args.out, stem) + ".{npz,png,gif}" + f"  ({result.distance} {final:.4g})")
    if bar is not None:
        bar.close()
    return 1 if failed else 0
