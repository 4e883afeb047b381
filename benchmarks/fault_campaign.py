"""Fault campaign: kill, corrupt and feed bad input to stylegan_tf as a careful user would; print the figures.

    python benchmarks/fault_campaign.py [--kills 10] [--work DIR] [--parts 1,2,3,4,5,6]

1. SIGKILL: a tiny 8 -> 16 px run (batch 4, 12 steps, a checkpoint every 2 steps) is run once
   uninterrupted; then `--kills` runs are each SIGKILLed once, at a random moment after their first
   checkpoint (every other trial: the moment a checkpoint's temporary folder appears, i.e. during a
   checkpoint write), and continued with `--resume`. Reported: k/N resumed to the end, and k/N whose final
   checkpoint equals the uninterrupted run's in every variable, bit for bit.
2. Corrupted checkpoints: the newest checkpoint of a finished run is damaged in each of several ways;
   recovered = the CLI's path (`latest_readable`, then `Checkpointer.restore_latest` from there) restores
   the one before, with exactly one warning naming the damaged one and a plain reason (no TensorFlow text).
3. Bad images: one entry per kind of bad input in a folder and a .zip (hidden files and folders included);
   reported = listed in `prepare`'s skipped list with a reason in words (no object repr).
4. Bad CLI inputs: one-line errors = exit status 2 and exactly one line on stderr, no traceback.
5. Peak memory (max RSS of the process) of `prepare` on a 144 Mpx PNG bomb and on a zip holding a 1 GiB
   member, next to `prepare` on one ordinary image.
6. Leftovers: `--resume` in a run folder killed before its first checkpoint trains from 0 with a note;
   the reference run's captured stderr (not a terminal) holds plain progress lines, no carriage returns.

Measured figures are in the closing note of the issue this script was written for; rerun to check them.
"""

import argparse
import contextlib
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np

RUN = ["--preset", "F", "--defaults", "tiny", "--resolution", "16", "--seed", "3", "--data", "synthetic-faces:10",
       "--kimg", "0.048", "--no-progress", "--set", "lod_initial_resolution=8", "--set", "checkpoint_kimg=0.008",
       "--set", "tick_kimg=0.008", "--set", "keep_checkpoints=3"]


def train_cmd(out, *extra):
    return [sys.executable, "-m", "stylegan_tf", "train", "--out", out, *RUN, *extra]


def final_variables(out):
    import tensorflow as tf

    from stylegan_tf.training.checkpoint import list_checkpoints

    reader = tf.train.load_checkpoint(os.path.join(list_checkpoints(out)[-1], "ckpt"))
    return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map() if "OBJECT_GRAPH" not in k}


def kill_trials(work, n, env, rng):
    from stylegan_tf.training.checkpoint import list_checkpoints

    ref = reference_run(work, env)
    expected = final_variables(ref)
    resumed = exact = 0
    for trial in range(n):
        out = os.path.join(work, f"kill{trial}")
        proc = subprocess.Popen(train_cmd(out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ckpt_dir = os.path.join(out, "checkpoints")
        while not list_checkpoints(out) and proc.poll() is None:
            time.sleep(0.01)
        during_write = trial % 2 == 1
        if during_write:  # the moment the next checkpoint's temporary folder appears
            while proc.poll() is None and not any(n.startswith(".tmp-ckpt") for n in os.listdir(ckpt_dir)):
                time.sleep(0.002)
        else:
            time.sleep(rng.uniform(0.0, 4.0))
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        done = subprocess.run(train_cmd(out, "--resume"), env=env, capture_output=True, text=True)
        ok = done.returncode == 0 and "Traceback" not in done.stderr
        same = ok and _same(final_variables(out), expected)
        resumed += ok
        exact += same
        print(f"  trial {trial}: {'killed' if killed else 'finished before the kill'}"
              f"{' during a checkpoint write' if during_write else ''}; resumed {ok}, bit-exact {same}", flush=True)
    return resumed, exact


def reference_run(work, env):
    """The uninterrupted run (once per work folder), with progress on: its stderr is captured, not a terminal."""
    ref = os.path.join(work, "ref")
    if not os.path.isdir(ref):
        start = time.time()
        done = subprocess.run([a for a in train_cmd(ref) if a != "--no-progress"], env=env, check=True,
                              capture_output=True)  # bytes: text mode would turn each \r into a line end
        open(os.path.join(work, "ref_stderr.txt"), "wb").write(done.stderr)
        print(f"  uninterrupted reference run: {time.time() - start:.0f} s", flush=True)
    return ref


def _same(a, b):
    return set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)


def _flip(path):
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))


DAMAGE = {
    "data file truncated": lambda d: open(_data(d), "r+b").truncate(os.path.getsize(_data(d)) // 2),
    "data file bit-flipped": lambda d: _flip(_data(d)),
    "data file emptied": lambda d: open(_data(d), "wb").close(),
    "index missing": lambda d: os.remove(os.path.join(d, "ckpt.index")),
    "index garbled": lambda d: open(os.path.join(d, "ckpt.index"), "wb").write(os.urandom(256)),
    "index bit-flipped": lambda d: _flip(os.path.join(d, "ckpt.index")),
    "data file missing": lambda d: os.remove(_data(d)),
    "config.json garbled": lambda d: open(os.path.join(d, "config.json"), "w").write("{garbled"),
    "config.json missing": lambda d: os.remove(os.path.join(d, "config.json")),
    "state.json missing": lambda d: os.remove(os.path.join(d, "state.json")),
    "state.json garbled": lambda d: open(os.path.join(d, "state.json"), "w").write("[1, 2"),
    "state.json of another count": lambda d: open(os.path.join(d, "state.json"), "w").write('{"cur_nimg": 5}'),
}
TF_INTERNALS = ("{{", "function_node", "/job:", "Op:", "Error:", "Error ")  # what a plain reason never holds


def _data(d):
    return os.path.join(d, next(n for n in os.listdir(d) if n.startswith("ckpt.data")))


def corrupted_checkpoints(work, env):
    from stylegan_tf import StyleGANConfig
    from stylegan_tf.training.checkpoint import Checkpointer, latest_readable, list_checkpoints
    from stylegan_tf.training.trainer import Trainer

    ref = reference_run(work, env)
    trainer = Trainer(StyleGANConfig.from_json(open(os.path.join(ref, "config.json")).read()))
    recovered = 0
    for k, (kind, damage) in enumerate(DAMAGE.items()):
        run = os.path.join(work, f"damaged{k}")
        shutil.copytree(ref, run)
        ckpts = list_checkpoints(run)
        damage(ckpts[-1])
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                newest, _ = latest_readable(run)  # what the CLI reads before TensorFlow work
                got = Checkpointer(run, keep=3).restore_latest(trainer, newest=newest)  # and then restores
            lines = [x for x in err.getvalue().splitlines() if x.strip()]
            plain = len(lines) == 1 and not any(t in lines[0] for t in TF_INTERNALS)
            ok = got == ckpts[-2] and plain and ckpts[-1] in lines[0] and os.path.isdir(ckpts[-1] + ".damaged")
            got = got if not lines else lines
        except Exception as e:  # noqa: BLE001 - any exception is a failure to recover
            ok, got = False, f"{type(e).__name__}: {e}"
        recovered += ok
        reason = lines[0].split(" is damaged ")[-1] if ok else ""
        print(f"  {kind}: {'recovered, one warning: ' + reason if ok else 'NOT recovered: ' + str(got)[:300]}",
              flush=True)
    return recovered, len(DAMAGE)


def _png(size=(20, 20)):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(buf, format="PNG")
    return buf.getvalue()


def _bomb_png(side=12_000):
    import struct
    import zlib

    data = bytearray(_png((1, 1)))
    data[16:24] = struct.pack(">II", side, side)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def bad_images(work):
    from stylegan_tf.data import image_files, prepare

    src = os.path.join(work, "bad_images")
    os.makedirs(os.path.join(src, "locked"))
    w = lambda name, data: open(os.path.join(src, name), "wb").write(data)  # noqa: E731
    w("good.png", _png())
    png = _png((64, 64))
    kinds = {"random bytes as .jpg": ("random.jpg", lambda: w("random.jpg", os.urandom(500))),
             "empty file": ("empty.png", lambda: w("empty.png", b"")),
             "truncated PNG": ("trunc.png", lambda: w("trunc.png", png[: len(png) // 2])),
             "PNG with a bad CRC": ("crc.png", lambda: w("crc.png", png[:40] + bytes([png[40] ^ 1]) + png[41:])),
             "HTML named .jpg": ("page.jpg", lambda: w("page.jpg", b"<html><body>404</body></html>")),
             "PDF named .png": ("doc.png", lambda: w("doc.png", b"%PDF-1.4\n%...")),
             "text file": ("notes.txt", lambda: w("notes.txt", b"hello")),
             "too small": ("small.png", lambda: w("small.png", _png((8, 8)))),
             "144 Mpx PNG bomb": ("bomb.png", lambda: w("bomb.png", _bomb_png())),
             "symbolic link loop": ("loop1.png", lambda: (os.symlink("loop2.png", os.path.join(src, "loop1.png")),
                                                          os.symlink("loop1.png", os.path.join(src, "loop2.png")))),
             "dangling symbolic link": ("dangling.png", lambda: os.symlink("nowhere.png", os.path.join(src, "dangling.png"))),
             "link to a folder": ("linkdir", lambda: os.symlink(os.path.join(src, "locked"), os.path.join(src, "linkdir"))),
             "FIFO": ("fifo.png", lambda: os.mkfifo(os.path.join(src, "fifo.png"))),
             "folder named .png": ("dir.png", lambda: os.mkdir(os.path.join(src, "dir.png"))),
             "hidden file": (".hidden.png", lambda: w(".hidden.png", _png())),
             "hidden folder": (".cache", lambda: (os.mkdir(os.path.join(src, ".cache")),
                                                  w(os.path.join(".cache", "a.png"), _png()))),
             "unreadable folder": ("locked", lambda: None)}
    for _, make in kinds.values():
        make()
    scandir = os.scandir
    os.scandir = lambda p=".": (_ for _ in ()).throw(PermissionError(13, "Permission denied", str(p))) \
        if str(p).endswith("locked") else scandir(p)  # root reads everything: simulate a folder without r
    try:
        summary = prepare.prepare_dataset(src, os.path.join(work, "bad_out"), 16, progress=False)
    finally:
        os.scandir = scandir
    skipped = dict(summary["skipped"])
    zpath = os.path.join(work, "bad.zip")
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("good.png", _png())
        z.writestr("../escape.png", _png())
        z.writestr("/abs.png", _png())
        z.writestr("folder.png/", b"")
        z.writestr("big.png", b"\0" * 4096)
        z.writestr("__MACOSX/._good.png", _png())
    image_files.MAX_FILE_BYTES, limit = 1024, image_files.MAX_FILE_BYTES  # a small bound stands in for 256 MiB
    try:
        zskipped = dict(prepare.prepare_dataset(zpath, os.path.join(work, "bad_zip_out"), 16, progress=False)["skipped"])
    finally:
        image_files.MAX_FILE_BYTES = limit
    zkinds = {"zip member with '..'": "../escape.png", "zip member with an absolute path": "/abs.png",
              "zip folder named .png": "folder.png/", "zip member over the size bound": "big.png",
              "zip hidden member": "__MACOSX/._good.png"}
    reported = 0
    for kind, name in [(k, v[0]) for k, v in kinds.items()] + list(zkinds.items()):
        reason = skipped.get(name) if name in skipped else zskipped.get(name)
        ok = bool(reason) and " at 0x" not in reason and "<" not in reason
        reported += ok
        print(f"  {kind}: {reason if ok else 'NOT REPORTED'}", flush=True)
    return reported, len(kinds) + len(zkinds)


def bad_cli(work):
    from stylegan_tf import cli

    open(os.path.join(work, "a_file"), "w").write("x")
    os.makedirs(os.path.join(work, "empty_dir"), exist_ok=True)
    open(os.path.join(work, "garbage.keras"), "wb").write(os.urandom(999))
    with zipfile.ZipFile(os.path.join(work, "whole.zip"), "w") as z:
        for k in range(3):
            z.writestr(f"img{k}.png", _png())
    data = open(os.path.join(work, "whole.zip"), "rb").read()
    open(os.path.join(work, "cut.zip"), "wb").write(data[: len(data) * 2 // 3])  # a download cut off
    f, e = os.path.join(work, "a_file"), os.path.join(work, "empty_dir")
    train = [["--kimg", v] for v in ("inf", "nan", "-1", "0")] + [["--set", s] for s in (
        "mbstd_group_size=3", "lr_base=1e39", "keep_checkpoints=0", "tick_kimg=0", "ema_kimg=-1", "adam_beta2=1.0",
        "r1_gamma=nan", "minibatch_dict={8: 0}", "colour=3", "fmap_max=wide", "resolution=48")] + [
        ["--preset", "Z"], ["--data", "/no/such"], ["--data", e], ["--data", "synthetic-faces:x"],
        ["--resolution", "512"], ["--resume", "--out", "/no/such/run"], ["--seed", "-1"]]
    cases = [["train", *a, "--dry-run"] for a in train] + [["train", "--out", f, "--kimg", "0.004"]] + [
        ["prepare", e, os.path.join(work, "p1"), "--resolution", "16"],
        ["prepare", "/no/such", os.path.join(work, "p2"), "--resolution", "16"],
        ["prepare", os.path.join(work, "bad_images"), f, "--resolution", "16"],
        ["prepare", os.path.join(work, "bad_images"), "/dev/null/x", "--resolution", "16"],
        ["prepare", os.path.join(work, "bad_images"), os.path.join(work, "p3"), "--resolution", "12"],
        ["prepare", os.path.join(work, "bad_images"), os.path.join(work, "p4"), "--resolution", "16", "--max-pixels", "0"],
        ["prepare", os.path.join(work, "cut.zip"), os.path.join(work, "p5"), "--resolution", "16"],
        ["export", os.path.join(work, "garbage.keras"), os.path.join(work, "x1")],
        ["export", "/no/such.keras", os.path.join(work, "x2")],
        ["export", os.path.join(work, "ref"), f],
        ["export", os.path.join(work, "ref"), os.path.join(work, "x3"), "--version", "0"]]
    good = 0
    for argv in cases:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = cli.main(argv)
            except BaseException as ex:  # noqa: BLE001 - a traceback is a failure
                code = f"raised {type(ex).__name__}"
        lines = [x for x in err.getvalue().splitlines() if x.strip() and not x.startswith(("warning:", "W0", "I0", "E0"))]
        ok = code == 2 and len(lines) == 1 and "Traceback" not in err.getvalue()
        good += ok
        if not ok:
            print(f"  NOT one line: {' '.join(argv)} -> {code}: {lines[-3:]}", flush=True)
    return good, len(cases)


PEAK = ("import resource, sys; from stylegan_tf.data.prepare import prepare_dataset; "
        "prepare_dataset(sys.argv[1], sys.argv[2], 16, progress=False); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


def peak_memory(work, env):
    one = os.path.join(work, "mem_one")
    os.makedirs(one)
    open(os.path.join(one, "ok.png"), "wb").write(_png())
    bomb = os.path.join(work, "mem_bomb")
    os.makedirs(bomb)
    open(os.path.join(bomb, "ok.png"), "wb").write(_png())
    open(os.path.join(bomb, "bomb.png"), "wb").write(_bomb_png())
    zpath = os.path.join(work, "mem.zip")
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("ok.png", _png())
        with z.open("huge.png", "w", force_zip64=True) as f:  # 1 GiB of zeros, ~1 MB compressed
            chunk = b"\0" * 2**20
            for _ in range(1024):
                f.write(chunk)
    out = {}
    for name, src in (("one ordinary image", one), ("144 Mpx PNG bomb", bomb), ("zip with a 1 GiB member", zpath)):
        proc = subprocess.run([sys.executable, "-c", PEAK, src, os.path.join(work, "mem_out_" + name[:3])], env=env,
                              capture_output=True, text=True, check=True)
        out[name] = int(proc.stdout.split()[-1]) / 1024  # KiB -> MiB
    return out


def leftovers(work, env):
    """--resume without a checkpoint; progress lines in a captured (non-terminal) stderr."""
    out = os.path.join(work, "first_write_killed")
    os.makedirs(os.path.join(out, "checkpoints", ".tmp-ckpt-000000.008kimg-4242"))
    first = subprocess.run(train_cmd(os.path.join(work, "cfg_only"), "--dry-run"), env=env, capture_output=True,
                           text=True, check=True)
    open(os.path.join(out, "config.json"), "w").write(first.stdout)
    done = subprocess.run(train_cmd(out, "--resume"), env=env, capture_output=True, text=True)
    from stylegan_tf.training.checkpoint import list_checkpoints

    fresh = (done.returncode == 0 and "holds no checkpoint yet; training starts from the beginning" in done.stderr
             and len(list_checkpoints(out)) == 3)
    print(f"  --resume before the first checkpoint: exit {done.returncode}, "
          f"{'trained from 0 with a note' if fresh else 'NOT as expected: ' + done.stderr[-300:]}", flush=True)
    reference_run(work, env)
    err = open(os.path.join(work, "ref_stderr.txt"), "rb").read().decode(errors="replace")
    progress = [x for x in err.split("\n") if x.startswith(("train: ", "generating "))]
    print(f"  captured stderr of the reference run: {err.count(chr(13))} carriage returns, {len(progress)} progress "
          f"line(s), {err.count(chr(10))} lines in all", flush=True)
    return fresh, err.count("\r") == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=10, help="SIGKILL trials (default 10)")
    parser.add_argument("--work", default=None, help="work folder (default: a temporary one, removed)")
    parser.add_argument("--parts", default="1,2,3,4,5,6", help="which parts to run, e.g. 2,3,4,6 (default: all)")
    args = parser.parse_args()
    parts = {int(p) for p in args.parts.split(",")}
    work = args.work or tempfile.mkdtemp(prefix="fault_campaign-")
    os.environ.setdefault("STYLEGAN_TF_DATA_DIR", os.path.join(work, "data"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env = dict(os.environ)
    load0, start = os.getloadavg(), time.time()
    print(f"load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} on {os.cpu_count()} CPUs", flush=True)
    results = []
    try:
        if 1 in parts:
            print("1. SIGKILL trials", flush=True)
            resumed, exact = kill_trials(work, args.kills, env, random.Random(0))
            results.append(f"SIGKILL trials: {resumed}/{args.kills} resumed, {exact}/{args.kills} bit-exact")
        if 2 in parts:
            print("2. corrupted checkpoints", flush=True)
            recovered, cases = corrupted_checkpoints(work, env)
            results.append(f"corrupted-checkpoint cases: {recovered}/{cases} recovered, each named once, plainly")
        if 3 in parts or 4 in parts:  # part 4 reads part 3's folder
            print("3. bad images", flush=True)
            reported, kinds = bad_images(work)
            results.append(f"bad-image kinds: {reported}/{kinds} reported")
        if 4 in parts:
            print("4. bad CLI inputs", flush=True)
            one_line, inputs = bad_cli(work)
            results.append(f"bad CLI inputs: {one_line}/{inputs} one-line errors")
        if 5 in parts:
            print("5. peak memory of prepare", flush=True)
            peaks = peak_memory(work, env)
            results.append("peak memory of prepare (max RSS, includes TensorFlow): " +
                           "; ".join(f"{k} {v:.0f} MiB" for k, v in peaks.items()))
        if 6 in parts:
            print("6. leftovers", flush=True)
            fresh, plain = leftovers(work, env)
            results.append(f"--resume before any checkpoint trains from 0: {fresh}; captured progress without "
                           f"carriage returns: {plain}")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    load1 = os.getloadavg()
    print("\n" + "\n".join(results))
    print(f"wall time {time.time() - start:.0f} s; load average at end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")


if __name__ == "__main__":
    main()
