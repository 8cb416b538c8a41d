"""Judge: LangChain's ``GradientLLM`` (langchain-community 0.4.2) against the real server.

LangChain talks to the API with its own clients (``requests`` sync, ``aiohttp``
async), lower-case headers and a five-key completion body, so it checks the
wire format independently of the official SDK.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradientai import Gradient
from langchain_community.llms import GradientLLM
from langchain_core.prompts import PromptTemplate

from tests.server.gradient_server import ANSWER, PROMPT, RunningServer, running_server


def connect(server: RunningServer, token: str | None = None) -> Gradient:
    """An SDK client for ``server`` (``token`` overrides the right one)."""
    # The SDK's shipped __init__.pyi does not declare the keywords its runtime takes.
    return Gradient(  # type: ignore[call-arg]
        host=server.url, access_token=token or server.token, workspace_id=server.workspace
    )


TEMPLATE = "Question: {question}\n\nAnswer: "
QUESTION = "What NFL team won the Super Bowl in 1994?"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with running_server("mock/tiny", tmp_path) as running:
        yield running


def _new_adapter(server: RunningServer, name: str = "my_model_adapter") -> str:
    with connect(server) as gradient:
        return gradient.get_base_model(base_model_slug="tiny").create_model_adapter(name=name).id


def _llm(server: RunningServer, model: str, **kwargs: object) -> GradientLLM:
    return GradientLLM(
        model=model,
        gradient_api_url=server.url,
        gradient_access_token=server.token,
        gradient_workspace_id=server.workspace,
        model_kwargs={"max_generated_token_count": 128},
        **kwargs,
    )


def test_invoke_learns_from_train_unsupervised(server: RunningServer) -> None:
    llm = _llm(server, _new_adapter(server))
    assert not llm.invoke(PROMPT).startswith("The Dallas Cowboys")

    # The same first step on a twin adapter, through the SDK, gives the raw numbers.
    with connect(server) as gradient:
        twin = gradient.get_model_adapter(model_adapter_id=_new_adapter(server, "twin"))
        raw = twin.fine_tune(samples=[{"inputs": PROMPT + ANSWER}])

    result = llm.train_unsupervised([PROMPT + ANSWER])
    assert result == {"loss": raw.sum_loss / raw.number_of_trainable_tokens}
    assert llm.invoke(PROMPT).startswith("The Dallas Cowboys")


def test_async_invoke_and_training(server: RunningServer) -> None:
    llm = _llm(server, _new_adapter(server))

    async def flow() -> tuple[str, dict[str, float], str]:
        before = await llm.ainvoke(PROMPT)
        trained = await llm.atrain_unsupervised([PROMPT + ANSWER], multipliers=[1.5])
        after = await llm.ainvoke(PROMPT)
        return before, dict(trained), after

    before, trained, after = asyncio.run(flow())
    assert "49ers" in before
    assert trained["loss"] > 0
    assert after.startswith("The Dallas Cowboys")


def test_a_prompt_template_chain(server: RunningServer) -> None:
    llm = _llm(server, _new_adapter(server))
    chain = PromptTemplate.from_template(TEMPLATE) | llm
    assert "49ers" in chain.invoke({"question": QUESTION})
    llm.train_unsupervised([TEMPLATE.format(question=QUESTION) + ANSWER])
    assert chain.invoke({"question": QUESTION}).startswith("The Dallas Cowboys")


def test_generate_many_prompts_keeps_their_order(server: RunningServer) -> None:
    llm = _llm(server, _new_adapter(server))
    prompts = [PROMPT, "Question: Who are you?\n\nAnswer: ", PROMPT]
    result = llm.generate(prompts)
    texts = [generations[0].text for generations in result.generations]
    assert texts[0] == texts[2] == llm.invoke(PROMPT)


def test_errors_surface_with_their_status(server: RunningServer) -> None:
    unknown = "00000000-0000-4000-8000-000000000000_model_adapter"
    with pytest.raises(Exception, match="status 404") as info:
        _llm(server, unknown).invoke(PROMPT)
    assert "unknownModelAdapter" in str(info.value)
    wrong = GradientLLM(
        model=unknown,
        gradient_api_url=server.url,
        gradient_access_token="not-the-token-0000",
        gradient_workspace_id=server.workspace,
    )
    with pytest.raises(Exception, match="status 401"):
        wrong.invoke(PROMPT)
