"""The documentation pages (README.md, data/README.md, docs/*.md) are tested as written.

- Every Python snippet runs (in a fresh process), so a pasted snippet never crashes. A snippet that cannot run
  here (it needs a download or a finished training run) starts with the line `# not run by the tests: <reason>`;
  the reason is required.
- Every relative link and image points to an existing file, and a `#anchor` to an existing heading.
- Every `python -m stylegan_tf` command of a bash block parses with the command line's own argparse parser
  (which imports no TensorFlow), and inline code names a real sub-command; `python -m stylegan_tf.<module>`
  names a module of this checkout whose source defines the sub-command and options used.
"""

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
ROOT = CHECKOUT  # where page names are counted from (the self-tests move it)
PAGES = [CHECKOUT / "README.md", CHECKOUT / "data" / "README.md", *sorted((CHECKOUT / "docs").glob("*.md"))]
SKIP = "# not run by the tests:"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def name(page):
    return page.relative_to(ROOT).as_posix()


def blocks(page, lang):
    """(line of the block's first code line, code) for each fenced block of `lang` in `page`."""
    text = page.read_text()
    return [(text[: m.start()].count("\n") + 2, m.group(2)) for m in FENCE.finditer(text) if m.group(1) == lang]


def prose(text):
    """`text` without its fenced blocks (kept as blank lines, so line numbers hold)."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


PYTHON = [(page, line, code) for page in PAGES for line, code in blocks(page, "python")]


def test_the_pages_exist_and_have_python_snippets():
    assert all(page.is_file() for page in PAGES)
    assert len(PAGES) >= 4, "README.md, data/README.md and the pages of docs/"
    assert {name(page) for page, _, _ in PYTHON} >= {"README.md"}


@pytest.mark.parametrize("page,line,code", PYTHON, ids=[f"{name(p)}:{n}" for p, n, _ in PYTHON])
def test_python_snippet_runs(page, line, code, tmp_path):
    where = f"{name(page)}:{line}"
    if code.startswith(SKIP):
        reason = code.splitlines()[0][len(SKIP):].strip()
        assert reason, f"{where}: say why the snippet is not run"
        pytest.skip(reason)
    env = dict(os.environ, STYLEGAN_TF_DATA_DIR=os.environ.get("STYLEGAN_TF_DATA_DIR", str(tmp_path / "cache")))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"{where} failed:\n{proc.stderr[-3000:]}"


# --- links and images ---------------------------------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading):
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")


def anchors(page):
    seen, out = {}, set()
    for m in re.finditer(r"^#{1,6} +(.+?) *#*$", prose(page.read_text()), re.M):
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(page):
    """(line, target) of every Markdown link and image outside code."""
    text = re.sub(r"`[^`\n]*`", lambda m: " " * len(m.group(0)), prose(page.read_text()))
    return [(text[: m.start()].count("\n") + 1, m.group(1)) for m in LINK.finditer(text)]


def broken_links(page):
    bad = []
    for line, target in links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not checked (tests never go online)
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            bad.append(f"{name(page)}:{line}: {target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{name(page)}:{line}: {target}: no heading #{anchor} in {name(dest)}")
    return bad


@pytest.mark.parametrize("page", PAGES, ids=[name(p) for p in PAGES])
def test_links_and_images_resolve(page):
    assert broken_links(page) == []


def test_the_link_check_finds_a_broken_file_and_anchor(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(b"")
    (tmp_path / "other.md").write_text("# Other page\n\n## What limits it: one change at a time\n")
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n![ok](img/a.png) [ok](other.md#what-limits-it-one-change-at-a-time) [ok](#title)\n"
                    "![gone](img/b.png)\n[bad anchor](other.md#nothing) `[in code](missing.md)`\n"
                    "```\n[in a block](missing.md)\n```\n[web](https://example.org/x)\n[self](#nope)\n")
    assert broken_links(page) == ["page.md:4: img/b.png: no such file",
                                  "page.md:5: other.md#nothing: no heading #nothing in other.md",
                                  "page.md:10: #nope: no heading #nope in page.md"]


# --- commands -----------------------------------------------------------------------------------------------

def commands(page):
    """(line, argv after `python -m`, whole) of each `python -m stylegan_tf...` command of `page`: in bash blocks
    (whole: True, a command to run) and in inline code (whole: False, prose that may name a command only)."""
    found = []
    for first, code in blocks(page, "bash"):
        lines = code.split("\n")
        start = 0
        for i, raw in enumerate(lines):  # a command continued with a trailing backslash counts from its first line
            if not raw.endswith("\\"):
                joined = " ".join(x.rstrip("\\") for x in lines[start:i + 1])
                found += [(first + start, cmd, True) for cmd in split_commands(joined)]
                start = i + 1
    text = prose(page.read_text())
    for m in re.finditer(r"`(python -m stylegan_tf[^`]*)`", text):
        found += [(text[: m.start()].count("\n") + 1, cmd, False) for cmd in split_commands(m.group(1))]
    return found


def split_commands(line):
    try:
        words = shlex.split(line, comments=True)
    except ValueError:  # an unbalanced quote in a line continued below: judged with its continuation
        return []
    cmds, cur, prev = [], None, None
    for w in words + [";"]:
        if w in (";", "&&", "||", "|"):
            if cur:
                cmds.append(cur)
            cur = None
        elif cur is not None:
            cur.append(w)
        elif w == "-m" and prev == "python":
            cur = []
        prev = w
    return [c for c in cmds if c and (c[0] == "stylegan_tf" or c[0].startswith("stylegan_tf."))]


def parse_error(argv, whole):
    """None if `python -m stylegan_tf ARGV` parses (whole) or names a real sub-command (not whole), else why not."""
    from stylegan_tf.cli import COMMANDS, build_parser
    if not whole:
        return None if not argv or argv[0] in COMMANDS else f"no sub-command {argv[0]!r}"
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            build_parser().parse_args(argv)
        except SystemExit as e:
            if e.code:
                return err.getvalue().strip().splitlines()[-1]
    return None


def module_error(argv):
    """None if `python -m stylegan_tf.X ARGV` names a module of this checkout whose source defines the sub-command
    and options used (read as text: importing some of these modules would start TensorFlow)."""
    module, args = argv[0], argv[1:]
    base = CHECKOUT.joinpath(*module.split("."))
    source = base / "__main__.py" if base.is_dir() else base.with_suffix(".py")
    if not source.is_file():
        return f"no module {module}"
    text = source.read_text()
    if args and not args[0].startswith("-") and "add_parser(" in text and f'add_parser("{args[0]}"' not in text:
        return f"{module} has no sub-command {args[0]!r}"
    missing = [a.split("=")[0] for a in args if a.startswith("--") and f'"{a.split("=")[0]}"' not in text]
    return f"{module}: unknown option {', '.join(missing)}" if missing else None


def command_errors(page):
    bad = []
    for line, argv, whole in commands(page):
        error = parse_error(argv[1:], whole) if argv[0] == "stylegan_tf" else module_error(argv)
        if error:
            bad.append(f"{name(page)}:{line}: python -m {shlex.join(argv)}: {error}")
    return bad


@pytest.mark.parametrize("page", PAGES, ids=[name(p) for p in PAGES])
def test_commands_parse(page):
    assert command_errors(page) == []


def test_the_pages_name_the_commands():
    found = {argv[1] for page in PAGES for _, argv, whole in commands(page)
             if whole and argv[0] == "stylegan_tf" and len(argv) > 1}
    assert {"train", "prepare", "metrics", "generate", "export", "convert"} <= found


def test_the_command_check_finds_a_bad_sub_command_and_option(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    page = tmp_path / "page.md"
    page.write_text("```bash\npython -m stylegan_tf train --kimg 1 --out runs/x   # fine\n"
                    "python -m stylegan_tf trian --out runs/x\n"
                    "pip install -e . && python -m stylegan_tf train \\\n    --no-such-flag\n```\n"
                    "Inline: `python -m stylegan_tf.pretrained tabels`, `python -m stylegan_tf configs`.\n")
    errors = command_errors(page)
    assert [e.split(": python -m ")[0] for e in errors] == ["page.md:3", "page.md:4", "page.md:7"]
    assert "invalid choice: 'trian'" in errors[0]
    assert "unrecognized arguments: --no-such-flag" in errors[1]
    assert "no sub-command 'tabels'" in errors[2]
