"""nbgrader plugins of the course, named in the nbgrader_config.py that `course generate` writes.

* `HideHiddenTests`, a feedback preprocessor: nbgrader's autograde puts the hidden tests back into every graded
  test cell before running it, and `nbgrader generate_feedback` renders that autograded notebook as it is, so
  without this the students' feedback shows the hidden tests' code and, in a failed test's traceback and message,
  the expected values. With it, a graded test cell shows only its visible part, and its outputs become one line:
  the visible check's own error, or "the hidden tests raised <ErrorName>" without their code or message.
* `ReleasedCsvExportPlugin`, a grades exporter: `nbgrader export` lists every assignment in the gradebook, and
  `course generate` registers every chapter there, released or not; this exporter lists only the assignments
  released to the students (`nbgrader release_assignment`: a folder in the exchange's outbound/) or with a
  submission, unless `--assignment` names others.
"""

import re
from pathlib import Path

import nbformat
from nbgrader.plugins import CsvExportPlugin
from nbgrader.preprocessors import NbGraderPreprocessor

__all__ = ["HIDDEN_BEGIN", "HideHiddenTests", "ReleasedCsvExportPlugin", "released_assignments"]

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_NOTE = "# (hidden tests: not shown)"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _failing_line(error):
    """The line of the cell where an error output was raised (from its traceback), or None."""
    for frame in error.get("traceback", []):
        match = re.search(r"(?:Cell In\s*\[\d*\]|<ipython-input-[^>]*>),\s*line (\d+)", _ANSI.sub("", frame))
        if match:
            return int(match.group(1))
    return None


class HideHiddenTests(NbGraderPreprocessor):
    """Strips the hidden tests, their tracebacks and their messages from graded test cells (feedback only)."""

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution") or HIDDEN_BEGIN not in cell.source:
            return cell, resources
        visible = cell.source.split(HIDDEN_BEGIN, 1)[0].rstrip("\n")
        errors = [out for out in cell.get("outputs", []) if out.get("output_type") == "error"]
        outputs = []
        if errors:
            line = _failing_line(errors[0])
            if line is not None and line <= len(visible.splitlines()):  # the visible check, which the student saw
                text = f"{errors[0].get('ename')}: {errors[0].get('evalue')}\n"
            else:
                text = f"{errors[0].get('ename')}: the hidden tests failed (their code and message are not shown)\n"
            outputs.append(nbformat.v4.new_output("stream", name="stderr", text=text))
        cell.source = (visible + "\n" if visible else "") + HIDDEN_NOTE
        cell.outputs = outputs
        return cell, resources


def released_assignments(exchange_root, course_id):
    """Names of the assignments in the exchange's outbound/ folder (what `nbgrader release_assignment` put)."""
    outbound = Path(exchange_root) / course_id / "outbound"
    return sorted(p.name for p in outbound.iterdir() if p.is_dir()) if outbound.is_dir() else []


class ReleasedCsvExportPlugin(CsvExportPlugin):
    """nbgrader's CSV export restricted to released (or submitted) assignments unless `--assignment` is given."""

    def export(self, gradebook):
        if not self.assignment:
            course_id = self.config.CourseDirectory.get("course_id", "")
            exchange = self.config.Exchange.get("root", "")
            released = set(released_assignments(exchange, course_id)) if exchange and course_id else set()
            released |= {a.name for a in gradebook.assignments if a.submissions}
            self.assignment = sorted(released) or ["(no assignment released yet)"]
            self.log.info("Exporting the released or submitted assignments: %s", ", ".join(self.assignment))
        return super().export(gradebook)
