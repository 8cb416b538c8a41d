"""A 401, a refused connection or a wrong URL names where the key or ``base_url`` was set.

A fresh user's ``TuneplugChat(model="local/tiny", api_key="sk-wrong-key")`` got ``check
api_key in [providers.local]``, a table that held no key; ``get_model("local/tiny",
settings={"api_key_env": "NOPE_VAR"})`` blamed ``api_key_env in [providers.local]`` for a
variable that was not even set; a refused connection did not say where ``base_url``
came from. Each hint now names the layer the request's value came from
(:mod:`tuneplug.settings_origins`): the argument, the variable, or the file and line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug import errors
from tuneplug.langchain import TuneplugChat, TuneplugLLM

from tests.core.http.fake import Reply
from tests.openai.fake import OpenAIFake, serve

WRONG = "sk-test-wrong-origin"
NOBODY = "http://127.0.0.1:9/v1"  # the discard port: nothing listens
UNAUTHORIZED = Reply(401, {"error": {"message": "no", "type": "invalid_api_key",
                                     "code": "invalid_api_key", "param": None}})  # fmt: skip


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    with serve(monkeypatch, API_KEY="") as server:
        yield server


def _project(text: str) -> Path:
    path = Path("tuneplug.toml")
    path.write_text(text, encoding="utf-8")
    return path.resolve()


def _instance(url: str, extra: str = "") -> Path:
    return _project(f'# an instance\n[providers.local]\nplugin = "openai"\nbase_url = "{url}"\n'
                    f"max_retries = 0\n{extra}")  # fmt: skip


def _failure(error: type[errors.TuneplugError], call: Callable[[], Any]) -> str:
    with pytest.raises(error) as info:
        call()
    assert WRONG not in str(info.value)
    return str(info.value)


# -- the key -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "hint"),
    [
        (lambda: tuneplug.get_model("local/gpt-4o-mini", settings={"api_key": WRONG}),
         "check api_key in the settings= argument of get_model"),
        (lambda: TuneplugChat(model="local/gpt-4o-mini", api_key=WRONG, max_retries=0),
         "check the api_key= argument of TuneplugChat"),
        (lambda: TuneplugLLM(model="local/gpt-4o-mini", api_key=WRONG),
         "check the api_key= argument of TuneplugLLM"),
        (lambda: TuneplugChat(model="local/gpt-4o-mini", settings={"api_key": WRONG}),
         "check api_key in the settings= argument of TuneplugChat"),
    ],
    ids=["get_model", "TuneplugChat-api_key", "TuneplugLLM-api_key", "TuneplugChat-settings"],
)  # fmt: skip
def test_a_key_given_as_an_argument_is_named_as_that_argument(
    fake: OpenAIFake, make: Callable[[], Any], hint: str
) -> None:
    _instance(fake.url)
    fake.server.script(UNAUTHORIZED)
    target = make()
    call = target.complete if hasattr(target, "complete") else target.invoke
    assert _failure(errors.AuthenticationError, lambda: call("Hi")).endswith(
        f"[invalid_api_key]; {hint} (HTTP 401)"
    )


@pytest.mark.parametrize("is_set", [True, False], ids=["set", "not-set"])
def test_a_key_variable_named_by_an_argument_says_so_and_whether_it_is_set(
    fake: OpenAIFake, monkeypatch: pytest.MonkeyPatch, is_set: bool
) -> None:
    _instance(fake.url)
    if is_set:
        monkeypatch.setenv("ARG_KEY", WRONG)
    fake.server.script(UNAUTHORIZED)
    model = tuneplug.get_model("local/gpt-4o-mini", settings={"api_key_env": "ARG_KEY"})
    unset = "" if is_set else ", which is not set"
    assert _failure(errors.AuthenticationError, lambda: model.complete("Hi")).endswith(
        f"; check ARG_KEY{unset} (named by api_key_env in the settings= argument of get_model)"
        " (HTTP 401)"
    )


def test_a_key_from_a_file_names_the_file_and_line(fake: OpenAIFake, tmp_path: Path) -> None:
    here = _instance(fake.url, f'api_key = "{WRONG}"\n')
    fake.server.script(UNAUTHORIZED, UNAUTHORIZED)
    said = _failure(
        errors.AuthenticationError, lambda: tuneplug.get_model("local/m").complete("Hi")
    )
    assert said.endswith(f"; check api_key in [providers.local] ({here}:6) (HTTP 401)")
    # The user file's, for a table the project declares (the layers merged).
    user = tmp_path / "xdg" / "tuneplug" / "config.toml"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text('\n[providers.local]\napi_key_env = "FILE_KEY"\n', encoding="utf-8")
    _instance(fake.url)
    said = _failure(
        errors.AuthenticationError, lambda: tuneplug.get_model("local/m").complete("Hi")
    )
    assert said.endswith(
        f"; check FILE_KEY, which is not set (named by api_key_env in [providers.local] "
        f"({user}:3)) (HTTP 401)"
    )


def test_the_plugins_key_from_its_file_table_is_not_blamed_on_the_variable(
    fake: OpenAIFake,
) -> None:
    here = _project(f'[providers.openai]\napi_key = "{WRONG}"\nmax_retries = 0\n')
    fake.server.script(UNAUTHORIZED)
    said = _failure(
        errors.AuthenticationError, lambda: tuneplug.get_model("openai/m").complete("Hi")
    )
    assert said.endswith(f"; check api_key in [providers.openai] ({here}:2) (HTTP 401)")


def test_one_key_under_other_words_is_another_provider(fake: OpenAIFake) -> None:
    # The hint is fixed when the provider's client is made: a provider shared by the
    # same values given in other words would say the first caller's words.
    _instance(fake.url)
    fake.server.script(UNAUTHORIZED, UNAUTHORIZED)
    first = tuneplug.get_model("local/m", settings={"api_key": WRONG})
    second = TuneplugChat(model="local/m", api_key=WRONG, max_retries=0)
    assert "get_model" in _failure(errors.AuthenticationError, lambda: first.complete("Hi"))
    assert "TuneplugChat" in _failure(errors.AuthenticationError, lambda: second.invoke("Hi"))


# -- base_url ------------------------------------------------------------------------------


def _refused(make: Callable[[], Any]) -> str:
    model = make()
    return _failure(errors.ConnectionError, lambda: model.complete("Hi"))


REFUSED = "local: POST /completions: cannot connect to 127.0.0.1:9: Connection refused"


def test_a_refused_connection_names_the_file_line_of_base_url() -> None:
    here = _instance(NOBODY)
    assert _refused(lambda: tuneplug.get_model("local/m")) == (
        f"{REFUSED}; check base_url in [providers.local] ({here}:4)"
    )


def test_a_refused_connection_names_the_argument_that_gave_base_url() -> None:
    _instance("http://127.0.0.1:8/v1")
    assert _refused(lambda: tuneplug.get_model("local/m", settings={"base_url": NOBODY})) == (
        f"{REFUSED}; check base_url in the settings= argument of get_model"
    )


def test_a_refused_connection_names_the_variable_that_gave_base_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in (("BASE_URL", NOBODY), ("MAX_RETRIES", "0"), ("API_KEY", WRONG)):
        monkeypatch.setenv(f"OPENAI_{name}", value)
    assert _refused(lambda: tuneplug.get_model("openai/m")) == (
        f"{REFUSED.replace('local', 'openai')}; check OPENAI_BASE_URL"
    )


def test_the_plugins_default_url_is_no_settings_fault() -> None:
    from tuneplug_openai.settings import OpenAISettings

    assert OpenAISettings().url_source("openai", {}) is None
    assert OpenAISettings().url_source("local", {}) == (
        "base_url, which [providers.local] does not set (the default is OpenAI's)"
    )
    given = {"base_url": "base_url in [providers.x] (f:3)"}
    assert OpenAISettings().url_source("openai", given) == "base_url in [providers.x] (f:3)"


@pytest.mark.parametrize("mode", ["async", "stream", "chat"])
def test_every_call_shape_says_where_base_url_came_from(mode: str) -> None:
    here = _instance(NOBODY)
    model = tuneplug.get_model("local/m")

    async def drain() -> None:
        async for _ in model.astream_chat([{"role": "user", "content": "Hi"}]):
            pass

    run = {
        "async": lambda: asyncio.run(model.acomplete("Hi")),
        "stream": lambda: list(model.stream("Hi")),
        "chat": lambda: asyncio.run(drain()),
    }[mode]
    said = _failure(errors.ConnectionError, run)
    assert said.endswith(f": Connection refused; check base_url in [providers.local] ({here}:4)")


def test_a_wrong_url_404_names_where_base_url_came_from(fake: OpenAIFake) -> None:
    here = _instance(fake.url.removesuffix("/v1"), f'api_key = "{WRONG}"\n')
    fake.server.script(Reply(404, {"error": {"message": "Not Found", "code": "not_found"}}))
    said = _failure(errors.NotFoundError, lambda: tuneplug.get_model("local/m").complete("Hi"))
    assert said.endswith(
        f"; check base_url in [providers.local] ({here}:4) (OpenAI-compatible servers serve "
        "the API under /v1) (HTTP 404)"
    )


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"timeout": -1.0}, "timeout: must be a number > 0 and <= 86400, got -1.0 (from the "
                            "timeout= argument of TuneplugChat)"),
        ({"max_retries": 99}, "max_retries: must be an integer in 0..10, got 99 (from the "
                              "max_retries= argument of TuneplugChat)"),
        ({"api_key": "a b"}, "api_key: must be printable ASCII without spaces (it is sent in a "
                             "header) (from the api_key= argument of TuneplugChat)"),
        ({"settings": {"timeout": "x"}}, "timeout: expected a number, found a string (from "
                                         "timeout in the settings= argument of TuneplugChat)"),
    ],
    ids=["timeout", "max_retries", "api_key", "settings"],
)  # fmt: skip
def test_a_bad_value_names_the_langchain_argument_it_came_from(
    given: dict[str, Any], said: str
) -> None:
    _instance(NOBODY)
    with pytest.raises(errors.ConfigError) as info:
        TuneplugChat(model="local/m", **given).invoke("Hi")
    assert str(info.value) == (f"invalid settings for provider 'local' (plugin 'openai'): {said}")
