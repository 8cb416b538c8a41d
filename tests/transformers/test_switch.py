"""Acceptance: the same user script fine-tunes ``mock/tiny`` and a real transformer,
switched by ``TUNEPLUG_MODEL`` alone."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest

from tests.transformers.kit import configure

pytest.importorskip("torch")

SEED_SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "seed.py"


@pytest.mark.parametrize("ref", ["mock/tiny", "transformers/tiny"])
def test_the_seed_script_runs_on_either_model(
    ref: str, tuneplug_home: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(tuneplug_home)  # config names the tiny model; the script knows nothing of it
    tuneplug_home.use_model(ref)
    runpy.run_path(str(SEED_SCRIPT), run_name="__main__")
    out = capsys.readouterr().out
    provider = ref.split("/")[0]
    assert f"base models of {provider}:" in out
    assert f"created adapter {provider}/" in out
    trained = next(line for line in out.splitlines() if line.startswith("fine-tuned:"))
    assert int(trained.split()[1]) > 0  # trainable tokens
