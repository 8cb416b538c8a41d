"""Request bodies for ``/completions`` and ``/chat/completions``, validated before I/O.

The common options map onto OpenAI's names: ``max_tokens`` (``max_completion_tokens``
for chat by default, the SDK's current name; the ``chat_max_tokens_field`` setting
sends ``max_tokens`` to servers that know only that), ``temperature``, ``top_p``,
``stop`` (at most 4, OpenAI's limit), ``seed``. ``top_k`` has no OpenAI equivalent
and is not sent (a server that takes it, such as vLLM, gets it through ``extra_body``).

The provider-specific options are :class:`OpenAIOptions`, declared through
``tuneplug_options`` so that the core checks names and types before any I/O; the
rules that depend on the endpoint (``echo`` and ``suffix`` exist only for
completions, ``response_format`` only for chat) are checked here, also before I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from tuneplug.errors import InvalidRequestError
from tuneplug.types import CompletionOptions, Message
from tuneplug.validation_words import problem

from tuneplug_openai import wire

__all__ = ["MAX_STOP", "OpenAIOptions", "chat_body", "completion_body"]

MAX_STOP = 4
"""OpenAI accepts at most four stop sequences."""

_CHAT_ONLY = ("response_format",)
_COMPLETION_ONLY = ("echo", "suffix", "best_of")


class OpenAIOptions(BaseModel):
    """Provider-specific options of ``openai/...`` models (``tuneplug models --options``).

    Ranges follow OpenAI's API reference; a server with other limits says so in
    its own error.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    presence_penalty: float | None = Field(
        default=None, ge=-2.0, le=2.0, description="Penalise tokens already present, -2..2."
    )
    frequency_penalty: float | None = Field(
        default=None,
        ge=-2.0,
        le=2.0,
        description="Penalise tokens by their frequency so far, -2..2.",
    )
    logit_bias: dict[str, float] | None = Field(
        default=None, description="Bias per token id (a string): -100..100."
    )
    logprobs: int | None = Field(
        default=None,
        ge=0,
        le=20,
        description="Return each token's log probability and this many alternatives "
        "(completions: at most 5).",
    )
    echo: bool | None = Field(
        default=None, description="Completions only: the prompt, then the completion."
    )
    suffix: str | None = Field(
        default=None, description="Completions only: the text after the completion."
    )
    best_of: int | None = Field(
        default=None, ge=1, le=20, description="Completions only: candidates to pick from."
    )
    response_format: dict[str, Any] | None = Field(
        default=None,
        description='Chat only: {"type": "json_object"} or {"type": "json_schema", ...}.',
    )
    n: int | None = Field(
        default=None,
        description="Choices per call: 1 only (a Completion holds one choice; "
        "call again, or use `tuneplug batch`, for more answers).",
    )
    user: str | None = Field(default=None, max_length=256, description="End-user id.")
    extra_body: dict[str, Any] | None = Field(
        default=None,
        description="More JSON fields for servers with their own (vLLM's top_k, ...).",
    )

    @field_validator("logit_bias")
    @classmethod
    def _bias(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        for token, bias in (value or {}).items():
            if not token.isdigit():
                raise ValueError(f"keys are token ids, got {token!r}")
            if not -100.0 <= bias <= 100.0:
                raise ValueError(f"bias of token {token} must be in [-100, 100]")
        return value

    @field_validator("n")
    @classmethod
    def _one_choice(cls, value: int | None) -> int | None:
        if value is not None:
            _only_one(value)
        return value

    @field_validator("extra_body")
    @classmethod
    def _only_text(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            if "n" in value:
                _only_one(value["n"])
            _no_answer_beyond_text(value)
        return value

    @field_validator("response_format")
    @classmethod
    def _format(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and value.get("type") not in ("text", "json_object", "json_schema"):
            raise ValueError('type must be "text", "json_object" or "json_schema"')
        return value


def _only_one(n: object) -> None:
    # Sending n > 1 makes the server generate (and bill) choices a Completion cannot
    # hold; keeping the first and dropping the others silently would be worse.
    if n != 1 or isinstance(n, bool):
        raise ValueError(
            f"n={n!r}: a tuneplug Completion holds one choice, so only n=1 is taken; "
            "ask again (or run `tuneplug batch`) for more answers"
        )


# extra_body fields whose answer is not text (tool calls, audio), with the value that asks
# for none: a Completion would hold the text and drop the rest, paid for.
_NOT_TEXT: dict[str, Any] = {"tools": [], "functions": [], "audio": None, "modalities": ["text"]}


def _no_answer_beyond_text(extra_body: dict[str, Any]) -> None:
    for name, neutral in _NOT_TEXT.items():
        value = extra_body.get(name)
        if value is not None and value != neutral:
            raise ValueError(
                f"{name}: a tuneplug Completion holds the answer's text only, so what {name} "
                "asks for would be dropped; leave it out"
            )


_NO_OPTIONS = OpenAIOptions()
# json.dumps(data, allow_nan=False) builds this encoder on every call; it keeps no state.
_to_json = json.JSONEncoder(allow_nan=False).encode
_FIELDS: dict[type[BaseModel], tuple[str, ...]] = {
    m: tuple(m.model_fields) for m in (wire.CompletionRequest, wire.ChatCompletionRequest)
}


def _options(extra: Mapping[str, Any], endpoint: Literal["chat", "completions"]) -> OpenAIOptions:
    if not extra:
        return _NO_OPTIONS  # frozen; every rule below is about an option that was given
    try:
        opts = OpenAIOptions.model_validate(dict(extra))
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        name = ".".join(str(p) for p in err["loc"]) or "option"
        raise InvalidRequestError(f"invalid option {name}: {problem(err)}") from None
    wrong = _COMPLETION_ONLY if endpoint == "chat" else _CHAT_ONLY
    given = [name for name in wrong if getattr(opts, name) is not None]
    if given:
        where = "chat completions" if endpoint == "chat" else "text completions"
        raise InvalidRequestError(f"option {given[0]!r} is not available for {where}")
    if endpoint == "completions" and opts.logprobs is not None and opts.logprobs > 5:
        raise InvalidRequestError("logprobs must be in 0..5 for text completions")
    return opts


def _stop(options: CompletionOptions) -> list[str] | None:
    if len(options.stop) > MAX_STOP:
        raise InvalidRequestError(
            f"OpenAI takes at most {MAX_STOP} stop sequences, got {len(options.stop)}"
        )
    return list(options.stop) or None


def _encode(request: type[BaseModel], values: dict[str, Any], opts: OpenAIOptions) -> bytes:
    """``values`` (the ``request`` model's fields, ``None`` for unset) as the JSON body.

    The values come from validated options and messages, so when they are all plain
    JSON scalars, strings and lists of them (no dict-valued option such as
    ``logit_bias`` or ``response_format``, which may hold anything), the wire model
    would only drop the ``None`` s and keep its field order: that is done here
    directly. This runs once per request, and validating and dumping the wire model
    cost more than the rest of building the body (``tests/openai/test_bodies.py``
    checks both ways give the same bytes). Otherwise the wire model checks them.
    """
    if opts.logit_bias is None and opts.response_format is None:
        data = {k: values[k] for k in _FIELDS[request] if values.get(k) is not None}
    else:
        data = wire.dump(request.model_validate(values))
    extra_body = opts.extra_body
    if extra_body:
        clash = sorted(set(extra_body) & set(data))
        if clash:
            raise InvalidRequestError(
                f"extra_body must not repeat {clash[0]!r}: it is set by tuneplug's options"
            )
        data.update(extra_body)
    try:
        return _to_json(data).encode()
    except ValueError:
        raise InvalidRequestError("options must be finite numbers (no NaN or inf)") from None


def completion_body(model: str, prompt: str, options: CompletionOptions, *, stream: bool) -> bytes:
    """The JSON body of ``POST /completions`` (``stream_options.include_usage`` when
    streaming, so the last chunk carries the usage)."""
    opts = _options(options.extra, "completions")
    values = {
        "model": model,
        "prompt": prompt,
        "max_tokens": options.max_tokens,
        "temperature": options.temperature,
        "top_p": options.top_p,
        "stop": _stop(options),
        "seed": options.seed,
        "echo": opts.echo,
        "logprobs": opts.logprobs,
        "suffix": opts.suffix,
        "best_of": opts.best_of,
        "presence_penalty": opts.presence_penalty,
        "frequency_penalty": opts.frequency_penalty,
        "logit_bias": opts.logit_bias,
        "user": opts.user,
        "stream": True if stream else None,
        "stream_options": {"include_usage": True} if stream else None,
    }
    return _encode(wire.CompletionRequest, values, opts)


def chat_body(
    model: str,
    messages: list[Message],
    options: CompletionOptions,
    *,
    stream: bool,
    max_tokens_field: str = "max_completion_tokens",
) -> bytes:
    """The JSON body of ``POST /chat/completions``; ``max_tokens`` goes out as
    ``max_tokens_field`` (older servers know only ``max_tokens``)."""
    opts = _options(options.extra, "chat")
    if not messages:
        raise InvalidRequestError("a chat needs at least one message")
    values = {
        "model": model,
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        "max_completion_tokens": options.max_tokens
        if max_tokens_field == "max_completion_tokens"
        else None,
        "max_tokens": options.max_tokens if max_tokens_field == "max_tokens" else None,
        "temperature": options.temperature,
        "top_p": options.top_p,
        "stop": _stop(options),
        "seed": options.seed,
        "presence_penalty": opts.presence_penalty,
        "frequency_penalty": opts.frequency_penalty,
        "logit_bias": opts.logit_bias,
        "logprobs": True if opts.logprobs is not None else None,
        "top_logprobs": opts.logprobs or None,
        "response_format": opts.response_format,
        "user": opts.user,
        "stream": True if stream else None,
        "stream_options": {"include_usage": True} if stream else None,
    }
    return _encode(wire.ChatCompletionRequest, values, opts)
