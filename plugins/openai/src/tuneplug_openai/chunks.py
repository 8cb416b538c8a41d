"""The chunks of a ``/completions`` or ``/chat/completions`` stream as :class:`StreamChunk` s.

:class:`StreamState` reads one SSE event at a time: text pieces come out as they
arrive, the chunk carrying ``finish_reason`` is held back and comes out last
(:meth:`StreamState.last`) with the usage of the final, choice-less chunk
(``stream_options.include_usage``) merged into it. An ``{"error": {...}}`` event is
:class:`ErrorEvent`, a chunk of another shape :class:`Malformed`; the client turns
them into the provider's errors (:mod:`tuneplug_openai.client`).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import from_json
from tuneplug.http import SSEEvent
from tuneplug.types import StreamChunk, Usage

from tuneplug_openai import wire

__all__ = ["ErrorEvent", "Malformed", "StreamState", "text_piece", "usage"]


def usage(counts: wire.Usage | None) -> Usage:
    """The tuneplug :class:`Usage` of a wire ``usage`` (all ``None`` when absent)."""
    if counts is None:
        return Usage()
    return Usage(prompt_tokens=counts.prompt_tokens, completion_tokens=counts.completion_tokens)


_new = object.__new__
_set = object.__setattr__


def text_piece(text: str) -> StreamChunk:
    """``StreamChunk(text=text)`` for a ``text`` already checked to be a ``str``.

    Built the way pydantic's ``model_construct`` builds a model, without its
    per-field loop: this runs once per streamed token, where validating one string
    field costs as much as parsing the whole chunk. Equal to the validated object
    (``tests/openai/test_provider.py`` checks it).
    """
    chunk = _new(StreamChunk)
    _set(chunk, "__dict__", {"text": text, "finish_reason": None, "usage": None})
    _set(chunk, "__pydantic_fields_set__", {"text"})
    _set(chunk, "__pydantic_extra__", None)
    _set(chunk, "__pydantic_private__", None)
    return chunk


class ErrorEvent(Exception):
    """The server sent an error object as a stream event (``{"error": {...}}``).

    ``data`` is the event's text, for the error mapper to read like an error body.
    """

    def __init__(self, data: str) -> None:
        self.data = data


class Malformed(ValueError):
    """A stream chunk that is not the documented shape (the message says how)."""


def _text_of(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Malformed(f"{what} must be a string")
    return value


class StreamState:
    """Turns wire chunks into :class:`StreamChunk` s, holding back the finishing one.

    Chunks are read with ``pydantic_core.from_json`` and checked by hand rather than
    through the wire models: this runs once per token, and validating a whole chunk
    model costs more than everything else a chunk goes through.
    """

    def __init__(self, chat: bool) -> None:
        self.chat = chat
        self.held: StreamChunk | None = None
        self.usage: Usage | None = None
        self.done = False

    def feed(self, event: SSEEvent) -> StreamChunk | None:
        """The text piece ``event`` carries, or ``None`` (nothing to yield yet; after
        ``[DONE]``, :attr:`done` is set). Raises :class:`ErrorEvent`, :class:`Malformed`."""
        if event.data == wire.DONE:
            self.done = True
            return None
        try:
            chunk = from_json(event.data)
        except ValueError:
            raise Malformed("a chunk is not JSON") from None
        if isinstance(chunk, dict) and "error" in chunk and "choices" not in chunk:
            raise ErrorEvent(event.data)
        if not isinstance(chunk, dict) or not isinstance(chunk.get("choices"), list):
            raise Malformed("a chunk has no choices list")
        counts = chunk.get("usage")
        if counts is not None:
            try:
                self.usage = usage(wire.Usage.model_validate(counts))
            except ValidationError:
                raise Malformed("usage is not token counts") from None
        choices = chunk["choices"]
        if not choices:
            return None
        choice = choices[0]
        if not isinstance(choice, dict):
            raise Malformed("choices[0] is not an object")
        if len(choices) != 1 or choice.get("index", 0) != 0:
            # n is 1: another choice's text would be mixed in or dropped silently.
            raise Malformed("a chunk carries another choice than the one asked for")
        if self.chat:
            delta = choice.get("delta") or {}
            if not isinstance(delta, dict):
                raise Malformed("choices[0].delta is not an object")
            text = _text_of(delta.get("content"), "choices[0].delta.content")
        else:
            text = _text_of(choice.get("text"), "choices[0].text")
        reason = choice.get("finish_reason")
        if reason is not None:
            self.held = StreamChunk(text=text, finish_reason=_text_of(reason, "finish_reason"))
            return None
        return text_piece(text) if text else None

    def last(self) -> StreamChunk:
        """The finishing chunk (``finish_reason`` ``"unknown"`` if none came), with the usage."""
        held = self.held or StreamChunk(text="", finish_reason="unknown")
        return held.model_copy(update={"usage": self.usage}) if self.usage else held
