"""Grading: nbgrader's autograde step on the collected submissions, and the scores from its gradebook.

Submissions are `DIR/submitted/<student>/<assignment>/<assignment>.ipynb`, where `nbgrader collect`
(or `nbgrader zip_collect`, or the instructor by hand) puts them; every student folder found there is graded,
one at a time, so one student's broken notebook does not stop the others. nbgrader's autograde restores the
read-only cells and the hidden tests from the gradebook, executes each notebook in a fresh kernel (errors do not
stop it), writes `DIR/autograded/<student>/<assignment>/` and records one score per graded test cell. Markdown
answers are graded by hand (`nbgrader formgrader`); `Score.auto_max_score` is what the autograder alone can give.
"""

import contextlib
import dataclasses
import os
import warnings
from pathlib import Path

from stylegan_tf.course.assignments import INSTALL_HINT, COURSE_ID, CourseError, nbgrader_api, nbgrader_reason

__all__ = ["FAST_ENV", "Score", "submitted_assignments", "submitted_students", "autograde", "scores"]

FAST_ENV = {"STYLEGAN_TF_SMOKE": "1", "MPLBACKEND": "Agg"}  # the chapters' fast mode, no figures rendered


@dataclasses.dataclass(frozen=True)
class Score:
    """One autograded submission: the points of its graded test cells."""

    student: str
    assignment: str
    score: float
    max_score: float  # every graded cell, the manually graded answers included
    auto_max_score: float  # the graded test cells only: what the autograder alone can give
    failed: tuple = ()  # grade_ids of the test cells that scored less than their points
    manual: tuple = ()  # grade_ids of the answers graded by hand (markdown cells): `nbgrader formgrader`


def submitted_assignments(course):
    """The assignments with at least one submission in `course/submitted/<student>/`, sorted."""
    root = Path(course) / "submitted"
    return sorted({p.name for p in root.glob("*/*") if p.is_dir()}) if root.is_dir() else []


def submitted_students(course, assignment):
    """The students with a submission of `assignment` (`course/submitted/<student>/<assignment>/`), sorted."""
    root = Path(course) / "submitted"
    return sorted(p.parent.name for p in root.glob(f"*/{assignment}") if p.is_dir()) if root.is_dir() else []


@contextlib.contextmanager
def _environ(extra):
    """Sets environment variables for the kernels nbgrader starts (they inherit ours), then restores them."""
    saved = {key: os.environ.get(key) for key in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def autograde(course, assignments=None, students=None, fast=False, force=False):
    """Runs nbgrader's autograde step (through `NbGraderAPI`) on the submissions in `course`.

    Each notebook runs in a fresh kernel of this Python, with this process's environment.

    Args:
        course: The course folder made by `generate_course`.
        assignments: Assignment names (default: every assignment with a submission).
        students: Student ids (default: every student who submitted).
        fast: Run the chapters in fast mode (`FAST_ENV`: STYLEGAN_TF_SMOKE=1, MPLBACKEND=Agg).
        force: Grade again submissions that were already autograded (nbgrader skips them otherwise).

    Returns:
        The `scores` of the graded assignments.
    """
    if not (Path(course) / "nbgrader_config.py").exists():
        raise CourseError(f"{course} is not a course (no nbgrader_config.py): "
                          f"run `python -m stylegan_tf.course generate --course {course}` first")
    available = submitted_assignments(course)
    assignments = available if assignments is None else list(assignments)
    missing = [name for name in assignments if name not in available]
    if missing or not assignments:
        raise CourseError(f"no submissions of {', '.join(missing) or 'any assignment'} in {course}/submitted: "
                          f"collect them first (cd {course} && nbgrader collect ASSIGNMENT)")
    everyone = {student for name in assignments for student in submitted_students(course, name)}
    unknown = sorted(set(students or []) - everyone)
    if unknown:
        raise CourseError(f"no submissions from {', '.join(unknown)} in {course}/submitted (submitted: "
                          f"{', '.join(sorted(everyone))}): check the student ids")
    from sqlalchemy.exc import SAWarning

    api = nbgrader_api(course)
    failures = []
    with _environ(FAST_ENV if fast else {}), warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own gradebook session, harmless
        for name in assignments:
            found = submitted_students(course, name)
            for student in found if students is None else [s for s in students if s in found]:
                result = api.autograde(name, student, force=force, create=True)  # one student at a time
                if not result["success"]:
                    failures.append(f"{name} ({student}): {nbgrader_reason(result)}")
    if failures:
        raise CourseError("nbgrader could not autograde " + "; ".join(failures)
                          + f" (the whole log: cd {course} && nbgrader autograde ASSIGNMENT --force)")
    return scores(course, assignments)


def scores(course, assignments=None):
    """The gradebook's scores of the autograded submissions in `course` (default: all), as `Score`s."""
    try:
        from nbgrader.api import Gradebook
    except ImportError as e:
        raise ImportError(f"the course tools need nbgrader ({e}): {INSTALL_HINT}") from None
    db_url = f"sqlite:///{Path(course).resolve() / 'gradebook.db'}"
    out = []
    with Gradebook(db_url, COURSE_ID) as gb:
        for assignment in gb.assignments:
            if assignments is not None and assignment.name not in assignments:
                continue
            for submission in assignment.submissions:
                grades = [grade for notebook in submission.notebooks for grade in notebook.grades]
                auto = [grade for grade in grades if grade.cell_type == "code"]  # markdown answers: by hand
                failed = tuple(grade.name for grade in auto if grade.max_score and (grade.score or 0) < grade.max_score)
                manual = tuple(grade.name for grade in grades if grade.cell_type != "code")
                out.append(Score(student=submission.student.id, assignment=assignment.name,
                                 score=float(submission.score), max_score=float(submission.max_score),
                                 auto_max_score=float(sum(grade.max_score or 0 for grade in auto)), failed=failed,
                                 manual=manual))
    return sorted(out, key=lambda s: (s.assignment, s.student))
