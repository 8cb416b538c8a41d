"""LangChain's standard ``api_key`` reaches the provider's credential setting.

A fresh user found ``TuneplugLLM(model="openai/...", api_key=...)`` refused with
"more than one credential setting": the OpenAI provider's ``headers`` and ``query``
hold secret values too, and were counted as places for a key. ``api_key`` goes to a
setting named ``api_key`` (OpenAI and every instance of it), else to the one
``SecretStr`` setting (Gradient's ``access_token``); the key must then be the one
sent, for the LLM and the chat model, by reference, alias and instance.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from pydantic import SecretStr
from tuneplug.errors import AuthenticationError, ConfigError
from tuneplug.langchain import TuneplugChat, TuneplugLLM

from tests.openai.fake import KEY, OpenAIFake, serve

CLASSES = [TuneplugLLM, TuneplugChat]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[OpenAIFake]:
    # No key from the environment: only LangChain's api_key can make the call pass.
    with serve(
        monkeypatch,
        API_KEY="",
        HEADERS=json.dumps({"X-Title": "t"}),
        QUERY=json.dumps({"api-version": "1"}),
    ) as server:
        monkeypatch.chdir(tmp_path)
        Path("tuneplug.toml").write_text(
            f'[providers.local]\nplugin = "openai"\nbase_url = "{server.url}"\n'
            'api_key_env = "LOCAL_KEY"\nheaders = { X-Title = "t" }\n\n'
            '[models.qa]\nmodel = "local/gpt-4o-mini"\n'
        )
        monkeypatch.delenv("LOCAL_KEY", raising=False)
        yield server


def _invoke(cls: type, **kwargs: Any) -> str:
    model = cls(max_tokens=4, **kwargs)
    if cls is TuneplugChat:
        return str(model.invoke([HumanMessage("Hi")]).content)
    return str(model.invoke("Hi"))


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("reference", ["openai/gpt-4o-mini", "local/gpt-4o-mini", "qa"])
@pytest.mark.parametrize("key", [KEY, SecretStr(KEY)], ids=["str", "SecretStr"])
def test_api_key_is_the_key_sent(fake: OpenAIFake, cls: type, reference: str, key: Any) -> None:
    assert _invoke(cls, model=reference, api_key=key)
    sent = fake.server.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["x-title"] == "t"  # the provider's other secret settings kept


@pytest.mark.parametrize("cls", CLASSES)
def test_without_api_key_the_call_has_no_key(fake: OpenAIFake, cls: type) -> None:
    # The check above can fail: the fake refuses a call without the key (a loopback
    # server needs none, so nothing stops the call before it is sent).
    with pytest.raises(AuthenticationError):
        _invoke(cls, model="local/gpt-4o-mini")


@pytest.mark.parametrize("cls", CLASSES)
def test_a_provider_without_a_credential_setting_is_one_clear_error(cls: type) -> None:
    with pytest.raises(ConfigError) as info:
        _invoke(cls, model="mock/tiny", api_key="sk-test-x")
    assert str(info.value) == (
        "mock: api_key given, but this provider has no single credential setting to "
        "put it in; pass settings={...} instead"
    )
    assert "sk-test-x" not in str(info.value)
