"""`python -m stylegan_tf export (RUN_DIR | --model NAME) OUT [--web]`: a trained generator for serving.

Without --web: a TF SavedModel in the TF Serving layout OUT/VERSION/ (see `stylegan_tf.export.savedmodel`).
With --web: a static web page folder OUT that runs the generator in the browser (see `stylegan_tf.export.web`):

    python -m stylegan_tf export --model F site --web && python -m http.server -d site
"""

import os


def add_arguments(parser):
    parser.description = ("Export a trained generator. By default a TF SavedModel in the TF Serving layout "
                          "OUT/VERSION/, with signatures generate(z, psi), mapping(z), synthesis(ws) and "
                          "style_mix(z_a, z_b, crossover), using the model's stored constant noise. With --web, a "
                          "static folder OUT (index.html, mapping.onnx, synthesis.onnx, onnxruntime-web) that runs "
                          "the generator in a browser: python -m http.server -d OUT.")
    parser.add_argument("paths", nargs="+", metavar="[RUN_DIR] OUT",
                        help="a run folder (its G_ema.keras) or a .keras file, then the export folder; "
                             "only OUT with --model")
    parser.add_argument("--model", metavar="NAME", help="a shipped model instead of RUN_DIR: A ... F, F-seed1, ... "
                                                         "(see python -m stylegan_tf.pretrained list)")
    parser.add_argument("--web", action="store_true", help="write a web page folder instead of a SavedModel")
    parser.add_argument("--runtime", metavar="TGZ_OR_DIR",
                        help="with --web: onnxruntime-web's npm tarball or package folder, for offline export "
                             "(default: $STYLEGAN_TF_ORT_WEB, the cache, else the npm registry)")
    parser.add_argument("--version", type=int, default=None, help="SavedModel version sub-folder (default: 1)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT/VERSION (OUT with --web) if it exists")
    parser.add_argument("--onnx", action="store_true", help="also write OUT/VERSION/generate.onnx (needs tf2onnx)")


def check_paths(args):
    """One-line errors for bad paths and options before TensorFlow starts; sets args.run_dir and args.out."""
    from stylegan_tf.loading import model_file, saved_class  # no TensorFlow

    want = 1 if args.model is not None else 2
    if len(args.paths) != want:
        raise ValueError("give RUN_DIR and OUT, or --model NAME and OUT" if want == 2 else
                         f"--model {args.model} takes the place of RUN_DIR: give only OUT")
    args.out = args.paths[-1]
    if args.web and (args.version is not None or args.onnx):
        raise ValueError("--version and --onnx are SavedModel options; --web writes OUT itself with its ONNX graphs")
    if not args.web and args.runtime is not None:
        raise ValueError("--runtime is the onnxruntime-web source of --web; add --web or drop --runtime")
    args.version = 1 if args.version is None else args.version
    if args.version < 1:
        raise ValueError(f"--version must be a positive integer, got {args.version}")
    if args.model is not None and not args.model.endswith(".keras"):
        from stylegan_tf import pretrained  # no TensorFlow

        try:
            args.run_dir = str(pretrained.path(args.model))
        except KeyError as e:
            raise ValueError(e.args[0]) from None
    else:
        args.run_dir = args.model if args.model is not None else args.paths[0]
        saved_class(model_file(args.run_dir), expected="Generator")  # exists, a .keras archive holding a Generator
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise ValueError(f"OUT {args.out} is an existing file; give a folder path")
    if args.web and os.path.exists(args.out) and not args.overwrite:
        raise ValueError(f"{args.out} already exists: choose another OUT or pass --overwrite")
    if args.runtime is not None and not os.path.exists(args.runtime):
        raise ValueError(f"--runtime {args.runtime} does not exist; give the .tgz of "
                         f"`npm pack onnxruntime-web@VERSION` or the package folder")


def _load(args):
    from stylegan_tf.generation.figures import load_generator

    try:
        return load_generator(args.run_dir)
    except Exception as e:  # Keras reports a damaged archive in many ways (even "File not found")
        if isinstance(e, (ValueError, FileNotFoundError)) and "\n" not in str(e) and "stylegan_tf" in str(e):
            raise  # load_generator's own one-line messages
        detail = " ".join(str(e).split())[:200]
        raise ValueError(f"could not load a generator from {args.run_dir} ({type(e).__name__}: {detail}); "
                         f"pass the G_ema.keras a finished `python -m stylegan_tf train` run writes") from None


def run_web(args, G):
    from stylegan_tf.export import ort_web
    from stylegan_tf.export.web import export_web, folder_size, run_card, shipped_card

    shipped = args.model is not None and not args.model.endswith(".keras")
    card = shipped_card(args.model) if shipped else run_card(args.run_dir)
    try:
        folder = export_web(G, args.out, card=card, runtime=args.runtime, overwrite=args.overwrite)
    except OSError as e:
        raise ValueError(f"could not write {e.filename or args.out} ({e.strerror or e}); choose a writable OUT "
                         f"folder with free space") from None
    print(f"wrote web page {folder} ({folder_size(folder) / 1e6:.1f} MB, onnxruntime-web {ort_web.VERSION}); "
          f"view it with: python -m http.server -d {folder}")
    return 0


def run(args):
    check_paths(args)
    if args.web:
        return run_web(args, _load(args))
    from stylegan_tf.export.savedmodel import SIGNATURES, export_onnx, export_saved_model

    G = _load(args)
    try:
        folder = export_saved_model(G, args.out, version=args.version, overwrite=args.overwrite)
    except OSError as e:
        raise ValueError(f"could not write {e.filename or args.out} ({e.strerror or e}); choose a writable OUT "
                         f"folder with free space") from None
    print(f"wrote SavedModel {folder} (signatures: {', '.join(SIGNATURES)})")
    if args.onnx:
        print(f"wrote {export_onnx(G, os.path.join(folder, 'generate.onnx'))}")
    return 0
