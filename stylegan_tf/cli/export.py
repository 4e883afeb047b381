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


def run(args):
    from stylegan_tf.export.savedmodel import SIGNATURES, export_onnx, export_saved_model
    from stylegan_tf.generation.figures import load_generator

    if args.version < 1:
        raise ValueError(f"--version must be a positive integer, got {args.version}")
    G = load_generator(args.run_dir)
    folder = export_saved_model(G, args.out, version=args.version, overwrite=args.overwrite)
    print(f"wrote SavedModel {folder} (signatures: {', '.join(SIGNATURES)})")
    if args.onnx:
        print(f"wrote {export_onnx(G, os.path.join(folder, 'generate.onnx'))}")
    return 0
