"""The Gradient provider's connection pools: one per context (sync) and event loop (async),
closed with their loop, on ``close()``, and at interpreter exit.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import tuneplug

from tests.gradient.fake import ADAPTER_ID, BEFORE, FakeGradient

ADAPTER_REF = f"gradient/{ADAPTER_ID}"


# -- async clients and event loops ---------------------------------------------------


def test_async_client_per_loop_closed_with_its_loop(fake: FakeGradient) -> None:
    from tuneplug_gradient.plugin import _client

    model = tuneplug.get_model(ADAPTER_REF)
    for _ in range(2):  # each asyncio.run is a new loop: a new client, closed at its end
        assert asyncio.run(model.acomplete("Q")).text == BEFORE
        assert _client(model.provider.ctx).http.pools.loops == {}

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(model.acomplete("Q"))
        transport = _client(model.provider.ctx).http.pools.loops[loop].transport
        model.provider.close()  # sync close of a loop that is idle but open
        assert transport._session is None
    finally:
        loop.close()


def test_loop_closed_without_cleanup_gets_a_new_pool(fake: FakeGradient) -> None:
    import gc
    import warnings

    from tuneplug_gradient.plugin import _client

    model = tuneplug.get_model(ADAPTER_REF)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(model.acomplete("Q"))
    loop.close()  # no shutdown_asyncgens: the pool could not be closed on its loop
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # its sockets close at GC
        assert asyncio.run(model.acomplete("Q")).text == BEFORE  # a new loop, a new pool
        assert loop not in _client(model.provider.ctx).http.pools.loops
        del loop
        gc.collect()  # an unraisable error here would fail the test (pytest config)


def test_close_from_inside_the_loop(fake: FakeGradient) -> None:
    from tuneplug_gradient.plugin import _client

    model = tuneplug.get_model(ADAPTER_REF)

    async def run() -> Any:
        await model.acomplete("Q")
        entries = _client(model.provider.ctx).http.pools.loops
        transport = entries[asyncio.get_running_loop()].transport
        model.provider.close()  # sync hook, running loop: the close is scheduled
        for _ in range(20):
            if transport._session is None:
                break
            await asyncio.sleep(0.01)
        return transport._session

    assert asyncio.run(run()) is None


# -- process exit ----------------------------------------------------------------------


def test_a_process_that_never_closes_leaves_no_socket_open(fake: FakeGradient) -> None:
    # A script (or `tuneplug complete`) that just exits: the pool is closed at exit, so no
    # "unclosed socket" ResourceWarning. Run in a child: exit is what is tested.
    script = (
        "import asyncio, tuneplug\n"
        f"m = tuneplug.get_model({ADAPTER_REF!r})\n"
        "assert m.complete('Q').text\n"
        "assert asyncio.run(m.acomplete('Q')).text\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", script],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "ResourceWarning" not in done.stderr, done.stderr
