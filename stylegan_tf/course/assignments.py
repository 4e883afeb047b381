"""The course's assignments: the chapter notebooks turned into an nbgrader course folder.

Each chapter `notebooks/NN_name.ipynb` (NN = 01..09) becomes the assignment `NN_name` of an nbgrader
course root:

    DIR/nbgrader_config.py                course id, root, exchange, kernel timeout, the course's plugins
    DIR/source/NN_name/NN_name.ipynb      the solution notebook, copied from notebooks/
    DIR/release/NN_name/NN_name.ipynb     the student version, written by nbgrader's generate step
    DIR/gradebook.db                      nbgrader's database (the assignments, later the grades)

The student version is never edited by hand: nbgrader replaces every `### BEGIN SOLUTION` ...
`### END SOLUTION` region by `raise NotImplementedError()` and drops every `### BEGIN HIDDEN TESTS` ...
`### END HIDDEN TESTS` region, then this module checks that no marker is left.
"""

import re
import shutil
from pathlib import Path

__all__ = ["COURSE_ID", "CHAPTER_PATTERN", "CourseError", "notebook_dir", "find_chapters", "select_chapters",
           "write_config", "generate_course", "nbgrader_api", "nbgrader_reason"]

COURSE_ID = "stylegan-tf"
CHAPTER_PATTERN = "0[1-9]_*.ipynb"  # the graded chapters; 00_tour is not an assignment
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
INSTALL_HINT = 'pip install -e ".[notebooks]"'

CONFIG_TEMPLATE = '''\
# nbgrader configuration of the stylegan-tf course, written by `python -m stylegan_tf.course generate`.
# nbgrader reads it from the current directory: run every nbgrader command in this folder.
import os

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "{course_id}"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))  # this folder, wherever it is moved

# One instructor machine: the exchange (where `release_assignment` puts the student versions and
# `submit` / `collect` move the submissions) lives inside the course folder. On a shared JupyterHub,
# point every user at one world-writable folder instead, e.g. c.Exchange.root = "/srv/nbgrader/exchange".
c.Exchange.root = os.path.join(c.CourseDirectory.root, "exchange")

# The students' feedback (`nbgrader generate_feedback`) without the hidden tests, their tracebacks or messages,
# and a grades export (`nbgrader export`) of the released or submitted assignments only: the course's plugins in
# stylegan_tf/course/nbgrader_plugins.py.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402
from stylegan_tf.course.nbgrader_plugins import HideHiddenTests, ReleasedCsvExportPlugin  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
c.ExportApp.plugin_class = ReleasedCsvExportPlugin

# Several students on one machine (nbgrader's exchange knows one OS user): put their notebooks in
# downloaded/ASSIGNMENT/archive/ named STUDENT_ASSIGNMENT.ipynb (or zips of them; student ids without "_"), then
# `nbgrader zip_collect ASSIGNMENT` files each under submitted/STUDENT/ASSIGNMENT/. docs/course.md has a dry run.
c.FileNameCollectorPlugin.named_regexp = r".*/(?P<student_id>[^/_]+)_(?P<file_id>[^/]+)$"

# Seconds one cell may run when autograding (nbgrader's default, 30, is shorter than a chapter's
# training cell in full mode; grade in fast mode with STYLEGAN_TF_SMOKE=1).
c.Execute.timeout = {timeout}
'''


class CourseError(ValueError):
    """A course folder or chapter selection that cannot be used; the message says what to do."""


def nbgrader_reason(result):
    """The line that explains a failed NbGraderAPI call (its last `SomeError: ...`), else its last log lines."""
    lines = (result.get("log", "") + "\n" + result.get("error", "")).strip().splitlines()
    reasons = [m.group(0) for line in lines for m in [re.search(r"\b\w+(Error|Exception): .*", line)]
               if m and not m.group(0).startswith("NbGraderException")]
    return reasons[-1] if reasons else " | ".join(line.strip() for line in lines[-3:])


def nbgrader_api(course):
    """An `nbgrader.apps.NbGraderAPI` on the course root `course`, configured by its nbgrader_config.py."""
    try:
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config.loader import PyFileConfigLoader
    except ImportError as e:
        raise ImportError(f"the course tools need nbgrader ({e}): {INSTALL_HINT}") from None
    root = Path(course).resolve()
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)  # the folder we were given, even if the file says otherwise
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def notebook_dir():
    """The `notebooks/` folder of the source checkout this package runs from (where the chapters live)."""
    path = Path(__file__).resolve().parents[2] / "notebooks"
    if not path.is_dir():
        raise CourseError(f"no notebooks/ folder at {path} (is the package installed without its source "
                          f"checkout?): clone the repository and `pip install -e .`, or pass --notebooks DIR")
    return path


def find_chapters(notebooks=None):
    """The chapters in `notebooks` (default: the checkout's): {"01": Path(".../01_name.ipynb"), ...}."""
    folder = notebook_dir() if notebooks is None else Path(notebooks)
    if not folder.is_dir():
        raise CourseError(f"notebook folder {folder} does not exist: pass the folder holding {CHAPTER_PATTERN}")
    return {p.name[:2]: p for p in sorted(folder.glob(CHAPTER_PATTERN))}


def select_chapters(wanted=None, notebooks=None):
    """The chosen chapters as {number: path}; `wanted` items are numbers ("3", "03") or names ("03_mapping")."""
    found = find_chapters(notebooks)
    folder = notebook_dir() if notebooks is None else Path(notebooks)
    if not found:
        raise CourseError(f"no chapters in {folder}: a chapter is a notebook named {CHAPTER_PATTERN}")
    if not wanted:
        return found
    chosen = {}
    for item in wanted:
        item = str(item).removesuffix(".ipynb")
        key = item.zfill(2) if item.isdigit() else item[:2]
        if key not in found or (not item.isdigit() and found[key].stem != item):
            raise CourseError(f"unknown chapter {item!r}: choose from {', '.join(found)} "
                              f"({', '.join(p.stem for p in found.values())} in {folder})")
        chosen[key] = found[key]
    return dict(sorted(chosen.items()))


def write_config(course, timeout=1200):
    """Writes `course/nbgrader_config.py` (course id, root, exchange inside the folder, cell timeout)."""
    path = Path(course) / "nbgrader_config.py"
    path.write_text(CONFIG_TEMPLATE.format(course_id=COURSE_ID, timeout=int(timeout)))
    return path


def _check_target(course, force):
    course = Path(course)
    if (course / "nbgrader_config.py").exists():
        if not force:
            raise CourseError(f"{course} already holds a course: pass --force to regenerate the chosen chapters "
                              f"(submissions, grades and nbgrader_config.py are kept), or choose another --course")
    elif course.exists() and (not course.is_dir() or any(course.iterdir())):
        raise CourseError(f"{course} exists and is not an nbgrader course (no nbgrader_config.py): "
                          f"choose a new or empty folder with --course")


def _regions(source, begin, end):
    """The text between each `begin` and `end` marker line of a cell's source."""
    return re.findall(rf"{re.escape(begin)}[^\n]*\n(.*?){re.escape(end)}", source, re.S)


def _check_student_version(source_nb, student_nb):
    """Raises CourseError if the student version keeps a marker, or a cell keeps a line of its solution or
    hidden tests (cells are matched by nbgrader grade_id)."""
    import nbformat

    grade_id = lambda cell: cell.metadata.get("nbgrader", {}).get("grade_id")  # noqa: E731
    solution = nbformat.read(source_nb, as_version=4)
    student = {grade_id(cell): cell.source for cell in nbformat.read(student_nb, as_version=4).cells}
    for marker in MARKERS:
        cells = [key for key, text in student.items() if marker in text]
        if cells:
            where = f"cell {cells[0]!r}" if cells[0] else "a cell without nbgrader metadata"
            raise CourseError(f"{student_nb} still contains {marker!r} in {where}: mark the cell as a solution "
                              f"(solution: true) or, for hidden tests, as graded tests (grade: true) in {source_nb}")
    for cell in solution.cells:
        key = grade_id(cell)
        secret = _regions(cell.source, MARKERS[0], MARKERS[1]) + _regions(cell.source, MARKERS[2], MARKERS[3])
        if key is None or not secret:
            continue
        public = cell.source
        for region in secret:
            public = public.replace(region, "")
        public = {line.strip() for line in public.splitlines()}  # lines the student may see anyway
        kept = {line.strip() for line in student.get(key, "").splitlines()}
        leaked = sorted({line.strip() for region in secret for line in region.splitlines()} & kept - public - {""})
        if leaked:
            raise CourseError(f"{student_nb}: cell {key!r} shows solution or hidden-test text ({leaked[0]!r}): "
                              f"write it only between the markers in {source_nb}")


def generate_course(course, chapters=None, force=False, notebooks=None):
    """Builds the nbgrader course root `course` from the chapters and runs nbgrader's generate step.

    Copies each chosen chapter to `source/NN_name/NN_name.ipynb`, writes `nbgrader_config.py` if the
    folder has none, then `nbgrader generate_assignment` (through `NbGraderAPI`) writes the student
    versions to `release/` and registers the assignments in `gradebook.db`.

    Args:
        course: The course folder (created; an existing course needs `force`).
        chapters: Chapter numbers or names (default: every `notebooks/0[1-9]_*.ipynb`).
        force: Regenerate the chosen chapters of an existing course (submissions and grades are kept).
        notebooks: The folder of the chapters (default: the checkout's `notebooks/`).

    Returns:
        The assignment names, in order.
    """
    chosen = select_chapters(chapters, notebooks)
    _check_target(course, force)
    course = Path(course)
    course.mkdir(parents=True, exist_ok=True)
    if not (course / "nbgrader_config.py").exists():
        write_config(course)
    for path in chosen.values():
        target = course / "source" / path.stem
        shutil.rmtree(target, ignore_errors=True)  # a regenerated assignment is exactly the chapter
        target.mkdir(parents=True)
        shutil.copyfile(path, target / path.name)
    api = nbgrader_api(course)
    names = [path.stem for path in chosen.values()]
    for name in names:
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise CourseError(f"nbgrader could not generate the student version of {name}: "
                              f"{nbgrader_reason(result)} (fix {chosen[name[:2]]})")
        _check_student_version(course / "source" / name / f"{name}.ipynb",
                               course / "release" / name / f"{name}.ipynb")
    return names
