"""A scripted, loopback-only fake of the Gradient v1 API for the client tests.

:class:`FakeGradient` is the scriptable loopback HTTP/1.1 server of the ``tuneplug.http``
tests (``tests/core/http/fake.py``: threaded, keep-alive, ``127.0.0.1:0``, every request
logged with method, path, query, headers and raw body) answering like a tiny Gradient by
default (one base model ``nous-hermes2``, adapters, the seed notebook's answers) under
``/api``. :meth:`FakeGradient.script` queues faults that replace the default answer of
the next matching requests: :class:`Reply` (any status/body/headers), :class:`Reset`
(close with a TCP RST, no response), :class:`Stall` (answer after a delay, to trigger
read timeouts), :class:`Truncate` (promise more body than is sent, then close), and the
HTTP fake's others. All waits are short and bounded, so nothing here can hang a test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from tests.core.http import fake as http_fake
from tests.core.http.fake import FakeServer, Recorded, Reply, Reset, Stall

__all__ = ["FakeGradient", "Recorded", "Reply", "Reset", "Stall", "Truncate", "serve"]

TOKEN = "tok_Secret_0123456789abcdef"
WORKSPACE = "12345614fc0_workspace"
BASE_ID = "99148c6d-c2a0-4fbe-a4a7-e7c05bdb8a09_base_ml_model"
OTHER_BASE_ID = "f0b97d96-51a8-4040-8b22-7940ee1fa24e_base_ml_model"
ADAPTER_ID = "674119b5-f19e-4856-add2-767ae7f7d7ef_model_adapter"
BEFORE = "\nThe San Francisco 49ers won the Super Bowl in 1994."
AFTER = "The Dallas Cowboys"


@dataclass
class Truncate(http_fake.Truncate):
    """Send headers promising a longer body, part of a Gradient answer, then close."""

    body: bytes = b'{"finishReason": "len'


class FakeGradient(FakeServer):
    """The fake Gradient; use :func:`serve` to run one for a test (``url`` ends in ``/api``)."""

    def __init__(self) -> None:
        self.adapters: dict[str, dict[str, Any]] = {}
        self.trained: set[str] = set()
        super().__init__(self.answer)
        self.port = self.server.server_address[1]
        self.url = f"{self.url}/api"

    def start(self) -> FakeGradient:
        """Serve in a background thread."""
        super().start()
        return self

    # -- the default Gradient behaviour --------------------------------------------

    def answer(self, req: Recorded) -> Reply:
        """What a healthy Gradient would answer to ``req``."""
        if req.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"message": "bad token"})
        if req.headers.get("x-gradient-workspace-id") != WORKSPACE:
            return Reply(403, {"message": "not your workspace"})
        parts = req.path.removeprefix("/api").strip("/").split("/")
        if parts == ["models"] and req.method == "GET":
            return Reply(200, {"models": self._models(dict(req.query).get("onlyBase") == "True")})
        if parts == ["models"] and req.method == "POST":
            new_id = f"{len(self.adapters):08d}-0000-4000-8000-000000000000_model_adapter"
            self.adapters[new_id] = req.json["model"]
            return Reply(200, {"id": new_id})
        known = {BASE_ID, OTHER_BASE_ID, ADAPTER_ID, *self.adapters}
        if len(parts) >= 2 and parts[0] == "models" and parts[1] not in known:
            return Reply(404, {"message": f"no model {parts[1]}", "type": "unknownModelAdapter"})
        if len(parts) == 2 and req.method == "GET":
            model = self.adapters.get(
                parts[1], {"baseModelId": BASE_ID, "name": "my_model_adapter"}
            )
            return Reply(200, {
                "baseModelId": model["baseModelId"], "id": parts[1], "name": model["name"],
                "latestUpdateTime": "2024-01-09T12:00:00.000Z", "type": "modelAdapter",
            })  # fmt: skip
        if len(parts) == 2 and req.method == "DELETE":
            self.adapters.pop(parts[1], None)
            return Reply(200, {})
        if len(parts) == 3 and parts[2] == "complete":
            text = AFTER if parts[1] in self.trained else BEFORE
            return Reply(200, {"finishReason": "length", "generatedOutput": text})
        if len(parts) == 3 and parts[2] == "fine-tune":
            self.trained.add(parts[1])
            return Reply(200, {"numberOfTrainableTokens": 27, "sumLoss": 78.17996})
        return Reply(404, {"message": "no route"})

    def _models(self, base_only: bool) -> list[dict[str, Any]]:
        models: list[dict[str, Any]] = [
            {
                "capabilities": ["complete", "fineTune"],
                "id": BASE_ID,
                "name": "Nous Hermes 2",
                "slug": "nous-hermes2",
                "type": "baseModel",
            },
            {
                "capabilities": ["complete"],
                "id": OTHER_BASE_ID,
                "name": "Bloom 560m",
                "slug": "bloom-560m",
                "type": "baseModel",
            },
        ]
        if not base_only:
            models += [
                {
                    "baseModelId": m["baseModelId"],
                    "id": i,
                    "name": m["name"],
                    "latestUpdateTime": "2024-01-09T12:00:00.000Z",
                    "type": "modelAdapter",
                }
                for i, m in self.adapters.items()
            ]
        return models


def fast_sleeps(monkeypatch: pytest.MonkeyPatch, longest: float = 0.01) -> None:
    """Make every new ``tuneplug.http.RetryPolicy`` sleep at most ``longest`` seconds.

    Decisions stay real (which wait, whether to wait at all); only the clock is short.
    A test that injects its own ``sleep`` / ``asleep`` replaces these.
    """
    import asyncio

    from tuneplug.http import policy

    real_init = policy.RetryPolicy.__init__

    def init(self: policy.RetryPolicy, **kwargs: Any) -> None:
        real_init(self, **kwargs)

        async def asleep(seconds: float) -> None:
            await asyncio.sleep(min(seconds, longest))

        self.sleep = lambda seconds: time.sleep(min(seconds, longest))
        self.asleep = asleep

    monkeypatch.setattr(policy.RetryPolicy, "__init__", init)


@contextmanager
def serve(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[FakeGradient]:
    """Run a fake and point the Gradient provider at it through the ``GRADIENT_*`` env.

    Backoff is tiny and a server's ``Retry-After`` (honoured up to 60 s, as decided) is
    slept for at most 10 ms, so retries cost milliseconds; ``env`` adds or overrides
    variables (names without the ``GRADIENT_`` prefix, e.g. ``TIMEOUT="0.2"``).
    """
    fast_sleeps(monkeypatch)
    fake = FakeGradient().start()
    values = {
        "API_URL": fake.url,
        "ACCESS_TOKEN": TOKEN,
        "WORKSPACE_ID": WORKSPACE,
        "TIMEOUT": "5",
        "CONNECT_TIMEOUT": "2",
        "BACKOFF_BASE": "0.001",
        "BACKOFF_MAX": "0.005",
        "MAX_RETRY_AFTER": "60",
        **env,
    }
    for key, value in values.items():
        monkeypatch.setenv(f"GRADIENT_{key}", value)
    for var in ("NO_PROXY", "no_proxy"):  # a developer's proxy must not see loopback tests
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    try:
        yield fake
    finally:
        fake.stop()
