"""End to end through the public API on the default model (the mock provider's ``tiny``).

Only the flow every provider must support is asserted here — list base models,
create an adapter, complete, fine-tune, complete again, delete — not the mock's
particular answers (tests/mock/ covers those).
"""

from __future__ import annotations

import asyncio

import pytest
import tuneplug
from tuneplug.types import Capability, ModelKind

SAMPLES = [
    {"inputs": "Question: What is the capital of Zanzibar?\n\nAnswer: Stone Town"},
    "Question: Who wrote the tuneplug notebook?\n\nAnswer: the maintainers",
]
PROMPT = "Question: What is the capital of Zanzibar?\n\nAnswer: "


def test_default_model_is_mock_tiny() -> None:
    model = tuneplug.get_model()
    assert model.ref == "mock/tiny"
    assert model.info.kind is ModelKind.BASE
    assert Capability.FINE_TUNE in model.provider.capabilities


def test_seed_flow_through_the_facade() -> None:
    bases = tuneplug.list_models(provider="mock", base_only=True)
    assert "mock/tiny" in {m.ref for m in bases}
    assert all(m.kind is ModelKind.BASE for m in bases)

    base = tuneplug.get_model("mock/tiny")
    adapter = base.create_adapter(name="flow_adapter", rank=8, learning_rate=1e-4)
    assert adapter.info.kind is ModelKind.ADAPTER
    assert adapter.ref in {m.ref for m in tuneplug.list_models(provider="mock")}
    assert adapter.ref not in {m.ref for m in tuneplug.list_models("mock", base_only=True)}

    before = adapter.complete(PROMPT, max_tokens=8)
    assert before.provider == "mock" and before.model == adapter.id
    assert before.finish_reason in ("stop", "length")

    first = adapter.fine_tune(SAMPLES)
    assert first.trainable_tokens > 0 and first.sum_loss > 0
    assert first.loss == pytest.approx(first.sum_loss / first.trainable_tokens)
    second = adapter.fine_tune(SAMPLES)
    assert second.trainable_tokens == first.trainable_tokens
    assert second.sum_loss < first.sum_loss  # it learned

    # the adapter is found again by reference (in a fresh registry too)
    tuneplug.plugins.reset()
    again = tuneplug.get_model(adapter.ref)
    assert again.info.kind is ModelKind.ADAPTER
    assert again.complete(PROMPT, max_tokens=8).model == adapter.id

    again.delete()
    assert adapter.ref not in {m.ref for m in tuneplug.list_models(provider="mock")}
    with pytest.raises((tuneplug.UnknownModelError, tuneplug.NotFoundError)):
        tuneplug.get_model(adapter.ref)


def test_async_and_stream_agree_with_complete() -> None:
    model = tuneplug.get_model("mock/tiny")
    sync = model.complete(PROMPT, max_tokens=6)
    streamed = "".join(c.text for c in model.stream(PROMPT, max_tokens=6))

    async def run() -> tuple[str, str]:
        result = await model.acomplete(PROMPT, max_tokens=6)
        chunks = [c.text async for c in model.astream(PROMPT, max_tokens=6)]
        return result.text, "".join(chunks)

    atext, astreamed = asyncio.run(run())
    assert sync.text == streamed == atext == astreamed
