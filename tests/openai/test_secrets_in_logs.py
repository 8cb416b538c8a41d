"""Secrets never reach a log record or an error, in any form the wire carries them.

A fresh user turned on ``logging.basicConfig(level=logging.INFO)`` and found their
query credential (``query = { sig = ... }``) in httpx's ``HTTP Request: POST
...?sig=...`` line. These run every request shape with every HTTP library logger at
DEBUG and look for each secret raw, percent- and form-encoded and JSON-escaped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest
import tuneplug
from tuneplug import errors
from tuneplug.http.redaction import LOGGERS, register_secrets
from tuneplug.secret_forms import secret_pattern
from tuneplug.types import Message

from tests.core.http.fake import Reply
from tests.openai.fake import KEY, OpenAIFake, serve

# Characters that every encoding changes: a test that only looked for the raw value
# would pass while the percent-encoded one was logged.
SIG = "sv=2024 sig=Q+SeCrEt/7&x"
HEADER = "hdr-SECRET-19"
CHAT = [Message(role="user", content="Hi")]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    with serve(
        monkeypatch,
        QUERY=json.dumps({"api-key": SIG}),
        HEADERS=json.dumps({"X-Api-Token": HEADER}),
    ) as server:
        yield server


def _leaks(text: str) -> list[str]:
    pattern = secret_pattern([SIG, HEADER, KEY])
    assert pattern is not None
    return [m.group(0) for m in pattern.finditer(text)]


def _lower_hex(text: str) -> str:
    return re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def _every_call() -> None:
    model = tuneplug.get_model("openai/gpt-4o-mini")
    model.complete("Hi", max_tokens=4)
    model.chat(CHAT, max_tokens=4)
    list(model.stream("Hi", max_tokens=4))

    async def run() -> None:
        await model.acomplete("Hi", max_tokens=4)
        await model.achat(CHAT, max_tokens=4)
        [c async for c in model.astream_chat(CHAT, max_tokens=4)]

    asyncio.run(run())


def test_no_log_record_of_any_request_holds_a_secret(
    fake: OpenAIFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    _every_call()
    # The credential was sent (so the URL carried it), and httpx logged that URL.
    assert ("api-key", SIG) in fake.server.requests[-1].query
    # Only this fake's lines: a thread another test left behind may log too.
    sent = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    sent = [line for line in sent if fake.url in line]
    assert sent and all("api-key=***" in line for line in sent)
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert _leaks(messages) == []
    assert _leaks(caplog.text) == []


def test_a_record_without_a_secret_is_left_as_written(
    fake: OpenAIFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    tuneplug.get_model("openai/gpt-4o-mini").complete("Hi", max_tokens=4)
    logging.getLogger("httpx").info("plain %s line", "httpx")
    mine = [r for r in caplog.records if r.name == "httpx" and r.args == ("httpx",)]
    assert [(r.msg, r.getMessage()) for r in mine] == [("plain %s line", "plain httpx line")]


@pytest.mark.parametrize(
    "echo",
    [SIG, quote(SIG), _lower_hex(quote(SIG)), quote_plus(SIG), json.dumps(SIG)[1:-1]],
    ids=["raw", "percent", "percent-lower-hex", "form", "json"],
)
def test_an_error_echoing_the_request_url_masks_the_query_credential(
    fake: OpenAIFake, echo: str
) -> None:
    message = f"No route for /v1/chat/completions?api-key={echo} (token {HEADER})"
    fake.server.script(Reply(404, {"error": {"message": message, "type": "invalid_request_error",
                                             "param": None, "code": "unknown_url"}}))  # fmt: skip
    with pytest.raises(errors.NotFoundError) as info:
        tuneplug.get_model("openai/gpt-4o-mini").chat(CHAT)
    text = f"{info.value}\n{info.value!r}"
    assert "No route for /v1/chat/completions?api-key=***" in text
    assert _leaks(text) == []


def test_a_value_too_short_to_be_a_key_masks_nothing(caplog: pytest.LogCaptureFixture) -> None:
    # The filter is process-wide: a test's api_key="x" once masked every "x" of every
    # later line ("connec***_***cp.s***ar***ed").
    register_secrets(["x", "t", "abcde"])
    caplog.set_level(logging.INFO, logger="httpx")
    logging.getLogger("httpx").info("connect_tcp.started abcde x t")
    mine = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert mine[-1:] == ["connect_tcp.started abcde x t"]
