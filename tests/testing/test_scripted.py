"""The scripted mock fixture: queue answers, record calls, reach unchanged code."""

from __future__ import annotations

import asyncio
import json

import pytest
import tuneplug
import tuneplug.plugins
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.errors import (
    CapabilityError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    UnknownModelError,
    UnknownProviderError,
)
from tuneplug.testing import Call, ScriptedModel, ScriptedProvider, ScriptExhaustedError
from tuneplug.types import CompletionOptions, Sample


def summarize(text: str) -> str:
    """'Application code': knows nothing about tests, uses the configured model."""
    model = tuneplug.get_model()
    return model.complete(f"Summarize: {text}", max_tokens=12, temperature=0.2).text.strip()


def test_unchanged_code_uses_the_scripted_model(scripted_model: ScriptedModel) -> None:
    scripted_model.respond("A short summary.")
    assert summarize("a long text") == "A short summary."
    call = scripted_model.last_call
    assert call == scripted_model.calls[0]
    assert call.kind == "complete" and call.ref == "scripted/default"
    assert call.prompt == "Summarize: a long text"
    assert call.options is not None
    assert call.options.max_tokens == 12 and call.options.temperature == 0.2
    assert scripted_model.prompts == ["Summarize: a long text"]
    scripted_model.assert_consumed()


def test_replies_are_used_in_order_then_fail_loudly(scripted_model: ScriptedModel) -> None:
    scripted_model.respond("one", "two")
    model = tuneplug.get_model()
    assert [model.complete("a").text, model.complete("b").text] == ["one", "two"]
    with pytest.raises(ScriptExhaustedError, match=r"scripted/default: no scripted reply left"):
        model.complete("c")
    assert scripted_model.prompts == ["a", "b", "c"]


def test_queued_errors_are_raised(scripted_model: ScriptedModel) -> None:
    scripted_model.fail(RateLimitError("slow down", provider="scripted", retry_after=1.0))
    scripted_model.respond("finally")
    model = tuneplug.get_model()
    with pytest.raises(RateLimitError) as limited:
        model.complete("q")
    assert limited.value.retry_after == 1.0
    assert model.complete("q").text == "finally"


def test_options_and_provider_extras_are_recorded(scripted_model: ScriptedModel) -> None:
    scripted_model.respond("ok")
    tuneplug.get_model().complete("q", top_k=3, stop=["\n"], guidance=["yes", "no"])
    call = scripted_model.last_call
    assert isinstance(call.options, CompletionOptions)
    assert call.options.top_k == 3 and call.options.stop == ("\n",)
    assert call.extra == {"guidance": ["yes", "no"]}


def test_stop_sequences_are_honoured(scripted_model: ScriptedModel) -> None:
    scripted_model.respond("Paris. And more", "Paris. And more")
    model = tuneplug.get_model()
    done = model.complete("q", stop=["."])
    assert (done.text, done.finish_reason) == ("Paris", "stop")
    chunks = list(model.stream("q", stop=[" And"]))
    assert "".join(c.text for c in chunks) == "Paris."
    assert chunks[-1].finish_reason == "stop"


def test_streams_and_async(scripted_model: ScriptedModel) -> None:
    boom = RateLimitError("cut off", provider="scripted")
    scripted_model.respond_stream("Hel", "lo", finish_reason="length")
    scripted_model.respond_stream("par", "tial", boom)
    scripted_model.respond("async answer", "async stream")
    model = tuneplug.get_model()

    chunks = list(model.stream("q"))
    assert [c.text for c in chunks] == ["Hel", "lo"]
    assert [c.finish_reason for c in chunks] == [None, "length"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 1

    seen: list[str] = []
    with pytest.raises(RateLimitError):
        for chunk in model.stream("q"):
            seen.append(chunk.text)
    assert seen == ["par", "tial"]  # the error comes mid-stream

    async def run() -> tuple[str, list[str]]:
        done = await model.acomplete("q")
        return done.text, [c.text async for c in model.astream("q")]

    assert asyncio.run(run()) == ("async answer", ["async stream"])
    assert [c.kind for c in scripted_model.calls] == ["stream", "stream", "acomplete", "astream"]


def test_responder_answers_when_nothing_is_queued(scripted_model: ScriptedModel) -> None:
    scripted_model.respond_with(lambda call: (call.prompt or "").upper())
    scripted_model.respond("queued first")
    model = tuneplug.get_model()
    assert model.complete("q").text == "queued first"
    assert model.complete("shout").text == "SHOUT"


def test_fine_tune_flow(scripted_model: ScriptedModel) -> None:
    scripted_model.respond("wrong", "right")
    scripted_model.fine_tune_result(trainable_tokens=10, sum_loss=5.0)
    base = tuneplug.get_model()
    assert base.complete("Q").text == "wrong"
    adapter = base.create_adapter("qa", rank=4, learning_rate=0.001)
    assert adapter.ref == "scripted/qa" and adapter.info.base_model_id == "default"
    result = adapter.fine_tune([{"inputs": "Q right"}])
    assert (result.trainable_tokens, result.loss) == (10, 0.5)
    assert adapter.complete("Q").text == "right"  # falls back to the base model's queue

    # An unscripted step still reports a well-formed, deterministic result.
    parts = [{"inputs": [{"value": "ignored words", "trainable": False}, {"value": "a b c"}]}]
    assert adapter.fine_tune(parts).trainable_tokens == 3

    with pytest.raises(InvalidRequestError) as taken:
        base.create_adapter("qa")
    adapter.delete()
    with pytest.raises(NotFoundError) as gone:
        adapter.complete("Q")
    # In memory, as every local failure: no "(HTTP ...)" to read as a server's answer.
    for error in (taken.value, gone.value):
        assert error.status is None and "HTTP" not in str(error)
    kinds = [c.kind for c in scripted_model.calls]
    assert kinds == [
        "complete", "create_adapter", "fine_tune", "complete", "fine_tune", "create_adapter",
        "delete_adapter", "complete",
    ]  # fmt: skip
    create = scripted_model.calls[1]
    assert (create.name, create.rank, create.learning_rate) == ("qa", 4, 0.001)
    assert scripted_model.calls[2].samples == (Sample(inputs="Q right"),)


def test_adapter_queues_and_fine_tune_errors(scripted_provider: ScriptedProvider) -> None:
    base = scripted_provider.model("base")
    base.fail_fine_tune(InvalidRequestError("bad batch", provider="scripted"))
    adapter = tuneplug.get_model("scripted/base").create_adapter("mine")
    scripted_provider.model("mine").respond("from the adapter's own queue")
    assert adapter.complete("x").text == "from the adapter's own queue"
    with pytest.raises(InvalidRequestError, match="bad batch"):
        adapter.fine_tune(["text"])
    with pytest.raises(CapabilityError):
        tuneplug.get_model("scripted/base").fine_tune(["text"])  # a base model


def test_unknown_models_are_typed_errors(scripted_model: ScriptedModel) -> None:
    with pytest.raises(UnknownModelError):
        tuneplug.get_model("scripted/defualt")  # a typo in the code under test


def test_several_models_and_listing(scripted_provider: ScriptedProvider) -> None:
    scripted_provider.model("fast").respond("f")
    scripted_provider.model("smart").respond("s")
    assert tuneplug.get_model("scripted/smart").complete("x").text == "s"
    assert [m.id for m in tuneplug.list_models("scripted")] == ["fast", "smart"]
    assert [c.model for c in scripted_provider.calls] == ["smart"]


def test_extra_options_can_be_restricted(tuneplug_home: object) -> None:
    with ScriptedProvider("strict", extra_options={"guidance"}) as provider:
        provider.model("m").respond("ok")
        model = tuneplug.get_model("strict/m")
        with pytest.raises(InvalidRequestError, match="unknown option"):
            model.complete("q", nonsense=1)
        assert model.complete("q", guidance=["a"]).text == "ok"
    with pytest.raises(UnknownProviderError):
        tuneplug.get_model("strict/m")  # gone with the block


def test_a_provider_that_cannot_fine_tune(tuneplug_home: object) -> None:
    with ScriptedProvider("plain", fine_tunable=False) as provider:
        provider.model("m")
        with pytest.raises(CapabilityError):
            tuneplug.get_model("plain/m").create_adapter("a")


def test_the_plugin_filter_and_resets_apply(scripted_model: ScriptedModel, tuneplug_home) -> None:  # type: ignore[no-untyped-def]
    scripted_model.respond("still here")
    tuneplug.plugins.reset()
    assert tuneplug.get_model().complete("q").text == "still here"
    tuneplug_home.set_env({"TUNEPLUG_PLUGINS": "-scripted"})
    with pytest.raises(UnknownProviderError, match="excluded by TUNEPLUG_PLUGINS"):
        tuneplug.get_model()


def test_listed_by_the_plugins_command(scripted_provider: ScriptedProvider) -> None:
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["scripted"]["distribution"] == "tuneplug.testing"
    assert rows["scripted"]["capabilities"] == ["chat", "complete", "fine_tune", "jobs"]


def test_the_cli_uses_the_scripted_model_unchanged(scripted_model: ScriptedModel) -> None:
    scripted_model.respond("from the script")
    result = CliRunner().invoke(cli, ["complete", "hello", "--max-tokens", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["text"] == "from the script"
    assert scripted_model.last_call.options == CompletionOptions(max_tokens=3)


def test_aliases_reach_the_scripted_model(scripted_model: ScriptedModel, tuneplug_home) -> None:  # type: ignore[no-untyped-def]
    tuneplug_home.alias("qa", "scripted/default", max_tokens=7, stop=["\n"])
    scripted_model.respond("aliased")
    assert tuneplug.get_model("qa").complete("q").text == "aliased"
    assert scripted_model.last_call.options == CompletionOptions(max_tokens=7, stop=("\n",))


def test_call_records_are_plain_values() -> None:
    call = Call("complete", "m", "scripted", prompt="p")
    assert call.ref == "scripted/m" and call.extra == {}
    with pytest.raises(AttributeError):
        call.prompt = "changed"  # type: ignore[misc]
