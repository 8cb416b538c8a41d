"""Every config error names the file and the line of the key, however TOML lets it be
written, and the closest known name when one is misspelled.

A fresh user found provider settings written as dotted keys
(``providers.local.base_url = ...``) or in an inline table reported with the file
only, a misspelled ``plugin = "opneai"`` reported with neither file nor suggestion,
and an unknown top-level key listed as a Python list without a suggestion.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tuneplug
from tuneplug.config_files import location
from tuneplug.errors import ConfigError


def error_of(text: str, model: str = "local/tiny", name: str = "tuneplug.toml") -> str:
    path = Path.cwd() / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model(model)
    return str(info.value).replace(str(path), "FILE")


BAD_URL = "FILE:{line}: [{table}] base_url: must be an http:// or https:// URL"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[providers.local]\nplugin = "openai"\nbase_url = "ftp://x"\n', 3),
        ('providers.local.plugin = "openai"\nproviders.local.base_url = "ftp://x"\n', 2),
        ('[providers]\nlocal.plugin = "openai"\n\nlocal.base_url = "ftp://x"\n', 4),
        ('[providers.local]\nplugin = "openai"\n"base_url" = "ftp://x"\n', 3),
        ("[providers.'local']\nplugin = \"openai\"\n'base_url' = \"ftp://x\"\n", 3),
        ('[ providers . "local" ]\nplugin = "openai"\nbase_url= "ftp://x"\n', 3),
        ('# one\n\nproviders = { local = { plugin = "openai", base_url = "ftp://x" } }\n', 3),
        ('[providers]\nlocal = { plugin = "openai", base_url = "ftp://x" }\n', 2),
    ],
    ids=["table", "dotted", "dotted-in-table", "quoted", "literal", "spaced", "inline",
         "inline-in-table"],
)  # fmt: skip
def test_a_provider_setting_is_placed_however_it_is_written(text: str, line: int) -> None:
    assert error_of(text) == BAD_URL.format(line=line, table="providers.local")


def test_in_pyproject_the_tool_table_is_the_root() -> None:
    text = '[tool.other]\nbase_url = 1\n\n[tool.tuneplug.providers.local]\nplugin = "openai"\n'
    text += 'base_url = "ftp://x"\n'
    expected = BAD_URL.format(line=6, table="tool.tuneplug.providers.local")
    assert error_of(text, name="pyproject.toml") == expected


def test_a_key_that_is_nowhere_names_the_nearest_table_or_only_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('x = 1\n[providers.local]\nplugin = "openai"\n')
    assert location(path, ["providers", "local", "timeout"]) == f"{path}:2"
    assert location(path, ["models", "qa"]) == str(path)
    assert location(tmp_path / "missing.toml", ["x"]) == str(tmp_path / "missing.toml")


def test_a_misspelled_plugin_names_file_line_and_the_closest_plugin() -> None:
    message = error_of('[providers.local]\nbase_url = "http://127.0.0.1:9/v1"\nplugin = "opneai"\n')
    assert message.startswith(
        "FILE:3: [providers.local] plugin: 'opneai' names no installed provider plugin; "
        "did you mean 'openai'? (installed: "
    )


def test_an_unknown_top_level_key_suggests_the_closest_and_lists_the_known_ones() -> None:
    message = error_of('# c\ndefualt_model = "mock/tiny"\n', model="mock/tiny")
    assert message == (
        "FILE:2: unknown config key 'defualt_model'; did you mean 'default_model'? "
        "(known keys: default_model, models, plugins, providers, strict)"
    )
    far = error_of("zzz = 1\n", model="mock/tiny")
    assert "did you mean" not in far and far.startswith("FILE:1: unknown config key 'zzz' (")


@pytest.mark.parametrize(
    ("table", "field", "line"),
    [('[providers.local]\nplugin = "openai"\nbase_url', "api_key", 3),
     ("[providers.openai]\nbase_url", "api_key", 2),
     ("[providers.gradient]\napi_url", "access_token", 2)],
)  # fmt: skip
def test_credentials_in_a_url_name_the_providers_own_key_setting(
    table: str, field: str, line: int
) -> None:
    provider = table.split("]")[0].split(".")[1]
    text = f'{table} = "https://user:pw-SECRET-9@llm.example/v1"\n'
    message = error_of(text, model=f"{provider}/x")
    url = table.rpartition("\n")[2]
    assert message.startswith(f"FILE:{line}: [providers.{provider}] {url}: ")
    assert message.endswith(f"put the key in `{field}`")
    assert "pw-SECRET-9" not in message


def test_the_deepest_definition_wins_over_a_later_enclosing_table(tmp_path: Path) -> None:
    # TOML lets a table be defined after its sub-table: `[providers]` below
    # `[providers.local]` does not hold the missing key's nearest definition.
    path = tmp_path / "c.toml"
    path.write_text('[providers.local]\nplugin = "openai"\n\n[providers]\nother = {}\n')
    assert location(path, ["providers", "local", "timeout"]) == f"{path}:1"


def test_problems_are_listed_by_line_as_numbers() -> None:
    # Found in another order (settings before aliases), listed as a reader meets them:
    # line 2 before line 12 (as text, "12" would sort first).
    text = "[models]\nqa = 5\n" + "# filler\n" * 9 + "[providers]\nmock = true\n"
    message = error_of(text, model="mock/tiny")
    assert [line.split(":")[1] for line in message.splitlines()[-2:]] == ["2", "13"]
