"""A float option that is not finite (``nan``, ``inf``) is refused for that reason, not
for a bound it cannot be compared with, from every Python entry point (user 6 #11).

``nan`` fails every comparison, so pydantic blamed one bound: ``temperature=nan: Input
should be less than or equal to 2``. The core now says the range and the value given, as
for any number out of range; the CLI already said ``'nan' is not a finite number``.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from pydantic import BaseModel
from tuneplug.langchain import TuneplugChat, TuneplugLLM
from tuneplug.options import DeclaredOptions, check_extra

NON_FINITE = [math.nan, math.inf, -math.inf]
RANGES = {
    "temperature": "must be a number >= 0 and <= 2",
    "top_p": "must be a number > 0 and <= 1",
}


def _calls(model: tuneplug.Model, option: dict[str, Any]) -> list[Any]:
    async def astream() -> None:
        async for _ in model.astream("hi", **option):
            pass

    return [
        lambda: model.complete("hi", **option),
        lambda: model.chat([{"role": "user", "content": "hi"}], **option),
        lambda: list(model.stream("hi", **option)),
        lambda: asyncio.run(model.acomplete("hi", **option)),
        lambda: asyncio.run(astream()),
        lambda: tuneplug.get_model("mock/tiny", **option),
        lambda: list(tuneplug.batch("mock/tiny", ["hi"], **option)),
    ]


@pytest.mark.parametrize("value", NON_FINITE, ids=repr)
@pytest.mark.parametrize("name", sorted(RANGES))
def test_every_entry_point_names_the_range_not_one_bound(name: str, value: float) -> None:
    model = tuneplug.get_model("mock/tiny")
    for call in _calls(model, {name: value}):
        with pytest.raises(tuneplug.OptionError) as caught:
            call()
        text = str(caught.value)
        assert f"{RANGES[name]}, got {value!r}" in text, text
        assert "Input should be" not in text and caught.value.option == name


def test_an_alias_option_says_it_at_its_line(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "tuneplug.toml").write_text(
        '[models.qa]\nmodel = "mock/tiny"\ntemperature = nan\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(tuneplug.ConfigError) as caught:
        tuneplug.get_model("qa").complete("hi")
    assert "tuneplug.toml:3: [models.qa] temperature:" in str(caught.value)
    assert "must be a number >= 0 and <= 2, got nan" in str(caught.value)


class _Declared(BaseModel):
    volume: float = 1.0  # no bounds: pydantic itself takes nan
    levels: list[float] = []


@pytest.mark.parametrize("value", NON_FINITE, ids=repr)
def test_a_provider_option_without_bounds_refuses_non_finite(value: float) -> None:
    declared = DeclaredOptions(model=_Declared)
    with pytest.raises(tuneplug.OptionError, match="must be a finite number, got") as caught:
        check_extra({"volume": value}, declared, "acme")
    assert caught.value.option == "volume"
    # at any depth, naming the path inside the option
    with pytest.raises(tuneplug.OptionError, match=r"levels\[1\]=") as caught:
        check_extra({"levels": [1.0, value]}, declared, "acme")
    assert caught.value.detail.startswith("value[1]: must be a finite number")


@pytest.mark.parametrize("value", NON_FINITE, ids=repr)
def test_job_spec_and_adapter_numbers(value: float) -> None:
    with pytest.raises(tuneplug.OptionError, match=f"must be a number > 0 and < 1, got {value!r}"):
        tuneplug.JobSpec(model="mock/tiny", training_data=["a"], learning_rate=value)
    model = tuneplug.get_model("mock/tiny")
    with pytest.raises(tuneplug.OptionError, match="learning_rate must be a number > 0 and < 1"):
        model.create_adapter("a", learning_rate=value)


@pytest.mark.parametrize("value", NON_FINITE, ids=repr)
@pytest.mark.parametrize("field", ["timeout", "temperature", "top_p"])
@pytest.mark.parametrize("cls", [TuneplugChat, TuneplugLLM], ids=lambda c: c.__name__)
def test_langchain_arguments(cls: type[Any], field: str, value: float) -> None:
    with pytest.raises(tuneplug.OptionError) as caught:
        cls(model="mock/tiny", **{field: value})
    assert str(caught.value) == (
        f"the {field}= argument of {cls.__name__}: must be a finite number, got {value!r}"
    )
