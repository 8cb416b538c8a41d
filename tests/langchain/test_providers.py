"""The same ``TuneplugLLM`` code against ``mock/tiny`` and ``gradient/...``; only ``TUNEPLUG_MODEL``
changes. Plus concurrency seen from the server: async batches overlap, bounded by
``max_concurrency``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from langchain_core.prompts import PromptTemplate
from tuneplug.langchain import TuneplugLLM
from tuneplug_gradient.langchain import GradientLLM

from tests.gradient.fake import BASE_ID, FakeGradient, Reply, serve

TEMPLATE = "Question: {question}\n\nAnswer: "
QUESTION = "What NFL team won the Super Bowl in 1994?"
PROMPT = TEMPLATE.format(question=QUESTION)
ANSWER = " The Dallas Cowboys!"


@pytest.fixture(params=["mock/tiny", "gradient/tiny"])
def default_model(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    """``TUNEPLUG_MODEL`` set to the mock, or to the slug of a live Gradient-compatible server."""
    monkeypatch.setenv("TUNEPLUG_MODEL", request.param)
    if request.param.startswith("mock/"):
        yield request.param
        return
    from tests.server.gradient_server import running_server

    with running_server("mock/tiny", tmp_path=tmp_path) as server:
        for key, value in server.env.items():
            monkeypatch.setenv(key, value)
        yield request.param


def the_flow() -> dict[str, Any]:
    """What a user writes once: ask, stream, fine-tune an adapter, ask again, batch."""
    base = TuneplugLLM(max_tokens=32)
    chain = PromptTemplate.from_template(TEMPLATE) | base
    before = chain.invoke({"question": QUESTION})
    streamed = "".join(base.stream(PROMPT))

    adapter = tuneplug.get_model().create_adapter("langchain_adapter")
    tuned = TuneplugLLM(model=adapter.ref, max_tokens=32)
    trained = tuned.train_unsupervised([PROMPT + ANSWER])
    after = (PromptTemplate.from_template(TEMPLATE) | tuned).invoke({"question": QUESTION})
    batch = asyncio.run(tuned.abatch([PROMPT] * 3, {"max_concurrency": 2}))
    adapter.delete()
    return {
        "model": base._identifying_params["model"],
        "before": before,
        "streamed": streamed,
        "trained": trained,
        "after": after,
        "batch": batch,
    }


def test_the_same_code_on_mock_and_gradient(default_model: str) -> None:
    seen = the_flow()
    provider = default_model.split("/")[0]
    assert seen["model"].startswith(f"{provider}/")
    assert "Cowboys" not in seen["before"] and seen["before"].strip()
    assert seen["streamed"] == seen["before"]
    assert seen["trained"]["loss"] > 0 and seen["trained"].result.trainable_tokens > 0
    assert seen["after"].strip().startswith("The Dallas Cowboys")
    assert seen["batch"] == [seen["after"]] * 3


# -- concurrency seen from the server ------------------------------------------------------


class Gate:
    """Holds each completion at the fake server until ``parties`` of them are in at once.

    If calls were sequential the gate would never fill: it breaks after a generous
    wait and the request fails, so the test fails without timing anything.
    """

    def __init__(self, fake: FakeGradient, parties: int) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.broken = False
        self.barrier = threading.Barrier(parties, timeout=4)  # < the client timeout (5 s)
        answer = FakeGradient.answer.__get__(fake)  # the healthy answer, never another gate

        def gated(req: Any) -> Reply:
            if req.path.endswith("/complete"):
                with self.lock:
                    self.in_flight += 1
                    self.peak = max(self.peak, self.in_flight)
                try:
                    self.barrier.wait()
                except threading.BrokenBarrierError:
                    self.broken = True
                    return Reply(400, {"message": "gate broken: requests did not overlap"})
                finally:
                    with self.lock:
                        self.in_flight -= 1
            return answer(req)

        fake.answer = gated  # type: ignore[method-assign]


@pytest.mark.parametrize("limit", [None, 2])
def test_async_batch_requests_overlap_at_the_server(
    monkeypatch: pytest.MonkeyPatch, limit: int | None
) -> None:
    prompts = [f"Question: {n}?\n\nAnswer: " for n in range(6)]
    with serve(monkeypatch) as fake:
        gate = Gate(fake, parties=limit or len(prompts))
        llm = TuneplugLLM(model=f"gradient/{BASE_ID}")
        config = {"max_concurrency": limit} if limit else None
        answers = asyncio.run(llm.abatch(prompts, config))
    assert not gate.broken
    assert len(answers) == len(prompts) and all(answers)
    assert gate.peak == (limit or len(prompts))  # all at once, or exactly the limit


def test_drop_in_gradient_llm_is_natively_concurrent(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(monkeypatch) as fake:
        gate = Gate(fake, parties=4)
        llm = GradientLLM(model=BASE_ID)

        async def four() -> list[str]:
            return list(await asyncio.gather(*(llm.ainvoke(f"Q{n}") for n in range(4))))

        answers = asyncio.run(four())
        sync_gate = Gate(fake, parties=3)
        batch = llm.batch(["a", "b", "c"])  # sync batches use a thread pool, as LangChain's
    assert not gate.broken and gate.peak == 4 and all(answers)
    assert not sync_gate.broken and sync_gate.peak == 3 and all(batch)


def test_a_sync_batch_resolves_a_slug_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # The batch's threads all start on an unresolved model: one GET /models, not one each.
    with serve(monkeypatch) as fake:
        answers = TuneplugLLM(model="gradient/nous-hermes2").batch([f"Q{n}" for n in range(8)])
    assert len(answers) == 8 and all(answers)
    assert fake.count("/models", "GET") == 1
