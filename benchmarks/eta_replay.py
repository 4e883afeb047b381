"""The ETA's error on a finished run: replays its log.txt through the ETA and prints predicted against taken.

Each tick line of `log.txt` holds kimg, resolution and the time since the start; since issue 25 a tick in which a
new resolution started also ends with "(first step at R px: S s)". The replay feeds those to
`run_log.EtaModel` as the trainer did (a first step at the start of the tick whose resolution is new) and, for
comparison, computes the ETA before issue 25: the last tick's seconds per modelled cost, trace included, times the
cost left. The truth is the time of the last tick minus the time of each tick. For an older log without
first-step times, `--estimate-first-steps` takes each first tick's excess over the median pace of the next three
ticks as its first step (an assumption of the replay, said in its output).

    python benchmarks/eta_replay.py runs/demo                   # the ETA at 2, 20 and 62 kimg
    python benchmarks/eta_replay.py runs/demo --kimg 2 12 20 32 62
    python benchmarks/eta_replay.py old_run --estimate-first-steps

The log's time column starts when the run log is made, before the networks are built; the replay counts that
time before the first step as training, so its ETA at the first tick is longer than the one the run printed (the
"logged eta" column); from the second resolution on the two agree to a few per cent.

Measured (docs/training.md, "The ETA"), errors at 2 / 20 / 62 kimg: the bare command on the shared AVX2-only
machine, live -12% / +3% / +9%, before (replayed) +567% / +42% / +13%; an older bare run whose log predates the
first-step times (--estimate-first-steps): before +27% / -57% / +42%, now -79% / -19% / +19%; `--kimg 80` under
nice 19, load 8 rising to 19: live -36% / -56% / -38%, before +52% / -51% / -23%.
"""

import argparse
import os
import re
import statistics
import sys

LINE = re.compile(r"kimg\s+([\d.]+)\s+res\s+(\d+).*?time (\d+)h(\d+)m(\d+)s\s+eta (\S+)")
FIRST = re.compile(r"first step at \d+ px: ([\d.]+) s")


def read_log(path):
    """[(kimg, resolution, seconds since the start, logged ETA text, first-step seconds or None)] of log.txt."""
    rows = []
    with open(path) as f:
        for line in f:
            m = LINE.match(line)
            if m:
                k, r, h, mi, s, eta = m.groups()
                first = FIRST.search(line)
                rows.append((float(k), int(r), 3600 * int(h) + 60 * int(mi) + int(s), eta,
                             float(first.group(1)) if first else None))
    if not rows:
        raise ValueError(f"{path} holds no tick lines ('kimg ... res ... time ... eta ...')")
    return rows


def replay(cfg, rows, estimate_first_steps=False):
    """[(kimg, truth s, old ETA s, new ETA s, guessing)] at every tick; the first steps' seconds as used."""
    from stylegan_tf.training.run_log import EtaModel
    from stylegan_tf.training.schedule import remaining_cost

    model = EtaModel(cfg)
    model.start(0.0, 0)
    end = rows[-1][2]
    out, firsts = [], {}
    prev_t, prev_k, prev_res = 0.0, 0.0, None
    for i, (k, r, t, _, first) in enumerate(rows):
        if r != prev_res:  # the tick in which a new resolution started: its first step at the tick's start
            if first is None and estimate_first_steps:
                after = [(rows[j][2] - rows[j - 1][2]) / (rows[j][0] - rows[j - 1][0])
                         for j in range(i + 1, min(i + 4, len(rows)))]
                first = max((t - prev_t) - statistics.median(after) * (k - prev_k), 0.0) if after else 0.0
            if first is not None:
                model.first_step(prev_t, prev_t + first, int(round(prev_k * 1000)), cfg.minibatch_base, r)
                firsts[r] = first
            prev_res = r
        model.tick(float(t), int(round(k * 1000)), r)
        old = (t - prev_t) / remaining_cost(cfg, prev_k, k) * remaining_cost(cfg, k)
        out.append((k, end - t, old, model.seconds_left(k), model.guessing(k)))
        prev_t, prev_k = float(t), k
    return out, firsts


def _hms(seconds):
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="a run folder (config.json and log.txt)")
    ap.add_argument("--kimg", type=float, nargs="+", default=[2.0, 20.0, 62.0], help="ticks to show (default 2 20 62)")
    ap.add_argument("--estimate-first-steps", action="store_true",
                    help="for a log without first-step times: estimate them from the ticks' paces")
    args = ap.parse_args(argv)
    from stylegan_tf.config import StyleGANConfig

    with open(os.path.join(args.run, "config.json")) as f:
        cfg = StyleGANConfig.from_json(f.read())
    rows = read_log(os.path.join(args.run, "log.txt"))
    out, firsts = replay(cfg, rows, args.estimate_first_steps)
    how = "estimated from the ticks' paces" if args.estimate_first_steps and all(r[4] is None for r in rows) \
        else "from log.txt"
    print(f"{args.run}: {len(rows)} ticks, {_hms(rows[-1][2])} to the last; first steps ({how}): "
          + ", ".join(f"{r} px {s:.1f} s" for r, s in firsts.items()))
    print(f"{'kimg':>7} {'taken':>9} {'logged eta':>11} {'before':>9} {'error':>6} {'now':>10} {'error':>6}")
    logged = {k: eta for k, _, _, eta, _ in rows}
    for k, truth, old, new, guessing in out:
        if not any(abs(k - want) < 1e-6 for want in args.kimg):
            continue
        err = lambda x: f"{100 * (x - truth) / max(truth, 1.0):+5.0f}%"  # noqa: E731
        now = "?" if new is None else ("~" if guessing else "") + _hms(new)
        print(f"{k:7.1f} {_hms(truth):>9} {logged[k]:>11} {_hms(old):>9} {err(old)} {now:>10} "
              f"{err(new) if new is not None else '':>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
