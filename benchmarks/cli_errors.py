"""Time from process start to the first error line, for bad command lines of `python -m stylegan_tf`.

    python benchmarks/cli_errors.py [--repeat 3] [--checkout DIR] [--only NAME ...]

Each case starts a fresh `python -m stylegan_tf ...` (cwd = `--checkout`, default this checkout, so an
exported older tree can be measured the same way) and reads its stderr as it comes: reported are the
seconds from `Popen` to the first stderr line, the exit status, the first line, and the 1-minute load
average just before the case (the machine may be shared: compare runs only at similar loads). The
median of `--repeat` runs is printed per case. A case whose first line names the problem within about
a second did not import TensorFlow (which alone takes several seconds to import).

Measured on the shared 2-core machine at load average 17-19 (issue 26, point 3): before (the tree of
13bb945, `--checkout` of an exported copy, 1 run per case, load 10-25) 37-146 s to the first line of every
config or path error, 2.2 s for an argparse error; after, 0.9-2.3 s (median of 3) for all 13 cases, and
0.13-0.20 s of user CPU each (`/usr/bin/time`), against 8.2 s before.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cases(tmp):
    """(name, argv after `python -m stylegan_tf`): one bad input of each kind the issue names, per command."""
    not_keras = os.path.join(tmp, "not_a_model.keras")
    with open(not_keras, "w") as f:
        f.write("not a zip")
    return [
        ("argparse: unknown option", ["train", "--no-such-option"]),
        ("train: unknown preset", ["train", "--preset", "Z"]),
        ("train: --set lr_base=inf", ["train", "--set", "lr_base=inf"]),
        ("train: --set bad type", ["train", "--set", "fmap_max=wide"]),
        ("train: bad resolution", ["train", "--resolution", "48"]),
        ("train: mbstd group", ["train", "--set", "mbstd_group_size=3"]),
        ("train: missing --data", ["train", "--data", "/no/such/folder"]),
        ("generate: missing model", ["generate", "--model", "/no/such/G.keras"]),
        ("generate: --psi nan", ["generate", "--model", not_keras, "--psi", "nan"]),
        ("metrics: missing run", ["metrics", "/no/such/run"]),
        ("export: damaged .keras", ["export", not_keras, os.path.join(tmp, "out")]),
        ("convert: missing pickle", ["convert", "/no/such/network.pkl", os.path.join(tmp, "out")]),
        ("prepare: missing source", ["prepare", "/no/such/images", os.path.join(tmp, "out"), "--resolution", "32"]),
    ]


def first_line_seconds(argv, checkout, timeout=900):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "stylegan_tf", *argv], cwd=checkout, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    seconds = time.perf_counter() - start
    proc.stderr.read()
    rc = proc.wait(timeout=timeout)
    return seconds, rc, line.strip(), load


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (the median is reported)")
    parser.add_argument("--checkout", default=HERE, help="the stylegan_tf tree to run (default: this checkout)")
    parser.add_argument("--only", nargs="+", default=None, help="run only the cases whose name contains one of these")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        todo = [(n, a) for n, a in cases(tmp) if not args.only or any(o in n for o in args.only)]
        print(f"checkout {os.path.abspath(args.checkout)}; {args.repeat} run(s) per case; python {sys.executable}")
        print(f"{'case':28s} {'median s':>8s} {'runs s':>22s} {'load1':>6s} rc  first line")
        for name, argv in todo:
            runs = [first_line_seconds(argv, args.checkout) for _ in range(args.repeat)]
            secs = [r[0] for r in runs]
            loads = statistics.mean(r[3] for r in runs)
            print(f"{name:28s} {statistics.median(secs):8.2f} {' '.join(f'{s:.2f}' for s in secs):>22s} "
                  f"{loads:6.2f} {runs[-1][1]:2d}  {runs[-1][2][:150]}", flush=True)


if __name__ == "__main__":
    main()
