"""Seconds and peak memory of the offline metrics at 10,000 images, 32 px, demo widths, generation included
(issue targets: <= 60 s each; the whole process under 1.5 GiB).

    python benchmarks/metrics.py                          # a demo-width generator with its initial weights
    python benchmarks/metrics.py --run /tmp/baseline_demo # a trained run's G_ema (same cost)
    python benchmarks/metrics.py --metrics swd --num-images 2000

Times `calc_metric(name, G, "synthetic-faces", num_images)` for each metric (default: swd and, when the
factor-probe module registers it, fd_probe), once to warm up TensorFlow's tracing on 64 images and once
for real, and prints wall seconds, CPU seconds of this process (user + system), the peak resident memory
of the process during that metric (Linux: VmHWM, reset through /proc/self/clear_refs before each metric;
elsewhere the process's peak so far, ru_maxrss) and the 1-minute load average before and after. The
embedded dataset's cache is built before timing. On a shared machine the wall time depends on the load:
CPU seconds / cores is the wall time of an idle machine, roughly; the peak memory does not.

Measured on the project's 2-core AVX-512 CPU (oneDNN on), 10,000 images, trained demo G_ema, while other
jobs shared it: see docs/metrics.md ("Time") for the figures and their load averages.
"""

import argparse
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def reset_peak_memory():
    """Restarts the kernel's peak-RSS count (VmHWM) of this process; False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_memory_mib():
    """Peak resident memory of this process in MiB: VmHWM since the last reset, else ru_maxrss (since start)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS, KiB on Linux


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default=None, help="a run folder or .keras file (default: untrained demo widths)")
    parser.add_argument("--metrics", default=None, help="comma-separated (default: swd, plus fd_probe if registered)")
    parser.add_argument("--num-images", type=int, default=10000)
    parser.add_argument("--data", default="synthetic-faces")
    args = parser.parse_args(argv)

    import tensorflow as tf

    from stylegan_tf.config import preset
    from stylegan_tf.data import make_dataset
    from stylegan_tf.generation.figures import load_generator
    from stylegan_tf.metrics import calc_metric, list_metrics
    from stylegan_tf.networks import build_generator

    if args.run:
        G = load_generator(args.run)
    else:
        G = build_generator(preset("F", "demo"), name="G_ema")
        G(tf.zeros([1, G.z_dim]))
    names = args.metrics.split(",") if args.metrics else [n for n in ("swd", "fd_probe") if n in list_metrics()]
    if "fd_probe" not in list_metrics():
        print("fd_probe is not registered (stylegan_tf/metrics/fd_probe.py); timing swd only", file=sys.stderr)
    make_dataset(args.data, G.resolution, 1, repeat=False)  # builds the embedded dataset's cache if missing
    print(f"G: {args.run or 'demo widths, initial weights'}, {G.resolution} px; {os.cpu_count()} CPUs; "
          f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', '(unset: on)')}")
    print(f"{'metric':10s} {'images':>7s} {'wall s':>7s} {'CPU s':>7s} {'peak MiB':>8s}  load before/after  value")
    for name in names:
        calc_metric(name, G, args.data, 64)  # warm-up: tracing, dataset open
        reset_peak_memory()
        load0, wall0, cpu0 = os.getloadavg()[0], time.perf_counter(), cpu_seconds()
        result = calc_metric(name, G, args.data, args.num_images)
        wall, cpu, load1 = time.perf_counter() - wall0, cpu_seconds() - cpu0, os.getloadavg()[0]
        peak = peak_memory_mib()
        value = result.get(name, next((v for k, v in result.items() if isinstance(v, float)), float("nan")))
        print(f"{name:10s} {args.num_images:7d} {wall:7.1f} {cpu:7.1f} {peak:8.0f}  {load0:5.2f} / {load1:5.2f}    "
              f"{value:.4g}",
              flush=True)


if __name__ == "__main__":
    main()
