"""The drop-in ``GradientLLM``: LangChain's constructor and behaviour, on the tuneplug provider.

Wire-level checks run against the scripted loopback fake (``tests/gradient/fake.py``),
which logs every request; LangChain's own ``GradientLLM`` is the reference where
both should agree.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest
import tuneplug
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import BaseCallbackHandler
from pydantic import ValidationError
from tuneplug.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
)
from tuneplug_gradient.langchain import GradientLLM

from tests.gradient.fake import (
    ADAPTER_ID,
    AFTER,
    BASE_ID,
    BEFORE,
    TOKEN,
    WORKSPACE,
    Reply,
    Stall,
    serve,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # langchain-community's sunset notice
    from langchain_community.llms import GradientLLM as LangChainGradientLLM

PROMPT = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: "
UNKNOWN = "00000000-0000-4000-8000-000000000000_model_adapter"
URL = "http://127.0.0.1:9/api"


def creds(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "gradient_access_token": TOKEN,
        "gradient_workspace_id": WORKSPACE,
        "gradient_api_url": URL,
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


# -- constructor and validation (no I/O) -----------------------------------------------------


def test_constructor_is_langchains() -> None:
    kwargs = {"max_generated_token_count": 128}
    by_alias = GradientLLM(model=ADAPTER_ID, **creds(), model_kwargs=kwargs)
    by_name = GradientLLM(model_id=ADAPTER_ID, **creds())
    assert by_alias.model_id == by_name.model_id == ADAPTER_ID
    assert by_alias._llm_type == "gradient"
    with pytest.raises(ValidationError):
        GradientLLM(model=ADAPTER_ID, **creds(), no_such_field=1)  # extra="forbid", as LangChain's
    with pytest.raises(ValidationError):
        GradientLLM(model="x", **creds())  # min_length=2
    GradientLLM(model=ADAPTER_ID, **creds(), aiosession=None)  # accepted, unused


def test_credentials_come_from_langchains_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRADIENT_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("GRADIENT_WORKSPACE_ID", WORKSPACE)
    llm = GradientLLM(model=ADAPTER_ID)
    assert llm.gradient_access_token is not None
    assert llm.gradient_access_token.get_secret_value() == TOKEN
    assert llm.gradient_workspace_id == WORKSPACE
    # LangChain's fails here without GRADIENT_API_URL; the default applies instead
    assert llm.gradient_api_url == "https://api.gradient.ai/api"
    monkeypatch.setenv("GRADIENT_API_URL", URL)
    assert GradientLLM(model=ADAPTER_ID).gradient_api_url == URL


def test_missing_credentials_name_the_variable() -> None:
    with pytest.raises(ValueError, match="GRADIENT_ACCESS_TOKEN"):
        GradientLLM(model=ADAPTER_ID, **creds(gradient_access_token=None))
    with pytest.raises(ValueError, match="GRADIENT_WORKSPACE_ID"):
        GradientLLM(model=ADAPTER_ID, **creds(gradient_workspace_id=None))


def test_the_workspace_is_what_is_checked() -> None:
    # LangChain's checks len(token) < 3 where it means the workspace: a blank one passes it.
    LangChainGradientLLM(model=ADAPTER_ID, **creds(gradient_workspace_id="  "))
    with pytest.raises(ValueError, match="GRADIENT_WORKSPACE_ID"):
        GradientLLM(model=ADAPTER_ID, **creds(gradient_workspace_id="  "))
    with pytest.raises(ValueError, match="GRADIENT_ACCESS_TOKEN"):
        GradientLLM(model=ADAPTER_ID, **creds(gradient_access_token="   "))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": 1.5}, "`temperature` must be in the range"),
        ({"top_p": -0.1}, "`top_p` must be in the range"),
        ({"top_k": 0}, "`top_k` must be positive"),
        ({"max_generated_token_count": 0}, "`max_generated_token_count` must be positive"),
        ({"max_generated_token_count": 512}, "at most 511"),
        ({"max_tokens": 600}, "at most 511"),
        ({"max_tokens": 5, "max_generated_token_count": 5}, "not both"),
        ({"maxTokens": 5}, "unknown model_kwargs maxTokens"),
    ],
)
def test_model_kwargs_are_validated(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GradientLLM(model=ADAPTER_ID, **creds(), model_kwargs=kwargs)


def test_none_in_model_kwargs_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    kwargs = {"temperature": None, "top_k": None, "max_generated_token_count": None, "stop": []}
    with serve(monkeypatch) as fake:
        assert GradientLLM(model=ADAPTER_ID, model_kwargs=kwargs).invoke(PROMPT) == BEFORE
        with_nones = fake.requests[-1].json
        assert GradientLLM(model=ADAPTER_ID).invoke(PROMPT) == BEFORE
        without = fake.requests[-1].json
    assert with_nones == without  # the very request the defaults send
    assert (with_nones["temperature"], with_nones["topK"]) == (None, None)


def test_no_secret_shown_and_the_model_identifies_the_cache_entry() -> None:
    llm = GradientLLM(model=ADAPTER_ID, **creds(), model_kwargs={"max_tokens": 8})
    params = dict(llm._identifying_params)
    assert isinstance(params.pop("trained_steps"), int)  # steps this process applied
    assert params == {
        "gradient_api_url": URL,
        "model_id": ADAPTER_ID,
        "model_kwargs": {"max_tokens": 8},
    }
    assert TOKEN not in repr(llm) and TOKEN not in str(llm) and TOKEN not in str(llm._serialized)


# -- on the wire -------------------------------------------------------------------------------


def test_model_kwargs_reach_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(monkeypatch) as fake:
        llm = GradientLLM(
            model=ADAPTER_ID,
            model_kwargs={"max_tokens": 64, "temperature": 0.5, "top_k": 3, "top_p": 0.9},
        )
        assert llm.invoke(PROMPT) == BEFORE
        sent = fake.requests[-1].json
        reference = LangChainGradientLLM(model=ADAPTER_ID, model_kwargs={"max_tokens": 64})
        reference.invoke(PROMPT)
        dropped = fake.requests[-1].json
    assert sent["query"] == PROMPT
    assert (sent["maxGeneratedTokenCount"], sent["temperature"], sent["topK"], sent["topP"]) == (
        64,
        0.5,
        3,
        0.9,
    )
    assert dropped["maxGeneratedTokenCount"] is None  # what LangChain's did with max_tokens


def test_stop_and_call_options(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(monkeypatch) as fake:
        llm = GradientLLM(model=BASE_ID, model_kwargs={"stop": ["49ers"]})
        assert llm.invoke(PROMPT) == BEFORE.split("49ers")[0]
        assert llm.invoke(PROMPT, stop=["Super"]) == BEFORE.split("Super")[0]
        llm.invoke(PROMPT, max_tokens=7)
        assert fake.requests[-1].json["maxGeneratedTokenCount"] == 7
        # One string is one stop sequence (as everywhere in tuneplug), not its characters.
        single = GradientLLM(model=BASE_ID, model_kwargs={"stop": "49ers"})
        assert single.invoke(PROMPT) == BEFORE.split("49ers")[0]


def test_typed_errors_instead_of_bare_exceptions(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(monkeypatch, MAX_RETRIES="1") as fake:
        with pytest.raises(NotFoundError) as missing:
            GradientLLM(model=UNKNOWN).invoke(PROMPT)
        assert missing.value.status == 404 and missing.value.provider == "gradient"
        with pytest.raises(AuthenticationError) as denied:
            GradientLLM(model=BASE_ID, gradient_access_token="not-the-token-0000").invoke(PROMPT)
        assert denied.value.status == 401 and "not-the-token" not in str(denied.value)
        fake.script(*[Reply(429, {"message": "slow down"})] * 2, path="/complete")
        with pytest.raises(RateLimitError):
            GradientLLM(model=BASE_ID).invoke(PROMPT)
        with pytest.raises(InvalidRequestError):
            GradientLLM(model=BASE_ID).invoke(PROMPT, guidance="not a list")


def test_retries_and_timeouts_are_real(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(monkeypatch) as fake:
        fake.script(Reply(503, {"message": "busy"}), path="/complete")
        assert GradientLLM(model=BASE_ID).invoke(PROMPT) == BEFORE  # retried once
        assert fake.count("/complete") == 2
        fake.script(Stall(1.0), path="/complete")
        with pytest.raises(tuneplug.TimeoutError):
            GradientLLM(model=BASE_ID, timeout=0.2, max_retries=0).invoke(PROMPT)


def test_train_unsupervised_matches_langchains(monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = [PROMPT + " The Dallas Cowboys!"]
    with serve(monkeypatch) as fake:
        theirs = LangChainGradientLLM(model=ADAPTER_ID).train_unsupervised(inputs)
        ours = GradientLLM(model=ADAPTER_ID).train_unsupervised(inputs)
        assert ours == theirs == {"loss": 78.17996 / 27}
        assert ours.result.trainable_tokens == 27 and ours.result.sum_loss == 78.17996
        assert GradientLLM(model=ADAPTER_ID).invoke(PROMPT) == AFTER

        weighted = GradientLLM(model=ADAPTER_ID, model_kwargs={"multipliers": [1.5]})
        asyncio.run(weighted.atrain_unsupervised(inputs))
        sample = fake.requests[-1].json["samples"][0]
        assert sample["fineTuningParameters"] == {"multiplier": 1.5}


def test_async_streaming_and_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tokens(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: str, **kw: Any) -> None:
            self.tokens.append(token)

    with serve(monkeypatch) as fake:
        handler = Tokens()
        llm = GradientLLM(model=BASE_ID, streaming=True)
        assert asyncio.run(llm.ainvoke(PROMPT, config={"callbacks": [handler]})) == BEFORE
        assert handler.tokens == [BEFORE]  # Gradient answers in one piece
        assert list(llm.stream(PROMPT)) == [BEFORE]

        # One cache, two models: LangChain's keyed both on the URL and kwargs alone.
        cache = InMemoryCache()
        GradientLLM(model=ADAPTER_ID, cache=cache).train_unsupervised([PROMPT + "x"])
        base = GradientLLM(model=BASE_ID, cache=cache).invoke(PROMPT)
        tuned = GradientLLM(model=ADAPTER_ID, cache=cache).invoke(PROMPT)
        assert (base, tuned) == (BEFORE, AFTER)
        assert fake.count("/complete") == 4
