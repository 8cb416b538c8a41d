"""An error the server sends inside a stream it already answered 200 to.

OpenAI (and vLLM) end a failing stream with ``data: {"error": {...}}``;
openai-python raises it as ``APIError`` with its message, code and param. tuneplug's
provider called it "malformed response: a chunk has no choices list" and lost the
server's words. Now it is a ``ServerError`` quoting them, not retryable.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import tuneplug
from tuneplug import errors
from tuneplug.types import Message

from tests.core.http.fake import Reply
from tests.openai.fake import KEY, OpenAIFake, serve

CHUNK = {"id": "c", "object": "text_completion", "created": 1, "model": "gpt-4o-mini",
         "choices": [{"index": 0, "text": "The", "finish_reason": None}]}  # fmt: skip
ERROR = {"error": {"message": "The server had an error while processing your request.",
                   "type": "server_error", "param": "prompt", "code": "overloaded"}}  # fmt: skip
WANTED = (
    "openai: POST /completions: the server ended the stream with an error: The server had "
    "an error while processing your request. [overloaded] (param: prompt)"
)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    with serve(monkeypatch) as server:
        body = f"data: {json.dumps(CHUNK)}\n\ndata: {json.dumps(ERROR)}\n\n".encode()
        server.server.script(Reply(200, body, {"content-type": "text/event-stream"}))
        yield server


def test_a_streamed_error_event_is_the_servers_error(fake: OpenAIFake) -> None:
    seen: list[str] = []
    with pytest.raises(errors.ServerError) as info:
        for chunk in tuneplug.get_model("openai/gpt-4o-mini").stream("Hi"):
            seen.append(chunk.text)
    assert seen == ["The"] and str(info.value) == WANTED
    assert info.value.retryable is False


def test_async_alike(fake: OpenAIFake) -> None:
    async def run() -> None:
        model = tuneplug.get_model("openai/gpt-4o-mini")
        async for _ in model.astream("Hi"):
            pass

    with pytest.raises(errors.ServerError) as info:
        asyncio.run(run())
    assert str(info.value) == WANTED


def test_a_chunk_without_choices_or_error_is_still_malformed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with serve(monkeypatch) as server:
        body = b'data: {"id": "c"}\n\n'
        server.server.script(Reply(200, body, {"content-type": "text/event-stream"}))
        with pytest.raises(errors.ServerError, match="a chunk has no choices list"):
            list(
                tuneplug.get_model("openai/gpt-4o-mini").stream_chat(
                    [Message(role="user", content="Hi")]
                )
            )


def test_a_gateway_ends_a_stream_with_the_same_error_object_the_sdk_reads(
    fake: OpenAIFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A front gateway over the openai provider (pointed at the fake, which fails the
    # stream after one chunk): the error event carries message, type, param and code,
    # the non-streamed error's keys (it had no param and always code None).
    from tuneplug_openai.protocol import OpenAIProtocol

    from tests.openai.gateway import ALICE, sdk
    from tests.server.gradient_server import running_server

    Path("tuneplug.toml").write_text(
        f'[providers.up]\nplugin = "openai"\nbase_url = "{fake.url}"\napi_key_env = "UP_KEY"\n'
    )
    monkeypatch.setenv("UP_KEY", KEY)
    with running_server(
        "up/gpt-4o-mini", tmp_path / "front", protocols=[OpenAIProtocol()], tenants=[ALICE]
    ) as front:
        stream = sdk(front).completions.create(model="gpt-4o-mini", prompt="Hi", stream=True)
        with pytest.raises(openai.APIError) as info:
            for _ in stream:
                pass
    body = info.value.body
    assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}
    assert body["type"] == "server_error" and "The server had an error" in body["message"]
    assert "up" not in body["message"].split()  # the backend's name stays behind the gateway
