"""A new adapter's limits are its provider's (``tuneplug_adapter_limits``,
:mod:`tuneplug.models.limits`): a declared rank range holds for ``create_adapter``,
``start_fine_tune``, the CLI and ``models --options``, checked before any I/O and naming
the argument (or flag) and the provider; a provider that declares none keeps 1..32."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from click.testing import CliRunner
from pydantic import ValidationError
from tuneplug.cli import cli
from tuneplug.errors import TuneplugError
from tuneplug.models.limits import DEFAULT_LIMITS, adapter_limits
from tuneplug.options import OptionError, option_rows
from tuneplug.types import AdapterLimits, ModelInfo

from tests.core.plugin_kit import COMPLETER, FINETUNABLE, Calls

Register = Callable[..., Any]


def _provider(make_plugin: Any, register: Register, name: str, **hooks: Any) -> Calls:
    calls = Calls()
    register(name, make_plugin(name, (*COMPLETER, *FINETUNABLE), calls=calls, **hooks))
    return calls


def _wide(base: ModelInfo) -> AdapterLimits:
    # Limits per base model: `base` opts in.
    return AdapterLimits(min_rank=4, max_rank=512 if base.id == "base" else 16)


def test_declared_limits_replace_the_default(make_plugin: Any, register: Register) -> None:
    calls = _provider(make_plugin, register, "wide", adapter_limits=_wide)
    model = tuneplug.get_model("wide/base")
    assert adapter_limits(model.provider, model.info) == AdapterLimits(min_rank=4, max_rank=512)
    model.create_adapter("big", rank=400)  # beyond the old core cap of 32
    assert calls.of("create_adapter")[0]["rank"] == 400
    for rank in (3, 513, True, "8"):
        with pytest.raises(OptionError) as caught:
            model.create_adapter("x", rank=rank)
        assert caught.value.option == "rank" and caught.value.provider == "wide"
        assert f"must be an integer in 4..512 for 'wide' adapters, got {rank!r}" in str(
            caught.value
        )
    assert len(calls.of("create_adapter")) == 1  # nothing else reached the provider


def test_a_provider_declaring_none_keeps_1_to_32(make_plugin: Any, register: Register) -> None:
    calls = _provider(make_plugin, register, "plain")
    _provider(make_plugin, register, "unsure", adapter_limits=lambda: None)
    for name in ("plain", "unsure"):
        model = tuneplug.get_model(f"{name}/base")
        assert adapter_limits(model.provider, model.info) == DEFAULT_LIMITS == AdapterLimits()
        with pytest.raises(OptionError, match=rf"1\.\.32 for '{name}' adapters, got 33"):
            model.create_adapter("x", rank=33)
    tuneplug.get_model("plain/base").create_adapter("edge", rank=32)
    assert calls.of("create_adapter")[0]["rank"] == 32


def test_a_wrong_answer_is_the_plugins_fault(make_plugin: Any, register: Register) -> None:
    _provider(make_plugin, register, "broken", adapter_limits=lambda: {"max_rank": 64})
    with pytest.raises(TuneplugError, match="tuneplug_adapter_limits returned") as caught:
        tuneplug.get_model("broken/base").create_adapter("x", rank=8)
    assert caught.value.provider == "broken"


@pytest.mark.parametrize(
    "bounds", [{"min_rank": 0}, {"max_rank": 0}, {"min_rank": 9, "max_rank": 8}]
)
def test_limits_are_sound(bounds: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        AdapterLimits(**bounds)


def test_a_job_takes_the_providers_limits_before_its_data_is_read(
    make_plugin: Any, register: Register, tmp_path: Path
) -> None:
    _provider(make_plugin, register, "wide", adapter_limits=_wide)
    model = tuneplug.get_model("wide/base")
    missing = tmp_path / "nofile.jsonl"  # read, it would be a SampleFileError
    with pytest.raises(OptionError, match=r"4\.\.512 for 'wide' adapters, got 2000"):
        model.start_fine_tune(str(missing), rank=2000)  # JobSpec itself no longer caps it
    job = model.start_fine_tune(["a b"], rank=300).wait(timeout=60)
    assert job.status.value == "succeeded" and job.hyperparameters["rank"] == 300


def test_the_cli_names_the_flag_and_the_provider(
    make_plugin: Any, register: Register, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.jsonl").write_text(json.dumps("a sample") + "\n")
    _provider(make_plugin, register, "wide", adapter_limits=_wide)
    for args in (
        ["adapters", "create", "wide/base", "--name", "x", "--rank", "600"],
        ["jobs", "create", "wide/base", "nofile.jsonl", "--rank", "600"],
    ):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, (result.stdout, result.stderr)
        assert result.stderr.strip() == (
            "error: --rank: must be an integer in 4..512 for 'wide' adapters, got 600"
        )
    made = CliRunner().invoke(
        cli, ["adapters", "create", "wide/base", "--name", "x", "--rank", "500"]
    )
    assert made.exit_code == 0, made.stderr
    rows = {r["name"]: r for r in option_rows(tuneplug.get_model("wide/base"))}
    assert "4..512" in rows["rank"]["description"]


@pytest.mark.parametrize(("ref", "highest"), [("mock/tiny", 32), ("gradient/tiny", 32)])
def test_the_bundled_providers_declare_theirs(ref: str, highest: int) -> None:
    provider = tuneplug.get_provider(ref.partition("/")[0])
    assert provider.has("tuneplug_adapter_limits")
    assert provider.call("tuneplug_adapter_limits", base=None).max_rank == highest
