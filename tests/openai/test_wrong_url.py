"""A wrong ``base_url`` says so, and a refused connection names the host.

A fresh user left ``/v1`` off ``base_url`` and got ``POST /completions failed: Not
Found [not_found] (HTTP 404)``, with no URL and no hint; a server that was down gave
``connection failed: ConnectError: [Errno 111] Connection refused`` in sync calls and
``Cannot connect to host 127.0.0.1:9 ssl:default [...]`` in async ones.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import tuneplug
from tuneplug import errors
from tuneplug.types import Message

from tests.core.http.fake import Reply
from tests.openai.fake import OpenAIFake, serve

SECRET = "sig-SECRET-77"
ROUTE_404 = {
    "error": {"message": "Not Found", "type": "invalid_request_error", "code": "not_found"}
}
# The fake's URL comes from OPENAI_BASE_URL: the hint names the variable.
HINT = "check OPENAI_BASE_URL (OpenAI-compatible servers serve the API under /v1)"
CHAT = [Message(role="user", content="Hi")]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    with serve(monkeypatch, QUERY=json.dumps({"sig": SECRET})) as server:
        yield server


CALLS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "complete": ("/completions", lambda m: m.complete("Hi")),
    "chat": ("/chat/completions", lambda m: m.chat(CHAT)),
    "stream": ("/completions", lambda m: list(m.stream("Hi"))),
    "acomplete": ("/completions", lambda m: asyncio.run(m.acomplete("Hi"))),
    "astream_chat": (
        "/chat/completions",
        lambda m: asyncio.run(_drain(m.astream_chat(CHAT))),
    ),
}


async def _drain(stream: Any) -> None:
    async for _ in stream:
        pass


@pytest.mark.parametrize("name", list(CALLS))
def test_a_404_on_a_route_every_server_has_names_the_url_and_base_url(
    fake: OpenAIFake, name: str
) -> None:
    path, call = CALLS[name]
    fake.server.script(Reply(404, ROUTE_404))
    with pytest.raises(errors.NotFoundError) as info:
        call(tuneplug.get_model("openai/gpt-4o-mini"))
    assert str(info.value) == (
        f"openai: POST {path} failed: Not Found [not_found]; nothing answers at "
        f"{fake.url}{path}; {HINT} (HTTP 404)"
    )
    assert SECRET not in repr(info.value)


def test_an_unknown_model_is_no_wrong_url(fake: OpenAIFake) -> None:
    fake.server.script(Reply(404, {"error": {"message": "The model does not exist",
                                             "type": "invalid_request_error",
                                             "code": "model_not_found"}}))  # fmt: skip
    with pytest.raises(errors.NotFoundError) as info:
        tuneplug.get_model("openai/gpt-4o-mini").complete("Hi")
    assert "base_url" not in str(info.value) and "model_not_found" in str(info.value)


def test_a_404_on_a_route_naming_one_thing_is_no_wrong_url(fake: OpenAIFake) -> None:
    fake.server.script(Reply(404, ROUTE_404))
    with pytest.raises(errors.NotFoundError) as info:
        tuneplug.get_job("openai/ftjob-nope")
    assert "base_url" not in str(info.value)


@pytest.mark.parametrize("mode", ["sync", "async", "stream"])
def test_a_refused_connection_names_host_and_reason_alike(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # discard: nothing listens
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-x")
    monkeypatch.setenv("OPENAI_MAX_RETRIES", "0")
    model = tuneplug.get_model("openai/gpt-4o-mini")
    run = {
        "sync": lambda: model.complete("Hi"),
        "async": lambda: asyncio.run(model.acomplete("Hi")),
        "stream": lambda: list(model.stream("Hi")),
    }[mode]
    with pytest.raises(errors.ConnectionError) as info:
        run()
    assert str(info.value) == (
        "openai: POST /completions: cannot connect to 127.0.0.1:9: Connection refused; "
        "check OPENAI_BASE_URL"
    )
