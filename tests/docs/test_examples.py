"""Every example in README.md and docs/ runs as written (issue 12), or says why it cannot.

Each fenced ``python`` or ``bash`` block runs, unless the line just above its
fence is ``<!-- not run: REASON -->`` (an HTML comment, invisible on GitHub):
REASON must say why (it needs credentials, installs packages, is a synopsis
with placeholders, is a fragment of a plugin module checked elsewhere, ...).

How they run, as a reader would run them in a fresh environment with the
packages installed and nothing configured:

* the ``python`` blocks of one file run in order in one interpreter, in a new
  empty directory; each is a script as written (no top-level ``await``: a reader
  pastes a block into a file and runs ``python`` on it);
* each ``bash`` block runs with ``bash -e`` in the repository root (its
  commands name the repository's paths), unless it would install, serve, delete or
  write (``UNSAFE``): then it must carry the marker, and the test fails without
  running it;
* both with a fresh ``TUNEPLUG_HOME``, XDG config dir and no ``TUNEPLUG_*`` or
  ``GRADIENT_*`` variable, so nothing but the offline mock is reachable.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"^(`{3,})(\w*)\s*$")
NOT_RUN = re.compile(r"^<!-- not run: (?P<reason>.*\S.*?) -->$")
RUNNABLE = {"python", "bash"}
# A bash block doing any of these is never run by this test: it must say why (not run: ...).
UNSAFE = re.compile(
    r"\bpip\b|\bpytest\b|\bserve\b|\brm\b|\bmv\b|\bgit\b|\bcurl\b|\bwget\b|\bsudo\b|"
    r"RECORD|\.ci/|bench/|(?<![<>2&])>(?!&)|\btee\b"
)
TIMEOUT = 120

RUNNER = r"""
import json, sys, traceback
blocks = json.load(sys.stdin)
scope = {"__name__": "__main__"}
for line, code in blocks:
    try:
        exec(compile(code, f"<block at line {line}>", "exec"), scope)
    except BaseException:
        print(f"the block at line {line} failed:", file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
"""


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    code: str
    skip: str | None

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opened = FENCE.match(lines[index])
        if not opened:
            index += 1
            continue
        start, ticks, lang = index, opened.group(1), opened.group(2)
        index += 1
        body = []
        while index < len(lines) and lines[index].strip() != ticks:
            body.append(lines[index])
            index += 1
        index += 1
        before = lines[start - 1].strip() if start else ""
        marker = NOT_RUN.match(before)
        if lang in RUNNABLE:
            skip = marker.group("reason") if marker else None
            found.append(Block(path, start + 1, lang, "\n".join(body) + "\n", skip))
    return found


ALL = [b for path in DOCS for b in blocks(path)]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TUNEPLUG_", "GRADIENT_", "OPENAI_", "PYTEST_"))
    }
    for name in ("home", "xdg"):
        (tmp_path / name).mkdir(exist_ok=True)
    env.update(TUNEPLUG_HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_every_block_is_run_or_says_why_not() -> None:
    assert len(ALL) > 20  # the extraction found the docs' examples
    for block in ALL:
        if block.skip is not None:
            assert len(block.skip) > 10, f"{block.name}: say why it is not run"
    assert any(b.skip is None for b in ALL if b.lang == "bash")


@pytest.mark.parametrize(
    "path",
    [p for p in DOCS if any(b.lang == "python" and b.skip is None for b in blocks(p))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_the_python_examples_run(path: Path, tmp_path: Path) -> None:
    runnable = [(b.line, b.code) for b in blocks(path) if b.lang == "python" and b.skip is None]
    work = tmp_path / "reader"  # a new, empty directory
    work.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=json.dumps(runnable),
        capture_output=True,
        text=True,
        cwd=work,
        env=_env(tmp_path),
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, f"{path.name}: {result.stderr[-3000:]}"


@pytest.mark.parametrize(
    "block",
    [b for b in ALL if b.lang == "bash" and b.skip is None],
    ids=lambda b: b.name,
)
def test_the_bash_examples_run(block: Block, tmp_path: Path) -> None:
    # Never run what installs, serves, deletes or writes files: such a block needs a marker.
    assert not UNSAFE.search(block.code), f"{block.name}: mark it <!-- not run: why -->"
    result = subprocess.run(
        ["bash", "-e", "-c", block.code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(tmp_path),
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, f"{block.name}: {result.stdout[-1500:]}{result.stderr[-1500:]}"
