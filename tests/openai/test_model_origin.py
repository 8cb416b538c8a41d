"""A server's "no such model" names where the model's name came from.

The openai plugin resolves names without a request (any compatible server has its
own models), so an alias naming no model failed at the first call with the server's
``POST /completions failed: the model 'nosuch' does not exist [model_not_found]``, while
the mock said ``tuneplug.toml:9: [models.qa] model: mock: unknown model 'nosuch'``
(README: a default model or an alias's ``model`` that names no model says where).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from click.testing import CliRunner
from tuneplug import errors
from tuneplug.cli import cli
from tuneplug.langchain import TuneplugChat

from tests.core.http.fake import Reply
from tests.openai.fake import OpenAIFake, serve

CHAT = [{"role": "user", "content": "Hi"}]
NO_SUCH = (
    "local: POST /completions failed: The model `ft:nosuch` does not exist [model_not_found] "
    "(request id req_fake123) (HTTP 404)"
)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    with serve(monkeypatch, require_key=False) as server:
        yield server


def _config(fake: OpenAIFake, top: str = "", alias: str = "ft:nosuch") -> str:
    """The file written, as ``FILE:LINE: [models.qa] model``."""
    path = Path("tuneplug.toml")
    text = (
        f'{top}[providers.local]\nplugin = "openai"\nbase_url = "{fake.url}"\n\n'
        f'[models.qa]\nmax_tokens = 4\nmodel = "local/{alias}"\n'
    )
    path.write_text(text, encoding="utf-8")
    return f"{path.resolve()}:{text.count(chr(10))}: [models.qa] model"


def _error(call: Callable[[], Any]) -> str:
    with pytest.raises(errors.NotFoundError) as info:
        call()
    assert info.value.unknown_model
    return str(info.value)


async def _drain(chunks: Any) -> None:
    async for _ in chunks:
        pass


CALLS: dict[str, Callable[[Any], Any]] = {
    "complete": lambda m: m.complete("Hi"),
    "acomplete": lambda m: asyncio.run(m.acomplete("Hi")),
    "stream": lambda m: list(m.stream("Hi")),
    "astream": lambda m: asyncio.run(_drain(m.astream("Hi"))),
    "chat": lambda m: m.chat(CHAT),
    "achat": lambda m: asyncio.run(m.achat(CHAT)),
    "stream_chat": lambda m: list(m.stream_chat(CHAT)),
    "astream_chat": lambda m: asyncio.run(_drain(m.astream_chat(CHAT))),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_every_call_names_the_alias_file_and_line(fake: OpenAIFake, name: str) -> None:
    alias = _config(fake)
    model = tuneplug.get_model("qa")
    assert model.origin == alias
    said = _error(lambda: CALLS[name](model))
    path = "/chat/completions" if "chat" in name else "/completions"
    assert said == f"{alias}: {NO_SUCH.replace('/completions', path)}"


def test_the_default_model_names_its_variable_or_its_line(
    fake: OpenAIFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    alias = _config(fake, top='default_model = "local/ft:nosuch"\n\n')
    here = alias.partition(":")[0]
    assert _error(lambda: tuneplug.get_model().complete("Hi")) == (
        f"{here}:1: default_model: {NO_SUCH}"
    )
    monkeypatch.setenv("TUNEPLUG_MODEL", "local/ft:other")
    assert _error(lambda: tuneplug.get_model().complete("Hi")).startswith(
        "TUNEPLUG_MODEL: local: POST /completions failed: The model `ft:other` does not exist"
    )
    monkeypatch.setenv("TUNEPLUG_MODEL", "qa")  # the variable names an alias: the alias's line
    assert _error(lambda: tuneplug.get_model().complete("Hi")).startswith(f"{alias}: local: ")


def test_a_reference_given_by_the_caller_is_the_callers(fake: OpenAIFake) -> None:
    _config(fake)
    model = tuneplug.get_model("local/ft:nosuch")
    assert model.origin is None
    assert _error(lambda: model.complete("Hi")) == NO_SUCH


def test_the_cli_and_langchain_say_it_too(fake: OpenAIFake) -> None:
    alias = _config(fake, top='default_model = "qa"\n\n')
    result = CliRunner().invoke(cli, ["complete", "Hi"])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {alias}: {NO_SUCH}"
    assert _error(lambda: TuneplugChat(model="qa").invoke("Hi")).startswith(
        f"{alias}: local: POST /chat/completions failed: "
    )


@pytest.mark.parametrize(
    "reply",
    [
        Reply(404, {"error": {"message": "Not Found", "code": "not_found"}}),  # a wrong URL
        Reply(404, {"error": {"message": "gone", "code": "adapter_gone"}}),
        Reply(400, {"error": {"message": "bad", "code": "model_not_found_ish"}}),
    ],
    ids=["wrong-url", "other-404", "other-code"],
)
def test_other_errors_of_a_configured_model_are_raised_as_they_are(
    fake: OpenAIFake, reply: Reply
) -> None:
    _config(fake, alias="gpt-4o-mini")
    model = tuneplug.get_model("qa")
    fake.server.script(reply)
    with pytest.raises(errors.TuneplugError) as info:
        model.complete("Hi")
    assert str(info.value).startswith("local: POST /completions")
    assert not getattr(info.value, "unknown_model", False)
