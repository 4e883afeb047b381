"""`python -m stylegan_tf convert NETWORK.pkl OUT`: NVIDIA's StyleGAN v1 network pickles as our Keras models.

    python -m stylegan_tf convert karras2019stylegan-ffhq-1024x1024.pkl ffhq
    python -m stylegan_tf generate --run ffhq --figures images mixing
    python -m stylegan_tf export ffhq ffhq-savedmodel
    python -c "import stylegan_tf; D = stylegan_tf.load_model('ffhq/D.keras')"   # any of the three networks

The pickle is read with a restricted unpickler that runs nothing from it (`stylegan_tf.export.official_pickle`);
see `stylegan_tf.export.convert` for what is derived from it and how the weights are laid out.
"""

import os
import time


def add_arguments(parser):
    parser.description = (
        "Convert an official StyleGAN v1 network pickle (NVlabs/stylegan, e.g. karras2019stylegan-ffhq-1024x1024.pkl) "
        "into OUT/G_ema.keras (the official Gs, for sampling, with its w_avg and truncation defaults), OUT/G.keras and "
        "OUT/D.keras (for fine-tuning), OUT/config.json (derived from the pickle) and OUT/source.json (provenance). "
        "Nothing in the pickle is executed; StyleGAN2 and PyTorch pickles are refused.")
    parser.add_argument("pickle", metavar="NETWORK.pkl", help="an official StyleGAN v1 network pickle (G, D, Gs)")
    parser.add_argument("out", metavar="OUT", help="output folder (written to a temporary name, then renamed)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


def check_paths(args):
    """One-line errors before TensorFlow loads: a pickle that is not a file, an OUT that exists (without --overwrite)."""
    if not os.path.isfile(args.pickle):
        raise FileNotFoundError(f"{args.pickle} is not a file: pass the path of a downloaded official network pickle "
                                f"such as karras2019stylegan-ffhq-1024x1024.pkl")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise ValueError(f"OUT {args.out} is an existing file; give a folder path")
    if os.path.exists(args.out) and not args.overwrite:
        raise ValueError(f"{os.path.abspath(args.out)} already exists: pass --overwrite or choose another folder")


def run(args):
    check_paths(args)
    from stylegan_tf.export.convert import convert_official_pickle, save_converted

    start = time.perf_counter()
    converted = convert_official_pickle(args.pickle)
    paths = save_converted(converted, args.out, overwrite=args.overwrite)
    cfg = converted.cfg
    print(f"converted {args.pickle}: {cfg.resolution}x{cfg.resolution}, {cfg.num_ws} styles, z {cfg.z_dim}, "
          f"w {cfg.w_dim}, mapping {cfg.mapping_layers} layers, truncation psi {cfg.truncation_psi} on layers "
          f"< {cfg.truncation_cutoff} ({time.perf_counter() - start:.1f} s)")
    for note in converted.source["notes"]:
        print(f"note: {note}")
    for path in paths:
        print(path)
    print(f"load them with: import stylegan_tf; G = stylegan_tf.load_model({paths[0]!r})  (or G.keras, D.keras)")
    print(f"or sample: python -m stylegan_tf generate --run {args.out}")
    return 0
