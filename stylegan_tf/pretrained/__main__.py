"""`python -m stylegan_tf.pretrained`: list, rebuild and evaluate the shipped Table 1 models.

    python -m stylegan_tf.pretrained list                          # the shipped models and their metrics
    python -m stylegan_tf.pretrained commands                      # how to retrain every one of them
    python -m stylegan_tf.pretrained install runs/rows/A-seed0 A   # copy a run's G_ema into the package
    python -m stylegan_tf.pretrained evaluate                      # Table 1 / Table 3 metrics -> manifest
    python -m stylegan_tf.pretrained floor                         # SWD of reals against reals
    python -m stylegan_tf.pretrained tables                        # Table 1 and Table 3 as Markdown
    python -m stylegan_tf.pretrained figures --out docs/img        # a labelled sample grid of every row

The recipe is the CPU demo (`preset(row, "demo")`: 32x32, KIMG = 120 kimg), the same for every row, so the rows
differ only in what Table 1 changes, and the shipped F is what the bare `python -m stylegan_tf train` gave on the
machine that trained it (SWD x10^3 25.4 there; 26.4 for F-seed1, the same recipe with seed 1). CPUs differ in
the last bits of float arithmetic, so elsewhere the bare command trains another model of the same recipe: on a
user's AVX2-only CPU it scored SWD 21.4, further from the shipped F than the two seeds are from each other.
The nine models retrain in about 85 minutes on two cores. A GPU user who wants models closer to the paper runs
the same commands with a longer schedule (docs/results.md: `--kimg` and `--set lod_training_kimg=...`), then
`install`s them.
"""

import argparse
import contextlib
import json
import os
import shutil
import sys
import time

from stylegan_tf import pretrained as shipped  # its MODEL_DIR / MANIFEST are read at call time (tests move them)
from stylegan_tf.config import SCALES

ROWS = "ABCDEF"
KIMG = float(SCALES["demo"]["total_kimg"])  # every shipped model runs the whole demo recipe, like the bare `train`
RECIPE = {
    "scale": "demo",
    "data": "synthetic-faces",
    "what": "G_ema of `python -m stylegan_tf train --preset ROW --seed SEED` (demo scale: 32x32 "
            "synthetic faces, channels 64/64/32/16, z = w = 64, 10 + 10 kimg per resolution from 8 px, minibatch 16, "
            f"lr 0.002, mapping network at the full rate (mapping_lrmul 1.0, rows C-F), {KIMG:g} kimg)",
}
# Table 1 and Table 3 metrics: every model gets TABLE1; the traditional (B) and style-based (F) generators
# get TABLE3 (the paper's Table 3 compares exactly these two); E and F get the factor-control matrix.
TABLE1 = ("fd_probe", "swd")
TABLE3 = ("ppl_z_full", "ppl_w_full", "ppl_z_end", "ppl_w_end", "ls")
TABLE3_ROWS = ("B", "F")
FACTOR_ROWS = ("E", "F")


def train_command(row, seed):
    return f"python -m stylegan_tf train --preset {row} --seed {seed} --out runs/rows/{row}-seed{seed}"


def install_command(row, seed):
    name = row if seed == 0 else f"{row}-seed{seed}"
    return f"python -m stylegan_tf.pretrained install runs/rows/{row}-seed{seed} {name}"


@contextlib.contextmanager
def _manifest_lock():
    """Serialises read-modify-write of the manifest between processes (an install beside an evaluation)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: one process at a time is the user's job
        yield
        return
    shipped.MODEL_DIR.mkdir(parents=True, exist_ok=True)
    with open(shipped.MODEL_DIR / ".manifest.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_manifest(data):
    tmp = f"{shipped.MANIFEST}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(tmp, shipped.MANIFEST)


def _load_or_new():
    data = shipped.manifest() if shipped.MANIFEST.is_file() else {"recipe": RECIPE, "models": {}}
    data["recipe"] = RECIPE  # the code's recipe, so an install after a recipe change never leaves the old text
    return data


def install(run_dir, name):
    """Copies RUN_DIR/G_ema.keras to the package as NAME.keras and records it in the manifest."""
    source = os.path.join(run_dir, "G_ema.keras")
    config_path = os.path.join(run_dir, "config.json")
    for path in (source, config_path):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} is missing: install takes a finished training run folder")
    with open(config_path) as f:
        config = json.load(f)
    row, seed = name.split("-seed")[0], int(config["seed"])
    if row not in ROWS:
        raise ValueError(f"name {name!r} must start with a Table 1 row A-F (e.g. 'F' or 'F-seed1')")
    shipped.MODEL_DIR.mkdir(parents=True, exist_ok=True)
    target = shipped.MODEL_DIR / f"{name}.keras"
    shutil.copyfile(source, f"{target}.tmp")
    os.replace(f"{target}.tmp", target)
    with _manifest_lock():
        _record(name, row, seed, target, config)
    print(f"installed {target} ({target.stat().st_size / 1e6:.2f} MB, sha256 {shipped.entry(name)['sha256'][:12]}...)")


def _record(name, row, seed, target, config):
    data = _load_or_new()
    data["models"][name] = {
        "row": row, "seed": seed, "file": target.name, "sha256": shipped.sha256(target),
        "bytes": target.stat().st_size, "kimg": config["total_kimg"], "resolution": config["resolution"],
        "command": f"{train_command(row, seed)} && {install_command(row, seed)}",
        "config": config, "metrics": data["models"].get(name, {}).get("metrics", {}),
    }
    data["models"] = dict(sorted(data["models"].items(), key=lambda kv: (len(kv[0]) > 1, kv[0])))
    _write_manifest(data)


def metrics_for(name):
    row = shipped.entry(name)["row"]
    return TABLE1 + (TABLE3 if row in TABLE3_ROWS else ()) + (("factor_control",) if row in FACTOR_ROWS else ())


def evaluate(names, num_images, figure_dir=None):
    """Runs each model's metrics (10,000 images for FD_probe and SWD by default) and stores them in the manifest."""
    from stylegan_tf.metrics import calc_metric
    from stylegan_tf.pretrained import load

    for name in names:
        G = load(name)
        results = dict(shipped.entry(name).get("metrics", {}))
        for metric in metrics_for(name):
            options = {}
            if metric in TABLE1:
                options["num_images"] = num_images
            if metric == "factor_control" and figure_dir:
                options["figure"] = os.path.join(figure_dir, f"factor_control_{name}.png")
            start = time.time()
            result = calc_metric(metric, G, RECIPE["data"], **options)
            results[metric] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()}
            headline = {k: v for k, v in result.items() if k in (metric, "fd_probe_floor")} or {
                k: round(v, 3) for k, v in result.items() if k.endswith("styles/coarse factors")}
            print(f"{name:9s} {metric:15s} {headline}  ({time.time() - start:.0f} s)", flush=True)
        with _manifest_lock():  # read again: `install` may have added models meanwhile
            data = shipped.manifest()
            data["models"][name]["metrics"] = results
            _write_manifest(data)  # after each model, so an interrupted evaluation keeps what it measured


def real_floor(num_images):
    """SWD between two disjoint sets of `num_images` reals (2 x num_images faces drawn): what a perfect generator
    would score. FD_probe's floor comes with each fd_probe result."""
    from stylegan_tf.metrics import calc_metric

    result = calc_metric("swd", None, f"{RECIPE['data']}:{2 * num_images}", num_images=num_images, resolution=32)
    with _manifest_lock():
        data = shipped.manifest()
        data["real_vs_real"] = {"swd": round(result["swd"], 4), "num_images": num_images}
        _write_manifest(data)
    print(f"real vs real: SWD {result['swd']:.2f} ({num_images} images each)")


def figures(out_dir, seeds=tuple(range(8))):
    """docs figures: one labelled sample grid of every row (same seeds, psi 1), written as PNG."""
    import numpy as np

    from stylegan_tf.generation import figures as figs, viz
    from stylegan_tf.pretrained import load

    os.makedirs(out_dir, exist_ok=True)
    rows = [load(row) for row in ROWS]
    images = np.stack([figs.generate_images(G, list(seeds), psi=1.0) for G in rows])
    picture = viz.annotated_figure(images, row_labels=[f"row {r}" for r in ROWS],
                                   col_labels=[f"seed {s}" for s in seeds], cell=96,
                                   title=f"Table 1 rows, shipped models (32 px, {KIMG:g} kimg each, psi = 1)")
    path = viz.save_png(os.path.join(out_dir, "rows_samples.png"), picture)
    print(f"wrote {path}")


def _value(e, metric, key=None):
    return e.get("metrics", {}).get(metric, {}).get(key or metric)


def table1_markdown(data):
    """Table 1 on synthetic faces as Markdown: FD_probe and SWD of each row (seed 0), the seed spread where
    more seeds are shipped, and the real-vs-real floor."""
    lines = ["| row | what it adds | FD_probe | SWD x10^3 | seeds (FD_probe / SWD) |", "|---|---|---|---|---|"]
    adds = {"A": "baseline progressive GAN", "B": "+ tuning (bilinear, NS loss + R1)",
            "C": "+ mapping and styles", "D": "+ constant input", "E": "+ noise inputs", "F": "+ mixing regularisation"}
    for row in ROWS:
        models = [e for e in data["models"].values() if e["row"] == row]
        seed0 = next((e for e in models if e["seed"] == 0), None)
        if seed0 is None:
            continue
        fd, swd = _value(seed0, "fd_probe"), _value(seed0, "swd")
        spread = ""
        if len(models) > 1:
            fds = [_value(e, "fd_probe") for e in models]
            swds = [_value(e, "swd") for e in models]
            spread = (f"{len(models)} seeds: {min(fds):.1f}-{max(fds):.1f} / {min(swds):.1f}-{max(swds):.1f}")
        lines.append(f"| {row} | {adds[row]} | {fd:.1f} | {swd:.1f} | {spread} |")
    floor_fd = _value(next(iter(data["models"].values())), "fd_probe", "fd_probe_floor")
    floor_swd = data.get("real_vs_real", {}).get("swd")
    lines.append(f"| real vs real | (floor) | {floor_fd:.2f} | {floor_swd if floor_swd is None else f'{floor_swd:.2f}'} | |")
    return "\n".join(lines)


def table3_markdown(data):
    """Table 3 on synthetic faces as Markdown: path lengths (Z, W; full, end) and separability of B and F."""
    lines = ["| generator | PPL full Z | PPL full W | PPL end Z | PPL end W | LS Z | LS W |", "|---|---|---|---|---|---|---|"]
    for row, label in (("B", "traditional (row B)"), ("F", "style-based (row F)")):
        e = data["models"].get(row)
        if e is None or "ls" not in e.get("metrics", {}):
            continue
        values = [_value(e, m) for m in ("ppl_z_full", "ppl_w_full", "ppl_z_end", "ppl_w_end")]
        values += [_value(e, "ls", "ls_z"), _value(e, "ls", "ls_w")]
        lines.append(f"| {label} | " + " | ".join(f"{v:.2f}" for v in values) + " |")
    return "\n".join(lines)


def separation_markdown(data):
    """The separation test (`metrics.factor_control.separation_test`) of every model with a factor-control
    matrix, as Markdown: each claim's two sides and its verdict."""
    from stylegan_tf.metrics.factor_control import separation_test

    lines = ["| model | coarse factors: coarse / middle / fine styles | fine factors: coarse / middle / fine styles "
             "| noise, largest group | coarse | fine | noise |", "|---|---|---|---|---|---|---|"]
    for name, e in data["models"].items():
        means = {k: v for k, v in e.get("metrics", {}).get("factor_control", {}).items() if k.endswith(" factors")}
        if not means:
            continue
        verdict = separation_test(means)
        cells = [" / ".join(f"{means.get(f'{g} styles/{scale} factors', float('nan')):.2f}"
                            for g in ("coarse", "middle", "fine")) for scale in ("coarse", "fine")]
        noise = max((v for k, v in means.items() if k.startswith("noise/")), default=0.0)  # rows C, D: none
        marks = ["pass" if verdict[f"separation/{k}"] else "fail" for k in ("coarse", "fine", "noise")]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {noise:.2f} | " + " | ".join(marks) + " |")
    return "\n".join(lines)


def format_list(data):
    lines = [f"{'name':9s} {'row':3s} {'seed':>4s} {'kimg':>5s} {'MB':>5s}  {'FD_probe':>8s} {'SWD':>7s}"]
    for name, e in data["models"].items():
        m = e.get("metrics", {})
        fd = m.get("fd_probe", {}).get("fd_probe", float("nan"))
        swd = m.get("swd", {}).get("swd", float("nan"))
        lines.append(f"{name:9s} {e['row']:3s} {e['seed']:4d} {e['kimg']:5.0f} {e['bytes'] / 1e6:5.2f}  {fd:8.2f} {swd:7.2f}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m stylegan_tf.pretrained", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.split("\n")[1:]))
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the shipped models and their metrics")
    sub.add_parser("commands", help="the commands that retrain and install every shipped model")
    p = sub.add_parser("install", help="copy a finished run's G_ema.keras into the package")
    p.add_argument("run_dir")
    p.add_argument("name", help="A..F for seed 0, e.g. F-seed1 for another seed")
    p = sub.add_parser("evaluate", help="measure the shipped models (Table 1, Table 3, factor control)")
    p.add_argument("names", nargs="*", help="default: every shipped model")
    p.add_argument("--num-images", type=int, default=10000, help="images for FD_probe and SWD (default 10,000)")
    p.add_argument("--figures", default=None, metavar="DIR", help="also write the factor-control heatmaps here")
    p = sub.add_parser("floor", help="SWD between two disjoint sets of reals (what a perfect generator scores)")
    p.add_argument("--num-images", type=int, default=10000)
    sub.add_parser("tables", help="Table 1, Table 3 and the separation test on synthetic faces as Markdown, "
                                  "from the manifest")
    p = sub.add_parser("figures", help="a labelled sample grid of every row")
    p.add_argument("--out", default="docs/img")
    args = parser.parse_args(argv)

    try:
        if args.command == "list":
            print(format_list(shipped.manifest()))
        elif args.command == "commands":
            for name, e in shipped.manifest()["models"].items():
                print(e["command"])
        elif args.command == "install":
            install(args.run_dir, args.name)
        elif args.command == "evaluate":
            evaluate(args.names or list(shipped.manifest()["models"]), args.num_images, args.figures)
        elif args.command == "floor":
            real_floor(args.num_images)
        elif args.command == "tables":
            data = shipped.manifest()
            print(table1_markdown(data) + "\n\n" + table3_markdown(data) + "\n\n" + separation_markdown(data))
        elif args.command == "figures":
            figures(args.out)
    except (ValueError, FileNotFoundError) as e:  # bad input: one line, as `python -m stylegan_tf` does
        if os.environ.get("STYLEGAN_TF_DEBUG") == "1":
            raise
        print(f"python -m stylegan_tf.pretrained {args.command}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
