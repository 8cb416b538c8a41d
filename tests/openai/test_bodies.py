"""Request bodies: the direct build (plain options) gives the same bytes as the wire models.

``chat_body`` and ``completion_body`` skip validating and dumping the wire request
models when every value is a plain JSON value from validated options; these tests hold
them to the bytes the wire models give (field order, ``None`` left out, JSON types),
which is also what recorded cassettes match on.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tuneplug.errors import InvalidRequestError
from tuneplug.types import CompletionOptions, Message
from tuneplug_openai import wire
from tuneplug_openai.requests import OpenAIOptions, chat_body, completion_body

MESSAGES = [
    Message(role="system", content="Be brief."),
    Message(role="user", content="Qui a gagné ? \u00e9\u4e2d"),
    Message(role="assistant", content="", weight=0),
]


def _wire_chat(
    model: str, options: CompletionOptions, *, stream: bool, max_tokens_field: str
) -> bytes:
    opts = OpenAIOptions.model_validate(options.extra)
    body = wire.ChatCompletionRequest(
        model=model,
        messages=[wire.ChatMessage(role=m.role, content=m.content) for m in MESSAGES],
        max_completion_tokens=options.max_tokens
        if max_tokens_field == "max_completion_tokens"
        else None,
        max_tokens=options.max_tokens if max_tokens_field == "max_tokens" else None,
        temperature=options.temperature,
        top_p=options.top_p,
        stop=list(options.stop) or None,
        seed=options.seed,
        presence_penalty=opts.presence_penalty,
        frequency_penalty=opts.frequency_penalty,
        logit_bias=opts.logit_bias,
        logprobs=True if opts.logprobs is not None else None,
        top_logprobs=opts.logprobs or None,
        response_format=opts.response_format,
        user=opts.user,
        stream=True if stream else None,
        stream_options=wire.StreamOptions(include_usage=True) if stream else None,
    )
    return _dumped(wire.dump(body), opts)


def _wire_completion(model: str, options: CompletionOptions, *, stream: bool) -> bytes:
    opts = OpenAIOptions.model_validate(options.extra)
    body = wire.CompletionRequest(
        model=model,
        prompt="Question: who won?\n\nAnswer:",
        max_tokens=options.max_tokens,
        temperature=options.temperature,
        top_p=options.top_p,
        stop=list(options.stop) or None,
        seed=options.seed,
        echo=opts.echo,
        logprobs=opts.logprobs,
        suffix=opts.suffix,
        best_of=opts.best_of,
        presence_penalty=opts.presence_penalty,
        frequency_penalty=opts.frequency_penalty,
        logit_bias=opts.logit_bias,
        user=opts.user,
        stream=True if stream else None,
        stream_options=wire.StreamOptions(include_usage=True) if stream else None,
    )
    return _dumped(wire.dump(body), opts)


def _dumped(data: dict[str, Any], opts: OpenAIOptions) -> bytes:
    data.update(opts.extra_body or {})
    return json.dumps(data, allow_nan=False).encode()


COMMON: list[dict[str, Any]] = [
    {},
    {"max_tokens": 16},
    {"max_tokens": 1, "temperature": 1, "top_p": 0.5, "seed": 0, "stop": ["\n", "END"]},
    {"temperature": 0.0, "stop": "###"},
]
CHAT_EXTRA: list[dict[str, Any]] = [
    {},
    {"presence_penalty": 0, "frequency_penalty": -1.5, "user": "u-1"},
    {"logprobs": 0},
    {"logprobs": 3, "n": 1},
    {"logit_bias": {"50256": -100, "13": 2.5}},
    {"response_format": {"type": "json_schema", "json_schema": {"enum": ("a", "b")}}},
    {"extra_body": {"top_k": 40, "n": 1}},
]
COMPLETION_EXTRA: list[dict[str, Any]] = [
    {},
    {"echo": True, "logprobs": 5, "suffix": "!", "best_of": 2},
    {"logit_bias": {"50256": -100}},
    {"extra_body": {"repetition_penalty": 1.1}},
]


@pytest.mark.parametrize("common", COMMON)
@pytest.mark.parametrize("extra", CHAT_EXTRA)
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("field", ["max_completion_tokens", "max_tokens"])
def test_a_chat_body_is_what_the_wire_model_gives(
    common: dict[str, Any], extra: dict[str, Any], stream: bool, field: str
) -> None:
    options = CompletionOptions(**common, extra=extra)
    got = chat_body("gpt-4o-mini", MESSAGES, options, stream=stream, max_tokens_field=field)
    assert got == _wire_chat("gpt-4o-mini", options, stream=stream, max_tokens_field=field)


@pytest.mark.parametrize("common", COMMON)
@pytest.mark.parametrize("extra", COMPLETION_EXTRA)
@pytest.mark.parametrize("stream", [False, True])
def test_a_completion_body_is_what_the_wire_model_gives(
    common: dict[str, Any], extra: dict[str, Any], stream: bool
) -> None:
    options = CompletionOptions(**common, extra=extra)
    got = completion_body("babbage-002", "Question: who won?\n\nAnswer:", options, stream=stream)
    assert got == _wire_completion("babbage-002", options, stream=stream)


def test_the_bytes_keep_the_wire_field_order_and_leave_out_unset_fields() -> None:
    options = CompletionOptions(max_tokens=3, seed=1, extra={"user": "u"})
    body = chat_body("m", MESSAGES[:1], options, stream=True)
    assert body == (
        b'{"model": "m", "messages": [{"role": "system", "content": "Be brief."}], '
        b'"max_completion_tokens": 3, "seed": 1, "user": "u", "stream": true, '
        b'"stream_options": {"include_usage": true}}'
    )


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"extra_body": {"model": "other"}}, "must not repeat 'model'"),
        ({"extra_body": {"top_k": float("nan")}}, "finite numbers"),
        ({"logit_bias": {"1": 1.0}, "extra_body": {"logit_bias": {}}}, "repeat 'logit_bias'"),
        ({"echo": True}, "'echo' is not available for chat"),
    ],
)
def test_bad_bodies_are_refused_on_both_paths(extra: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        chat_body("m", MESSAGES, CompletionOptions(extra=extra), stream=False)
