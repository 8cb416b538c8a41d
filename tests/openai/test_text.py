"""Text sent to providers (issue 12): refused before any request, naming where and the offset.

Kind: a ``str`` holding a lone surrogate (from JSON, a caller, or argv's
surrogateescape) on its way to a provider. Right: an ``InvalidRequestError``
(``OptionError`` for options) naming the message index, option path or field and
the offset, before any hook call. Siblings: the messages of every chat call of a
native-chat provider (OpenAI), stop sequences, provider options (strings, nested
values, mapping keys), and prompts for every provider (mock, Gradient, OpenAI).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError, ServerError
from tuneplug.options import OptionError

from tests.core.http.fake import Reply
from tests.gradient.fake import ADAPTER_ID, FakeGradient
from tests.gradient.fake import serve as serve_gradient
from tests.openai.fake import OpenAIFake, serve


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGradient]:
    with serve_gradient(monkeypatch) as server:
        yield server


CALLS = ["chat", "achat", "stream_chat", "astream_chat"]


def _call(model: tuneplug.Model, call: str, *args: Any, **options: Any) -> None:
    result = getattr(model, call)(*args, **options)
    if asyncio.iscoroutine(result):
        asyncio.run(result)


@pytest.fixture
def openai_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    with serve(monkeypatch) as server:
        yield server


@pytest.mark.parametrize("call", CALLS)
def test_native_chat_names_the_message_and_offset_before_any_request(
    openai_fake: OpenAIFake, call: str
) -> None:
    model = tuneplug.get_model("openai/gpt-4o-mini")
    assert model.provider.accepts("tuneplug_complete", "messages")  # a native-chat provider
    messages = [{"role": "user", "content": "hi"}, {"role": "user", "content": "caf\u00e9 \ud800"}]
    with pytest.raises(InvalidRequestError) as caught:
        _call(model, call, messages)
    assert str(caught.value).endswith(
        "messages[1].content is not valid text: lone surrogate U+D800 at character 5 "
        "(byte offset 6 in UTF-8)"
    )
    assert openai_fake.server.requests == []


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"stop": ["ok", "x\ud800"]}, "option stop[1] is not valid text"),
        ({"stop": "\udfff"}, "option stop is not valid text"),
        ({"suffix": "s\ud800"}, "option suffix is not valid text"),
        ({"response_format": {"type": "\ud800"}}, "option response_format.type is not valid"),
        ({"logit_bias": {"\ud800": 1.0}}, "option logit_bias (a key) is not valid text"),
    ],
)
@pytest.mark.parametrize("call", ["complete", "chat"])
def test_option_strings_that_are_not_text_are_refused_before_any_request(
    openai_fake: OpenAIFake, call: str, options: dict[str, Any], named: str
) -> None:
    model = tuneplug.get_model("openai/gpt-4o-mini")
    prompt: Any = "hi" if call == "complete" else [{"role": "user", "content": "hi"}]
    with pytest.raises(OptionError, match=re.escape(named)) as caught:
        _call(model, call, prompt, **options)
    assert caught.value.option == next(iter(options))
    assert openai_fake.server.requests == []


@pytest.mark.parametrize("call", ["complete", "stream", "acomplete", "astream", *CALLS])
def test_every_provider_refuses_a_prompt_that_is_not_text(
    openai_fake: OpenAIFake, fake: FakeGradient, call: str
) -> None:
    prompt: Any = (
        "a \ud83d"
        if call in ("complete", "stream", "acomplete", "astream")
        else [{"role": "user", "content": "a \ud83d"}]
    )
    before = len(fake.requests)
    for ref in ("mock/echo", "mock/tiny", f"gradient/{ADAPTER_ID}", "openai/gpt-4o-mini"):
        model = tuneplug.get_model(ref)
        with pytest.raises(InvalidRequestError, match="lone surrogate U\\+D83D at character 2"):
            result = getattr(model, call)(prompt)
            if asyncio.iscoroutine(result):
                asyncio.run(result)
    assert len(fake.requests) == before and openai_fake.server.requests == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"choices": [{"index": 0, "finish_reason": "stop", '
        b'"message": {"role": "assistant", "content": "caf\xe9"}}]}',
        b'{"choices": [{"index": 0, "finish_reason": "stop", '
        b'"message": {"role": "assistant", "content": "caf\\ud800"}}]}',
    ],
)
def test_a_reply_that_is_not_text_is_a_typed_error(openai_fake: OpenAIFake, body: bytes) -> None:
    openai_fake.server.script(Reply(200, body), path="/chat/completions")
    model = tuneplug.get_model("openai/gpt-4o-mini")
    with pytest.raises(ServerError, match="malformed") as caught:
        model.chat([{"role": "user", "content": "hi"}])
    assert caught.value.status == 200 and not caught.value.retryable
    str(caught.value).encode("utf-8")
