"""Every Python snippet of README.md runs as written (in a fresh process), so a pasted snippet never crashes.

A snippet that cannot run here (it needs a download or a finished training run) starts with the line
`# not run by the tests: <reason>`; the reason is required.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SKIP = "# not run by the tests:"


def python_blocks():
    text = README.read_text()
    return [(text[: m.start()].count("\n") + 2, m.group(1)) for m in re.finditer(r"```python\n(.*?)```", text, re.S)]


def test_the_readme_has_python_snippets():
    assert len(python_blocks()) >= 1


@pytest.mark.parametrize("line,code", python_blocks(), ids=[f"README.md:{n}" for n, _ in python_blocks()])
def test_readme_snippet_runs(line, code, tmp_path):
    if code.startswith(SKIP):
        reason = code.splitlines()[0][len(SKIP):].strip()
        assert reason, f"README.md:{line}: say why the snippet is not run"
        pytest.skip(reason)
    env = dict(os.environ, STYLEGAN_TF_DATA_DIR=os.environ.get("STYLEGAN_TF_DATA_DIR", str(tmp_path / "cache")))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"README.md:{line} failed:\n{proc.stderr[-3000:]}"
