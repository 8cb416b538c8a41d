"""plugins/transformers/README.md's offline example runs as written: the tiny model built
into the working directory, named ``transformers/./tiny``, taught the seed answer, which
it then says and stops after; nothing else is printed (no progress bar)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

README = Path(__file__).resolve().parents[2] / "plugins" / "transformers" / "README.md"


def test_the_offline_tiny_model_example_runs_as_written(
    tuneplug_home: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TUNEPLUG_TRANSFORMERS_THREADS", "1")
    (block,) = [
        code
        for code in re.findall(r"```python\n(.*?)```", README.read_text("utf-8"), re.DOTALL)
        if "build_tiny_model(" in code
    ]
    exec(compile(block, f"{README}:tiny example", "exec"), {"__name__": "__main__"})
    out, err = capsys.readouterr()
    assert err == ""  # no progress bar of transformers' amid the example's output
    untrained, trained = out.splitlines()
    # Exactly the answer: trained with the EOS ending the sample, the adapter stops after
    # it instead of running on to max_tokens (it printed "The Dallas Cowboys! wCow").
    assert trained == "The Dallas Cowboys!"
    assert "Dallas" not in untrained


def test_the_command_line_example_learns_as_the_python_one_does(
    tuneplug_home: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's shell lines, run by bash in the directory holding ``./tiny``: at the
    Python block's learning rate the loss falls and the adapter says the answer (at the
    default 1e-4 twenty epochs took the mean loss from 7.39 to 7.23 only, user7 #14)."""
    from tests.transformers.kit import tiny_model_dir

    (block,) = [
        code
        for code in re.findall(r"```bash\n(.*?)```", README.read_text("utf-8"), re.DOTALL)
        if "--name tiny-cli" in code
    ]
    (tmp_path / "tiny").symlink_to(tiny_model_dir())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TUNEPLUG_TRANSFORMERS_THREADS", "1")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # stderr holds fine-tune's progress bar; no warning, no traceback.
    assert "Warning" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    losses = [
        float(x) for x in re.findall(r"^epoch \d+: .* mean loss ([\d.]+)$", done.stdout, re.M)
    ]
    assert len(losses) == 20
    assert losses[0] > 5.0 and losses[-1] < 1.0
    assert done.stdout.splitlines()[-1] == " The Dallas Cowboys!"
