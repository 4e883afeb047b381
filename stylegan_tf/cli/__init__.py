"""Command line: `python -m stylegan_tf {configs,prepare,train,generate,metrics,export,convert,project} ...`.

Each sub-command is one module of this package that defines `add_arguments(parser)` and
`run(args) -> int`; this file only dispatches, and turns
user errors (ValueError, FileNotFoundError) into one-line messages instead of tracebacks.
Set STYLEGAN_TF_DEBUG=1 to see the traceback anyway.

TensorFlow takes seconds to import (minutes on a loaded machine), so nothing here imports it: each
`run` first checks everything it can without it (the preset, every `--set`, the resolution, the
minibatch-stddev groups, the paths that must exist) and only then imports the modules that use it,
which load it through `stylegan_tf._quiet` (its C++ start-up lines hidden unless `--verbose`). A bad
command line is answered at once; tests/test_cli_errors.py checks that TensorFlow was not imported.
"""

import argparse
import importlib
import os
import sys

# sub-command -> (module, one-line help)
COMMANDS = {
    "configs": ("stylegan_tf.cli.configs", "print the named configs: the rows of Table 1 and the scales"),
    "prepare": ("stylegan_tf.cli.prepare", "turn a folder or .zip of images into a TFRecord dataset"),
    "train": ("stylegan_tf.cli.train", "train a StyleGAN with progressive growing"),
    "generate": ("stylegan_tf.cli.generate", "write images and figures from a trained generator"),
    "export": ("stylegan_tf.cli.export", "export a trained generator as a TF SavedModel, or as a web page (--web)"),
    "metrics": ("stylegan_tf.cli.metrics", "quality metrics of a trained generator: swd, fid, fd_probe, ppl, ..."),
    "convert": ("stylegan_tf.cli.convert", "convert NVIDIA's StyleGAN v1 network pickles into Keras models"),
    "project": ("stylegan_tf.cli.project", "find the latents (W or W+) whose image matches each of your images"),
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m stylegan_tf",
        description="StyleGAN (Karras et al. 2019) in Keras 3 / TensorFlow 2.",
    )
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's own start-up and C++ log lines (hidden by default)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)  # light: TensorFlow is imported by `run`, not here
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    if args.verbose:
        os.environ["STYLEGAN_TF_VERBOSE"] = "1"  # read by stylegan_tf._quiet when TensorFlow is first imported
    try:
        return args._run(args) or 0
    except (ValueError, FileNotFoundError, NotADirectoryError) as e:
        if os.environ.get("STYLEGAN_TF_DEBUG") == "1":
            raise
        print(f"python -m stylegan_tf {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
