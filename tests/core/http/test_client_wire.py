"""What ``HttpClient`` puts on the wire and reads back, the same on every path (sync and
async, whole and streamed): the body and its type, the headers and nothing more, no
cookies, no redirects, the proxy, compressed bodies, error bodies of streams (the
http-client mutation run found these unheld on the aiohttp side)."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
import vcr  # the cassette kit's recorder; it patches aiohttp's ClientSession
from tuneplug import errors
from tuneplug.http import Call, ErrorMapper, HttpClient

from tests.core.http.fake import FakeServer, Reply, Truncate, running
from tests.core.http.test_client import MODES, SECRET, Waits, client

PATHS = ["send", "asend", "stream", "astream", "events", "aevents"]


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with running() as server:
        yield server


def through(http: HttpClient, path: str, call: Call, body: bytes | None, **kw: Any) -> Any:
    """Run ``call`` through ``path``: the response, the streamed bytes or the events."""
    if path == "send":
        return http.send(call, body, **kw)
    if path == "stream":
        return b"".join(http.stream(call, body, **kw))
    if path == "events":
        return list(http.events(call, body, **kw))

    async def run() -> Any:
        if path == "asend":
            return await http.asend(call, body, **kw)
        if path == "astream":
            return b"".join([chunk async for chunk in http.astream(call, body, **kw)])
        return [event async for event in http.aevents(call, body, **kw)]

    return asyncio.run(run())


def _sse(request: Any) -> Reply:
    return Reply(200, b"data: 1\n\n", {"Content-Type": "text/event-stream"})


@pytest.mark.parametrize("path", PATHS)
def test_the_body_and_its_type_reach_the_server_on_every_path(path: str) -> None:
    with running(_sse) as fake:
        http = client(fake)
        call = http.call("POST", "/up", idempotent=True)
        through(http, path, call, b"a,b\n1,2\n", content_type=b"text/csv")
        through(http, path, call, b"{}")
        through(http, path, call, None)
        csv, default, empty = fake.requests
        assert csv.body == b"a,b\n1,2\n" and csv.headers["content-type"] == "text/csv"
        assert csv.headers["content-length"] == "8"
        assert default.body == b"{}" and default.headers["content-type"] == "application/json"
        assert empty.body == b"" and "content-type" not in empty.headers
        http.close()


@pytest.mark.parametrize("path", PATHS)
def test_only_the_clients_headers_are_sent(path: str) -> None:
    # No Accept-Encoding, User-Agent or Cookie of the transport's own: the same on both sides.
    with running(_sse) as fake:
        http = client(fake)
        through(http, path, http.call("POST", "/h", idempotent=True), b"{}")
        names = {name.lower() for name in fake.requests[0].header_names}
        assert names == {"host", "authorization", "content-type", "content-length"}
        http.close()


@pytest.mark.parametrize("mode", MODES)
def test_cookies_are_neither_kept_nor_sent(fake: FakeServer, mode: str) -> None:
    fake.script(Reply(200, {"ok": True}, {"Set-Cookie": "session=abc; Path=/"}))
    http = client(fake)
    # By name: aiohttp's cookie jar would refuse a cookie from an IP address anyway.
    http = HttpClient(
        base_url=fake.url.replace("127.0.0.1", "localhost"), headers={}, errors=http.errors
    )
    call = http.call("GET", "/c", idempotent=True)
    if mode == "sync":
        http.send(call)
        http.send(call)
    else:

        async def twice() -> None:  # one event loop: one pool, one session
            await http.asend(call)
            await http.asend(call)

        asyncio.run(twice())
    assert [r.headers.get("cookie") for r in fake.requests] == [None, None]
    http.close()


@pytest.mark.parametrize("path", ["send", "asend", "stream", "astream"])
def test_a_redirect_is_not_followed(fake: FakeServer, path: str) -> None:
    fake.script(Reply(307, b"", {"Location": fake.url + "/elsewhere"}))
    http = client(fake)
    with pytest.raises(errors.ServerError, match="unexpected HTTP 307"):
        through(http, path, http.call("POST", "/r", idempotent=True), b"{}")
    assert fake.count("/elsewhere") == 0
    http.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_compressed_body_is_decoded_once(fake: FakeServer, mode: str) -> None:
    packed = gzip.compress(json.dumps({"text": "hi"}).encode())
    fake.script(Reply(200, packed, {"Content-Encoding": "gzip"}))
    http = client(fake)
    response = through(http, "send" if mode == "sync" else "asend", http.call(
        "GET", "/z", idempotent=True), None)  # fmt: skip
    assert response.json() == {"text": "hi"}
    http.close()


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_a_refused_stream_is_the_servers_error_with_its_request_id(
    fake: FakeServer, path: str
) -> None:
    body = {"error": {"message": "no such model", "type": "invalid_request_error"}}
    fake.script(Reply(400, body, {"x-request-id": "req_42"}))
    http = client(fake)
    with pytest.raises(errors.InvalidRequestError, match="no such model") as info:
        through(http, path, http.call("POST", "/s", idempotent=True), b"{}")
    assert "req_42" in str(info.value) and info.value.status == 400
    http.close()


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_a_refused_stream_whose_error_body_is_cut_is_a_connection_error(
    fake: FakeServer, path: str
) -> None:
    fake.script(Truncate(b'{"error": {"mess', status=500))
    http = client(fake)
    with pytest.raises(errors.ConnectionError, match="RemoteProtocolError: "):
        through(http, path, http.call("POST", "/s", idempotent=False), b"{}")
    assert fake.count("/s") == 1  # it may have been applied: not sent again
    http.close()


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_a_stream_waits_what_a_429_asks(fake: FakeServer, path: str) -> None:
    fake.script(Reply(429, {"error": {"message": "slow"}}, {"retry-after-ms": "1500"}))
    waits = Waits()
    http = client(fake, waits)
    assert through(http, path, http.call("POST", "/s", idempotent=False), b"{}")
    assert waits == [1.5] and fake.count("/s") == 2
    http.close()


@pytest.mark.parametrize("path", ["send", "asend", "stream", "astream"])
def test_requests_go_through_the_environments_proxy(
    fake: FakeServer, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", fake.url)  # the fake plays the proxy
    monkeypatch.setenv("http_proxy", fake.url)
    http = HttpClient(
        base_url="http://api.example.invalid/v1",  # never resolved: the proxy is asked
        headers={"Authorization": f"Bearer {SECRET}"},
        errors=client(fake).errors,
    )
    through(http, path, http.call("POST", "/p", idempotent=True), b"{}")
    assert fake.requests[0].path == "/v1/p"
    assert fake.requests[0].headers["host"] == "api.example.invalid"
    http.close()


@pytest.mark.parametrize("path", ["send", "asend"])
def test_no_credentials_are_taken_from_netrc(
    fake: FakeServer, path: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The provider decides what authenticates a request, not the user's ~/.netrc.
    netrc = tmp_path / "netrc"
    netrc.write_text("machine localhost login user password hunter22\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    http = HttpClient(
        base_url=fake.url.replace("127.0.0.1", "localhost"), headers={}, errors=client(fake).errors
    )
    through(http, path, http.call("GET", "/n", idempotent=True), None)
    assert "authorization" not in fake.requests[0].headers
    http.close()


@pytest.mark.parametrize("path", ["asend", "astream"])
def test_an_async_call_replays_from_a_cassette(path: str, tmp_path: Any) -> None:
    cassette = str(tmp_path / "call.yaml")
    with running() as fake:
        url = fake.url
        http = client(fake)
        with vcr.VCR(record_mode="once").use_cassette(cassette):
            recorded = through(http, path, http.call("POST", "/v", idempotent=True), b"{}")
        http.close()
    # The fake is gone: only the cassette can answer now.
    http = HttpClient(base_url=url + "/v1", headers={}, errors=ErrorMapper(provider="acme"))
    with vcr.VCR(record_mode="none").use_cassette(cassette):
        replayed = through(http, path, http.call("POST", "/v", idempotent=True), b"{}")
    if path == "asend":
        assert replayed.json() == recorded.json() == {"ok": True}
        assert replayed.headers["content-type"] == "application/json"
    else:
        assert replayed == recorded == b'{"ok": true}'
    http.close()
