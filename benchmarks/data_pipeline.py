"""Data throughput: the synthetic-faces generator and the TFRecord tf.data pipeline, in images/s.

Rows:
  generator  R   faces.generate_faces (factors + NumPy drawing, 2x2 supersampled) at 32, 64 and 256 px;
  cache 64       the first-use cost of "synthetic-faces": 10,000 images at 64 px drawn and written as
                 TFRecords with every level (the issue's target: under 60 s on the 2-core CPU machine);
  pipeline   R   pipeline.make_dataset on a prepared folder (shuffle, mirror, decode to [-1, 1], batch 32,
                 prefetch), iterated eagerly as a trainer would, at 32, 64 and 256 px.
Wall time and process CPU time (all threads) are both printed: on a shared machine wall time also
counts other processes. Compare the pipeline rows with benchmarks/train_throughput.py.

    python benchmarks/data_pipeline.py             # all rows (the cache row takes about a minute)
    python benchmarks/data_pipeline.py --quick     # skip the 10,000-image cache row
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RESOLUTIONS = (32, 64, 256)


def _row(name, images, wall, cpu):
    print(f"{name:<14} {images:>7d} img {wall:8.2f} s wall {images / wall:10.1f} img/s "
          f"{cpu:8.2f} s CPU {images / cpu:10.1f} img/CPU-s", flush=True)


def _timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def bench_generator(counts):
    from stylegan_tf.data import faces

    faces.generate_faces(8, 32)  # warm up NumPy
    for r in RESOLUTIONS:
        n = counts[r]
        wall, cpu = _timed(lambda: faces.generate_faces(n, r, seed=1))
        _row(f"generator {r}", n, wall, cpu)


def bench_cache(tmp):
    from stylegan_tf.data import pipeline

    os.environ["STYLEGAN_TF_DATA_DIR"] = os.path.join(tmp, "cache")
    wall, cpu = _timed(lambda: pipeline.synthetic_faces_path(64, 10_000, progress=False))
    _row("cache 64", 10_000, wall, cpu)


def bench_pipeline(tmp, num_images, batch, steps):
    import numpy as np

    from stylegan_tf.data import faces, pipeline, prepare

    folder = os.path.join(tmp, "prepared")
    tiles, _ = faces.generate_faces(64, max(RESOLUTIONS), seed=2)  # content does not change the cost
    with prepare.DatasetWriter(folder, max(RESOLUTIONS)) as writer:
        for i in range(num_images):
            writer.add(tiles[i % len(tiles)])
        writer.finish()
    for r in RESOLUTIONS:
        ds = iter(pipeline.make_dataset(folder, r, batch, seed=0))
        for _ in range(5):  # warm up: fill the shuffle buffer and the prefetch queue
            next(ds)

        def run():
            for _ in range(steps):
                np.asarray(next(ds))

        wall, cpu = _timed(run)
        _row(f"pipeline {r}", steps * batch, wall, cpu)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the 10,000-image cache row")
    parser.add_argument("--images", type=int, default=2048, help="images in the prepared folder")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=100, help="batches timed per pipeline row")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        bench_generator({32: 2048, 64: 1024, 256: 64})
        if not args.quick:
            bench_cache(tmp)
        bench_pipeline(tmp, args.images, args.batch, args.steps)


if __name__ == "__main__":
    main()
