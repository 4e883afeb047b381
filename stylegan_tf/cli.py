"""Command line: `python -m stylegan_tf {prepare,train,generate,export} ...`.

Each sub-command lives in the module that owns the feature. That module defines
`add_arguments(parser)` and `run(args) -> int`; this file only dispatches, and turns
user errors (ValueError, FileNotFoundError) into one-line messages instead of tracebacks.
Set STYLEGAN_TF_DEBUG=1 to see the traceback anyway.
"""

import argparse
import importlib
import os
import sys

# sub-command -> (module, one-line help)
COMMANDS = {
    "prepare": ("stylegan_tf.dataset_tool", "turn a folder or .zip of images into a TFRecord dataset"),
    "train": ("stylegan_tf.train_cli", "train a StyleGAN with progressive growing"),
    "generate": ("stylegan_tf.generate_cli", "write images and figures from a trained generator"),
    "export": ("stylegan_tf.export", "export a trained generator as a TF SavedModel"),
}


def _module(name):
    try:
        return importlib.import_module(COMMANDS[name][0])
    except ModuleNotFoundError as e:
        if e.name == COMMANDS[name][0]:
            return None  # feature not built yet
        raise


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m stylegan_tf",
        description="StyleGAN (Karras et al. 2019) in Keras 3 / TensorFlow 2.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        module = _module(name)
        if module is None:
            continue
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
