"""Training throughput: images/s, CPU-seconds per image and peak memory of the trainer's compiled step.

Drives `Trainer.train_step(resolution, batch)` -- one D step with R1, one G step with style mixing
(preset F; B has no mixing), the G_ema update -- on random reals at full resolution (lod = 0), so the
data pipeline is not measured. Rows: presets B and F at 32 and 64 px, batch 16, at the official
widths (fmap_base 8192, fmap_max 512, z = w = 512, 8 mapping layers) and at the CPU demo widths of
`python -m stylegan_tf train` (stylegan_tf.config.SCALES["demo"]). Each row runs in its own process, so
peak memory (ru_maxrss; on a GPU also tf.config.experimental.get_memory_info) is that row's.

CPU-s/img is process CPU time (all threads) / images: the issue's target is <= 2.0 at the official
widths, 32x32, batch 16. --breakdown also times the parts separately (G fwd+bwd, D fwd+bwd without
and with R1) to show where the time goes.

Measured on the 2-core AVX-512 CPU (oneDNN on by default there), shared with other jobs (load 4-7), so
the wall-time figures are pessimistic; CPU-s/img inflates under load too (2.13 at load ~4, 2.66 at ~6):
    F-32-official on an idle machine (load < 1.5, --steps 3 --warmup 1): 2.66 CPU-s/img, 0.73 img/s, 21.9 s/step,
    2.8 GiB; with tf.config.threading.set_inter_op_parallelism_threads(1): 2.86 (worse)
    F-32-official under load 2.13-2.66 CPU-s/img, 36-116 s/step, 2.8 GiB;  B-32-official 2.50;  F/B-64-official 5.3/5.5
    F-32-official --xla 4.91 (XLA is slower on this CPU);  TF_ENABLE_ONEDNN_OPTS=0: 3.65
    F-32-official parts (CPU-s/img): G fwd 0.20, G fwd+bwd (through D) 0.84, D fwd+bwd 1.13, D fwd+bwd+R1 1.46
    demo widths (earlier, loaded machine): B-32 0.013, F-32 0.021, B-64 0.025, F-64 0.033 CPU-s/img
    F-32-demo on an idle machine (--steps 30 --warmup 5 --breakdown): batch 16 0.007 CPU-s/img, 263 img/s, 1.0 GiB
    (G fwd+bwd 0.003, D fwd+bwd 0.003, with R1 0.004); batch 32 0.006, 325 img/s; batch 64 0.005, 343 img/s;
    --xla batch 16 0.024, 78 img/s
On the 2-core AVX2-only AMD EPYC (issue 25; docs/performance.md), F-32-demo --steps 20: before the
levers of issue 25, 0.0176 CPU-s/img with TF_ENABLE_ONEDNN_OPTS=0 and 0.0130/0.0144 with =1 (0.019 and 0.015 at
load 0.4-0.8); with them (load 3.5-4.2, interleaved), 0.0129/0.0135 and 0.0095/0.0099 (=1: the package's default)

    python benchmarks/train_throughput.py                          # all 8 rows (official rows are slow on CPU)
    python benchmarks/train_throughput.py --only F-32-official --steps 2 --warmup 1 --breakdown
    python benchmarks/train_throughput.py --only demo --xla        # rows whose name contains "demo"
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROWS = [f"{p}-{r}-{w}" for w in ("demo", "official") for p in ("B", "F") for r in (32, 64)]
BATCH = 16


def row_config(name, xla=False, mixed_precision=False, batch=BATCH):
    from stylegan_tf import SCALES, preset

    p, r, widths = name.split("-")
    kw = dict(resolution=int(r), xla=xla, mixed_precision=mixed_precision, minibatch_base=batch, minibatch_dict={})
    if widths == "demo":
        kw.update({k: SCALES["demo"][k] for k in ("fmap_base", "fmap_max", "z_dim", "w_dim", "mapping_layers")})
    return preset(p, **kw)


def _timed(fn, steps, warmup):
    for _ in range(warmup):
        _sync(fn())
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        _sync(fn())
    return time.perf_counter() - t0, time.process_time() - c0


def _sync(out):
    import tensorflow as tf

    for v in tf.nest.flatten(out):
        if hasattr(v, "numpy"):
            v.numpy()


def measure(name, steps, warmup, xla, mixed_precision, breakdown, batch=BATCH):
    import stylegan_tf  # noqa: F401  (before TensorFlow: the package's TF_ENABLE_ONEDNN_OPTS default applies)
    import tensorflow as tf

    from stylegan_tf.training.losses import d_logistic
    from stylegan_tf.training.trainer import Trainer

    cfg = row_config(name, xla, mixed_precision, batch)
    trainer = Trainer(cfg)
    for net in (trainer.G, trainer.D, trainer.G_ema):
        net.lod.assign(0.0)
    R = cfg.resolution
    reals = tf.random.stateless_uniform([batch, R, R, 3], [1, 2], -1.0, 1.0)
    step = trainer.train_step(R, batch)
    t0 = time.perf_counter()
    _sync(step(reals))  # trace + compile + first step
    first = time.perf_counter() - t0
    wall, cpu = _timed(lambda: step(reals), steps, max(warmup - 1, 0))
    n = steps * batch
    result = {"row": name, "img_per_s": n / wall, "cpu_s_per_img": cpu / n, "s_per_step": wall / steps,
              "first_step_s": first, "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "G_params": trainer.G.count_params(), "D_params": trainer.D.count_params(),
              "load": os.getloadavg()[0]}
    if tf.config.list_physical_devices("GPU"):
        result["gpu_peak_mib"] = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    if breakdown:
        # the parts of the step, through the trainer's own loss object (the one training forward pass)
        loss, G, D = trainer.loss, trainer.G, trainer.D
        jit = bool(xla) or None
        draws = lambda: loss.draw(tf.constant([3, 4], tf.int64), batch, R)  # noqa: E731

        @tf.function(jit_compile=jit)
        def g_part():
            with tf.GradientTape() as tape:
                d = draws()
                g_loss = tf.reduce_mean(loss.g_loss(loss.run_G(d, R)[0], d))
            return tape.gradient(g_loss, G.trainable_variables)

        @tf.function(jit_compile=jit)
        def d_part(r1):
            d = draws()
            fakes = loss.run_G(d, R)[0]
            with tf.GradientTape() as tape:
                if r1:
                    d_loss = tf.reduce_mean(loss.d_loss(reals, fakes, d)[0])
                else:  # the same loss without its regulariser
                    d_loss = tf.reduce_mean(d_logistic(D(reals), D(fakes)))
            return tape.gradient(d_loss, D.trainable_variables)

        @tf.function(jit_compile=jit)
        def g_forward():
            return loss.run_G(draws(), R)[0]

        for part, fn in [("G_forward", g_forward), ("G_fwd_bwd", g_part), ("D_fwd_bwd", lambda: d_part(False)),
                         ("D_fwd_bwd_R1", lambda: d_part(True))]:
            _, c = _timed(fn, steps, max(warmup, 1))
            result[f"{part}_cpu_s_per_img"] = c / n
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", default=[],
                    help=f"rows whose name contains this text (repeatable); rows: {', '.join(ROWS)}")
    ap.add_argument("--steps", type=int, default=5, help="timed steps per row (default 5)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first, including the trace (default 2)")
    ap.add_argument("--xla", action="store_true", help="jit_compile the step")
    ap.add_argument("--mixed-precision", action="store_true", help="mixed_float16 policy (for GPUs)")
    ap.add_argument("--breakdown", action="store_true", help="also time G fwd+bwd, D fwd+bwd without/with R1")
    ap.add_argument("--batch", type=int, default=BATCH, help=f"minibatch of every row (default {BATCH})")
    ap.add_argument("--json", action="store_true", help="print one JSON object per row instead of a table")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:  # one row, in its own process
        print("RESULT " + json.dumps(measure(args.child, args.steps, args.warmup, args.xla, args.mixed_precision,
                                             args.breakdown, args.batch)), flush=True)
        return 0
    rows = [r for r in ROWS if not args.only or any(o in r for o in args.only)]
    if not rows:
        raise SystemExit(f"--only {args.only}: no row matches; rows are {', '.join(ROWS)}")
    flags = [f"--steps={args.steps}", f"--warmup={args.warmup}", f"--batch={args.batch}"] + [
        f for f, on in (("--xla", args.xla), ("--mixed-precision", args.mixed_precision),
                        ("--breakdown", args.breakdown)) if on]
    print(f"batch {args.batch}, {args.steps} timed steps after {args.warmup} warm-up, xla={args.xla}, "
          f"mixed_precision={args.mixed_precision}, {os.cpu_count()} CPUs, TF_ENABLE_ONEDNN_OPTS="
          f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset (stylegan_tf: 1)')}, load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    header = f"{'row':18s} {'img/s':>8s} {'CPU-s/img':>9s} {'s/step':>8s} {'1st step s':>10s} {'peak RSS MiB':>12s}"
    if not args.json:
        print(header, flush=True)
    for row in rows:
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", row, *flags],
                              capture_output=True, text=True)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not lines:
            print(f"{row:18s} failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}", flush=True)
            continue
        r = json.loads(lines[-1][7:])
        if args.json:
            print(json.dumps(r), flush=True)
            continue
        extra = f"  GPU peak {r['gpu_peak_mib']:.0f} MiB" if "gpu_peak_mib" in r else ""
        parts = "  ".join(f"{k[:-len('_cpu_s_per_img')]} {v:.3f}" for k, v in r.items()
                          if k.endswith("_cpu_s_per_img") and k != "cpu_s_per_img")
        print(f"{row:18s} {r['img_per_s']:8.2f} {r['cpu_s_per_img']:9.4f} {r['s_per_step']:8.2f} "
              f"{r['first_step_s']:10.1f} {r['maxrss_mib']:12.0f}  load {r['load']:.1f}{extra}" +
              (f"  [CPU-s/img: {parts}]" if parts else ""),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
