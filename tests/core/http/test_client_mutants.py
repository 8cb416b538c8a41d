"""``HttpClient``'s bounds in every request path: edges the http-client mutation run
found unheld (``test_client.py`` checks ``call_timeout`` on ``send`` only)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tuneplug import errors
from tuneplug.http import HttpClient

from tests.core.http.fake import Reply
from tests.core.http.test_client import MODES, Waits, client, complete_call, fake  # noqa: F401


def _run(http: HttpClient, mode: str, streaming: bool) -> Any:
    call = complete_call(http)
    if not streaming:
        return http.send(call, b"{}") if mode == "sync" else asyncio.run(http.asend(call, b"{}"))
    if mode == "sync":
        return b"".join(http.stream(call, b"{}"))

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in http.astream(call, b"{}")])

    return asyncio.run(collect())


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_call_timeout_bounds_every_request_path(fake, mode: str, streaming: bool) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    busy = Reply(503, {"error": {"message": "busy"}}, {"Retry-After": "1"})
    fake.script(busy, busy)
    waits = Waits()
    http = client(fake, waits, max_retries=5)
    assert _run(http, mode, streaming)  # no call bound: both waits taken, then the answer
    assert waits == [1.0, 1.0] and fake.count("/complete") == 3
    bounded = client(fake, waits, max_retries=5, call_timeout=0.5)
    fake.script(busy)
    with pytest.raises(errors.ServerError, match="retry after 1 s"):
        _run(bounded, mode, streaming)  # a 1 s wait would cross 0.5 s: not taken
    assert waits == [1.0, 1.0] and fake.count("/complete") == 4
    http.close()
    bounded.close()
