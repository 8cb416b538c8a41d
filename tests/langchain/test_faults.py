"""The LangChain adapters, per input (issue 12).

Kinds: one input's failure taken for the whole batch's (siblings: sync and async,
with and without ``max_concurrency``, ``TuneplugLLM``, ``TuneplugChat`` and
``GradientLLM``; results, exceptions and callback runs); a cache identity that
ignores training (siblings: ``train_unsupervised``, its async form, training
through another object in the process, ``GradientLLM``); a secret shown by a
serialisation (siblings: ``model_dump``, ``model_dump_json``, repr/str, LangChain's
``dumps``/``to_json``, ``GradientLLM``'s URL).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
import tuneplug
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.globals import set_llm_cache
from langchain_core.load import dumps
from pydantic import SecretStr
from tuneplug.errors import InvalidRequestError
from tuneplug.langchain import TuneplugChat, TuneplugLLM
from tuneplug_gradient.langchain import GradientLLM

from tests.gradient.fake import ADAPTER_ID, TOKEN, FakeGradient, serve

Q1 = "Question: What is the capital of France?\n\nAnswer: "
Q2 = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: "


class Runs(BaseCallbackHandler):
    """Counts callback runs: starts, ends and errors, by run id."""

    def __init__(self) -> None:
        self.started: set[UUID] = set()
        self.ended: set[UUID] = set()
        self.failed: set[UUID] = set()

    def on_llm_start(self, serialized: Any, prompts: Any, *, run_id: UUID, **kw: Any) -> None:
        self.started.add(run_id)

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: UUID, **kw: Any
    ) -> None:
        self.started.add(run_id)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kw: Any) -> None:
        self.ended.add(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        self.failed.add(run_id)


def _check(outputs: list[Any], runs: Runs) -> None:
    assert len(outputs) == 3
    assert isinstance(outputs[1], InvalidRequestError)
    assert not isinstance(outputs[0], Exception) and not isinstance(outputs[2], Exception)
    assert (len(runs.started), len(runs.ended), len(runs.failed)) == (3, 2, 1)
    assert runs.ended.isdisjoint(runs.failed)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGradient]:
    with serve(monkeypatch) as server:
        yield server


def _models(kind: str) -> Any:
    if kind == "llm":
        return TuneplugLLM(model="mock/tiny", max_tokens=6)
    if kind == "chat":
        return TuneplugChat(model="mock/tiny", max_tokens=6)
    return GradientLLM(model=ADAPTER_ID)


def _bad(kind: str) -> str:
    # An input refused on its own: an empty prompt; for chat (whose template wraps
    # even an empty message) a message that is not text.
    return "half a \ud83d" if kind == "chat" else ""


@pytest.mark.parametrize("kind", ["llm", "chat", "gradient"])
@pytest.mark.parametrize("concurrency", [None, 1, 2])
def test_batch_gives_each_input_its_own_result(
    request: pytest.FixtureRequest, kind: str, concurrency: int | None
) -> None:
    if kind == "gradient":
        fake = request.getfixturevalue("fake")
    runs = Runs()
    config: dict[str, Any] = {"callbacks": [runs], "max_concurrency": concurrency}
    outputs = _models(kind).batch([Q1, _bad(kind), Q2], config, return_exceptions=True)
    _check(outputs, runs)
    if kind == "gradient":
        assert fake.count("/complete") == 2  # the two good prompts, one request each


@pytest.mark.parametrize("kind", ["llm", "chat", "gradient"])
@pytest.mark.parametrize("concurrency", [None, 1])
def test_abatch_gives_each_input_its_own_result(
    request: pytest.FixtureRequest, kind: str, concurrency: int | None
) -> None:
    if kind == "gradient":
        fake = request.getfixturevalue("fake")
    runs = Runs()
    config: dict[str, Any] = {"callbacks": [runs], "max_concurrency": concurrency}
    model = _models(kind)
    outputs = asyncio.run(model.abatch([Q1, _bad(kind), Q2], config, return_exceptions=True))
    _check(outputs, runs)
    if kind == "gradient":
        assert fake.count("/complete") == 2


def test_batch_without_return_exceptions_raises_the_inputs_error() -> None:
    with pytest.raises(InvalidRequestError, match="non-empty"):
        TuneplugLLM(model="mock/tiny", max_tokens=6).batch([Q1, "", Q2])


# -- training changes the cache identity ----------------------------------------------


@pytest.fixture
def cache() -> Iterator[InMemoryCache]:
    memory = InMemoryCache()
    set_llm_cache(memory)
    yield memory
    set_llm_cache(None)


@pytest.mark.parametrize("how", ["train_unsupervised", "atrain_unsupervised", "model"])
def test_a_cached_answer_from_before_training_is_not_served(cache: InMemoryCache, how: str) -> None:
    adapter = tuneplug.get_model("mock/tiny").create_adapter(name="cached")
    llm = TuneplugLLM(model=adapter.ref, max_tokens=6)
    before = llm.invoke(Q2)
    assert "Dallas" not in before and llm.invoke(Q2) == before  # the cache answers
    sample = Q2 + "The Dallas Cowboys!"
    for _ in range(3):
        if how == "train_unsupervised":
            llm.train_unsupervised([sample])
        elif how == "atrain_unsupervised":
            asyncio.run(llm.atrain_unsupervised([sample]))
        else:  # another object of the same process trains the same adapter
            tuneplug.get_model(adapter.ref).fine_tune(sample)
    assert "Dallas Cowboys" in llm.invoke(Q2)


def test_gradient_llm_cache_identity_moves_with_training(fake: FakeGradient) -> None:
    llm = GradientLLM(model=ADAPTER_ID)
    before = dict(llm._identifying_params)
    llm.train_unsupervised(["Question: ?\n\nAnswer: yes"])
    assert llm._identifying_params != before


# -- secrets in every serialisation ------------------------------------------------


def _serialisations(obj: Any) -> list[str]:
    return [
        obj.model_dump_json(),
        str(obj.model_dump()),
        str(obj.model_dump(mode="json")),
        repr(obj),
        str(obj),
        dumps(obj),
        str(obj.to_json()),
        str(obj._identifying_params),
    ]


@pytest.mark.parametrize("cls", [TuneplugLLM, TuneplugChat])
def test_settings_and_api_key_are_masked_everywhere(cls: type) -> None:
    obj = cls(model="mock/tiny", settings={"access_token": TOKEN}, api_key=SecretStr(TOKEN + "2"))
    for text in _serialisations(obj):
        assert TOKEN not in text
    assert obj.settings == {"access_token": TOKEN}  # the value itself is kept for use


def test_gradient_llm_masks_its_token_and_url_credentials() -> None:
    llm = GradientLLM(
        model=ADAPTER_ID,
        gradient_access_token=TOKEN,
        gradient_workspace_id="ws",
        gradient_api_url=f"http://user:{TOKEN}x@127.0.0.1:9/api",
    )
    for text in _serialisations(llm):
        assert TOKEN not in text


def test_a_rejected_value_is_not_echoed_in_the_validation_error() -> None:
    with pytest.raises(ValueError) as info:
        TuneplugLLM(model="mock/tiny", settings=TOKEN)  # type: ignore[arg-type]
    assert TOKEN not in str(info.value)
    with pytest.raises(ValueError) as info:
        GradientLLM(model=ADAPTER_ID, gradient_access_token=TOKEN, timeout=TOKEN)
    assert TOKEN not in str(info.value)
