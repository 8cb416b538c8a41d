"""``POST /completions`` (legacy) and ``POST /chat/completions``: requests, answers, chunks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tuneplug_openai.wire.common import Usage, WireModel

__all__ = [
    "ChatChoice",
    "ChatChunkChoice",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "ChatDelta",
    "ChatMessage",
    "CompletionChoice",
    "CompletionLogprobs",
    "CompletionRequest",
    "StreamOptions",
    "TextCompletion",
]

# -- completions (legacy) --------------------------------------------------------------


class StreamOptions(WireModel):
    """``stream_options``: ``include_usage`` adds a last chunk with ``usage``, no choices."""

    include_usage: bool | None = None


class CompletionRequest(WireModel):
    """``POST /completions``."""

    model: str = Field(min_length=1)
    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: int | None = Field(default=None, ge=0)
    temperature: float | None = None
    top_p: float | None = None
    n: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    echo: bool | None = None
    logprobs: int | None = Field(default=None, ge=0, le=5)
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    best_of: int | None = None
    suffix: str | None = None
    user: str | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None


class CompletionLogprobs(WireModel):
    """``choices[i].logprobs`` of a legacy completion (``logprobs=N``)."""

    tokens: list[str] | None = None
    token_logprobs: list[float | None] | None = None
    top_logprobs: list[dict[str, float] | None] | None = None
    text_offset: list[int] | None = None


class CompletionChoice(WireModel):
    """One choice of a legacy completion (or of one of its stream chunks)."""

    index: int = 0
    text: str
    logprobs: CompletionLogprobs | None = None
    finish_reason: str | None = None


class TextCompletion(WireModel):
    """The answer to ``POST /completions``, and each chunk of its stream
    (``object: "text_completion"`` in both)."""

    id: str = ""
    object: str = "text_completion"
    created: int = 0
    model: str = ""
    choices: list[CompletionChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


# -- chat completions ------------------------------------------------------------------


class ChatMessage(WireModel):
    """One message: ``role`` and ``content`` (a string, or a list of content parts)."""

    role: Literal["developer", "system", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    weight: Literal[0, 1] | None = None
    """Fine-tuning files only: ``0`` leaves an assistant turn out of the loss."""


class ChatCompletionRequest(WireModel):
    """``POST /chat/completions``."""

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=0)
    max_completion_tokens: int | None = Field(default=None, ge=0)
    temperature: float | None = None
    top_p: float | None = None
    n: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    response_format: dict[str, Any] | None = None
    user: str | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None


class ChatChoice(WireModel):
    """One choice of a chat completion: the assistant ``message``."""

    index: int = 0
    message: ChatMessage
    finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None


class ChatCompletion(WireModel):
    """The answer to ``POST /chat/completions`` (``object: "chat.completion"``)."""

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[ChatChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


class ChatDelta(WireModel):
    """What one stream chunk adds to a choice: ``role`` first, then ``content`` pieces."""

    role: str | None = None
    content: str | None = None
    refusal: str | None = None


class ChatChunkChoice(WireModel):
    """One choice of a chat stream chunk; the last one carries ``finish_reason``."""

    index: int = 0
    delta: ChatDelta = Field(default_factory=ChatDelta)
    finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None


class ChatCompletionChunk(WireModel):
    """One SSE event of a chat stream (``object: "chat.completion.chunk"``).

    With ``stream_options.include_usage`` a final chunk has ``choices: []`` and
    ``usage``; the others carry ``usage: null``.
    """

    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChatChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None
