"""course mutations: every wrong answer in the instructor's catalogue passes the visible check and fails the grade.

A chapter `notebooks/NN_name.ipynb` with a catalogue `notebooks/mutations/NN_name.py` (a plain module defining
`MUTATIONS = {solution grade_id: [(description, replacement cell source), ...]}`; notebooks/mutations/README.md)
is executed once, in fast mode, in one kernel started in a scratch folder (as nbgrader's autograde runs it). At each
solution cell with mutations, for every mutation the harness runs

1. the mutation in place of the solution cell, then the code cells between it and its test cell (the next cell
   with `"grade": true`), then the visible part of the test cell (its source before `### BEGIN HIDDEN TESTS`),
   which must pass: a mutation that the visible check catches teaches nothing about the hidden tests;
2. the whole test cell, which must raise: the hidden tests must catch it;

then the real solution, the cells in between and the whole test cell, which must pass, and goes on with the
notebook. Any other cell that raises fails the chapter. The structure tests (no kernel) check that such a chapter
has at least 4 exercises (markdown headings `### Exercise N · KIND · Title`) of at least 3 kinds, that every
autograded solution cell (a code solution cell whose next exercise cell is a graded test cell) has at least 2
mutations, and that neither a mutation nor the word "mutation" reaches the student version `course generate`
makes. Under `-m slow`, one mutation per chapter goes through nbgrader's own autograde and must score less than
the solution.

    pytest -q tests/test_course_mutations.py -k 01 -p no:cacheprovider       # one chapter
"""

import importlib.util
import os
import queue
import re
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
MUTATION_DIR = NOTEBOOK_DIR / "mutations"
CHAPTERS = sorted(p.stem for p in NOTEBOOK_DIR.glob("0[1-9]_*.ipynb") if (MUTATION_DIR / f"{p.stem}.py").exists())
KINDS = ("implement from the equation", "predict, then measure", "run the ablation", "read the figure")
HEADING = re.compile(r"### Exercise (\d+) · ([^·]+?) · (\S.*)")
HIDDEN = "### BEGIN HIDDEN TESTS"
FAST_ENV = {"STYLEGAN_TF_SMOKE": "1", "MPLBACKEND": "Agg"}
CELL_TIMEOUT = 1800  # seconds; a fast-mode cell takes seconds, but the machine may be loaded


def load_mutations(chapter, folder=MUTATION_DIR):
    """The chapter's catalogue: {grade_id: [(description, source), ...]}, checked for form."""
    path = Path(folder) / f"{chapter}.py"
    spec = importlib.util.spec_from_file_location(f"_mutations_{chapter}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mutations = getattr(module, "MUTATIONS", None)
    assert isinstance(mutations, dict), f"{path}: no MUTATIONS dict"
    for grade_id, entries in mutations.items():
        for entry in entries:
            assert (isinstance(entry, tuple) and len(entry) == 2
                    and all(isinstance(s, str) and s.strip() for s in entry)), \
                f"{path} {grade_id}: each mutation is a (description, source) pair of non-empty strings, got {entry!r}"
    return mutations


def _meta(cell):
    return cell.metadata.get("nbgrader", {})


def _is_test(cell):
    return cell.cell_type == "code" and bool(_meta(cell).get("grade")) and not _meta(cell).get("solution")


def grading_cell_index(nb, index):
    """Index of the test cell grading the solution cell `index`: the next cell with `"grade": true`."""
    return next((j for j in range(index + 1, len(nb.cells)) if _meta(nb.cells[j]).get("grade")), None)




def autograded_solutions(nb):
    """grade_ids of the code solution cells whose next exercise cell (solution or graded) is a graded test cell."""
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not _meta(cell).get("solution"):
            continue
        following = next((c for c in nb.cells[i + 1:] if _meta(c).get("solution") or _meta(c).get("grade")), None)
        if following is not None and _is_test(following):
            out.append(_meta(cell)["grade_id"])
    return out


def exercise_headings(nb):
    """(number, kind, title) of every markdown cell whose first line is an exercise heading."""
    out = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("### Exercise"):
            match = HEADING.fullmatch(cell.source.splitlines()[0].strip())
            out.append((int(match.group(1)), match.group(2).strip(), match.group(3)) if match
                       else (None, cell.source.splitlines()[0], None))
    return out


# ---- structure: no kernel ----

@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_has_four_exercises_of_three_kinds(chapter):
    nb = nbformat.read(NOTEBOOK_DIR / f"{chapter}.ipynb", as_version=4)
    headings = exercise_headings(nb)
    bad = [h[1] for h in headings if h[0] is None or h[1] not in KINDS]
    assert not bad, (f"{chapter}: exercise heading {bad[0]!r} is not '### Exercise N · KIND · Title' with KIND one "
                     f"of {', '.join(KINDS)}")
    assert [h[0] for h in headings] == list(range(1, len(headings) + 1)), \
        f"{chapter}: exercises are numbered {[h[0] for h in headings]}, not 1, 2, ..."
    assert len(headings) >= 4, f"{chapter}: {len(headings)} exercises, the course needs at least 4"
    kinds = {h[1] for h in headings}
    assert len(kinds) >= 3, f"{chapter}: exercise kinds {sorted(kinds)}, the course needs at least 3 of {KINDS}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_autograded_solution_has_two_mutations(chapter):
    nb = nbformat.read(NOTEBOOK_DIR / f"{chapter}.ipynb", as_version=4)
    mutations = load_mutations(chapter)
    solutions = {_meta(c).get("grade_id") for c in nb.cells if c.cell_type == "code" and _meta(c).get("solution")}
    unknown = sorted(set(mutations) - solutions)
    assert not unknown, f"{chapter}: mutations for {unknown}, which are not code solution cells of the chapter"
    short = {gid: len(mutations.get(gid, [])) for gid in autograded_solutions(nb) if len(mutations.get(gid, [])) < 2}
    assert not short, f"{chapter}: autograded solution cells with fewer than 2 mutations: {short}"


@pytest.fixture(scope="module")
def student_versions(tmp_path_factory):
    """The student versions `course generate` makes of the chapters with a catalogue: {chapter: text}."""
    if not CHAPTERS:
        return {}
    from stylegan_tf.course import generate_course

    course = tmp_path_factory.mktemp("course") / "course"
    generate_course(course, CHAPTERS, notebooks=NOTEBOOK_DIR)
    out = {}
    for chapter in CHAPTERS:
        files = sorted(p.name for p in (course / "release" / chapter).rglob("*") if p.is_file())
        assert files == [f"{chapter}.ipynb"], f"{chapter}: the release folder holds {files}"
        out[chapter] = nbformat.read(course / "release" / chapter / f"{chapter}.ipynb", as_version=4)
    return out


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_mutations_stay_out_of_the_student_version(student_versions, chapter):
    student = student_versions[chapter]
    text = "\n".join(cell.source for cell in student.cells)
    assert "mutation" not in text.lower(), f"{chapter}: the student version mentions 'mutation'"
    source = nbformat.read(NOTEBOOK_DIR / f"{chapter}.ipynb", as_version=4)
    by_id = {_meta(c).get("grade_id"): c for c in source.cells if _meta(c)}
    shown = {line.strip() for line in text.splitlines()}
    for grade_id, entries in load_mutations(chapter).items():
        solution = {line.strip() for line in by_id[grade_id].source.splitlines()}
        for description, mutated in entries:
            assert description not in text, f"{chapter} {grade_id}: the student version shows {description!r}"
            own = {line.strip() for line in mutated.splitlines()} - solution  # the mutation's own lines
            leaked = sorted(line for line in own & shown if len(line) >= 12)
            assert not leaked, f"{chapter} {grade_id} ({description}): the student version shows {leaked[0]!r}"


# ---- the catalogue against the hidden tests: one kernel per chapter ----

class Kernel:
    """A Python kernel (jupyter_client) in a scratch folder; `run` returns None or the error as one line."""

    def __init__(self, cwd, env):
        from jupyter_client.manager import KernelManager

        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(cwd), env={**os.environ, **env})
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def run(self, source, timeout=CELL_TIMEOUT):
        errors = []

        def hook(msg):
            if msg["header"]["msg_type"] == "error":
                errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}".strip())

        try:
            reply = self.client.execute_interactive(source, timeout=timeout, output_hook=hook, allow_stdin=False)
        except (TimeoutError, queue.Empty):
            return f"TimeoutError: the cell ran over {timeout} s"
        if reply["content"]["status"] != "ok":
            return errors[-1] if errors else f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}"
        return None

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def _short(error, width=300):
    error = " ".join(str(error).split())
    return error if len(error) <= width else error[:width] + " ..."


def check_chapter(chapter, workdir, notebooks=NOTEBOOK_DIR, catalogue=MUTATION_DIR):
    """Runs the chapter with its catalogue in one fast-mode kernel; returns the list of problems (empty if none)."""
    nb = nbformat.read(Path(notebooks) / f"{chapter}.ipynb", as_version=4)
    mutations = load_mutations(chapter, catalogue)
    problems, started = [], time.time()
    kernel = Kernel(workdir, FAST_ENV)
    try:
        i = 0
        while i < len(nb.cells):
            cell = nb.cells[i]
            grade_id = _meta(cell).get("grade_id")
            if cell.cell_type != "code":
                i += 1
                continue
            if grade_id not in mutations:
                error = kernel.run(cell.source)
                if error:
                    problems.append(f"{chapter} cell {i} ({grade_id or 'no grade_id'}) raised {_short(error)}")
                    if not _is_test(cell):  # a broken chapter: later cells would only repeat the error
                        break
                i += 1
                continue
            t = grading_cell_index(nb, i)
            if t is None or not _is_test(nb.cells[t]):
                problems.append(f"{chapter} {grade_id}: no graded test cell after the solution cell")
                break
            between = [c.source for c in nb.cells[i + 1:t] if c.cell_type == "code"]
            test = nb.cells[t].source
            visible = test.split(HIDDEN, 1)[0]
            for description, source in mutations[grade_id]:
                what = f"{chapter} {grade_id} mutation {description!r}"
                error = next((e for e in map(kernel.run, [source, *between]) if e), None)
                if error:
                    problems.append(f"{what}: raised before the test cell ({_short(error)}); a mutation must run "
                                    f"and pass the visible check")
                    continue
                error = kernel.run(visible)
                if error:
                    problems.append(f"{what}: fails the visible check ({_short(error)}); the catalogue keeps "
                                    f"wrong answers that only the hidden tests catch")
                    continue
                if kernel.run(test) is None:
                    problems.append(f"{what}: passes the hidden tests of {_meta(nb.cells[t])['grade_id']}")
            for j, source in enumerate([cell.source, *between, test]):
                error = kernel.run(source)
                if error:
                    problems.append(f"{chapter} {grade_id}: after the mutations, the real solution's "
                                    f"{'test cell' if j == len(between) + 1 else 'cells'} raised {_short(error)}")
            i = t + 1
    finally:
        kernel.close()
    print(f"{chapter}: {sum(map(len, mutations.values()))} mutations checked in {time.time() - started:.0f} s")
    return problems


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_mutations_fail_the_hidden_tests(chapter, tmp_path):
    problems = check_chapter(chapter, tmp_path)
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)


def test_the_harness_reports_each_kind_of_bad_mutation(tmp_path):
    """On a synthetic numpy chapter: a mutation the hidden tests miss, one the visible check catches, one that
    raises, and a good one; a chapter cell that raises."""
    solution = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * np.asarray(x)\n    ### END SOLUTION"
    test = "assert double(1) == 2\n### BEGIN HIDDEN TESTS\nassert double(-3) == -6\n### END HIDDEN TESTS"
    cells = [nbformat.v4.new_code_cell("import numpy as np"),
             nbformat.v4.new_code_cell(solution, metadata={"nbgrader": {"grade": False, "grade_id": "ex1_double",
                                                                       "solution": True}}),
             nbformat.v4.new_code_cell("y = double(5)"),
             nbformat.v4.new_code_cell(test, metadata={"nbgrader": {"grade": True, "grade_id": "ex1_tests",
                                                                   "points": 1, "solution": False}}),
             nbformat.v4.new_code_cell("assert y == 10\nraise ValueError('a broken cell')")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "01_toy.ipynb")
    (tmp_path / "01_toy.py").write_text("MUTATIONS = {'ex1_double': [\n"
                                        "    ('right after all', 'def double(x):\\n    return x + x'),\n"
                                        "    ('caught by the visible check', 'def double(x):\\n    return 3 * x'),\n"
                                        "    ('raises', 'def double(x):\\n    return x.shape'),\n"
                                        "    ('absolute value', 'def double(x):\\n    return 2 * abs(x)')]}\n")
    problems = check_chapter("01_toy", tmp_path, notebooks=tmp_path, catalogue=tmp_path)
    assert len(problems) == 4, problems
    assert "01_toy ex1_double mutation 'right after all': passes the hidden tests of ex1_tests" == problems[0]
    assert problems[1].startswith("01_toy ex1_double mutation 'caught by the visible check': fails the visible "
                                  "check (AssertionError")
    assert problems[2].startswith("01_toy ex1_double mutation 'raises': raised before the test cell "
                                  "(AttributeError: 'int' object has no attribute 'shape')")
    assert problems[3] == "01_toy cell 4 (no grade_id) raised ValueError: a broken cell"


# ---- one mutation per chapter through nbgrader's own autograde (slow) ----

@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_first_mutation_scores_below_full_marks_in_nbgrader(chapter, tmp_path):
    """The chapter's first mutation, submitted in place of the solution, through nbgrader's own autograde."""
    from stylegan_tf.course import autograde, generate_course

    course = tmp_path / "course"
    generate_course(course, [chapter], notebooks=NOTEBOOK_DIR)
    nb = nbformat.read(course / "source" / chapter / f"{chapter}.ipynb", as_version=4)
    grade_id, entries = next(iter(load_mutations(chapter).items()))
    index = next(i for i, c in enumerate(nb.cells) if _meta(c).get("grade_id") == grade_id)
    nb.cells[index].source = entries[0][1]
    test_id = _meta(nb.cells[grading_cell_index(nb, index)])["grade_id"]
    target = course / "submitted" / "mutant" / chapter
    target.mkdir(parents=True)
    nbformat.write(nb, target / f"{chapter}.ipynb")
    old = os.environ.get("STYLEGAN_TF_DATA_DIR")
    os.environ["STYLEGAN_TF_DATA_DIR"] = tempfile.mkdtemp(dir=tmp_path)
    try:
        (score,) = autograde(course, [chapter], fast=True)
    finally:
        os.environ.pop("STYLEGAN_TF_DATA_DIR") if old is None else os.environ.__setitem__("STYLEGAN_TF_DATA_DIR", old)
    assert test_id in score.failed and score.score < score.auto_max_score, \
        f"{chapter} {grade_id} mutation {entries[0][0]!r}: nbgrader scored {score.score} / {score.auto_max_score}"
