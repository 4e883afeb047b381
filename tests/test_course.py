"""course: nbgrader's own generate and autograde steps on temporary courses.

Every chapter `notebooks/0[1-9]_*.ipynb`: the student version hides the solutions and hidden tests, the
solution notebook scores full marks when autograded in fast mode and runs without an error (this is also
the check that every chapter runs in fast mode), and the unanswered student version scores zero without
an error outside the exercises (one chapter by default, all with `-m slow`). One `grade` call grades every
submission the selected tests need, so a chapter's kernels start once per student. A synthetic two-exercise
chapter checks the commands themselves and their error messages in seconds.
"""

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from stylegan_tf.course import find_chapters, scores
from stylegan_tf.course.__main__ import main

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
CHAPTERS = {path.stem: path for path in find_chapters(NOTEBOOK_DIR).values()}
BLANK_BY_DEFAULT = next(iter(CHAPTERS), None)  # the chapter whose unanswered version is graded in the default run
SOLUTION, BLANK = "solution", "blank"  # the two student ids of the graded course
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def _course(*args, env=None, timeout=600):
    """Runs `python -m stylegan_tf.course ARGS` in a fresh process; returns the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "stylegan_tf.course", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ, **(env or {})))


def _nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


def _is_exercise(cell):
    return bool(_nbgrader(cell).get("solution") or _nbgrader(cell).get("grade"))


def _errors(nb, keep=lambda cell: True):
    """(cell index, ename) of every error output of the cells `keep` selects."""
    return [(i, out.get("ename")) for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and keep(cell)
            for out in cell.get("outputs", []) if out.output_type == "error"]


# ---- the commands, on a synthetic chapter (numpy only, so its kernels start and finish in seconds) ----

def _solution_cell(grade_id, source):
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3, "solution": True, "task": False}})


def _test_cell(grade_id, source, points):
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "grade_id": grade_id, "locked": True, "points": points, "schema_version": 3,
        "solution": False, "task": False}})


def _manual_cell(grade_id, source, points):
    """A manually graded answer: a markdown cell whose solution region holds the rubric."""
    return nbformat.v4.new_markdown_cell(source, metadata={"nbgrader": {
        "grade": True, "grade_id": grade_id, "locked": False, "points": points, "schema_version": 3,
        "solution": True, "task": False}})


def _write_chapter(folder, name="01_sample", marked=True):
    """A chapter following the conventions: fast-mode line, two exercises, a cell after them."""
    solution = ('def pixel_norm(x, eps=1e-8):\n    """x / sqrt(mean(x**2) + eps) over the last axis."""\n'
                '    ### BEGIN SOLUTION\n    return x / np.sqrt(np.mean(x ** 2, axis=-1, keepdims=True) + eps)\n'
                '    ### END SOLUTION')
    cells = [
        nbformat.v4.new_markdown_cell("# 01 · A sample chapter"),
        nbformat.v4.new_code_cell('import os\nimport numpy as np\n\n'
                                  'SMOKE = os.environ.get("STYLEGAN_TF_SMOKE") == "1"\nprint(f"SMOKE={SMOKE}")'),
        _solution_cell("ex1_pixel_norm", solution) if marked else nbformat.v4.new_code_cell(solution),
        _test_cell("ex1_pixel_norm_tests", "np.testing.assert_allclose(pixel_norm(np.ones((2, 3))), 1.0)\n"
                   "### BEGIN HIDDEN TESTS\nx_hidden = np.arange(1.0, 7.0).reshape(2, 3)\n"
                   "np.testing.assert_allclose(pixel_norm(x_hidden), x_hidden / np.sqrt((x_hidden ** 2).mean(-1, "
                   "keepdims=True) + 1e-8))\n### END HIDDEN TESTS", 2),
        _solution_cell("ex2_truncate", 'def truncate(w, w_avg, psi):\n    ### BEGIN SOLUTION\n'
                       '    return w_avg + psi * (w - w_avg)\n    ### END SOLUTION'),
        _test_cell("ex2_truncate_tests", "assert truncate(1.0, 0.0, 0.5) == 0.5\n### BEGIN HIDDEN TESTS\n"
                   "assert truncate(3.0, 1.0, 0.0) == 1.0\n### END HIDDEN TESTS", 1),
        _manual_cell("ex3_explain", "Why does `psi = 0` give the same image for every `z`?\n\n### BEGIN SOLUTION\n"
                     "Rubric: 2 points for 'every w becomes w_avg'.\n### END SOLUTION", 2),
        nbformat.v4.new_code_cell("print('after the exercises:', np.ones(2).sum())"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


def feedback_text(path):
    """The text of an nbgrader feedback page, its HTML tags (and code highlighting) removed."""
    return html.unescape(re.sub(r"<[^>]+>", "", Path(path).read_text()))


def _submit(course, student, assignment, notebook):
    """Puts a notebook where `nbgrader collect` puts a submission."""
    target = Path(course) / "submitted" / student / assignment
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(notebook, target / f"{assignment}.ipynb")


def test_generate_and_grade_a_course(tmp_path, capsys):
    notebooks = _write_chapter(tmp_path / "notebooks")
    course = tmp_path / "course"
    proc = _course("generate", "--course", course, "--notebooks", notebooks)
    assert proc.returncode == 0, proc.stderr
    assert "student versions in" in proc.stdout and "01_sample" in proc.stdout
    config = (course / "nbgrader_config.py").read_text()
    assert 'course_id = "stylegan-tf"' in config and 'os.path.join(c.CourseDirectory.root, "exchange")' in config
    source = nbformat.read(course / "source" / "01_sample" / "01_sample.ipynb", as_version=4)
    assert source == nbformat.read(notebooks / "01_sample.ipynb", as_version=4)  # the chapter, unchanged
    student = (course / "release" / "01_sample" / "01_sample.ipynb").read_text()
    assert "raise NotImplementedError()" in student and "x_hidden" not in student and "w_avg + psi" not in student
    assert "Rubric" not in student and "YOUR ANSWER HERE" in student  # the manual answer's rubric is hidden
    assert not any(marker in student for marker in MARKERS)
    assert (course / "gradebook.db").exists()

    _submit(course, SOLUTION, "01_sample", course / "source" / "01_sample" / "01_sample.ipynb")
    _submit(course, BLANK, "01_sample", course / "release" / "01_sample" / "01_sample.ipynb")
    wrong = nbformat.read(course / "release" / "01_sample" / "01_sample.ipynb", as_version=4)
    wrong.cells[2].source = wrong.cells[2].source.replace(  # passes the visible check only
        "raise NotImplementedError()", "return x / np.sqrt(np.mean(x ** 2) + eps)")
    nbformat.write(wrong, tmp_path / "wrong.ipynb")
    _submit(course, "wrong", "01_sample", tmp_path / "wrong.ipynb")
    proc = _course("grade", "--course", course, "--chapters", "1")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["student", "assignment", "score"]
    assert lines[1].split() == ["blank", "01_sample", "0", "/", "5", "failed:", "ex1_pixel_norm_tests,",
                                "ex2_truncate_tests", "by", "hand", "(2", "points):", "ex3_explain"]
    assert lines[2].split() == ["solution", "01_sample", "3", "/", "5", "by", "hand", "(2", "points):", "ex3_explain"]
    assert lines[3].split()[:6] == ["wrong", "01_sample", "0", "/", "5", "failed:"]
    assert main(["grade", "--course", str(course), "--students", "wrong", "zed"]) == 2
    assert "no submissions from zed in" in capsys.readouterr().err
    graded = {s.student: s for s in scores(course)}
    assert (graded[SOLUTION].score, graded[SOLUTION].auto_max_score, graded[SOLUTION].max_score) == (3, 3, 5)
    assert graded[SOLUTION].failed == () and graded[SOLUTION].manual == ("ex3_explain",)
    assert graded[BLANK].failed == ("ex1_pixel_norm_tests", "ex2_truncate_tests")
    autograded = nbformat.read(course / "autograded" / BLANK / "01_sample" / "01_sample.ipynb", as_version=4)
    assert _errors(autograded, keep=lambda cell: not _is_exercise(cell)) == []  # the grader ran every other cell
    assert "after the exercises: 2.0" in str(autograded.cells[-1].outputs)
    assert "x_hidden" in str(autograded.cells)  # nbgrader ran the hidden tests: they are in the autograded copy

    # the students' feedback: nbgrader's own command, with the course's config
    proc = subprocess.run(["nbgrader", "generate_feedback", "01_sample"], cwd=course, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    texts = {student: feedback_text(course / "feedback" / student / "01_sample" / "01_sample.html")
             for student in (SOLUTION, BLANK, "wrong")}
    for student, text in texts.items():
        assert "x_hidden" not in text and "truncate(3.0, 1.0, 0.0)" not in text, f"{student}: hidden tests shown"
        assert "np.testing.assert_allclose(pixel_norm(np.ones((2, 3))), 1.0)" in text  # the visible check stays
        assert "Not equal to tolerance" not in text  # nor the hidden test's message with the expected values
    assert "the hidden tests failed" not in texts[SOLUTION] + texts[BLANK]
    assert "NotImplementedError" in texts[BLANK]  # the visible check's own error is shown
    assert "AssertionError: the hidden tests failed (their code and message are not shown)" in texts["wrong"]

    # the grades export: the assignments released or submitted, not every chapter in the gradebook
    proc = _course("generate", "--course", course, "--notebooks", _write_chapter(tmp_path / "more", "02_more"),
                   "--force")
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(["nbgrader", "export"], cwd=course, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = (course / "grades.csv").read_text().splitlines()
    assert rows[0].startswith("assignment,") and len(rows) == 4, rows
    assert [row.split(",")[0] for row in rows[1:]] == ["01_sample"] * 3


def test_generate_refuses_unknown_chapters_and_existing_courses(tmp_path, capsys):
    notebooks = _write_chapter(tmp_path / "notebooks")
    course = tmp_path / "course"
    assert main(["generate", "--course", str(course), "--notebooks", str(notebooks), "--chapters", "09"]) == 2
    assert "unknown chapter '09': choose from 01 (01_sample in" in capsys.readouterr().err
    assert main(["generate", "--course", str(course), "--notebooks", str(tmp_path / "none")]) == 2
    assert "notebook folder" in capsys.readouterr().err
    (course / "source").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    assert main(["generate", "--course", str(course), "--notebooks", str(notebooks)]) == 2
    assert "already holds a course: pass --force" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert main(["generate", "--course", str(other), "--notebooks", str(notebooks)]) == 2
    assert "is not an nbgrader course" in capsys.readouterr().err
    assert main(["grade", "--course", str(tmp_path / "nowhere")]) == 2
    assert "is not a course (no nbgrader_config.py)" in capsys.readouterr().err
    assert main(["grade", "--course", str(course)]) == 2
    assert "collect them first" in capsys.readouterr().err


def test_generate_refuses_a_solution_outside_a_solution_cell(tmp_path, capsys):
    notebooks = _write_chapter(tmp_path / "notebooks", marked=False)
    assert main(["generate", "--course", str(tmp_path / "course"), "--notebooks", str(notebooks)]) == 2
    err = capsys.readouterr().err
    assert "could not generate the student version of 01_sample: RuntimeError: Solution region detected in a " \
           "non-solution cell" in err and "(fix " in err, err


# ---- the chapters ----

def _selected(session, tests=None):
    """(chapter, test name) of the selected tests of this module that take a chapter (`-k 05` selects one)."""
    params = lambda item: getattr(getattr(item, "callspec", None), "params", {})  # noqa: E731
    return sorted({(params(item)["chapter"], item.originalname) for item in session.items
                   if item.module.__name__ == __name__ and "chapter" in params(item)
                   and (tests is None or item.originalname in tests)})


def _needed(session):
    """(chapter, student) pairs the selected tests of this module grade."""
    wanted = {"test_solution_scores_full_marks": SOLUTION, "test_unanswered_student_version_scores_zero": BLANK}
    return sorted({(chapter, wanted[test]) for chapter, test in _selected(session, wanted)})


@pytest.fixture(scope="module")
def course(tmp_path_factory, request):
    """A course of the chapters the selected tests use, generated by the command."""
    course = tmp_path_factory.mktemp("course") / "course"
    chapters = sorted({chapter for chapter, _ in _selected(request.session)}) or list(CHAPTERS)
    proc = _course("generate", "--course", course, "--chapters", *chapters)
    assert proc.returncode == 0, proc.stderr
    return course


@pytest.fixture(scope="module")
def graded(course, request, tmp_path_factory):
    """Autogrades, in one `grade --fast` call, every submission the selected tests need; returns a lookup."""
    state = {}

    def lookup(chapter, student):
        if not state:
            needed = _needed(request.session)
            for name, who in needed:
                folder = "source" if who == SOLUTION else "release"
                _submit(course, who, name, course / folder / name / f"{name}.ipynb")
            env = {"STYLEGAN_TF_DATA_DIR": str(tmp_path_factory.mktemp("data"))}
            proc = _course("grade", "--course", course, "--fast", "--chapters", *sorted({n for n, _ in needed}),
                           env=env, timeout=3600)
            state["output"] = proc.stdout + proc.stderr
            state["scores"] = {(s.assignment, s.student): s for s in scores(course)}
        score = state["scores"].get((chapter, student))
        assert score is not None, f"{chapter} ({student}) was not graded:\n{state['output'][-3000:]}"
        path = course / "autograded" / student / chapter / f"{chapter}.ipynb"
        return score, nbformat.read(path, as_version=4)

    return lookup


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_student_version_hides_solutions_and_hidden_tests(course, chapter):
    source = nbformat.read(CHAPTERS[chapter], as_version=4)
    student = nbformat.read(course / "release" / chapter / f"{chapter}.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in student.cells)
    assert not [m for m in MARKERS if m in text], f"{chapter}: a marker survived in the student version"
    by_id = {_nbgrader(cell).get("grade_id"): cell for cell in student.cells if _nbgrader(cell)}
    tests = [cell for cell in source.cells if _nbgrader(cell).get("grade")]
    assert len(tests) >= 3, f"{chapter}: {len(tests)} graded test cells, the course needs at least three"
    for cell in source.cells:
        meta = _nbgrader(cell)
        if not (meta.get("solution") or meta.get("grade")):
            continue
        begin, end = (MARKERS[0], MARKERS[1]) if meta.get("solution") else (MARKERS[2], MARKERS[3])
        assert begin in cell.source, f"{chapter} {meta['grade_id']}: no {begin!r} region"
        secret = cell.source.split(begin, 1)[1].split(end, 1)[0].splitlines()[1:]
        public = set(line.strip() for line in cell.source.replace("\n".join(secret), "").splitlines())
        shown = set(line.strip() for line in by_id[meta["grade_id"]].source.splitlines())
        leaked = {line.strip() for line in secret} & shown - public - {""}
        assert not leaked, f"{chapter} {meta['grade_id']}: the student version shows {sorted(leaked)}"
        if meta.get("solution"):  # nbgrader's placeholder: code raises, a markdown answer asks for one
            placeholder = "raise NotImplementedError()" if cell.cell_type == "code" else "YOUR ANSWER HERE"
            assert placeholder in by_id[meta["grade_id"]].source, f"{chapter} {meta['grade_id']}: no {placeholder!r}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solution_scores_full_marks(graded, chapter):
    score, nb = graded(chapter, SOLUTION)
    # full marks from the autograder; answers graded by hand (markdown cells) are not scored here
    assert score.auto_max_score >= 3 and score.score == score.auto_max_score, f"{chapter}: failed {score.failed}"
    assert _errors(nb) == [], f"{chapter}: the solution notebook raised in fast mode"
    first = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert "SMOKE=True" in str(first.outputs), f"{chapter}: the first code cell must print SMOKE=True in fast mode"


@pytest.mark.parametrize("chapter", [pytest.param(name, marks=() if name == BLANK_BY_DEFAULT else pytest.mark.slow)
                                     for name in CHAPTERS])
def test_unanswered_student_version_scores_zero(graded, chapter):
    score, nb = graded(chapter, BLANK)
    assert score.max_score > 0 and score.score == 0, f"{chapter}: the blank version scored {score.score}"
    outside = _errors(nb, keep=lambda cell: not _is_exercise(cell))
    assert outside == [], (f"{chapter}: cells outside the exercises failed without the answers {outside}: "
                           f"use the library's function after an exercise, not the student's")


@pytest.mark.slow
def test_dry_run_of_a_class_on_one_machine(tmp_path):
    """docs/course.md's dry run: three students' notebooks of chapter 01 through zip_collect, grade, feedback and
    export (chapter 02 generated but not released): full marks, zero and one exercise."""
    chapter, other = next(name for name in CHAPTERS if name.startswith("01")), next(n for n in CHAPTERS if n > "01_~")
    course = tmp_path / "course"
    proc = _course("generate", "--course", course, "--chapters", chapter, other)
    assert proc.returncode == 0, proc.stderr
    run = lambda *args: subprocess.run(args, cwd=course, capture_output=True, text=True, timeout=3600)  # noqa: E731
    proc = run("nbgrader", "release_assignment", chapter)
    assert proc.returncode == 0, proc.stderr
    source = nbformat.read(course / "source" / chapter / f"{chapter}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / chapter / f"{chapter}.ipynb", as_version=4)
    partial = nbformat.read(course / "release" / chapter / f"{chapter}.ipynb", as_version=4)
    first = next(i for i, cell in enumerate(source.cells)
                 if cell.cell_type == "code" and _nbgrader(cell).get("solution"))
    partial.cells[first].source = "\n".join(line for line in source.cells[first].source.splitlines()
                                            if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
    archive = course / "downloaded" / chapter / "archive"
    archive.mkdir(parents=True)
    for student, nb in (("alice", source), ("bob", release), ("carol", partial)):
        nbformat.write(nb, archive / f"{student}_{chapter}.ipynb")
    proc = run("nbgrader", "zip_collect", chapter)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.parent.name for p in (course / "submitted").glob(f"*/{chapter}")) == ["alice", "bob", "carol"]

    env = {"STYLEGAN_TF_DATA_DIR": str(tmp_path / "data")}
    proc = _course("grade", "--course", course, "--fast", env=env, timeout=3600)
    assert proc.returncode == 0, proc.stderr
    graded = {s.student: s for s in scores(course, [chapter])}
    first_test = _nbgrader(source.cells[next(i for i in range(first + 1, len(source.cells))
                                             if _nbgrader(source.cells[i]).get("grade"))])
    assert graded["alice"].score == graded["alice"].auto_max_score >= 8, graded["alice"]
    assert graded["bob"].score == 0
    assert graded["carol"].score == first_test["points"] and first_test["grade_id"] not in graded["carol"].failed
    assert [line.split()[0] for line in proc.stdout.splitlines()[1:]] == ["alice", "bob", "carol"]

    proc = run("nbgrader", "generate_feedback", chapter)
    assert proc.returncode == 0, proc.stderr
    hidden = {line.strip() for cell in source.cells if _nbgrader(cell).get("grade") and cell.cell_type == "code"
              for line in cell.source.split("### BEGIN HIDDEN TESTS", 1)[-1].splitlines()[1:]}
    visible = {line.strip() for cell in source.cells
               for line in cell.source.split("### BEGIN HIDDEN TESTS")[0].splitlines()}
    hidden = {line for line in hidden - visible if len(line) >= 20}
    assert len(hidden) >= 10
    for student in ("alice", "bob", "carol"):
        text = feedback_text(course / "feedback" / student / chapter / f"{chapter}.html")
        shown = sorted(line for line in hidden if line in text)
        assert not shown, f"{student}'s feedback shows hidden tests: {shown[:3]}"

    proc = run("nbgrader", "export")
    assert proc.returncode == 0, proc.stderr
    rows = [row.split(",") for row in (course / "grades.csv").read_text().splitlines()[1:]]
    assert sorted((row[0], row[3]) for row in rows) == [(chapter, "alice"), (chapter, "bob"), (chapter, "carol")]
