"""Images/s of the generator's forward pass, and the time to build G and D.

    python benchmarks/generator_forward.py                       # official widths, 32-1024 px, batch 1 and 8
    python benchmarks/generator_forward.py --small --reps 10     # narrow CPU widths
    python benchmarks/generator_forward.py --xla --resolutions 32 64

G runs as a `tf.function` (truncation 0.7, fresh noise), after one warm-up call that traces it.
Prints one row per (resolution, batch): build times, forward seconds per call and images/s.

Measured on the project's 2-core AVX-512 CPU (oneDNN on), idle machine, `--reps 2`, official widths:
    img/s at batch 1 / batch 8:  32 px 3.59 / 5.43,  64 px 1.44 / 2.78,  256 px 0.98 / 1.70,  1024 px 0.49 / 0.74
    build G / D: 1.2-1.6 s / 0.7-0.9 s at every resolution
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from stylegan_tf import SCALES, build_discriminator, build_generator, preset  # noqa: E402

SMALL = {k: SCALES["demo"][k] for k in ("fmap_base", "fmap_max", "z_dim", "w_dim", "mapping_layers")}  # demo widths


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolutions", type=int, nargs="+", default=[32, 64, 256, 1024])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--reps", type=int, default=3, help="timed calls per row (after one warm-up)")
    parser.add_argument("--small", action="store_true", help="the demo scale's widths (config.SCALES['demo']) instead of the official ones")
    parser.add_argument("--preset", default="F")
    parser.add_argument("--xla", action="store_true", help="jit_compile the forward pass")
    args = parser.parse_args()

    print(f"TensorFlow {tf.__version__}, devices: {[d.device_type for d in tf.config.list_physical_devices()]}, "
          f"preset {args.preset}, {'small' if args.small else 'official'} widths, xla={args.xla}")
    print(f"{'res':>5} {'batch':>5} {'G trainable':>12} {'build G s':>9} {'build D s':>9} {'s/call':>8} {'img/s':>8}")
    for resolution in args.resolutions:
        cfg = preset(args.preset, resolution=resolution, **(SMALL if args.small else {}))
        t0 = time.perf_counter()
        G = build_generator(cfg)
        t_g = time.perf_counter() - t0
        t0 = time.perf_counter()
        build_discriminator(cfg)
        t_d = time.perf_counter() - t0
        forward = tf.function(lambda z: G(z, truncation_psi=0.7), jit_compile=args.xla)
        for batch in args.batches:
            z = tf.constant(np.random.default_rng(0).standard_normal((batch, cfg.z_dim)), tf.float32)
            forward(z).numpy()  # trace and warm up
            t0 = time.perf_counter()
            for _ in range(args.reps):
                forward(z).numpy()
            dt = (time.perf_counter() - t0) / args.reps
            print(f"{resolution:>5} {batch:>5} {sum(int(np.prod(v.shape)) for v in G.trainable_weights):>12,} {t_g:>9.2f} {t_d:>9.2f} {dt:>8.3f} "
                  f"{batch / dt:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
