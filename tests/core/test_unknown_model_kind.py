"""One class catches "unknown model" whichever provider the config swaps in (user 6 #2).

The mock says a name is unknown before any I/O (``UnknownModelError``); an
OpenAI-compatible or Gradient server says so at the first call, and a local adapter can be
gone since the model was resolved. Those are a ``ModelNotFoundError``: an
``UnknownModelError`` and still the ``NotFoundError`` they were, for every call shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import ModelNotFoundError, NotFoundError, UnknownModelError
from tuneplug.jobs.types import JobSpec

from tests.openai.fake import OpenAIFake, serve
from tests.server.gradient_server import running_server

SAMPLE = {"prompt": "Question: 1+1?\n\nAnswer:", "completion": " 2"}


def _shapes(model: tuneplug.Model) -> dict[str, Callable[[], Any]]:
    messages = [{"role": "user", "content": "hi"}]

    async def astream() -> None:
        async for _ in model.astream("hi"):
            pass

    return {
        "complete": lambda: model.complete("hi"),
        "chat": lambda: model.chat(messages),
        "stream": lambda: list(model.stream("hi")),
        "stream_chat": lambda: list(model.stream_chat(messages)),
        "acomplete": lambda: asyncio.run(model.acomplete("hi")),
        "achat": lambda: asyncio.run(model.achat(messages)),
        "astream": lambda: asyncio.run(astream()),
    }


def _unknown_at_call(call: Callable[[], Any]) -> ModelNotFoundError:
    with pytest.raises(UnknownModelError) as caught:
        call()
    assert isinstance(caught.value, NotFoundError) and caught.value.unknown_model
    assert isinstance(caught.value, ModelNotFoundError)
    return caught.value


def test_the_class_is_both() -> None:
    error = ModelNotFoundError("gone", provider="acme", status=404)
    assert isinstance(error, UnknownModelError) and isinstance(error, NotFoundError)
    assert error.unknown_model and not error.retryable and str(error) == "acme: gone (HTTP 404)"
    assert tuneplug.ModelNotFoundError is ModelNotFoundError
    # a NotFoundError that is about something else stays only that
    assert not NotFoundError("no job").unknown_model
    assert not isinstance(NotFoundError("no job"), UnknownModelError)


def test_the_mock_before_any_io_and_a_deleted_adapter_at_the_call() -> None:
    with pytest.raises(UnknownModelError):
        tuneplug.get_model("mock/nosuch")
    adapter = tuneplug.get_model("mock/tiny").create_adapter("gone")
    stale = tuneplug.get_model(f"mock/{adapter.id}")
    adapter.delete()
    for shape, call in _shapes(stale).items():
        assert "no adapter" in str(_unknown_at_call(call)), shape
    _unknown_at_call(lambda: stale.fine_tune([SAMPLE]))
    _unknown_at_call(stale.delete)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    with serve(monkeypatch) as server:
        yield server


@pytest.mark.usefixtures("fake")
def test_an_openai_compatible_server_saying_model_not_found() -> None:
    model = tuneplug.get_model("openai/ft:gpt-4o-mini:x::nope")
    for shape, call in _shapes(model).items():
        error = _unknown_at_call(call)
        assert "model_not_found" in str(error) and error.status == 404, shape


def test_an_openai_fine_tuning_job_on_an_unknown_model(fake: OpenAIFake) -> None:
    provider = tuneplug.get_provider("openai")
    backend = provider.call("tuneplug_jobs")
    error = _unknown_at_call(
        lambda: backend.create(JobSpec(model="gpt-nonesuch", training_data=[SAMPLE]))
    )
    assert "nothing was uploaded" in str(error) and not fake.files


def test_a_config_alias_naming_it_says_where(tmp_path: Path, monkeypatch: Any, fake: Any) -> None:
    (tmp_path / "tuneplug.toml").write_text(
        '[models.qa]\nmodel = "openai/ft:gpt-4o-mini:x::nope"\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    error = _unknown_at_call(lambda: tuneplug.get_model("qa").complete("hi"))
    assert "tuneplug.toml:2: [models.qa] model: openai: " in str(error)


def test_a_gradient_server_saying_the_adapter_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_server("mock/tiny", tmp_path) as server:
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        tuneplug.plugins.reset()
        adapter = tuneplug.get_model("gradient/tiny").create_adapter("gone")
        stale = tuneplug.get_model(adapter.ref)
        adapter.delete()
        for shape, call in _shapes(stale).items():
            assert "unknownModelAdapter" in str(_unknown_at_call(call)), shape
        _unknown_at_call(lambda: stale.fine_tune([SAMPLE]))
