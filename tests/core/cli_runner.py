"""Running the ``tuneplug`` command line in-process, and the training file its job commands read.

``invoke`` is what the core's CLI tests call; the ``data`` fixture (made available by
``tests/core/conftest.py`` to every core sub-part) is a two-sample JSONL training file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from tuneplug.cli import cli

__all__ = ["SAMPLES", "data", "invoke"]

SAMPLES = '{"inputs": "hello world"}\n{"inputs": "goodbye world"}\n'
"""Two samples in ``{"inputs": ...}`` form, one a line."""


def invoke(*args: str) -> Result:
    """``tuneplug ARGS...``: 250 columns wide, so no message wraps; stdout and stderr apart."""
    return CliRunner(env={"COLUMNS": "250"}).invoke(cli, list(args))


@pytest.fixture
def data(tmp_path: Path) -> str:
    """The path of ``tmp_path/data.jsonl`` holding ``SAMPLES``."""
    path = tmp_path / "data.jsonl"
    path.write_text(SAMPLES, encoding="utf-8")
    return str(path)
