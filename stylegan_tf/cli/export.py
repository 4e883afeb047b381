"""`python -m stylegan_tf export RUN_DIR OUT`: a trained generator as a TF Serving SavedModel.

See `stylegan_tf.export.savedmodel` for the signatures.
"""

import os


def add_arguments(parser):
    parser.description = ("Export a trained generator as a TF SavedModel in the TF Serving layout OUT/VERSION/, with "
                          "signatures generate(z, psi), mapping(z), synthesis(ws) and style_mix(z_a, z_b, crossover). "
                          "The exported graph uses the model's stored constant noise.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (its G_ema.keras) or a .keras file")
    parser.add_argument("out", metavar="OUT", help="export folder; the SavedModel goes to OUT/VERSION/")
    parser.add_argument("--version", type=int, default=1, help="model version sub-folder (default: 1)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT/VERSION if it exists")
    parser.add_argument("--onnx", action="store_true", help="also write OUT/VERSION/generate.onnx (needs tf2onnx)")


def check_paths(args):
    """One-line errors for bad paths before TensorFlow starts: a missing or non-.keras input, an OUT that is a file."""
    from stylegan_tf.loading import model_file, saved_class  # no TensorFlow

    if args.version < 1:
        raise ValueError(f"--version must be a positive integer, got {args.version}")
    saved_class(model_file(args.run_dir), expected="Generator")  # exists, a .keras archive holding a Generator
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise ValueError(f"OUT {args.out} is an existing file; give a folder path")


def run(args):
    check_paths(args)
    from stylegan_tf.export.savedmodel import SIGNATURES, export_onnx, export_saved_model
    from stylegan_tf.generation.figures import load_generator

    try:
        G = load_generator(args.run_dir)
    except Exception as e:  # Keras reports a damaged archive in many ways (even "File not found")
        if isinstance(e, (ValueError, FileNotFoundError)) and "\n" not in str(e) and "stylegan_tf" in str(e):
            raise  # load_generator's own one-line messages
        detail = " ".join(str(e).split())[:200]
        raise ValueError(f"could not load a generator from {args.run_dir} ({type(e).__name__}: {detail}); "
                         f"pass the G_ema.keras a finished `python -m stylegan_tf train` run writes") from None
    try:
        folder = export_saved_model(G, args.out, version=args.version, overwrite=args.overwrite)
    except OSError as e:
        raise ValueError(f"could not write {e.filename or args.out} ({e.strerror or e}); choose a writable OUT "
                         f"folder with free space") from None
    print(f"wrote SavedModel {folder} (signatures: {', '.join(SIGNATURES)})")
    if args.onnx:
        print(f"wrote {export_onnx(G, os.path.join(folder, 'generate.onnx'))}")
    return 0
