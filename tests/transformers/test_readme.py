"""plugins/transformers/README.md's offline example runs as written: the tiny model built
into the working directory, named ``transformers/./tiny``, taught the seed answer, which
it then says and stops after; nothing else is printed (no progress bar)."""

from __future__ import annotations

import re
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
