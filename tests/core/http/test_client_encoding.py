"""Compressed bodies on every path of ``HttpClient`` (sync and async, whole and
streamed, and a refused stream's error body): each content coding the installation
can decode is decoded, the same on every path; one it cannot decode is one clear
error naming it, never raw bytes handed on as if they were the body."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Iterator
from typing import Protocol

import httpx
import pytest
from tuneplug import errors
from tuneplug.http.coding import undecodable

from tests.core.http.fake import FakeServer, Reply, Stream, running
from tests.core.http.test_client import client
from tests.core.http.test_client_wire import PATHS, through

EVENTS = [b'data: {"n": %d}\n\n' % i for i in range(40)]
SSE = b"".join(EVENTS)
DECODED = [json.dumps({"n": i}) for i in range(40)]


class _Packer(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...
    def flush(self, mode: int = ..., /) -> bytes: ...


def pieces(packer: _Packer, every: int, chunks: list[bytes]) -> list[bytes]:
    """``chunks`` compressed as one stream, flushed (``every``: the flush mode) after
    each piece, as a server streaming events sends each one as soon as it is written."""
    return [*(packer.compress(c) + packer.flush(every) for c in chunks), packer.flush()]


def _zlib(wbits: int) -> Callable[[list[bytes]], list[bytes]]:
    return lambda chunks: pieces(zlib.compressobj(wbits=wbits), zlib.Z_SYNC_FLUSH, chunks)


def _zstd(chunks: list[bytes]) -> list[bytes]:
    import zstandard

    packer = zstandard.ZstdCompressor().compressobj()
    return pieces(packer, zstandard.COMPRESSOBJ_FLUSH_BLOCK, chunks)


CODINGS: dict[str, Callable[[list[bytes]], list[bytes]]] = {
    "gzip": _zlib(31),
    "deflate": _zlib(15),  # RFC 9110's deflate: zlib-wrapped
    "zstd": _zstd,
}
try:
    import zstandard  # noqa: F401
except ImportError:  # not installed: its streams are the "cannot decode" case below
    del CODINGS["zstd"]


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with running() as server:
        yield server


def _expected(path: str, decoded: bytes) -> object:
    if path in ("events", "aevents"):
        return DECODED
    return decoded


def _got(path: str, result: object) -> object:
    if path in ("events", "aevents"):
        return [event.data for event in result]  # type: ignore[attr-defined]
    if isinstance(result, httpx.Response):
        return result.content
    return result


@pytest.mark.parametrize("coding", list(CODINGS))
@pytest.mark.parametrize("path", PATHS)
def test_a_compressed_body_is_decoded_on_every_path(
    fake: FakeServer, path: str, coding: str
) -> None:
    packed = CODINGS[coding](EVENTS)
    if path in ("send", "asend"):
        fake.script(Reply(200, b"".join(packed), {"Content-Encoding": coding}))
    else:
        fake.script(Stream(packed, headers={"Content-Encoding": coding}))
    http = client(fake)
    got = through(http, path, http.call("POST", "/z", idempotent=True), b"{}")
    assert _got(path, got) == _expected(path, SSE)
    http.close()


@pytest.mark.parametrize("path", ["stream", "astream"])
@pytest.mark.parametrize("coding", list(CODINGS))
def test_a_refused_streams_compressed_error_body_is_decoded(
    fake: FakeServer, path: str, coding: str
) -> None:
    body = json.dumps({"error": {"message": "no such model"}}).encode()
    fake.script(Reply(400, b"".join(CODINGS[coding]([body])), {"Content-Encoding": coding}))
    http = client(fake)
    with pytest.raises(errors.InvalidRequestError, match="no such model"):
        through(http, path, http.call("POST", "/z", idempotent=True), b"{}")
    http.close()


@pytest.mark.parametrize("path", PATHS)
def test_identity_and_stacked_codings_are_decoded(fake: FakeServer, path: str) -> None:
    # "deflate, gzip": deflated, then gzipped; each is undone in reverse order.
    stacked = [b"".join(_zlib(31)([b"".join(_zlib(15)(EVENTS))]))]
    for coding, body in (("identity", [SSE]), ("deflate, gzip", stacked)):
        if path in ("send", "asend"):
            fake.script(Reply(200, b"".join(body), {"Content-Encoding": coding}))
        else:
            fake.script(Stream(body, headers={"Content-Encoding": coding}))
    http = client(fake)
    call = http.call("POST", "/z", idempotent=True)
    assert _got(path, through(http, path, call, b"{}")) == _expected(path, SSE)
    assert _got(path, through(http, path, call, b"{}")) == _expected(path, SSE)
    http.close()


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("coding", "hint"),
    [("x-squash", ""), ("gzip, x-squash", ""), ("br", " (pip install brotli)")],
)
def test_a_body_in_a_coding_that_cannot_be_decoded_is_one_clear_error(
    fake: FakeServer, path: str, coding: str, hint: str
) -> None:
    if coding == "br" and undecodable("br") is None:
        hint = "decodable"  # brotli is installed
    headers = {"Content-Encoding": coding}
    if path in ("send", "asend"):
        fake.script(Reply(200, b"\x00packed\xff", headers))
    else:
        fake.script(Stream([b"\x00packed", b"\xff"], headers=headers))
    http = client(fake)
    call = http.call("POST", "/z", idempotent=True)
    if hint == "decodable":  # the garbage is a corrupt br body instead
        with pytest.raises(errors.ServerError, match="DecodingError"):
            through(http, path, call, b"{}")
    else:
        word = coding.split(", ")[-1]
        message = f"Content-Encoding '{word}', which this installation cannot decode{hint}"
        with pytest.raises(errors.ServerError, match=re.escape(message)) as info:
            through(http, path, call, b"{}")
        assert not info.value.retryable
    assert fake.count("/z") == 1  # the same request would get the same answer
    http.close()


@pytest.mark.parametrize("path", PATHS)
def test_a_corrupt_compressed_body_is_a_decoding_error(fake: FakeServer, path: str) -> None:
    headers = {"Content-Encoding": "gzip"}
    if path in ("send", "asend"):
        fake.script(Reply(200, b"not gzip at all", headers))
    else:
        fake.script(Stream([b"not gzip", b" at all"], headers=headers))
    http = client(fake)
    with pytest.raises(errors.ServerError, match="DecodingError: ") as info:
        through(http, path, http.call("POST", "/z", idempotent=True), b"{}")
    assert not info.value.retryable and fake.count("/z") == 1
    http.close()


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("status", "error"), [(300, errors.ServerError), (400, errors.InvalidRequestError)]
)
def test_an_error_response_in_a_coding_that_cannot_be_decoded_keeps_its_status(
    fake: FakeServer, path: str, status: int, error: type[errors.TuneplugError]
) -> None:
    # Only a success's body is refused: a 300 or 400 is the error its status makes it,
    # its body read as well as it can be (the http-client 5th run: `status <= 300`).
    fake.script(Reply(status, b'{"error": {"message": "gone"}}', {"Content-Encoding": "x-squash"}))
    http = client(fake)
    with pytest.raises(error, match=f"HTTP {status}") as info:
        through(http, path, http.call("POST", "/z", idempotent=True), b"{}")
    assert "x-squash" not in str(info.value)
    http.close()


@pytest.mark.parametrize("path", PATHS)
def test_codings_on_two_header_lines_are_decoded_as_one_list(fake: FakeServer, path: str) -> None:
    # HTTP lets a list header come on several lines: `deflate` then `gzip` is the same
    # as `deflate, gzip` (the two names differ in case only so the fake sends both).
    stacked = b"".join(_zlib(31)([b"".join(_zlib(15)(EVENTS))]))
    headers = {"Content-Encoding": "deflate", "content-encoding": "gzip"}
    if path in ("send", "asend"):
        fake.script(Reply(200, stacked, headers))
    else:
        fake.script(Stream([stacked], headers=headers))
    http = client(fake)
    got = through(http, path, http.call("POST", "/z", idempotent=True), b"{}")
    assert _got(path, got) == _expected(path, SSE)
    http.close()
