"""``TuneplugLLM`` over the mock provider: calls, streaming, options, caching, errors, training."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from langchain_core.prompts import PromptTemplate
from tuneplug.errors import (
    CapabilityError,
    ConfigError,
    InvalidRequestError,
    UnknownModelError,
)
from tuneplug.langchain import TrainResult, TuneplugLLM
from tuneplug.types import FineTuneResult

from tests.fresh_env import modules_after

PROMPT = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: "
ANSWER = " The Dallas Cowboys!"
BEFORE = "The San Francisco 49ers won the Super Bowl in 1994."
GRADIENT_ID = "99148c6d-c2a0-4fbe-a4a7-e7c05bdb8a09_base_ml_model"


class Tokens(BaseCallbackHandler):
    """Collects what LangChain's callbacks report."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.errors: list[BaseException] = []
        self.params: list[dict[str, Any]] = []

    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], **kw: Any) -> None:
        self.params.append({"serialized": serialized, **kw})

    def on_llm_new_token(self, token: str, **kw: Any) -> None:
        self.tokens.append(token)

    def on_llm_error(self, error: BaseException, **kw: Any) -> None:
        self.errors.append(error)


class AsyncTokens(AsyncCallbackHandler):
    """Collects streamed tokens in order on the event loop."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    async def on_llm_new_token(self, token: str, **kw: Any) -> None:
        self.tokens.append(token)


def adapter_llm(**kwargs: Any) -> TuneplugLLM:
    adapter = tuneplug.get_model("mock/tiny").create_adapter("my_model_adapter")
    return TuneplugLLM(model=adapter.ref, **kwargs)


# -- calls -------------------------------------------------------------------------------


def test_default_model_is_the_mock_and_invoke_answers() -> None:
    llm = TuneplugLLM()
    assert llm.model is None
    assert llm.invoke(PROMPT) == BEFORE
    assert llm._identifying_params["model"] == "mock/tiny"


def test_generation_info_and_llm_output_carry_usage_and_finish_reason() -> None:
    result = TuneplugLLM(model="mock/tiny").generate([PROMPT, "Question: hi\n\nAnswer: "])
    first = result.generations[0][0]
    assert first.text == BEFORE
    info = first.generation_info or {}
    assert info["finish_reason"] == "stop" and info["model"] == "mock/tiny"
    usage = info["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    second = result.generations[1][0].generation_info or {}
    assert result.llm_output == {
        "model_name": "mock/tiny",
        "token_usage": {
            k: usage[k] + second["usage"][k]
            for k in ("prompt_tokens", "completion_tokens", "total_tokens")
        },
    }


def test_stop_from_constructor_and_call() -> None:
    llm = TuneplugLLM(model="mock/tiny", stop=["49ers"])
    generation = llm.generate([PROMPT]).generations[0][0]
    assert generation.text == "The San Francisco "
    assert (generation.generation_info or {})["finish_reason"] == "stop"
    # a call's stop replaces the default
    assert llm.invoke(PROMPT, stop=["Super"]) == "The San Francisco 49ers won the "
    # one string is one stop sequence, not a list of characters
    assert llm.invoke(PROMPT, stop="Super") == "The San Francisco 49ers won the "  # type: ignore[arg-type]
    assert llm.invoke(PROMPT, stop=[]) == BEFORE


def test_call_options_override_defaults_and_model_can_change() -> None:
    llm = TuneplugLLM(model="mock/tiny", max_tokens=50)
    generation = llm.generate([PROMPT], max_tokens=2).generations[0][0]
    assert (generation.generation_info or {})["finish_reason"] == "length"
    assert generation.text == "The San"
    assert llm.invoke(PROMPT, model="mock/echo") == PROMPT


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_llm_output_names_the_model_the_call_used(mode: str) -> None:
    llm = TuneplugLLM(model="mock/tiny")
    llm.invoke(PROMPT)  # the bound model is resolved: it must not stand in for the call's
    call = llm.generate if mode == "sync" else lambda *a, **k: asyncio.run(llm.agenerate(*a, **k))
    result = call([PROMPT, PROMPT], model="mock/echo")
    assert (result.llm_output or {})["model_name"] == "mock/echo"
    assert [(g[0].generation_info or {})["model"] for g in result.generations] == ["mock/echo"] * 2


def test_lcel_chain() -> None:
    chain = PromptTemplate.from_template("Question: {q}\n\nAnswer: ") | TuneplugLLM()
    answer = chain.invoke({"q": "What is the capital of France?"})
    assert answer == "The capital of France is Paris."


def test_sync_batch_keeps_order() -> None:
    llm = TuneplugLLM(model="mock/tiny")
    prompts = [PROMPT, "Question: What is the capital of Italy?\n\nAnswer: ", PROMPT]
    assert llm.batch(prompts) == [llm.invoke(p) for p in prompts]
    assert llm.batch(prompts, {"max_concurrency": 1}) == [llm.invoke(p) for p in prompts]


# -- streaming -----------------------------------------------------------------------------


def test_stream_yields_tokens_through_callbacks() -> None:
    handler = Tokens()
    llm = TuneplugLLM(model="mock/tiny")
    chunks = list(llm.stream(PROMPT, config={"callbacks": [handler]}))
    assert len(chunks) > 3
    assert "".join(chunks) == BEFORE
    assert handler.tokens == [c for c in chunks if c]


def test_streaming_flag_reports_tokens_on_invoke() -> None:
    handler = Tokens()
    llm = TuneplugLLM(model="mock/tiny", streaming=True)
    result = llm.generate([PROMPT], callbacks=[handler])
    generation = result.generations[0][0]
    assert generation.text == BEFORE
    assert (generation.generation_info or {})["finish_reason"] == "stop"
    assert len(handler.tokens) > 3 and "".join(handler.tokens) == BEFORE


def test_async_stream_and_invoke() -> None:
    handler = AsyncTokens()
    llm = TuneplugLLM(model="mock/tiny")

    async def flow() -> tuple[list[str], str, str]:
        chunks = [c async for c in llm.astream(PROMPT, config={"callbacks": [handler]})]
        streamed = await TuneplugLLM(model="mock/tiny", streaming=True).ainvoke(PROMPT)
        return chunks, await llm.ainvoke(PROMPT), streamed

    chunks, text, streamed = asyncio.run(flow())
    assert "".join(chunks) == text == streamed == BEFORE
    assert handler.tokens == [c for c in chunks if c]


# -- errors ----------------------------------------------------------------------------------


def test_typed_errors_pass_through_langchain() -> None:
    handler = Tokens()
    llm = TuneplugLLM(model="mock/tiny")
    with pytest.raises(InvalidRequestError, match="unknown option") as bad_option:
        llm.invoke(PROMPT, guidance=["yes"], config={"callbacks": [handler]})
    assert handler.errors == [bad_option.value]  # LangChain's callbacks saw the same object
    with pytest.raises(InvalidRequestError, match="temperature"):
        TuneplugLLM(model="mock/tiny", temperature=5.0).invoke(PROMPT)
    with pytest.raises(UnknownModelError):
        TuneplugLLM(model="mock/no-such-model").invoke(PROMPT)
    with pytest.raises(UnknownModelError):
        list(TuneplugLLM(model="not-an-alias").stream(PROMPT))
    with pytest.raises(InvalidRequestError):
        asyncio.run(llm.ainvoke(PROMPT, top_p=0.0))


# -- caching and identity ----------------------------------------------------------------------


def test_cache_keys_follow_model_and_call_options() -> None:
    cache = InMemoryCache()
    tiny = TuneplugLLM(model="mock/tiny", cache=cache)
    echo = TuneplugLLM(model="mock/echo", cache=cache)
    assert tiny.invoke(PROMPT) == BEFORE
    assert tiny.invoke(PROMPT) == BEFORE
    assert len(cache._cache) == 1  # the second call was a hit
    # another model, the same prompt: not the cached answer
    assert echo.invoke(PROMPT) == PROMPT
    # a call's options are part of the key (LangChain's BaseLLM alone would reuse the entry)
    assert tiny.invoke(PROMPT, max_tokens=2) == "The San"
    assert tiny.invoke(PROMPT, stop=["49ers"]) == "The San Francisco "
    assert len(cache._cache) == 4
    assert tiny.invoke(PROMPT, max_tokens=2) == "The San"
    assert len(cache._cache) == 4


def test_an_alias_is_keyed_by_what_it_resolves_to(tmp_path: Path) -> None:
    Path("tuneplug.toml").write_text('[models.qa]\nmodel = "mock/tiny"\nmax_tokens = 3\n')
    params = TuneplugLLM(model="qa")._identifying_params
    assert params["model"] == "mock/tiny" and params["max_tokens"] == 3
    assert TuneplugLLM(model="qa").invoke(PROMPT) == "The San Francisco"


def test_no_secret_in_params_repr_or_traces() -> None:
    secret = "tok_VerySecret_0123456789"
    llm = TuneplugLLM(
        model=f"gradient/{GRADIENT_ID}",
        api_key=secret,
        settings={"workspace_id": "ws", "api_url": "http://127.0.0.1:9/api"},
        timeout=3,
        max_retries=0,
    )
    params = llm._identifying_params
    assert params["provider_settings"]["timeout"] == 3
    assert params["provider_settings"]["max_retries"] == 0
    assert "access_token" not in params["provider_settings"]
    settings = llm._binding().model().provider.ctx.settings
    assert settings.access_token.get_secret_value() == secret  # it did reach the provider
    shown = [repr(llm), str(llm), json.dumps(params), str(llm._serialized)]
    shown.append(str(llm._get_ls_params()))
    assert not any(secret in text for text in shown)
    with_settings = TuneplugLLM(model=f"gradient/{GRADIENT_ID}", settings={"access_token": secret})
    assert secret not in repr(with_settings)
    # what callbacks and tracers receive (nothing listens on the discard port: refused)
    handler = Tokens()
    with pytest.raises(tuneplug.ConnectionError):
        llm.invoke(PROMPT, config={"callbacks": [handler]})
    assert handler.params and secret not in str(handler.params)


def test_a_calls_model_of_another_provider_does_not_get_the_settings() -> None:
    settings = {"access_token": "tok_x_0123456789", "workspace_id": "ws"}
    llm = TuneplugLLM(model=f"gradient/{GRADIENT_ID}", settings=settings)
    assert llm.invoke(PROMPT, model="mock/echo") == PROMPT  # mock settings would refuse them
    same = llm._binding().model(f"gradient/{GRADIENT_ID.replace('9914', '1234')}")
    assert same.provider.ctx.settings.workspace_id == "ws"


def test_api_key_needs_a_provider_with_one_credential() -> None:
    with pytest.raises(ConfigError, match="no single credential setting"):
        TuneplugLLM(model="mock/tiny", api_key="x").invoke(PROMPT)
    # timeout / max_retries have nothing to apply to in the mock: accepted, no effect
    assert TuneplugLLM(model="mock/tiny", timeout=1, max_retries=0).invoke(PROMPT) == BEFORE


def test_standard_params_for_tracing() -> None:
    llm = TuneplugLLM(model="mock/tiny", temperature=0.5, max_tokens=7, stop=["x"])
    assert llm._get_ls_params() == {
        "ls_provider": "mock",
        "ls_model_name": "mock/tiny",
        "ls_model_type": "llm",
        "ls_temperature": 0.5,
        "ls_max_tokens": 7,
        "ls_stop": ["x"],
    }
    assert llm._get_ls_params(model="mock/echo")["ls_model_name"] == "mock/echo"


def test_reassigned_fields_take_effect() -> None:
    llm = TuneplugLLM(model="mock/tiny")
    assert llm.invoke(PROMPT) == BEFORE
    llm.model = "mock/echo"
    assert llm.invoke(PROMPT) == PROMPT
    assert llm._identifying_params["model"] == "mock/echo"


# -- fine-tuning -----------------------------------------------------------------------------


def test_train_unsupervised_returns_langchains_loss_and_the_result() -> None:
    llm = adapter_llm()
    assert "Cowboys" not in llm.invoke(PROMPT)
    trained = llm.train_unsupervised([PROMPT + ANSWER])
    assert isinstance(trained, TrainResult) and isinstance(trained.result, FineTuneResult)
    assert trained == {"loss": trained.result.sum_loss / trained.result.trainable_tokens}
    assert trained.result.trainable_tokens > 0 and trained.loss == trained["loss"]
    assert llm.invoke(PROMPT).startswith("The Dallas Cowboys")


def test_atrain_unsupervised_with_multipliers() -> None:
    llm = adapter_llm()

    async def flow() -> tuple[TrainResult, TrainResult, str]:
        first = await llm.atrain_unsupervised([PROMPT + ANSWER], multipliers=[2.0])
        second = await llm.atrain_unsupervised([PROMPT + ANSWER])
        return first, second, await llm.ainvoke(PROMPT)

    first, second, after = asyncio.run(flow())
    assert second["loss"] < first["loss"]  # the mock really learns
    assert after.startswith("The Dallas Cowboys")


def test_training_errors_are_typed_and_early() -> None:
    with pytest.raises(CapabilityError, match="base model"):
        TuneplugLLM(model="mock/tiny").train_unsupervised([PROMPT + ANSWER])
    with pytest.raises(CapabilityError):
        TuneplugLLM(model="mock/echo").train_unsupervised([PROMPT + ANSWER])
    llm = adapter_llm()
    with pytest.raises(InvalidRequestError, match="2 multipliers for 1 inputs"):
        llm.train_unsupervised([PROMPT + ANSWER], multipliers=[1.0, 2.0])
    with pytest.raises(InvalidRequestError, match="not one string"):
        llm.train_unsupervised(PROMPT + ANSWER)
    with pytest.raises(InvalidRequestError, match="unknown keyword"):
        llm.train_unsupervised([PROMPT + ANSWER], epochs=3)
    with pytest.raises(InvalidRequestError, match="sample 0"):
        llm.train_unsupervised([""])


# -- import cost ---------------------------------------------------------------------------


def test_langchain_is_imported_only_by_the_adapters() -> None:
    light = modules_after("import tuneplug, tuneplug.langchain, tuneplug.chat_templates")
    assert not any(m == "langchain_core" or m.startswith("langchain_core.") for m in light)
    heavy = modules_after("from tuneplug.langchain import TuneplugLLM")
    assert "langchain_core" in heavy
    assert "tuneplug_gradient" not in heavy  # no provider until a model is used
