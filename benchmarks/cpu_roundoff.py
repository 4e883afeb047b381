"""How far the same images drift between graphs and batch sizes on this CPU (the round-off tests must allow).

Prints, for the 16 px generator of tests/test_figures.py, the largest |difference| between images that the
figure helpers compute two ways (another batch size, interpolation frames, truncation sweeps, the Keras call),
beside the largest |value| compared. tests/tolerance.py allows 1e-4 of that magnitude. Run it once per
configuration of the CPU kernels:

    for one in 0 1; do for isa in "" AVX2; do
        ONEDNN_MAX_CPU_ISA=$isa TF_ENABLE_ONEDNN_OPTS=$one python benchmarks/cpu_roundoff.py
    done; done

(an empty ONEDNN_MAX_CPU_ISA means the CPU's best ISA). Measured 2026-12-07 on the project's AVX2-only AMD
EPYC (no AVX-512, so AVX2 and unset run the same kernels), under load: the worst difference was 5.8e-6
(oneDNN off) and 1.07e-5 at values of 6.4 (oneDNN on); the Keras call and the sweeps at psi = 1 were
bit-identical; the largest ratio difference / magnitude was 2.8e-6.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if not os.environ.get("ONEDNN_MAX_CPU_ISA"):
    os.environ.pop("ONEDNN_MAX_CPU_ISA", None)

import numpy as np  # noqa: E402

from stylegan_tf import build_generator, preset  # noqa: E402
from stylegan_tf.generation import figures as F  # noqa: E402

SEEDS = [3, 1, 4]


def comparisons(G):
    """(name, a, b): the pairs tests/test_figures.py compares, each the same images reached two ways."""
    images = F.generate_images(G, SEEDS, batch_size=2)
    z = F.seeds_to_z(SEEDS, G.z_dim)
    yield "batch 2 vs batch 3", images, F.generate_images(G, SEEDS)
    yield "batch 2 vs batch 1", images[2], F.generate_images(G, [4])[0]
    keras_call = G(z, truncation_psi=0.5, truncation_cutoff=2, noise_mode="const")
    yield "psi 0.5 vs Keras call", F.generate_images(G, SEEDS, psi=0.5, cutoff=2), keras_call
    for space in ("w", "z"):
        frames = F.interpolation_frames(G, [1, 2, 3], steps=3, space=space)
        yield f"interpolation in {space}", frames[::3], F.generate_images(G, [1, 2, 3])
    yield "sweep at psi 1", F.truncation_sweep(G, SEEDS, psis=F.PAPER_PSIS)[:, 0], F.generate_images(G, SEEDS, psi=1.0)


def main():
    cfg = preset("F", resolution=16, fmap_base=64, fmap_max=32, z_dim=16, w_dim=16, mapping_layers=2, seed=7)
    G = build_generator(cfg)
    G.w_avg.assign(np.random.default_rng(0).normal(size=G.w_dim).astype(np.float32))
    tag = (f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', '(default)')} "
           f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', '(best)')}")
    print(tag)
    for name, a, b in comparisons(G):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        diff, size = np.abs(a - b).max(), max(np.abs(a).max(), np.abs(b).max())
        print(f"  {name:24s} max |diff| {diff:9.3g}   max |value| {size:6.3g}   ratio {diff / size:8.2g}")


if __name__ == "__main__":
    main()
