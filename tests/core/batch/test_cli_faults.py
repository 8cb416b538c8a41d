"""``tuneplug batch`` as a newcomer meets it (issue 12): no lock file is left behind after
a run (succeeded, failed or interrupted) while a second concurrent run is still refused;
Ctrl-C says that rerunning the command continues.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.core.cli_runner import invoke


def test_batch_removes_its_lock_file_when_the_run_ends(tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    inp.write_text('"one"\n"two"\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    ok = invoke("batch", "mock/tiny", str(inp), "-o", str(out), "-q")
    assert ok.exit_code == 0, ok.stderr
    assert out.exists() and not Path(f"{out}.lock").exists()
    inp.write_text("not json\n", encoding="utf-8")
    failed = invoke("batch", "mock/tiny", str(inp), "-o", str(tmp_path / "o2.jsonl"), "-q")
    assert failed.exit_code == 1
    assert list(tmp_path.glob("*.lock")) == []


def test_batch_still_refuses_a_second_run_on_the_same_output(tmp_path: Path) -> None:
    from filelock import FileLock

    inp = tmp_path / "in.jsonl"
    inp.write_text('"one"\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    with FileLock(f"{out}.lock"):  # another run holds it
        busy = invoke("batch", "mock/tiny", str(inp), "-o", str(out), "-q")
    assert busy.exit_code == 1 and "another `tuneplug batch` is writing" in busy.stderr
    assert not out.exists()


def test_interrupting_batch_says_rerunning_continues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuneplug.batching import filerun

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(filerun, "run_batch_file", interrupted)
    inp = tmp_path / "in.jsonl"
    inp.write_text('"one"\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = invoke("batch", "mock/tiny", str(inp), "-o", str(out), "-q")
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == (
        f"error: interrupted; run the same command again to continue: "
        f"the inputs already in {out} are skipped"
    )
