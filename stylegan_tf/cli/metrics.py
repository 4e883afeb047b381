"""`python -m stylegan_tf metrics`: quality metrics of a trained generator, as a table and as JSON lines.

    python -m stylegan_tf metrics runs/demo                                   # SWD, 10,000 images
    python -m stylegan_tf metrics runs/demo --metrics swd,fd_probe,ppl_w_end --num-images 5000
    python -m stylegan_tf metrics G_ema.keras --metrics fid --inception-weights inception_v3_notop.h5
    python -m stylegan_tf metrics --list                                      # the registered metrics
    python -m stylegan_tf metrics --real-vs-real --metrics swd --data synthetic-faces:20000 --resolution 32
    python -m stylegan_tf metrics runs/demo --metrics factor_control --verbose   # every input/factor entry

Each metric is `stylegan_tf.metrics.calc_metric(name, G, data, num_images)`; the reals default to the
run's `data` (its config.json), else synthetic-faces. Results are appended, one JSON line per metric,
to RUN_DIR/metrics.jsonl (next to a .keras file given directly), the file training writes too.
"""

import json
import os
import re
import sys


def add_arguments(parser):
    a = parser.add_argument
    a("source", nargs="?", metavar="RUN_DIR_OR_MODEL", help="a training run folder (its G_ema.keras) or a .keras file")
    a("--metrics", default="swd", help="comma-separated metric names (default: swd; --list shows them all)")
    a("--num-images", type=int, default=None, help="images per metric (default: each metric's own, e.g. swd 10000)")
    a("--data", default=None, help="the reals: the run's dataset by default, else synthetic-faces")
    a("--seed", type=int, default=None, help="seed of the latents and of the reals' order (default: 0)")
    a("--batch-size", type=int, default=None, help="images per forward pass (default: each metric's own)")
    a("--inception-weights", default=None, metavar="FILE.h5",
      help="Inception-v3 ImageNet weights for fid, for offline use (default: $STYLEGAN_TF_INCEPTION_WEIGHTS, "
           "else Keras' cache ~/.keras/models/, downloaded once)")
    a("--jsonl", default=None, metavar="FILE", help="where to append the JSON lines (default: RUN_DIR/metrics.jsonl)")
    a("--no-write", action="store_true", help="print the table only")
    a("--verbose", action="store_true",
      help="print every value; without it factor_control shows its group means and separation test only "
           "(its 224 per-input values at 32 px still go to metrics.jsonl)")
    a("--list", action="store_true", help="print the registered metric names and exit")
    a("--real-vs-real", action="store_true",
      help="the floor: compare two disjoint sets of --num-images reals (metrics that take G=None: swd, fid); "
           "needs 2 x --num-images images in --data")
    a("--resolution", type=int, default=None, help="with --real-vs-real: image size (default: the run's, else 32)")


def _run_dir(source):
    return source if os.path.isdir(source) else os.path.dirname(os.path.abspath(source))


def _run_config(source, key):
    """`key` of the run's config.json, if the source sits in a run folder."""
    path = os.path.join(_run_dir(source), "config.json") if source else ""
    if os.path.isfile(path):
        with open(path) as f:
            return json.load(f).get(key)
    return None


_FACTS = ("num_images", "seconds", "num_reals", "floor_num_images")
_ENTRY = re.compile(r"(style|noise)\d+/")  # factor_control's matrix entries, "style3/smiling", "noise0/head_x"


def format_table(rows, verbose=False):
    """[(metric, {key: value})] -> aligned text: one line per numeric value, facts (images, seconds) per metric.

    Without `verbose`, factor_control's matrix entries (one per input and factor: 224 at 32 px) are left out and
    its summary stays: the group means and the separation test, and a line saying how many were left out.
    """
    shown = []
    for name, result in rows:
        values = [(k, v) for k, v in result.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                  and k not in _FACTS]
        hidden = [k for k, _ in values if not verbose and _ENTRY.match(k)]
        shown.append((name, result, [(k, v) for k, v in values if k not in hidden], len(hidden)))
    width = max([18] + [len(k) for _, _, values, _ in shown for k, _ in values])
    lines = [f"{'metric':14s} {'value':>12s}  {'key':{width}s} images  seconds"]
    for name, result, values, hidden in shown:
        facts = f"{result.get('num_images', ''):>6}  {result.get('seconds', 0.0):7.1f}"
        for i, (key, value) in enumerate(values):
            verdict = f"  ({'pass' if value else 'fail'})" if key.startswith("separation") else ""
            lines.append(f"{name if i == 0 else '':14s} {value:12.4f}  {key:{width}s} "
                         + (facts if i == 0 else "") + verdict)
        if hidden:
            lines.append(f"{'':14s} {'':12s}  ({hidden} per-input values such as style0/head_x left out: "
                         f"--verbose prints them)")
        notes = ", ".join(f"{k}={v}" for k, v in result.items() if isinstance(v, str))
        if notes:
            lines.append(f"{'':14s} {'':12s}  ({notes})")
    return "\n".join(line.rstrip() for line in lines)


def check_args(args):
    """One-line errors for bad numbers and a missing or damaged model, before TensorFlow loads."""
    from stylegan_tf.loading import model_file, saved_class  # no TensorFlow

    if args.list:
        return
    if not args.source and not args.real_vs_real:
        raise ValueError("name a run folder or a .keras file (or use --list, --real-vs-real)")
    if args.num_images is not None and args.num_images < 2:
        raise ValueError("--num-images must be >= 2")
    if args.batch_size is not None and args.batch_size < 1:
        raise ValueError(f"--batch-size {args.batch_size}: give a positive number")
    r = args.resolution
    if r is not None and (r < 4 or r & (r - 1)):
        raise ValueError(f"--resolution {r} is not allowed: use a power of two >= 4 (8, 16, ..., 1024)")
    if args.source and not args.real_vs_real:
        saved_class(model_file(args.source), expected="Generator")


def run(args) -> int:
    check_args(args)  # before TensorFlow loads
    from stylegan_tf.metrics import calc_metric, list_metrics

    if args.list:
        print("\n".join(list_metrics()))
        return 0
    names = [n.strip() for n in args.metrics.split(",") if n.strip()]
    unknown = [n for n in names if n not in list_metrics()]
    if not names or unknown:
        raise ValueError(f"--metrics: unknown metric(s) {unknown or names}; choose from {', '.join(list_metrics())}")

    from stylegan_tf.generation.figures import load_generator
    from stylegan_tf.training.run_log import append_metric_record

    G = None if args.real_vs_real else load_generator(args.source)
    data = args.data or _run_config(args.source, "data") or "synthetic-faces"
    options = {k: v for k, v in (("seed", args.seed), ("batch_size", args.batch_size)) if v is not None}
    if args.real_vs_real:
        options["resolution"] = args.resolution or _run_config(args.source, "resolution") or 32
    default_jsonl = os.path.join(_run_dir(args.source), "metrics.jsonl") if args.source else None
    jsonl = None if args.no_write else (args.jsonl or default_jsonl)
    rows, failed = [], []
    for name in names:
        extra = {"inception_weights": args.inception_weights} if name == "fid" and args.inception_weights else {}
        try:
            result = calc_metric(name, G, data, args.num_images, progress=True, **options, **extra)
        except (TypeError, AttributeError) as e:  # a metric without the G=None floor
            if not args.real_vs_real:
                raise
            print(f"python -m stylegan_tf metrics: {name}: no real-vs-real mode ({e})", file=sys.stderr)
            failed.append(name)
            continue
        except (ValueError, FileNotFoundError) as e:  # e.g. fid offline: report it, go on with the others
            print(f"python -m stylegan_tf metrics: {name}: error: {e}", file=sys.stderr)
            failed.append(name)
            continue
        rows.append((name, result))
        if jsonl:
            source = "real-vs-real" if G is None else os.path.abspath(args.source)
            append_metric_record(jsonl, name, result, model=source, data=data, **options)
    if rows:
        print(format_table(rows, verbose=args.verbose))
    if jsonl and rows:
        print(f"appended to {jsonl}")
    return 2 if failed else 0


__all__ = ["add_arguments", "run", "format_table"]
