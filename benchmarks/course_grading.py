"""Seconds and CPU-seconds to autograde one submission of each chapter in fast mode (what `course grade --fast` costs).

    python benchmarks/course_grading.py                       # every chapter, one submission each
    python benchmarks/course_grading.py --chapters 01 05      # some chapters
    python benchmarks/course_grading.py --students 3          # three identical submissions per chapter
    python benchmarks/course_grading.py --notebooks DIR       # the chapters of another folder (e.g. a commit's)

Generates a course of the chosen chapters in a scratch folder, submits each chapter's solution notebook as
`--students` students, and times `stylegan_tf.course.autograde(..., fast=True)` one chapter at a time: wall
seconds, and CPU seconds of this process and of the kernels it started and reaped (user + system, children
included), divided by the number of submissions. The 1-minute load average is printed before and after each
chapter: on a shared machine the wall time depends on it, while the CPU-seconds are roughly what an idle machine
needs (wall ~ CPU-seconds on one core; nbgrader grades one notebook at a time). The embedded dataset's fast-mode
cache is built in the scratch folder by a first, untimed chapter-01 submission (`--no-warm` skips it).
Figures and their conditions: docs/course.md ("Grading time").
"""

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path


def cpu_seconds():
    """User + system CPU seconds of this process and of its reaped children (the kernels nbgrader started)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", nargs="+", help="chapter numbers (default: every chapter)")
    parser.add_argument("--students", type=int, default=1, help="submissions per chapter (default 1)")
    parser.add_argument("--no-warm", action="store_true", help="skip the untimed warm-up submission")
    parser.add_argument("--notebooks", metavar="DIR", help="the folder of the chapters (default: the checkout's)")
    parser.add_argument("--keep", metavar="DIR", help="build the course in DIR and keep it (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.students < 1:
        parser.error("--students must be at least 1")

    from stylegan_tf.course import autograde, generate_course, select_chapters

    chapters = select_chapters(args.chapters, args.notebooks)
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="course_grading-"))
    os.environ["STYLEGAN_TF_DATA_DIR"] = str(root / "data")  # the fast-mode dataset cache, built once
    course = root / "course"
    names = generate_course(course, list(chapters), force=course.exists(), notebooks=args.notebooks)

    def submit(name, student):
        target = course / "submitted" / student / name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(course / "source" / name / f"{name}.ipynb", target / f"{name}.ipynb")

    if not args.no_warm:
        submit(names[0], "warmup")
        autograde(course, [names[0]], ["warmup"], fast=True, force=True)
        shutil.rmtree(course / "submitted" / "warmup")
    students = [f"student{k + 1}" for k in range(args.students)]
    print(f"{'chapter':<36} {'s / submission':>14} {'CPU-s / submission':>19}  {'score':>9}  load before -> after")
    rows = []
    for name in names:
        for student in students:
            submit(name, student)
        load = os.getloadavg()[0]
        start_wall, start_cpu = time.perf_counter(), cpu_seconds()
        results = autograde(course, [name], students, fast=True, force=True)
        wall, cpu = (time.perf_counter() - start_wall) / len(students), (cpu_seconds() - start_cpu) / len(students)
        score = results[0]
        rows.append((wall, cpu))
        print(f"{name:<36} {wall:14.1f} {cpu:19.1f}  {score.score:4g} / {score.auto_max_score:<3g}  "
              f"{load:.1f} -> {os.getloadavg()[0]:.1f}", flush=True)
    total = f"all {len(names)} chapters"
    print(f"{total:<36} {sum(r[0] for r in rows):14.1f} {sum(r[1] for r in rows):19.1f}  ({os.cpu_count()} CPUs)")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
