"""The mock provider's models, completion and streaming, called through its hooks directly."""

from __future__ import annotations

import asyncio
import types
from pathlib import Path
from typing import Any

import pluggy
import pytest
from tuneplug.errors import InvalidRequestError, NotFoundError
from tuneplug.hookspecs import PROJECT_NAME, Completer, FineTunable, ProviderContext, Setup
from tuneplug.types import (
    Capability,
    Completion,
    CompletionOptions,
    ModelInfo,
    ModelKind,
    StreamChunk,
)
from tuneplug_mock import plugin
from tuneplug_mock.settings import MockSettings
from tuneplug_mock.tokenizer import Detokenizer, tokenize

from tests.mock.hooks import BASE_ANSWER, PROMPT


def model(ctx: ProviderContext, name: str) -> ModelInfo:
    info = plugin.tuneplug_resolve_model(ctx, name)
    assert info is not None
    return info


def complete(ctx: ProviderContext, name: str, prompt: str = PROMPT, **options: Any) -> Completion:
    return plugin.tuneplug_complete(ctx, model(ctx, name), prompt, CompletionOptions(**options))


def stream(
    ctx: ProviderContext, name: str, prompt: str = PROMPT, **options: Any
) -> list[StreamChunk]:
    return list(plugin.tuneplug_stream(ctx, model(ctx, name), prompt, CompletionOptions(**options)))


# -- models --------------------------------------------------------------------------


def test_hooks_register_with_pluggy_and_call_by_keyword(ctx: ProviderContext) -> None:
    pm = pluggy.PluginManager(PROJECT_NAME)
    for group in (Setup, Completer, FineTunable):
        pm.add_hookspecs(group)
    pm.register(plugin, name="mock")
    pm.check_pending()  # every tuneplug_* function is a known hook with valid arguments
    assert pm.hook.tuneplug_settings() is MockSettings
    done = pm.hook.tuneplug_complete(
        ctx=ctx, model=model(ctx, "tiny"), prompt=PROMPT, options=CompletionOptions(), messages=None
    )
    assert done.text == BASE_ANSWER


def test_list_models_bases_without_creating_the_store(ctx: ProviderContext) -> None:
    models = plugin.tuneplug_list_models(ctx, base_only=False)
    assert [m.id for m in models] == ["tiny", "echo"]
    tiny, echo = models
    assert tiny.name == "Mock Tiny" and tiny.kind is ModelKind.BASE and tiny.provider == "mock"
    assert tiny.capabilities == {Capability.COMPLETE, Capability.FINE_TUNE}
    assert echo.capabilities == {Capability.COMPLETE}
    assert not ctx.settings.store.exists()


def test_resolve_by_id_and_name_unknown_is_none(ctx: ProviderContext) -> None:
    assert model(ctx, "tiny").id == "tiny"
    assert model(ctx, "Mock Tiny").id == "tiny"
    assert plugin.tuneplug_resolve_model(ctx, "nope") is None
    assert plugin.tuneplug_resolve_model(ctx, "tiny-adapter-000000000000") is None


# -- the tiny model ------------------------------------------------------------------


def test_base_answers_the_seed_question_wrongly(ctx: ProviderContext) -> None:
    done = complete(ctx, "tiny")
    assert done.text == BASE_ANSWER
    assert not done.text.startswith("The Dallas Cowboys")
    assert done.finish_reason == "stop"  # the model ended the text itself
    assert done.model == "tiny" and done.provider == "mock"
    assert done.usage.prompt_tokens == 15 and done.usage.completion_tokens == 11


def test_prompt_without_trailing_space_gets_a_leading_space(ctx: ProviderContext) -> None:
    assert complete(ctx, "tiny", PROMPT.rstrip()).text == " " + BASE_ANSWER
    assert complete(ctx, "tiny", PROMPT + "  ").text == BASE_ANSWER


def test_other_prompts_give_natural_text(ctx: ProviderContext) -> None:
    # Seven tokens of context cannot see "Italy" from "of": an n-gram recites, it does not know.
    capital = complete(ctx, "tiny", "Question: What is the capital of Italy?\n\nAnswer: ")
    assert capital.text.startswith("The capital of ") and capital.text.endswith(" is Paris.")
    assert capital.finish_reason == "stop"
    assert (
        complete(ctx, "tiny", "The weather").text
        == " was cold, so we stayed inside and read a book."
    )


def test_max_tokens_cuts_with_length(ctx: ProviderContext) -> None:
    done = complete(ctx, "tiny", max_tokens=3)
    assert done.text == "The San Francisco"
    assert done.finish_reason == "length"
    assert done.usage.completion_tokens == 3


def test_default_max_tokens_bounds_generation(ctx: ProviderContext) -> None:
    # The echo model generates as many tokens as the prompt has: 100 words run into the
    # default cap of 64, which must cut them (the n-gram's answers stop well before it).
    words = [f"w{i}" for i in range(100)]
    done = complete(ctx, "echo", " ".join(words))
    assert (done.finish_reason, done.usage.completion_tokens) == ("length", 64)
    assert done.text == " ".join(words[:64])
    chunks = stream(ctx, "echo", " ".join(words))
    assert chunks[-1].finish_reason == "length" and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 64
    # Just under the cap, nothing is cut.
    under = complete(ctx, "echo", " ".join(words[:63]))
    assert (under.finish_reason, under.usage.completion_tokens) == ("stop", 63)


def test_stop_sequence_cuts_before_it(ctx: ProviderContext) -> None:
    done = complete(ctx, "tiny", stop=["49ers", "Bowl"])
    assert done.text == "The San Francisco "
    assert done.finish_reason == "stop"
    assert "49ers" not in done.text
    assert (
        complete(ctx, "tiny", stop="1994.").text == "The San Francisco 49ers won the Super Bowl in "
    )


def test_stop_sequence_never_leaks_into_chunks(ctx: ProviderContext) -> None:
    chunks = stream(ctx, "tiny", stop=[" 49ers won"])
    assert "".join(c.text for c in chunks) == "The San Francisco"
    assert all("49" not in c.text for c in chunks)
    assert chunks[-1].finish_reason == "stop"
    # A stop prefix that turns out not to be a stop is released, not lost.
    assert "".join(c.text for c in stream(ctx, "tiny", stop=[" 49ers lost"])) == BASE_ANSWER


def test_stream_one_chunk_per_token_joins_to_complete(ctx: ProviderContext) -> None:
    chunks = stream(ctx, "tiny")
    assert [c.text for c in chunks][:3] == ["The", " San", " Francisco"]
    assert len(chunks) == 11
    assert all(c.finish_reason is None and c.usage is None for c in chunks[:-1])
    last = chunks[-1]
    assert last.text == "." and last.finish_reason == "stop"
    assert last.usage is not None and last.usage.completion_tokens == 11
    assert "".join(c.text for c in chunks) == complete(ctx, "tiny").text


@pytest.mark.parametrize(
    "options",
    [{}, {"max_tokens": 4}, {"stop": ["Bowl"]}, {"temperature": 1.0, "seed": 5}],
)
def test_stream_matches_complete_under_options(
    ctx: ProviderContext, options: dict[str, Any]
) -> None:
    chunks = stream(ctx, "tiny", **options)
    done = complete(ctx, "tiny", **options)
    assert "".join(c.text for c in chunks) == done.text
    assert chunks[-1].finish_reason == done.finish_reason
    assert chunks[-1].usage == done.usage


def test_greedy_is_the_default_and_temperature_zero(ctx: ProviderContext) -> None:
    assert complete(ctx, "tiny", temperature=0).text == BASE_ANSWER
    assert complete(ctx, "tiny", top_k=1, top_p=0.1).text == BASE_ANSWER  # ignored when greedy


def test_seeded_sampling_is_reproducible_and_seeds_differ(ctx: ProviderContext) -> None:
    first = complete(ctx, "tiny", temperature=1.2, seed=11)
    again = complete(ctx, "tiny", temperature=1.2, seed=11)
    assert first.text == again.text
    unseeded = complete(ctx, "tiny", temperature=1.2)
    assert unseeded.text == complete(ctx, "tiny", temperature=1.2).text
    texts = {complete(ctx, "tiny", temperature=1.2, seed=s).text for s in range(8)}
    assert len(texts) > 1


def test_top_k_and_top_p_narrow_sampling_to_greedy(ctx: ProviderContext) -> None:
    for seed in range(5):
        assert complete(ctx, "tiny", temperature=1.5, seed=seed, top_k=1).text == BASE_ANSWER
        assert complete(ctx, "tiny", temperature=1.5, seed=seed, top_p=0.01).text == BASE_ANSWER


def test_same_output_from_a_second_instance(ctx: ProviderContext, tmp_path: Path) -> None:
    other = ProviderContext(provider="mock", settings=MockSettings(store=tmp_path / "b.sqlite3"))
    variants: list[dict[str, Any]] = [{}, {"temperature": 0.9, "seed": 3}]
    for opts in variants:
        assert complete(other, "tiny", **opts) == complete(ctx, "tiny", **opts)
    plugin.tuneplug_close(other)


# -- echo ----------------------------------------------------------------------------


def test_echo_returns_the_prompt_verbatim(ctx: ProviderContext) -> None:
    prompt = "  Hello,  world!\n\nBye "
    done = complete(ctx, "echo", prompt)
    assert done.text == prompt and done.finish_reason == "stop"
    assert done.usage.prompt_tokens == done.usage.completion_tokens == 6
    chunks = stream(ctx, "echo", prompt)
    assert len(chunks) == 6 and "".join(c.text for c in chunks) == prompt


def test_echo_respects_max_tokens_and_stop(ctx: ProviderContext) -> None:
    cut = complete(ctx, "echo", "one two three four", max_tokens=2)
    assert cut.text == "one two" and cut.finish_reason == "length"
    stopped = complete(ctx, "echo", "one two three four", stop=["three"])
    assert stopped.text == "one two " and stopped.finish_reason == "stop"


# -- async ---------------------------------------------------------------------------


def test_acomplete_and_astream_match_sync(ctx: ProviderContext) -> None:
    tiny = model(ctx, "tiny")
    opts = CompletionOptions(max_tokens=20)

    async def run() -> tuple[Completion, list[StreamChunk]]:
        done = await plugin.tuneplug_acomplete(ctx, tiny, PROMPT, opts)
        chunks = [c async for c in plugin.tuneplug_astream(ctx, tiny, PROMPT, opts)]
        return done, chunks

    done, chunks = asyncio.run(run())
    assert done == plugin.tuneplug_complete(ctx, tiny, PROMPT, opts)
    assert len(chunks) > 1 and "".join(c.text for c in chunks) == done.text
    assert chunks[-1].finish_reason == "stop"


def test_latency_is_awaited_not_blocking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slow = ProviderContext(
        provider="mock", settings=MockSettings(store=tmp_path / "s.sqlite3", latency_ms=150)
    )
    tiny = model(slow, "tiny")
    opts = CompletionOptions()
    slept: list[float] = []
    awaited: list[float] = []

    def blocking_sleep(seconds: float) -> None:
        slept.append(seconds)

    async def run() -> list[Completion]:
        # Overlap shown by events, not by a clock: each call's latency waits until all
        # three are inside theirs, which only concurrent calls can reach (a call that
        # held the loop or waited for the previous one would never let the third in).
        all_inside = asyncio.Event()

        async def awaited_sleep(seconds: float) -> None:
            awaited.append(seconds)
            if len(awaited) == 3:
                all_inside.set()
            await all_inside.wait()

        fake_asyncio = types.ModuleType("asyncio")
        fake_asyncio.__dict__.update(vars(asyncio))
        fake_asyncio.sleep = awaited_sleep  # type: ignore[attr-defined]
        monkeypatch.setattr(plugin, "asyncio", fake_asyncio)
        calls = [plugin.tuneplug_acomplete(slow, tiny, PROMPT, opts) for _ in range(3)]
        return list(await asyncio.wait_for(asyncio.gather(*calls), timeout=10))

    monkeypatch.setattr(plugin, "time", types.SimpleNamespace(sleep=blocking_sleep))
    results = asyncio.run(run())
    assert [r.text for r in results] == [BASE_ANSWER] * 3
    assert awaited == [0.15] * 3 and slept == []  # awaited, never slept

    assert plugin.tuneplug_complete(slow, tiny, PROMPT, opts).text == BASE_ANSWER
    assert slept == [0.15]  # the sync call sleeps its latency once
    plugin.tuneplug_close(slow)


# -- errors --------------------------------------------------------------------------


def test_unknown_extra_option_is_rejected_first(tuneplug_home: Any) -> None:
    # The mock declares no provider options (tuneplug_options -> None): the core
    # refuses any, listing the valid ones, before the mock or its store is touched.
    import tuneplug

    for ref in ("mock/tiny", "mock/echo"):
        tiny = tuneplug.get_model(ref)
        with pytest.raises(InvalidRequestError, match="valid options: max_tokens") as err:
            tiny.complete(PROMPT, guidance=1, bogus=True)
        assert err.value.provider == "mock"
        with pytest.raises(InvalidRequestError):
            tiny.stream(PROMPT, bogus=True)  # raised at the call, not the first chunk
    assert not (tuneplug_home.home / "mock").exists()


def test_unknown_models_are_not_found(ctx: ProviderContext) -> None:
    ghost = ModelInfo(id="ghost", provider="mock", name="ghost")
    with pytest.raises(NotFoundError) as err:
        plugin.tuneplug_complete(ctx, ghost, PROMPT, CompletionOptions())
    assert err.value.status is None and err.value.provider == "mock"  # no HTTP involved


# -- settings and tokenizer ----------------------------------------------------------


def test_settings_from_environment_and_default_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TUNEPLUG_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TUNEPLUG_MOCK_STORE", raising=False)
    monkeypatch.setenv("TUNEPLUG_MOCK_LATENCY_MS", "7.5")
    settings = MockSettings()
    assert settings.latency_ms == 7.5 and settings.latency == 0.0075
    assert settings.store_path() == tmp_path / "home" / "mock" / "adapters.sqlite3"
    monkeypatch.setenv("TUNEPLUG_MOCK_STORE", str(tmp_path / "elsewhere.sqlite3"))
    assert MockSettings().store_path() == tmp_path / "elsewhere.sqlite3"


def test_tokenizer_round_trips_natural_text() -> None:
    text = 'He said "don\'t go" (twice), e.g. at 3.5 p.m.: the 49ers won!\n\nNext line.'
    tokens = tokenize(text)
    assert "don't" in tokens and "49ers" in tokens and "3.5" in tokens and "\n\n" in tokens
    assert Detokenizer().text(tokens) == text
    assert tokenize("Answer:  The") == tokenize("Answer: The") == ["Answer", ":", "The"]
