"""`python -m stylegan_tf convert NETWORK.pkl OUT`: NVIDIA's StyleGAN v1 network pickles as our Keras models.

    python -m stylegan_tf convert karras2019stylegan-ffhq-1024x1024.pkl ffhq
    python -m stylegan_tf generate --run ffhq --figures images mixing
    python -m stylegan_tf export ffhq ffhq-savedmodel

The pickle is read with a restricted unpickler that runs nothing from it (`stylegan_tf.export.official_pickle`);
see `stylegan_tf.export.convert` for what is derived from it and how the weights are laid out.
"""

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


def run(args):
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
    return 0
