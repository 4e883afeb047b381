"""`python -m stylegan_tf.course`: generate the nbgrader course folder, and autograde its submissions.

    python -m stylegan_tf.course generate [--course DIR] [--chapters 01 03 ...] [--force] [--notebooks DIR]
    python -m stylegan_tf.course grade [--course DIR] [--chapters ...] [--students ID ...] [--fast] [--force]

`generate` copies the chapters to DIR/source/ and runs nbgrader's generate step into DIR/release/.
`grade` runs nbgrader's autograde step on DIR/submitted/ (what `nbgrader collect` gathered) and prints
each submission's score. Errors are one line (set STYLEGAN_TF_DEBUG=1 for the traceback).
"""

import argparse
import os
import sys

from stylegan_tf.course.assignments import CHAPTER_PATTERN, CourseError, generate_course
from stylegan_tf.course.grading import FAST_ENV, autograde

PROG = "python -m stylegan_tf.course"


def build_parser():
    """The argument parser of the two sub-commands."""
    parser = argparse.ArgumentParser(prog=PROG, description="The stylegan-tf course as nbgrader assignments.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    gen = sub.add_parser("generate", help="build the nbgrader course folder: source/ and the student versions",
                         description="Copy the chapters into DIR/source/ and run nbgrader's generate step "
                                     "into DIR/release/ (the student versions).")
    gen.add_argument("--course", default="course", metavar="DIR", help="the course folder (default: course)")
    gen.add_argument("--chapters", nargs="+", metavar="NN", help=f"chapter numbers or names (default: every "
                     f"notebooks/{CHAPTER_PATTERN})")
    gen.add_argument("--force", action="store_true", help="regenerate the chosen chapters of an existing course "
                     "(submissions, grades and nbgrader_config.py are kept)")
    gen.add_argument("--notebooks", metavar="DIR", help="the folder of the chapters (default: the checkout's "
                     "notebooks/)")
    grade = sub.add_parser("grade", help="autograde the collected submissions and print the scores",
                           description="Run nbgrader's autograde step on DIR/submitted/ and print the scores.")
    grade.add_argument("--course", default="course", metavar="DIR", help="the course folder (default: course)")
    grade.add_argument("--chapters", nargs="+", metavar="NN", help="chapter numbers or assignment names "
                       "(default: every assignment with a submission)")
    grade.add_argument("--students", nargs="+", metavar="ID", help="student ids (default: everyone who submitted)")
    grade.add_argument("--fast", action="store_true", help="run the notebooks in fast mode ("
                       + " ".join(f"{k}={v}" for k, v in FAST_ENV.items()) + "): seconds instead of minutes")
    grade.add_argument("--force", action="store_true", help="grade again submissions already autograded")
    return parser


def _assignments(course, chapters):
    """Assignment names for `--chapters` items: a number picks the submitted assignment starting with it."""
    from stylegan_tf.course.grading import submitted_assignments

    if not chapters:
        return None
    available = submitted_assignments(course)
    names = []
    for item in chapters:
        item = str(item).removesuffix(".ipynb")
        match = [a for a in available if (a[:2] == item.zfill(2) if item.isdigit() else a == item)]
        if not match:
            raise CourseError(f"no submissions of chapter {item!r} in {course}/submitted (submitted: "
                              f"{', '.join(available) or 'none'}): collect them first with nbgrader collect")
        names += match
    return names


def main(argv=None):
    """Runs one sub-command; returns the exit status (2 with a one-line message on a user error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        if args.command == "generate":
            names = generate_course(args.course, args.chapters, force=args.force, notebooks=args.notebooks)
            print(f"{args.course}: {len(names)} assignments; student versions in {args.course}/release/: "
                  + ", ".join(names))
            print(f"next: cd {args.course} && nbgrader release_assignment {names[0]}   (docs/course.md)")
        else:
            results = autograde(args.course, _assignments(args.course, args.chapters), args.students,
                                fast=args.fast, force=args.force)
            width = max([len(r.student) for r in results] + [7])
            print(f"{'student':<{width}}  {'assignment':<24}  score")
            for r in results:
                failed = f"   failed: {', '.join(r.failed)}" if r.failed else ""
                manual = (f"   by hand ({r.max_score - r.auto_max_score:g} points): {', '.join(r.manual)}"
                          if r.manual else "")
                print(f"{r.student:<{width}}  {r.assignment:<24}  {r.score:g} / {r.max_score:g}{failed}{manual}")
    except (CourseError, ImportError) as e:
        if os.environ.get("STYLEGAN_TF_DEBUG") == "1":
            raise
        print(f"{PROG} {args.command}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
