"""A length, pattern or multiple-of limit reads like every other setting error.

A ``max_length`` setting given by an environment variable used to show pydantic's
``String should have at most 8 characters``; now every layer (argument, file,
variable) says the limit in words and what was given, never the text itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.config_files import read_layer
from tuneplug.errors import ConfigError
from tuneplug.settings_layers import build_settings
from tuneplug.validation_words import problem


class Limited(BaseSettings):
    """A provider's settings with every kind of limit but a numeric range."""

    model_config = SettingsConfigDict(env_prefix="TPLIM_", extra="forbid")

    token: str = Field(default="abc", max_length=8)
    name: str = Field(default="abcd", min_length=3)
    label: str = Field(default="x", min_length=1)
    code: str = Field(default="ab", pattern=r"^[a-z]+$")
    hosts: list[str] = Field(default_factory=list, max_length=2)
    tags: list[str] = Field(default_factory=lambda: ["a"], min_length=1)
    step: float = Field(default=1.0, multiple_of=0.5, le=10)


SECRET_LOOKING = "sk-" + "x" * 17
BAD = {
    "token": SECRET_LOOKING, "name": "ab", "label": "", "code": "AB9",
    "hosts": ["a", "b", "c"], "tags": [], "step": 0.3,
}  # fmt: skip
WORDS = [
    ("token", "must be at most 8 characters long, got 20 characters"),
    ("name", "must be at least 3 characters long, got 2 characters"),
    ("label", "must not be empty"),
    ("code", "must match the pattern '^[a-z]+$'"),
    ("hosts", "must have at most 2 items, got 3"),
    ("tags", "must not be empty"),
    ("step", "must be a multiple of 0.5, got 0.3"),  # was "<= 10", which 0.3 is
]


def _problems(**layers: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        build_settings(Limited, label="settings for provider 'lim'", **layers)
    for line in info.value.problems:
        assert SECRET_LOOKING not in line and "should" not in line
    return list(info.value.problems)


def test_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in BAD.items():
        raw = value if isinstance(value, str) else str(value).replace("'", '"')
        monkeypatch.setenv(f"TPLIM_{key.upper()}", raw)
    monkeypatch.setenv("TPLIM_LABEL", "")  # empty counts as unset (settings_rules)
    expected = [f"TPLIM_{k.upper()}: {w}" for k, w in WORDS if k != "label"]
    assert _problems() == expected


def test_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "tuneplug.toml"
    body = "".join(f"{k} = {_toml(v)}\n" for k, v in BAD.items())
    path.write_text("[providers.lim]\n" + body, encoding="utf-8")
    layer = read_layer(path)
    assert layer is not None
    found = _problems(project=layer.data["providers"]["lim"], files=(layer, None),
                      section="providers.lim")  # fmt: skip
    assert found == [f"{path}:{n}: [providers.lim] {k}: {w}" for n, (k, w) in enumerate(WORDS, 2)]


def test_from_the_argument() -> None:
    assert _problems(explicit=BAD) == [
        f"invalid settings for provider 'lim': {k}: {w} (from the argument)" for k, w in WORDS
    ]


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    return str(value)


class Shapes(BaseModel):
    data: bytes = Field(default=b"", max_length=2)
    key: bytes = Field(default=b"ab", min_length=2)
    table: dict[str, int] = Field(default_factory=dict, max_length=1)
    one: list[int] = Field(default_factory=lambda: [1, 2], min_length=2)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"data": b"abc"}, "must be at most 2 bytes long, got 3 bytes"),
        ({"key": b"a"}, "must be at least 2 bytes long, got 1 byte"),
        ({"table": {"a": 1, "b": 2}}, "must have at most 1 item, got 2"),
        ({"one": [1]}, "must have at least 2 items, got 1"),
    ],
)
def test_the_siblings_in_any_model(data: dict[str, Any], said: str) -> None:
    with pytest.raises(ValidationError) as info:
        Shapes(**data)
    (err,) = info.value.errors()
    assert problem(err, Shapes) == said
