"""Provider instances (``[providers.NAME] plugin = "openai"``) and docs/providers.md.

Every TOML snippet of the guide is written as a project config, and each provider it
declares is built and its client constructed (no request is sent): the snippets are
tested, not illustrative.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from click.testing import CliRunner
from tuneplug import errors
from tuneplug.cli import cli
from tuneplug.plugins import default_registry

from tests.openai.fake import BEFORE, KEY, OpenAIFake, serve

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "providers.md"
SNIPPETS = re.findall(r"```toml\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)
KEYS = {
    "OPENAI_API_KEY": "sk-openai-key-0000",
    "AZURE_OPENAI_API_KEY": "azure-key-1111",
    "TOGETHER_API_KEY": "together-key-2222",
    "FIREWORKS_API_KEY": "fw-key-3333",
    "GROQ_API_KEY": "gsk-key-4444",
    "OPENROUTER_API_KEY": "sk-or-key-5555",
}


def _headers(provider: Any) -> dict[str, str]:
    from tuneplug_openai.plugin import client

    raw = client(provider.ctx).http._requests.lines
    return {k.decode().lower(): v.decode() for k, v in raw}


def test_the_guide_has_a_snippet_per_endpoint() -> None:
    names = {name for s in SNIPPETS for name in tomllib.loads(s).get("providers", {})}
    assert names == {"openai", "azure", "together", "fireworks", "groq", "openrouter",
                     "vllm", "ollama", "llamacpp", "lmstudio"}  # fmt: skip


@pytest.mark.parametrize(
    "snippet", SNIPPETS, ids=lambda s: next(iter(tomllib.loads(s)["providers"]))
)
def test_every_snippet_builds_its_provider(snippet: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    Path("tuneplug.toml").write_text(snippet, encoding="utf-8")
    for name, table in tomllib.loads(snippet)["providers"].items():
        provider = default_registry().provider(name)
        assert provider.name == name and provider.ctx.provider == name
        settings = provider.ctx.settings
        assert settings.base_url == table.get("base_url", "https://api.openai.com/v1")
        headers = _headers(provider)
        # The plugin itself reads OPENAI_API_KEY; an instance only its api_key_env.
        env = table.get("api_key_env", None if table.get("plugin") else "OPENAI_API_KEY")
        if env in KEYS:
            assert headers["authorization"] == f"Bearer {KEYS[env]}"
        else:
            assert "authorization" not in headers  # a loopback server without a key
        if table.get("plugin"):
            assert provider.info.plugin == "openai"
            assert KEYS["OPENAI_API_KEY"] not in json.dumps(headers)  # never leaks across
        for header, value in table.get("headers", {}).items():
            assert headers[header.lower()] == value


def test_an_instance_completes_and_never_reads_openai_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with serve(monkeypatch) as fake:
        Path("tuneplug.toml").write_text(
            f'[providers.local]\nplugin = "openai"\nbase_url = "{fake.url}"\n'
            'api_key_env = "LOCAL_KEY"\n'
        )
        monkeypatch.setenv("LOCAL_KEY", KEY)
        monkeypatch.setenv("OPENAI_MAX_RETRIES", "not a number")  # the instance ignores it
        model = tuneplug.get_model("local/gpt-4o-mini")
        assert model.ref == "local/gpt-4o-mini"
        done = model.complete("Question?")
        assert (done.text, done.provider) == (BEFORE, "local")


def test_a_remote_instance_without_its_key_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-be-used")
    Path("tuneplug.toml").write_text(
        '[providers.together]\nplugin = "openai"\nbase_url = "https://api.together.xyz/v1"\n'
        'api_key_env = "TOGETHER_API_KEY"\n'
    )
    with pytest.raises(errors.ConfigError, match="TOGETHER_API_KEY") as info:
        tuneplug.get_model("together/meta-llama/Llama-3-8b").complete("hi")
    assert info.value.provider == "together"


@pytest.mark.parametrize(
    ("toml", "match"),
    [
        ('[providers.mock]\nplugin = "openai"\n', "installed provider"),
        ("[providers.x]\nplugin = 5\n", "plugin"),
        ('[providers.x]\nplugin = "openai"\nbase_urll = "http://127.0.0.1/v1"\n', "base_urll"),
    ],
)
def test_bad_instances_are_config_errors(toml: str, match: str) -> None:
    Path("tuneplug.toml").write_text(toml)
    name = re.search(r"providers\.(\w+)", toml).group(1)  # type: ignore[union-attr]
    with pytest.raises(errors.ConfigError, match=match):
        tuneplug.get_model(f"{name}/m")


def test_plugins_lists_instances_with_their_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    Path("tuneplug.toml").write_text(
        '[providers.vllm]\nplugin = "openai"\nbase_url = "http://127.0.0.1:8000/v1"\n'
    )
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["vllm"]["plugin"] == "openai" and "plugin" not in rows["openai"]
    assert rows["vllm"]["distribution"] == rows["openai"]["distribution"] == "tuneplug-openai"
    assert "chat" in rows["vllm"]["capabilities"] and rows["vllm"]["error"] is None
    table = CliRunner().invoke(cli, ["plugins"]).stdout
    assert re.search(r"vllm\s+plugin openai \(tuneplug-openai\)", table), table


@pytest.fixture
def two(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    with serve(monkeypatch) as fake:
        Path("tuneplug.toml").write_text(
            f'[providers.one]\nplugin = "openai"\nbase_url = "{fake.url}"\napi_key = "{KEY}"\n'
        )
        yield fake


def test_list_models_includes_instances(two: OpenAIFake) -> None:
    refs = {m.ref for m in tuneplug.list_models()}  # Gradient, unconfigured, passed by
    assert "one/gpt-4o-mini" in refs and "openai/gpt-4o-mini" in refs
