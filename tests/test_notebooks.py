"""Notebooks: committed with outputs stripped, the chapters' exercises carry valid nbgrader metadata, and the tour runs
end to end in fast mode (STYLEGAN_TF_SMOKE=1)."""

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_stripped(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{path.name}: kernelspec must be python3"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name} cell {i} has outputs: clear them before committing "
                f"(jupyter nbconvert --clear-output --inplace {path.name})")
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert 'SMOKE = os.environ.get("STYLEGAN_TF_SMOKE") == "1"' in first_code.source


def test_tour_runs_in_fast_mode(tmp_path, monkeypatch):
    """Executes notebooks/00_tour.ipynb in a fresh kernel with STYLEGAN_TF_SMOKE=1, on the shipped F model."""
    from nbclient import NotebookClient

    monkeypatch.setenv("STYLEGAN_TF_SMOKE", "1")
    monkeypatch.setenv("STYLEGAN_TF_DATA_DIR", str(tmp_path / "data"))  # the tiny dataset is made here, not in data/
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("STYLEGAN_TF_RUN", str(tmp_path / "no_run"))  # no run folder: the tour loads the shipped F
    nb = nbformat.read(NOTEBOOK_DIR / "00_tour.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()  # raises CellExecutionError naming the failing cell
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "SMOKE=True" in text  # the kernel saw the fast-mode switch
    assert "loaded the shipped row F model" in text
    assert "'generate', 'mapping', 'serving_default', 'style_mix', 'synthesis'" in text  # the reloaded export


CHAPTERS = sorted(NOTEBOOK_DIR.glob("0[1-9]_*.ipynb"))  # the graded chapters (stylegan_tf.course.CHAPTER_PATTERN)
GRADE_ID = re.compile(r"[A-Za-z0-9_]+")


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_chapter_exercises_follow_the_nbgrader_conventions(path):
    """Static checks of the exercises' nbgrader metadata (tests/test_course.py then runs nbgrader itself)."""
    nb = nbformat.read(path, as_version=4)
    ids, solutions, tests = [], 0, 0
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader")
        where = f"{path.name} cell {i}"
        if not meta:
            assert "### BEGIN SOLUTION" not in cell.source and "### BEGIN HIDDEN TESTS" not in cell.source, (
                f"{where}: a solution or hidden-test region in a cell without nbgrader metadata")
            continue
        assert meta.get("schema_version") == 3, f"{where}: nbgrader schema_version must be 3"
        assert GRADE_ID.fullmatch(str(meta.get("grade_id"))), f"{where}: grade_id must be letters, digits, _"
        ids.append(meta["grade_id"])
        if meta.get("solution") and cell.cell_type == "markdown":  # an answer graded by hand, with its rubric
            assert meta.get("grade") and not meta.get("locked") and meta.get("points", 0) > 0, (
                f"{where}: a hand-graded answer is an unlocked markdown cell with grade: true and points > 0")
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, (
                f"{where}: a hand-graded answer keeps its rubric between ### BEGIN SOLUTION and ### END SOLUTION")
        elif meta.get("solution"):
            solutions += 1
            assert cell.cell_type == "code" and not meta.get("grade") and not meta.get("locked"), (
                f"{where}: an autograded solution cell is an unlocked code cell with grade: false")
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, where
        elif meta.get("grade"):
            tests += 1
            assert cell.cell_type == "code" and meta.get("locked") and meta.get("points", 0) > 0, (
                f"{where}: a test cell is a locked code cell with points > 0")
            assert "### BEGIN HIDDEN TESTS" in cell.source and "### END HIDDEN TESTS" in cell.source, (
                f"{where}: a test cell keeps value checks between ### BEGIN HIDDEN TESTS and ### END HIDDEN TESTS")
    assert len(set(ids)) == len(ids), f"{path.name}: grade_ids repeat: {sorted(ids)}"
    assert solutions >= 3 and tests >= 3, f"{path.name}: {solutions} solution and {tests} test cells, at least 3 each"
