"""Projection: its speed, and what it recovers of held-out real images whose true factors are known.

    python benchmarks/projection.py speed                  # CPU-seconds per image, 1,000 steps at 32 px
    python benchmarks/projection.py truth --num-images 200 --steps 1000 --models F E

`speed` projects 8 held-out faces into W with the shipped F, once as one batch and once one at a time,
and prints CPU-seconds (process time, all threads) and wall seconds per image; the first call's tracing
is excluded by a 2-step warm-up on each shape. Run it on an idle machine: the load average is printed.

`truth` projects held-out real images of the embedded dataset (`probe.training_images(N, 202)`, the
probe's held-out seed, disjoint from the training data's seed 0) with each model, in W and in W+, and
writes docs/projection_truth.json and two figures, docs/img/projection_reconstruction.png and
docs/img/projection_editing.png. It reports
- reconstruction: PSNR (images in [-1, 1]) and the probe distance (`metrics.ppl.probe_distance`);
- factor recovery: per factor, the RMS difference between the probe's reading of the projection and the
  image's true factor, in units of the factor's spread over the real images (hue: wrapped, in units of a
  uniform hue's spread); the floor is the same for random samples of the model (psi = 1) against the real
  images' factors, and the ceiling the probe reading the real images themselves;
- editing: each projection B given the coarse styles of the next projection A (style mixing): the RMS
  error of the coarse factors against A's truth and of the fine factors against B's truth, same units.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def speed(args):
    from stylegan_tf import pretrained
    from stylegan_tf.metrics.probe import HELD_OUT_SEED, training_images
    from stylegan_tf.projection import project

    G = pretrained.load("F")
    targets, _ = training_images(args.batch, HELD_OUT_SEED)
    project(G, targets, steps=2)  # warm-up: tracing and the w statistics' first call
    project(G, targets[:1], steps=2)
    out = {"load_average_before": os.getloadavg()[0], "steps": args.steps, "resolution": G.resolution}
    for name, batches in (("batched", [targets]), ("one_at_a_time", [targets[i:i + 1] for i in range(args.batch)])):
        cpu, wall = time.process_time(), time.perf_counter()
        for b in batches:
            result = project(G, b, steps=args.steps)
        out[name] = {"cpu_s_per_image": (time.process_time() - cpu) / args.batch,
                     "wall_s_per_image": (time.perf_counter() - wall) / args.batch}
    out["distance"] = result.distance
    out["load_average_after"] = os.getloadavg()[0]
    print(json.dumps(out, indent=1))


def _spread_errors(read, truth, names):
    """{factor: RMS(read - truth) / spread of truth}; hue wrapped and in units of 1/sqrt(12)."""
    out = {}
    for name in names:
        r, t = np.asarray(read[name], np.float64), np.asarray(truth[name], np.float64)
        if name == "background_hue":
            out[name] = float(np.sqrt(np.mean(((r - t + 0.5) % 1.0 - 0.5) ** 2)) / np.sqrt(1 / 12))
        else:
            out[name] = float(np.sqrt(np.mean((r - t) ** 2)) / np.std(t))
    return out


def truth(args):
    from stylegan_tf import pretrained
    from stylegan_tf.data import faces
    from stylegan_tf.generation import viz
    from stylegan_tf.generation.figures import style_ranges
    from stylegan_tf.metrics.ppl import probe_distance
    from stylegan_tf.metrics.probe import HELD_OUT_SEED, PROBE_FACTORS, predict_factors, training_images
    from stylegan_tf.projection import project

    reals, labels = training_images(args.num_images, HELD_OUT_SEED)
    truth_f = {name: labels[name].astype(np.float64) for name in PROBE_FACTORS}
    coarse = [f[0] for f in faces.FACTORS if f[4] == "coarse"]
    fine = [f[0] for f in faces.FACTORS if f[4] == "fine"]
    nxt = np.roll(np.arange(args.num_images), -1)  # A = image i + 1 gives its coarse styles to B = image i
    result = {"num_images": args.num_images, "steps": args.steps, "seed": args.seed, "rows": {},
              "ceiling_probe_on_reals": _spread_errors(predict_factors(reals), truth_f, PROBE_FACTORS)}
    shown, editing = {}, {}
    for model in args.models:
        G = pretrained.load(model)
        z = np.random.RandomState(args.seed).randn(args.num_images, G.z_dim).astype(np.float32)
        samples = np.asarray(G(z, truncation_psi=1, noise_mode="const"))
        result["rows"][f"{model} random samples (floor)"] = {
            "factors": _spread_errors(predict_factors(samples), truth_f, PROBE_FACTORS)}
        for space in ("w", "w+"):
            start, cpu = time.perf_counter(), time.process_time()
            p = project(G, reals, space=space, steps=args.steps, seed=args.seed)
            mse = np.mean((p.images - reals) ** 2, axis=(1, 2, 3))
            coarse_layers = list(style_ranges(G.num_ws)["coarse"])
            mixed_ws = p.ws.copy()
            mixed_ws[:, coarse_layers] = p.ws[nxt][:, coarse_layers]
            mixed = np.asarray(G.synthesis(mixed_ws, noise=p.noise))
            read_mixed = predict_factors(mixed)
            a_truth = {k: v[nxt] for k, v in truth_f.items()}
            w_dist = np.linalg.norm(p.ws - np.asarray(G.w_avg)[None, None], axis=-1).mean()  # from the tracked mean
            w_dist_samples = np.linalg.norm(np.asarray(G.mapping(z)) - np.asarray(G.w_avg), axis=-1).mean()
            result["rows"][f"{model} {space.upper()}"] = {
                "psnr_db": float(np.mean(10 * np.log10(4.0 / mse))), "probe_distance": float(
                    np.mean(probe_distance(p.images, reals))), "final_loss": float(p.loss[-1].mean()),
                "factors": _spread_errors(predict_factors(p.images), truth_f, PROBE_FACTORS),
                "mixing_coarse_vs_A": _spread_errors(read_mixed, a_truth, coarse),
                "mixing_fine_vs_B": _spread_errors(read_mixed, truth_f, fine),
                "w_distance_to_w_avg_over_samples": float(w_dist / w_dist_samples),
                "distance": p.distance, "wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}
            print(model, space, json.dumps({k: v for k, v in result["rows"][f"{model} {space.upper()}"].items()
                                            if not isinstance(v, dict)}), flush=True)
            shown[(model, space)] = p.images[:args.show]
            if model == args.models[0]:
                editing[space] = (G, p, mixed)
            _write_json(args.out, result)  # after every row, so a long run that stops keeps what it measured
        _figures(args, reals, shown, editing, viz, nxt)


def _write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)
    print(path)


def _figures(args, reals, shown, editing, viz, nxt):
    keys = list(shown)
    cells = np.stack([reals[:args.show]] + [shown[k] for k in keys], axis=1)  # [show, 1 + K, R, R, 3]
    viz.save_png(os.path.join(args.img_dir, "projection_reconstruction.png"), viz.annotated_figure(
        np.clip(cells, -1, 1), row_labels=[f"held-out {i}" for i in range(args.show)],
        col_labels=["real"] + [f"{m} in {s.upper()}" for m, s in keys],
        title=f"Projection of held-out real faces, {args.steps} steps"))
    psis = (0.7, 0.4, 0.0)
    rows, labels = [], []
    for space, (G, p, mixed) in editing.items():
        for i in range(3):
            a = nxt[i]
            sweep = [np.asarray(G.synthesis(G.truncate(p.ws[i:i + 1], psi, G.truncation_cutoff),
                                            noise=[None if v is None else v[i:i + 1] for v in p.noise]))[0]
                     for psi in psis]
            rows.append([reals[i], reals[a], p.images[i], p.images[a], mixed[i]] + sweep)
            labels.append(f"pair {i}, {space.upper()}")
    viz.save_png(os.path.join(args.img_dir, "projection_editing.png"), viz.annotated_figure(
        np.clip(np.asarray(rows), -1, 1), row_labels=labels,
        col_labels=["real B", "real A", "B projected", "A projected", "B with A's\ncoarse styles"]
        + [f"B, psi = {psi:g}" for psi in psis],
        title=f"Editing projected real faces ({args.models[0]}): style mixing and truncation"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--steps", type=int, default=1000)
    s.add_argument("--batch", type=int, default=8)
    t = sub.add_parser("truth")
    t.add_argument("--num-images", type=int, default=200)
    t.add_argument("--steps", type=int, default=1000)
    t.add_argument("--models", nargs="+", default=["F", "E"])
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--show", type=int, default=6)
    t.add_argument("--out", default=os.path.join(ROOT, "docs", "projection_truth.json"),
                   help="the JSON written after every row (default docs/projection_truth.json)")
    t.add_argument("--img-dir", default=os.path.join(ROOT, "docs", "img"), help="where the two figures go")
    args = parser.parse_args(argv)
    (speed if args.what == "speed" else truth)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
