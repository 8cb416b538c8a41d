"""A 401, a 403 or a missing key names where *this* provider's key is set.

A fresh user's instance (``[providers.local] plugin = "openai"``, no key) got a 401
saying "check OPENAI_API_KEY", a variable instances never read (docs/providers.md).
Every key source has its own hint, and an instance's never names OPENAI_API_KEY.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import tuneplug
from tuneplug import errors

from tests.core.http.fake import Reply
from tests.openai.fake import OpenAIFake, serve


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    with serve(monkeypatch, API_KEY="sk-test-wrong-0") as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-wrong-0")
        yield server


def _instance(fake: OpenAIFake, extra: str = "") -> None:
    Path("tuneplug.toml").write_text(
        f'[providers.local]\nplugin = "openai"\nbase_url = "{fake.url}"\n{extra}'
    )


@pytest.mark.parametrize(
    ("config", "env", "model", "hint"),
    [
        (None, {}, "openai/gpt-4o-mini", "check OPENAI_API_KEY"),
        (None, {"OPENAI_API_KEY": "", "OPENAI_API_KEY_ENV": "MY_KEY", "MY_KEY": "sk-test-wrong-1"},
         "openai/gpt-4o-mini", "check MY_KEY (named by OPENAI_API_KEY_ENV)"),
        ("", {}, "local/gpt-4o-mini",
         "check api_key, or api_key_env naming a variable, in [providers.local]"),
        ('api_key = "sk-test-wrong-2"\n', {}, "local/gpt-4o-mini",
         "check api_key in [providers.local] (FILE:4)"),
        ('api_key_env = "LOCAL_KEY"\n', {"LOCAL_KEY": "sk-test-wrong-3"}, "local/gpt-4o-mini",
         "check LOCAL_KEY (named by api_key_env in [providers.local] (FILE:4))"),
    ],
    ids=["plugin", "plugin-variable", "instance-no-key", "instance-key", "instance-variable"],
)  # fmt: skip
@pytest.mark.parametrize("status", [401, 403])
def test_the_hint_names_where_this_providers_key_is_set(
    fake: OpenAIFake,
    monkeypatch: pytest.MonkeyPatch,
    config: str | None,
    env: dict[str, str],
    model: str,
    hint: str,
    status: int,
) -> None:
    if config is not None:
        _instance(fake, config)
    for name, value in env.items():
        if value:
            monkeypatch.setenv(name, value)
        else:  # OPENAI_API_KEY would win over the variable api_key_env names
            monkeypatch.delenv(name)
    kind = "invalid_api_key" if status == 401 else "insufficient_permissions"
    fake.server.script(Reply(status, {"error": {"message": "no", "type": kind, "param": None,
                                                "code": kind}}))  # fmt: skip
    error = errors.AuthenticationError if status == 401 else errors.PermissionDeniedError
    with pytest.raises(error) as info:
        tuneplug.get_model(model).complete("Hi", max_tokens=2)
    hint = hint.replace("FILE", str(Path("tuneplug.toml").resolve()))
    wanted = hint if status == 401 else f"{hint}, organization and project"
    assert str(info.value).endswith(f"[{kind}]; {wanted} (HTTP {status})")
    if model.startswith("local/"):
        assert "OPENAI_API_KEY" not in str(info.value)
    assert "sk-test-wrong" not in str(info.value)


def test_a_remote_instance_without_a_key_says_where_to_set_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-for-instances")
    Path("tuneplug.toml").write_text(
        '[providers.remote]\nplugin = "openai"\nbase_url = "https://llm.example/v1"\n'
    )
    with pytest.raises(errors.NotConfiguredError) as info:
        tuneplug.get_model("remote/m").complete("Hi")
    assert str(info.value) == (
        "remote: missing API key for https://llm.example/v1: set api_key, or api_key_env "
        "naming a variable, in [providers.remote]"
    )
