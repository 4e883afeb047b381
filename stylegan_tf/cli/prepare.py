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
    parser.add_argument("--max-pixels", type=int, default=None,
                        help="skip images declaring more pixels than this, before decoding (default 2**25 = 33.6 Mpx)")


def run(args):
    import os

    # before TensorFlow starts, so these errors are immediate
    if not os.path.exists(args.source):
        raise FileNotFoundError(f"source {args.source} does not exist; give a folder or a .zip of images")
    r = args.resolution
    if r < 4 or r & (r - 1):
        raise ValueError(f"--resolution {r} is not allowed: use a power of two >= 4 (8, 16, ..., 1024)")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise ValueError(f"OUT {args.out} is an existing file; give a folder path (it is created if missing)")
    for flag, value in (("--images-per-shard", args.images_per_shard), ("--max-pixels", args.max_pixels)):
        if value is not None and value < 1:
            raise ValueError(f"{flag} {value}: give a positive number")
    from stylegan_tf import _quiet  # noqa: F401  (imports TensorFlow without its C++ start-up lines)

    import tensorflow as tf

    from stylegan_tf.data.image_files import MAX_PIXELS
    from stylegan_tf.data.prepare import format_summary, prepare_dataset

    try:
        summary = prepare_dataset(args.source, args.out, args.resolution, pad=args.pad, strict=args.strict,
                                  images_per_shard=args.images_per_shard, max_pixels=args.max_pixels or MAX_PIXELS)
    except (OSError, tf.errors.OpError) as e:  # unwritable OUT, disk full, file-size limit
        if isinstance(e, FileNotFoundError) and "does not exist" in str(e):
            raise  # the source: already one line
        where = getattr(e, "filename", None) or args.out
        detail = getattr(e, "strerror", None) or " ".join(str(getattr(e, "message", e)).split())[:200]
        raise ValueError(f"could not write {where} ({detail}); choose a writable OUT folder with free space") from None
    print(format_summary(summary))
    return 0
