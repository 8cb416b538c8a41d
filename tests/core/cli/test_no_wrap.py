"""Lines on stderr are never wrapped when stderr is not a terminal: logs stay greppable."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.cli.output import stderr_console

from tests.core.plugin_kit import COMPLETER, FINETUNABLE

LONG = "created: " + "word " * 60  # 309 characters, well past 80 columns


def test_a_long_line_to_a_file_stays_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)
    monkeypatch.delenv("COLUMNS", raising=False)
    stderr_console().print(LONG.strip(), highlight=False, markup=False)
    assert captured.getvalue() == LONG.strip() + "\n"


def test_quiet_prints_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)
    stderr_console(quiet=True).print("anything")
    assert captured.getvalue() == ""


def test_a_job_event_longer_than_a_terminal_is_one_line_on_stderr(
    make_plugin, register, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    register("ft", make_plugin("ft", (*COMPLETER, *FINETUNABLE)))
    data = tmp_path / "seed.jsonl"
    data.write_text('"a sample"\n', encoding="utf-8")
    suffix = "a-suffix-long-enough-to-push-the-line-past-eighty-columns"
    result = CliRunner().invoke(
        cli, ["jobs", "create", "ft/base", str(data), "--suffix", suffix], terminal_width=80
    )
    assert result.exit_code == 0, result.output
    (created,) = [line for line in result.stderr.splitlines() if line.startswith("created:")]
    assert created.endswith(f"{suffix}_adapter") and len(created) > 80
