"""Judge: the official ``gradientai`` SDK 1.13.1 against the real server on loopback (mock/tiny).

The SDK validates every response with its generated pydantic models (50-char
ids, ``latestUpdateTime``, ``finishReason``...), so a wire mismatch fails here.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import tuneplug
from gradientai import Gradient
from gradientai.openapi.client.exceptions import (
    BadRequestException,
    ForbiddenException,
    NotFoundException,
    UnauthorizedException,
)
from tuneplug.errors import PermissionDeniedError

from tests.server.gradient_server import ANSWER, PROMPT, RunningServer, running_server


def connect(server: RunningServer, token: str | None = None) -> Gradient:
    """An SDK client for ``server`` (``token`` overrides the right one)."""
    # The SDK's shipped __init__.pyi does not declare the keywords its runtime takes.
    return Gradient(  # type: ignore[call-arg]
        host=server.url, access_token=token or server.token, workspace_id=server.workspace
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with running_server("mock/tiny", tmp_path) as running:
        yield running


@pytest.fixture
def gradient(server: RunningServer) -> Iterator[Gradient]:
    with connect(server) as client:
        yield client


def test_the_notebook_flow(gradient: Gradient) -> None:
    models = gradient.list_models(only_base=True)
    assert [m.slug for m in models] == ["tiny"]
    base = gradient.get_base_model(base_model_slug=models[-1].slug)
    assert base.id == models[-1].id and len(base.id) == 50
    assert set(base.capabilities) == {"complete", "fineTune"}

    adapter = base.create_model_adapter(name="my_model_adapter")
    assert adapter.id.endswith("_model_adapter") and adapter.name == "my_model_adapter"

    before = adapter.complete(query=PROMPT, max_generated_token_count=128)
    assert before.finish_reason
    assert not before.generated_output.startswith("The Dallas Cowboys")

    step = adapter.fine_tune(samples=[{"inputs": PROMPT + ANSWER}])
    assert step.number_of_trainable_tokens > 0
    assert math.isfinite(step.sum_loss)

    after = adapter.complete(query=PROMPT, max_generated_token_count=128)
    assert after.generated_output.startswith("The Dallas Cowboys")

    fetched = gradient.get_model_adapter(model_adapter_id=adapter.id)
    assert (fetched.id, fetched.name, fetched.base_model_id) == (adapter.id, adapter.name, base.id)
    everything = gradient.list_models(only_base=False)
    assert [m.id for m in everything] == [base.id, adapter.id]

    fetched.delete()
    with pytest.raises(NotFoundException):
        gradient.get_model_adapter(model_adapter_id=adapter.id)


def test_structured_inputs_and_multipliers(gradient: Gradient) -> None:
    base = gradient.get_base_model(base_model_slug="tiny")
    whole = base.create_model_adapter(name="whole", rank=8, learning_rate=0.01)
    answer_only = base.create_model_adapter(name="answer-only")
    full = whole.fine_tune(samples=[{"inputs": PROMPT + ANSWER}])
    parts = answer_only.fine_tune(
        samples=[
            {
                "inputs": [{"value": PROMPT, "trainable": False}, {"value": ANSWER}],
                "multiplier": 2.0,
            }
        ]
    )
    # Only the answer is trained on, so fewer tokens count.
    assert 0 < parts.number_of_trainable_tokens < full.number_of_trainable_tokens
    learned = answer_only.complete(query=PROMPT, max_generated_token_count=20)
    assert learned.generated_output.startswith("The Dallas Cowboys")


def test_acomplete(gradient: Gradient) -> None:
    base = gradient.get_base_model(base_model_slug="tiny")

    async def both() -> list[str]:
        results = await asyncio.gather(
            base.acomplete(query=PROMPT, max_generated_token_count=64),
            base.acomplete(  # type: ignore[call-arg]  # stub lacks auto_template
                query=PROMPT, max_generated_token_count=64, auto_template=False
            ),
        )
        return [r.generated_output for r in results]

    first, second = asyncio.run(both())
    assert first == second == base.complete(query=PROMPT).generated_output


def test_a_bad_token_is_unauthorized(server: RunningServer) -> None:
    with (
        connect(server, "not-the-token-0000") as wrong,
        pytest.raises(UnauthorizedException) as info,
    ):
        wrong.list_models(only_base=True)
    assert info.value.status == 401
    assert "not-the-token-0000" not in (info.value.body or "")


def test_a_token_for_another_workspace_is_forbidden(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        Gradient(  # type: ignore[call-arg]
            host=server.url, access_token=server.token, workspace_id="other_workspace"
        ) as elsewhere,
        pytest.raises(ForbiddenException),
    ):
        elsewhere.list_models(only_base=True)
    # So tuneplug's provider sends its user to the variable that is wrong.
    for name, value in {**server.env, "GRADIENT_WORKSPACE_ID": "other_workspace"}.items():
        monkeypatch.setenv(name, value)
    tuneplug.plugins.reset()
    with pytest.raises(PermissionDeniedError, match="GRADIENT_WORKSPACE_ID") as info:
        tuneplug.list_models("gradient")
    assert info.value.status == 403


def test_completing_a_deleted_adapter_is_unknown_model_adapter(gradient: Gradient) -> None:
    adapter = gradient.get_base_model(base_model_slug="tiny").create_model_adapter(name="gone")
    adapter.delete()
    with pytest.raises(NotFoundException) as info:
        adapter.complete(query=PROMPT)
    assert json.loads(info.value.body)["type"] == "unknownModelAdapter"


def test_guidance_and_rag_errors_are_typed(gradient: Gradient) -> None:
    base = gradient.get_base_model(base_model_slug="tiny")
    with pytest.raises(BadRequestException) as guided:
        base.complete(query=PROMPT, guidance={"type": "choice", "value": ["a", "b"]})
    assert json.loads(guided.value.body)["type"] == "modelDoesNotSupportGuidance"
    with pytest.raises(NotFoundException) as rag:
        base.complete(query=PROMPT, rag={"collection_id": "c1"})  # type: ignore[call-arg]
    assert json.loads(rag.value.body)["type"] == "unknownRagCollection"


def test_adapters_survive_a_server_restart(tmp_path: Path) -> None:
    key = "restart-key-0123456789"  # a restart keeps the key: the tenant is named after it
    with (
        running_server("mock/tiny", tmp_path, token=key) as first,
        connect(first) as gradient,
    ):
        adapter = gradient.get_base_model(base_model_slug="tiny").create_model_adapter(name="kept")
        adapter.fine_tune(samples=[{"inputs": PROMPT + ANSWER}])
    with (
        running_server("mock/tiny", tmp_path, token=key) as second,
        connect(second) as gradient,
    ):
        again = gradient.get_model_adapter(model_adapter_id=adapter.id)
        assert again.name == "kept"
        answer = again.complete(query=PROMPT, max_generated_token_count=20).generated_output
    assert answer.startswith("The Dallas Cowboys")
