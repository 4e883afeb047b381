"""Where the time of `python -m stylegan_tf train` goes: the demo step's kernels and the whole run's phases.

Two parts (issue 25, point 1):

`--step` (default): the demo step, one D step with R1 plus one G step with style mixing and the G_ema
update at 32 px, batch 16, preset F at the demo widths (the row F-32-demo of train_throughput.py), in
its own process per oneDNN setting (TF_ENABLE_ONEDNN_OPTS=0 and =1: the two configurations of an
AVX2-only CPU). It prints
  - the ops of the traced step graph (top-level graph plus its functions: gradients, conds), by type;
  - CPU-s/img and img/s of untraced steps;
  - from a `tf.profiler` trace of `--trace-steps` steps: the kernels run per step and their summed
    thread time by class (3x3 convs and their gradients, depthwise blur convs, matmuls, element-wise
    and reductions, variable reads/writes, random), the TF executor's own time around the kernels,
    and what is left of the process CPU time (Python, eager dispatch, thread-pool wake-ups and spinning,
    the profiler itself). Thread times come from the trace, so they are inflated by it by ~1.5x:
    read them as shares, and CPU-s/img from the untraced loop.

`--run`: the whole bare command, shortened: the CLI's own RunLog and Checkpointer around a Trainer with
the demo config at 2 kimg per phase instead of 10 (`--phase-kimg`), ticks every 0.5 kimg and a
checkpoint every 2 (so every kind of work happens several times), timing each kind of work by wall and
process CPU: the first call of each step (tracing and compiling at each new resolution), the other
steps per resolution, the data pipeline (making it, and waiting for batches), the tick work (sample
grid, log line, scalars), the checkpoints. It then prints the same costs projected onto the bare
command's schedule (its numbers of steps per resolution, ticks, checkpoints and traces). tf.data
threads run beside the step, so CPU-seconds read around a phase include their work.

    python benchmarks/profile_step.py                      # the step, oneDNN off and on
    python benchmarks/profile_step.py --run --out /tmp/prof_run
    TF_ENABLE_ONEDNN_OPTS=1 python benchmarks/profile_step.py --child-step   # one setting, this process
"""

import argparse
import collections
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

BATCH, RES = 16, 32
CLASSES = [  # (class, op types), first match wins; the rest is "element-wise, reductions, other"
    ("3x3 convs (fwd, grads)", ("Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput", "_FusedConv2D",
                                "_MklNativeConv2D", "_MklNativeConv2DBackpropFilter",
                                "_MklNativeConv2DBackpropInput", "_MklNativeFusedConv2D")),
    ("blur (depthwise convs)", ("DepthwiseConv2dNative", "DepthwiseConv2dNativeBackpropInput",
                                "DepthwiseConv2dNativeBackpropFilter", "_MklNativeDepthwiseConv2dNative")),
    ("matmuls (mapping, dense)", ("MatMul", "_MklMatMul", "_MklNativeMatMul", "BatchMatMulV2")),
    ("optimizer (Adam)", ("ResourceApplyAdam",)),
    ("variable reads/writes", ("ReadVariableOp", "AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp",
                               "VarHandleOp", "Identity")),
    ("random", ("StatelessRandomNormalV2", "StatelessRandomUniformV2", "StatelessRandomGetKeyCounter",
                "StatelessRandomUniformFullIntV2", "StatelessRandomUniformIntV2")),
]


def op_class(op):
    for name, ops in CLASSES:
        if op in ops:
            return name
    return "element-wise, reductions, other"


def make_trainer(cfg=None):
    import tensorflow as tf

    from stylegan_tf.training.trainer import Trainer
    from train_throughput import row_config

    trainer = Trainer(cfg or row_config("F-32-demo"))
    for net in (trainer.G, trainer.D, trainer.G_ema):
        net.lod.assign(0.0)
    reals = tf.random.stateless_uniform([BATCH, RES, RES, 3], [1, 2], -1.0, 1.0)
    return trainer, trainer.train_step(RES, BATCH), reals


def graph_ops(step, reals):
    """Op type -> count in the traced step: its graph and every function in its library."""
    gd = step.get_concrete_function(reals).graph.as_graph_def()
    counts = collections.Counter(n.op for n in gd.node)
    for f in gd.library.function:
        counts.update(n.op for n in f.node_def)
    return counts


def trace_kernels(step, reals, steps):
    """Per step: {"kernels": n, "kernel_s", "executor_s", "cpu_s", "wall_s", "by_class": {..}, "by_op": {..}}."""
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    logdir = tempfile.mkdtemp(prefix="profile_step_")
    tf.profiler.experimental.start(logdir)
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(steps):
        step(reals)["G_loss"].numpy()
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    with open(sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True))[-1], "rb") as f:
        space.ParseFromString(f.read())
    plane = next(p for p in space.planes if p.name == "/host:CPU")
    names = plane.event_metadata
    executor = kernel = 0
    by_op, count = collections.Counter(), collections.Counter()
    for line in plane.lines:
        if not line.name.startswith("tf_Compute"):  # the executor's threads (intra-op workers show no events)
            continue
        for e in line.events:
            name = names[e.metadata_id].name
            if name == "ExecutorState::Process":
                executor += e.duration_ps
            elif ":" in name and "::" not in name:  # "node name:OpType", one per kernel run
                op = name.rsplit(":", 1)[1]
                by_op[op] += e.duration_ps
                count[op] += 1
                kernel += e.duration_ps
    by_class = collections.Counter()
    for op, ps in by_op.items():
        by_class[op_class(op)] += ps
    s = 1e-12 / steps
    return {"kernels": sum(count.values()) / steps, "kernel_s": kernel * s, "executor_s": (executor - kernel) * s,
            "cpu_s": cpu / steps, "wall_s": wall / steps,
            "by_class": {k: v * s for k, v in by_class.most_common()},
            "by_op": {k: [v * s, count[k] / steps] for k, v in by_op.most_common(15)}}


def child_step(args):
    trainer, step, reals = make_trainer()
    t0 = time.perf_counter()
    step(reals)["G_loss"].numpy()
    first = time.perf_counter() - t0
    ops = graph_ops(step, reals)
    for _ in range(args.warmup):
        step(reals)["G_loss"].numpy()
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(args.steps):
        out = step(reals)
    out["G_loss"].numpy()
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    result = {"onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"), "first_step_s": first,
              "cpu_s_per_img": cpu / (args.steps * BATCH), "img_per_s": args.steps * BATCH / wall,
              "graph_ops": sum(ops.values()), "graph_ops_by_type": dict(ops.most_common(12)),
              "load": os.getloadavg()[0]}
    result["trace"] = trace_kernels(step, reals, args.trace_steps)
    # per-step (framework) and per-image (kernel) cost from the CPU time of batch 4 and batch 16 steps:
    # cpu(B) = fixed + B * per_image; the profiler's thread times are wall times, inflated on a loaded CPU
    small = 4
    step_small = trainer.train_step(RES, small)
    step_small(reals[:small])["G_loss"].numpy()
    for _ in range(args.warmup):
        step_small(reals[:small])["G_loss"].numpy()
    c0 = time.process_time()
    for _ in range(args.steps):
        out = step_small(reals[:small])
    out["G_loss"].numpy()
    cpu_small = (time.process_time() - c0) / args.steps
    cpu_big = result["cpu_s_per_img"] * BATCH
    per_image = (cpu_big - cpu_small) / (BATCH - small)
    result["scaling"] = {"cpu_s_per_step_b4": cpu_small, "cpu_s_per_step_b16": cpu_big,
                         "fixed_cpu_s_per_step": cpu_big - BATCH * per_image, "cpu_s_per_image": per_image}
    result["load_end"] = os.getloadavg()[0]
    print("RESULT " + json.dumps(result), flush=True)


def print_step(r):
    t = r["trace"]
    print(f"\nTF_ENABLE_ONEDNN_OPTS={r['onednn']}  (load average {r['load']:.1f})")
    print(f"  untraced: {r['cpu_s_per_img']:.4f} CPU-s/img, {r['img_per_s']:.0f} img/s; trace + first step "
          f"{r['first_step_s']:.1f} s")
    print(f"  traced graph: {r['graph_ops']} ops; most common: " +
          ", ".join(f"{k} {v}" for k, v in r["graph_ops_by_type"].items()))
    sc = r["scaling"]
    print(f"  CPU per step at batch 4 and 16: {sc['cpu_s_per_step_b4']*1000:.0f} and {sc['cpu_s_per_step_b16']*1000:.0f}"
          f" ms: {sc['fixed_cpu_s_per_step']*1000:.0f} ms per step whatever the batch (framework, per-op and "
          f"per-weight work) + {sc['cpu_s_per_image']*1000:.1f} ms per image (kernels on activations); load at "
          f"the end {r['load_end']:.1f}")
    print(f"  per step, under the profiler: {t['kernels']:.0f} kernels run, wall {t['wall_s']*1000:.0f} ms, "
          f"process CPU {t['cpu_s']*1000:.0f} ms; thread time (wall, so inflated when the CPU is shared):")
    total = t["kernel_s"] + t["executor_s"]
    rows = [*t["by_class"].items(), ("TF executor around the kernels", t["executor_s"])]
    for name, sec in rows:
        print(f"    {name:60s} {sec*1000:7.1f} ms  {100*sec/total:5.1f} %")
    print("  slowest op types (thread ms per step, runs per step): " +
          ", ".join(f"{k} {v[0]*1000:.1f}/{v[1]:.0f}" for k, v in list(t["by_op"].items())[:10]))


def run_step_profile(args):
    settings = [args.onednn] if args.onednn else ["0", "1"]
    results = []
    for setting in settings:
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": setting}
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child-step", f"--steps={args.steps}",
                               f"--warmup={args.warmup}", f"--trace-steps={args.trace_steps}"],
                              capture_output=True, text=True, env=env)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not lines:
            print(f"oneDNN {setting}: failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-3:]}")
            continue
        r = json.loads(lines[-1][7:])
        results.append(r)
        if args.json:
            print(json.dumps(r), flush=True)
        else:
            print_step(r)
    return results


class _Timer:
    """Accumulates wall and process-CPU seconds and calls per phase name."""

    def __init__(self):
        self.wall, self.cpu, self.calls = collections.Counter(), collections.Counter(), collections.Counter()

    def wrap(self, name, fn):
        def timed(*a, **kw):
            key = name(*a, **kw) if callable(name) else name
            c0, t0 = time.process_time(), time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.wall[key] += time.perf_counter() - t0
                self.cpu[key] += time.process_time() - c0
                self.calls[key] += 1
        return timed


def run_whole(args):
    """The bare command, shortened, timed phase by phase; then projected onto the bare schedule."""
    import dataclasses

    from stylegan_tf import preset
    from stylegan_tf.training.checkpoint import Checkpointer
    from stylegan_tf.training.run_log import RunLog
    from stylegan_tf.training.schedule import phase_at
    from stylegan_tf.training.trainer import Trainer

    bare = preset("F", "demo")
    k = args.phase_kimg
    cfg = dataclasses.replace(bare, lod_training_kimg=k, lod_transition_kimg=k, total_kimg=5 * k,
                              tick_kimg=k / 4, checkpoint_kimg=k)
    os.makedirs(args.out, exist_ok=True)
    timer = _Timer()
    c_start, t_start = time.process_time(), time.perf_counter()
    checkpointer = Checkpointer(args.out, keep=cfg.keep_checkpoints)
    log = RunLog(args.out, cfg, progress=False)
    trainer = Trainer(cfg, out_dir=args.out, checkpointer=checkpointer, log=log)
    timer.wall["build G, D, optimizers"] += time.perf_counter() - t_start
    timer.cpu["build G, D, optimizers"] += time.process_time() - c_start
    timer.calls["build G, D, optimizers"] += 1
    seen = set()

    def step_name(res, batch):
        return lambda reals: (f"step {res} px" if (res, batch) in seen else f"trace + first step {res} px")

    make_step = trainer.train_step

    def train_step(res, batch):
        fn = make_step(res, batch)
        timed = timer.wrap(step_name(res, batch), fn)

        def call(reals):
            try:
                return timed(reals)
            finally:
                seen.add((res, batch))
        return call

    trainer.train_step = train_step
    make_batches = trainer.make_batches

    class TimedBatches:
        def __init__(self, ds):
            self.it = iter(ds)

        def __iter__(self):
            return self

        def __next__(self):
            return timer.wrap("data: wait for a batch", self.it.__next__)()

    trainer.make_batches = lambda *a, **kw: TimedBatches(timer.wrap("data: make the pipeline", make_batches)(*a, **kw))
    if hasattr(log, "write_grid"):
        log.write_grid = timer.wrap("tick: sample grid (G_ema forward, PNG)", log.write_grid)
    log.tick = timer.wrap("tick: all of it (grid included)", log.tick)
    checkpointer.save = timer.wrap("checkpoint", checkpointer.save)
    c0, t0 = time.process_time(), time.perf_counter()
    trainer.train(progress=False)
    total_wall, total_cpu = time.perf_counter() - t0, time.process_time() - c0

    # the bare schedule's counts: steps per resolution, ticks, checkpoints, traces
    steps, nimg = collections.Counter(), 0
    while nimg < bare.total_kimg * 1000:
        ph = phase_at(nimg, bare)
        steps[ph.resolution] += 1
        nimg += ph.batch_size
    short_steps, nimg = collections.Counter(), 0
    while nimg < cfg.total_kimg * 1000:
        ph = phase_at(nimg, cfg)
        short_steps[ph.resolution] += 1
        nimg += ph.batch_size
    per_run = {"ticks": (bare.total_kimg / bare.tick_kimg, cfg.total_kimg / cfg.tick_kimg),
               "checkpoints": (bare.total_kimg / bare.checkpoint_kimg, cfg.total_kimg / cfg.checkpoint_kimg)}
    print(f"\nshortened bare run: {cfg.total_kimg:g} kimg ({k:g} kimg per phase), {total_wall:.0f} s wall, "
          f"{total_cpu:.0f} CPU-s (load average {os.getloadavg()[0]:.1f})")
    print(f"  {'phase':42s} {'calls':>6s} {'wall s':>8s} {'CPU-s':>8s}   {'bare: calls':>11s} {'CPU-s':>8s}")
    projected = 0.0
    data_calls = sum(short_steps.values())
    for key in sorted(timer.wall, key=lambda key: -timer.cpu[key]):
        calls, wall, cpu = timer.calls[key], timer.wall[key], timer.cpu[key]
        if key.startswith("step "):
            res = int(key.split()[1])
            n = steps[res]
            per = cpu / calls
        elif key.startswith("tick"):
            n, per = per_run["ticks"][0], cpu / calls
        elif key == "checkpoint":
            n, per = per_run["checkpoints"][0] + 0, cpu / calls
        elif key == "data: wait for a batch":
            n, per = sum(steps.values()), cpu / max(data_calls, 1)
        else:  # traces, pipelines, building: once per resolution or run, as here
            n, per = calls, cpu / calls
        if not key.startswith("tick: sample"):
            projected += n * per
        print(f"  {key:42s} {calls:6d} {wall:8.1f} {cpu:8.1f}   {n:11.0f} {n * per:8.0f}")
    grid = "tick: sample grid (G_ema forward, PNG)"  # inside the tick's time: counted once
    rest_wall = total_wall - sum(timer.wall.values()) + timer.wall[grid] + timer.wall["build G, D, optimizers"]
    rest_cpu = total_cpu - sum(timer.cpu.values()) + timer.cpu[grid] + timer.cpu["build G, D, optimizers"]
    print(f"  {'the rest (loop, lod and lr assigns, progress)':42s} {'':6s} {rest_wall:8.1f} {rest_cpu:8.1f}")
    print(f"  projected onto the bare command ({bare.total_kimg:g} kimg, steps per resolution "
          f"{dict(sorted(steps.items()))}): about {projected:.0f} CPU-s (the grid is inside the tick line)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="store_true", help="time the phases of a shortened bare run instead")
    ap.add_argument("--out", default=None, help="--run: run folder (default: a temporary one)")
    ap.add_argument("--phase-kimg", type=float, default=2.0, help="--run: kimg per phase (the bare command: 10)")
    ap.add_argument("--onednn", choices=["0", "1"], help="profile the step with this TF_ENABLE_ONEDNN_OPTS only")
    ap.add_argument("--steps", type=int, default=20, help="untraced timed steps (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps after the first (default 3)")
    ap.add_argument("--trace-steps", type=int, default=5, help="steps under the profiler (default 5)")
    ap.add_argument("--json", action="store_true", help="print the step results as JSON")
    ap.add_argument("--child-step", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_step:
        import stylegan_tf  # noqa: F401  (its TF_ENABLE_ONEDNN_OPTS default, before TensorFlow loads)

        child_step(args)
    elif args.run:
        args.out = args.out or tempfile.mkdtemp(prefix="profile_run_")
        run_whole(args)
    else:
        print(f"demo step: preset F, demo widths, {RES} px, batch {BATCH}; {os.cpu_count()} CPUs", flush=True)
        run_step_profile(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
