"""Running the ``tuneplug`` command line in-process, and the training file its job commands read.

``invoke`` is what the core's CLI tests call, ``ok`` and ``error_line`` judge its result; the
``data`` fixture (made available by ``tests/core/conftest.py`` to every core sub-part) is a
two-sample JSONL training file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from tuneplug.cli import cli

__all__ = ["SAMPLES", "data", "error_line", "invoke", "ok"]

SAMPLES = '{"inputs": "hello world"}\n{"inputs": "goodbye world"}\n'
"""Two samples in ``{"inputs": ...}`` form, one a line."""


def invoke(*args: str, input: str | None = None) -> Result:
    """``tuneplug ARGS...`` with ``input`` on stdin: 250 columns wide, so no message or table
    wraps; stdout and stderr apart."""
    return CliRunner(env={"COLUMNS": "250"}).invoke(cli, list(args), input=input)


def ok(result: Result) -> Result:
    """``result``, asserting it succeeded (exit 0)."""
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def error_line(result: Result) -> str:
    """The one ``error: ...`` line of a runtime failure (exit 1, nothing else on stderr)."""
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (result.stderr, result.exception)
    return lines[0]


@pytest.fixture
def data(tmp_path: Path) -> str:
    """The path of ``tmp_path/data.jsonl`` holding ``SAMPLES``."""
    path = tmp_path / "data.jsonl"
    path.write_text(SAMPLES, encoding="utf-8")
    return str(path)
