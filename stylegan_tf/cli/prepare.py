"""`python -m stylegan_tf prepare SOURCE OUT --resolution R`: a folder or .zip of images -> a TFRecord dataset.

See `stylegan_tf.data.prepare` for the format (every power-of-two level from 4x4 up to R).
"""


def add_arguments(parser):
    parser.add_argument("source", help="folder (searched recursively) or .zip of jpg/png/webp/bmp images")
    parser.add_argument("out", help="output folder for the TFRecord dataset (created; earlier output replaced)")
    parser.add_argument("--resolution", type=int, required=True, help="top resolution R (power of two)")
    parser.add_argument("--pad", action="store_true", help="letterbox to a square instead of centre-cropping")
    parser.add_argument("--strict", action="store_true", help="stop at the first unusable file instead of skipping")
    parser.add_argument("--images-per-shard", type=int, default=None, help="images per shard file")


def run(args):
    from stylegan_tf.data.prepare import format_summary, prepare_dataset

    summary = prepare_dataset(args.source, args.out, args.resolution, pad=args.pad, strict=args.strict,
                              images_per_shard=args.images_per_shard)
    print(format_summary(summary))
    return 0
