"""An incremental server-sent events decoder, following the WHATWG HTML standard
("Server-sent events", §9.2.6 "Interpreting an event stream").

Feed it the response body in chunks of any size (a chunk may end inside a line,
between a CR and its LF, or anywhere in a multi-byte character); it returns the
events completed so far. What the standard says, and this decoder does:

* one leading byte-order mark is dropped; the stream is UTF-8, invalid bytes
  become U+FFFD;
* lines end with CRLF, LF or CR;
* an empty line dispatches the event; a line starting with ``:`` is a comment;
* ``field:value`` (one space after the colon is removed), or a bare ``field``
  with an empty value; fields ``event``, ``data``, ``id``, ``retry``, all others
  ignored; several ``data`` lines join with ``\\n``;
* an ``id`` containing U+0000 is ignored; the last id persists across events;
* ``retry`` is taken only when it is all ASCII digits;
* an event with an empty data buffer is not dispatched; the type defaults to
  ``message``;
* at the end of the stream an event without its terminating blank line is
  discarded (:meth:`SSEDecoder.end` reports whether that happened).

Pure Python on ``bytes``: no HTTP library, no I/O.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["SSEDecoder", "SSEEvent"]

_BOM = b"\xef\xbb\xbf"
_LINE_ENDS = b"\r\n"


class SSEEvent(NamedTuple):
    """One dispatched event.

    Attributes:
        event: the event type (``"message"`` unless an ``event`` field set it).
        data: the data lines joined with ``\\n`` (no trailing newline).
        id: the last event id seen so far in the stream (``""`` if none).
        retry: the stream's reconnection time in milliseconds, as last set by a
            ``retry`` field (``None`` if none so far); like ``id`` it persists.
    """

    event: str
    data: str
    id: str
    retry: int | None


class SSEDecoder:
    """Turns body chunks into :class:`SSEEvent` s; one decoder per stream."""

    __slots__ = ("_data", "_drop_lf", "_event", "_id", "_pending", "_retry", "_started")

    def __init__(self) -> None:
        self._pending = b""  # an incomplete last line
        self._drop_lf = False  # the previous chunk ended with CR: a leading LF is its pair
        self._started = False  # the BOM check is done
        self._data: list[str] = []
        self._event = ""
        self._id = ""
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events that ``chunk`` completes (possibly none)."""
        if not chunk:
            return []
        if self._drop_lf:
            self._drop_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        buffer = self._pending + chunk if self._pending else chunk
        if not self._started:
            if len(buffer) < 3 and _BOM.startswith(buffer):
                self._pending = buffer  # could still be the start of a BOM
                return []
            self._started = True
            if buffer.startswith(_BOM):
                buffer = buffer[3:]
        if not buffer:
            return []  # only the LF of a CRLF, or a BOM, arrived
        # bytes.splitlines breaks at exactly CR, LF and CRLF: the standard's line ends.
        lines = buffer.splitlines()
        if buffer[-1] in _LINE_ENDS:
            self._pending = b""
            # A CR at the very end may be the first half of a CRLF split across chunks.
            self._drop_lf = buffer[-1] == 13
        else:
            self._pending = lines.pop()
        events: list[SSEEvent] = []
        data = self._data
        for raw in lines:
            # The common lines of a JSON stream, inline: "data: {...}" and the blank line.
            if raw[:6] == b"data: ":
                data.append(raw[6:].decode("utf-8", "replace"))
            elif not raw:
                if data:
                    text = data[0] if len(data) == 1 else "\n".join(data)
                    events.append(SSEEvent(self._event or "message", text, self._id, self._retry))
                    data.clear()
                self._event = ""
            else:
                self._line(raw)
        return events

    def _line(self, raw: bytes) -> None:
        line = raw.decode("utf-8", "replace")
        if line[0] == ":":
            return
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\x00" not in value:
            self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)

    def end(self) -> bool:
        """Mark the end of the stream; ``True`` if an unfinished event was discarded.

        An unfinished event is data (or a partial line) not followed by the blank
        line that dispatches it: a truncated stream.
        """
        unfinished = bool(self._data) or bool(self._pending.strip(b"\r\n"))
        if self._pending and not self._started and _BOM.startswith(self._pending):
            unfinished = False  # only (part of) a BOM arrived
        self._data.clear()
        self._pending = b""
        return unfinished
