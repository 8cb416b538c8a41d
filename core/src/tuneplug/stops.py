"""Stop sequences, cut once for everybody: whole texts and streams.

A completion ends *before* the first stop sequence it contains, with
``finish_reason == "stop"`` (OpenAI's ``stop`` parameter semantics). Providers
whose service cannot stop by itself (Gradient, the mock, the testing kit's
scripted provider, echo-style plugins) cut with :func:`cut`, or with
:class:`StopCutter` when they stream; the core's facade runs the same cut over
every result as a safety net, so a plugin that forgets gets the right text
anyway. Cutting a text that is already cut changes nothing, so the double pass
is harmless and costs one ``str.find`` per stop sequence.

This module imports nothing but the standard library at run time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tuneplug.types import Completion, StreamChunk

__all__ = [
    "EndTrimmer",
    "StopCutter",
    "cut",
    "cut_completion",
    "cut_stream",
    "cut_stream_async",
    "first_stop",
    "held_back",
    "trim_end",
    "trim_stream",
    "trim_stream_async",
]


def first_stop(text: str, stop: Sequence[str], start: int = 0) -> int | None:
    """The index where the earliest stop sequence begins in ``text[start:]``, or ``None``."""
    best: int | None = None
    for sequence in stop:
        found = text.find(sequence, start)
        if found >= 0 and (best is None or found < best):
            best = found
    return best


def cut(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``(text before the first stop sequence, whether one was found)``.

    ``stop`` empty (the common case) returns ``(text, False)`` without scanning.
    """
    if not stop:
        return text, False
    found = first_stop(text, stop)
    if found is None:
        return text, False
    return text[:found], True


def held_back(text: str, stop: Sequence[str]) -> int:
    """Length of the longest end of ``text`` that is a proper prefix of a stop sequence.

    Those characters may turn out to begin a stop sequence once more text
    arrives, so a stream must not show them yet.
    """
    longest = max((len(s) for s in stop), default=0) - 1
    for size in range(min(len(text), longest), 0, -1):
        tail = text[-size:]
        if any(s.startswith(tail) for s in stop):
            return size
    return 0


class StopCutter:
    """Cuts a stream of text pieces at the first stop sequence, across piece boundaries.

    Feed each piece to :meth:`feed`; it returns the text that is safe to show
    now (never any part of a stop sequence, even one split over several
    pieces). Once :attr:`stopped` is true the stream is over: stop asking the
    model for more and call :meth:`flush` for the held-back remainder (``""``
    after a stop). Without stop sequences every piece passes straight through.

    >>> c = StopCutter(["\\nUser:"])
    >>> c.feed("Hi\\n"), c.feed("Us"), c.feed("er: more"), c.stopped
    ('Hi', '', '', True)
    """

    __slots__ = ("_held", "stop", "stopped")

    def __init__(self, stop: Sequence[str]) -> None:
        self.stop = tuple(stop)
        self.stopped = False
        self._held = ""  # text not shown yet: it may begin a stop sequence

    def feed(self, piece: str) -> str:
        """The part of the text so far that can be shown, not shown before."""
        if not self.stop:
            return piece
        if self.stopped:
            return ""
        # Only the held-back tail and the new piece can hold a stop sequence that
        # straddles the boundary; what was shown cannot begin one.
        text = self._held + piece
        found = first_stop(text, self.stop)
        if found is not None:
            self.stopped = True
            self._held = ""
            return text[:found]
        safe = len(text) - held_back(text, self.stop)
        self._held = text[safe:]
        return text[:safe]

    def flush(self) -> str:
        """What was held back, once the stream ended without a stop (``""`` after one)."""
        out, self._held = self._held, ""
        return out


# -- the facade's safety net --------------------------------------------------------


def cut_completion(done: Completion, stop: Sequence[str]) -> Completion:
    """``done`` cut at its first stop sequence (``finish_reason`` ``"stop"``), else itself."""
    text, stopped = cut(done.text, stop)
    if not stopped:
        return done
    return done.model_copy(update={"text": text, "finish_reason": "stop"})


def _step(cutter: StopCutter, chunk: StreamChunk) -> StreamChunk | None:
    """The chunk to pass on for ``chunk`` (``None``: nothing to show yet)."""
    text = cutter.feed(chunk.text)
    if cutter.stopped:
        return chunk.model_copy(update={"text": text, "finish_reason": "stop"})
    if chunk.finish_reason is not None:
        text += cutter.flush()
    if text == chunk.text:
        return chunk
    if not text and chunk.finish_reason is None:
        return None
    return chunk.model_copy(update={"text": text})


def _tail(cutter: StopCutter) -> StreamChunk | None:
    # A stream that ended without a final chunk still owes what was held back.
    held = cutter.flush()
    if not held:
        return None
    from tuneplug.types import StreamChunk

    return StreamChunk(text=held)


def cut_stream(chunks: Iterator[StreamChunk], stop: Sequence[str]) -> Iterator[StreamChunk]:
    """``chunks`` ending before the first stop sequence; the provider's stream is closed there.

    Text that may begin a stop sequence is held back until it is known not to be
    one, so no chunk ever shows part of a stop sequence.
    """
    cutter = StopCutter(stop)
    try:
        for chunk in chunks:
            out = _step(cutter, chunk)
            if out is not None:
                yield out
            if cutter.stopped or chunk.finish_reason is not None:
                return
        tail = _tail(cutter)
        if tail is not None:
            yield tail
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


async def cut_stream_async(
    chunks: AsyncIterator[StreamChunk], stop: Sequence[str]
) -> AsyncIterator[StreamChunk]:
    """Async :func:`cut_stream`."""
    cutter = StopCutter(stop)
    try:
        async for chunk in chunks:
            out = _step(cutter, chunk)
            if out is not None:
                yield out
            if cutter.stopped or chunk.finish_reason is not None:
                return
        tail = _tail(cutter)
        if tail is not None:
            yield tail
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


# -- a turn's end marker (chat through a template) ------------------------------------


def _end_size(text: str, end: str) -> int:
    """Length of the longest end of ``text`` that ``end`` starts with (``end`` itself included)."""
    for size in range(min(len(text), len(end)), 0, -1):
        if end.startswith(text[-size:]):
            return size
    return 0


def trim_end(text: str, end: str) -> str:
    """``text`` without a trailing ``end`` marker, or the start of one.

    A reply rendered through a chat template may end with (part of) the
    template's end-of-turn suffix, ``"\n\n"`` for the plain layouts: it
    separates turns and is not part of what the assistant said.
    """
    size = _end_size(text, end) if end else 0
    return text[: len(text) - size] if size else text


class EndTrimmer:
    """:func:`trim_end` for a stream: text that may be the end marker is held back
    until more text shows it is not; at the end of the stream it is dropped."""

    __slots__ = ("_held", "end")

    def __init__(self, end: str) -> None:
        self.end = end
        self._held = ""

    def feed(self, piece: str) -> str:
        """What can be shown now."""
        text = self._held + piece
        size = _end_size(text, self.end)
        self._held = text[len(text) - size :] if size else ""
        return text[: len(text) - size] if size else text


def _trimmed(trimmer: EndTrimmer, chunk: StreamChunk) -> StreamChunk | None:
    text = trimmer.feed(chunk.text)  # on the last chunk, what is held is dropped
    if text == chunk.text:
        return chunk
    if not text and chunk.finish_reason is None:
        return None
    return chunk.model_copy(update={"text": text})


def trim_stream(chunks: Iterator[StreamChunk], end: str) -> Iterator[StreamChunk]:
    """``chunks`` without a trailing ``end`` marker (see :func:`trim_end`)."""
    trimmer = EndTrimmer(end)
    for chunk in chunks:
        out = _trimmed(trimmer, chunk)
        if out is not None:
            yield out


async def trim_stream_async(
    chunks: AsyncIterator[StreamChunk], end: str
) -> AsyncIterator[StreamChunk]:
    """Async :func:`trim_stream`."""
    trimmer = EndTrimmer(end)
    async for chunk in chunks:
        out = _trimmed(trimmer, chunk)
        if out is not None:
            yield out
