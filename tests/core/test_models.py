"""The model facade: references, validation before I/O, capabilities, fine-tuning, listing.
Streaming and async: ``test_models_async.py``."""

from __future__ import annotations

import asyncio

import pytest
import tuneplug
from tuneplug.errors import (
    CapabilityError,
    ConfigError,
    InvalidRequestError,
    UnknownModelError,
    UnknownProviderError,
)
from tuneplug.types import Completion, FineTuneResult, ModelKind

from tests.core.plugin_kit import COMPLETER

# -- references -----------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["rec/", "/base", "/"])
def test_bad_reference(rec, ref) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownModelError, match="bad model reference"):
        tuneplug.get_model(ref)
    assert rec.calls == []


def test_bare_name_without_alias(rec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownModelError, match="alias"):
        tuneplug.get_model("base")


def test_unknown_provider(rec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownProviderError) as info:
        tuneplug.get_model("nosuch/base")
    # Named once, by the message: no provider stands behind the error to prefix it.
    assert info.value.provider is None
    assert str(info.value).startswith("unknown provider 'nosuch'; available providers: ")
    assert "rec" in str(info.value)  # lists what is installed


def test_unknown_model(rec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownModelError) as info:
        tuneplug.get_model("rec/nope")
    assert info.value.provider == "rec" and "nope" in str(info.value)


@pytest.mark.parametrize("name", ["base", "base-slug", "Base Model"])
def test_resolve_by_id_slug_or_name(rec, name) -> None:  # type: ignore[no-untyped-def]
    model = tuneplug.get_model(f"rec/{name}")
    assert model.ref == "rec/base" and model.id == "base" and model.name == "Base Model"
    assert model.info.kind is ModelKind.BASE


def test_resolve_hook_is_used_when_implemented(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    plugin = register("res", make_plugin("res", (*COMPLETER, "resolve_model")))
    assert tuneplug.get_model("res/base-slug").id == "base"
    assert plugin.calls.hooks() == ["resolve_model"]
    with pytest.raises(UnknownModelError):
        tuneplug.get_model("res/other")


def test_model_ref_round_trips(rec) -> None:  # type: ignore[no-untyped-def]
    model = tuneplug.get_model("rec/base-slug")
    assert tuneplug.get_model(model.ref).info == model.info
    assert "rec/base" in repr(model)


# -- validation before any hook -------------------------------------------------------

BAD_OPTIONS = [
    {"max_tokens": 0},
    {"temperature": 2.5},
    {"temperature": -1},
    {"top_k": 0},
    {"top_p": 0},
    {"top_p": 1.5},
    {"stop": [""]},
    {"max_tokens": "many"},
]


@pytest.mark.parametrize(
    "bad", BAD_OPTIONS, ids=lambda d: "-".join(f"{k}={v}" for k, v in d.items())
)
def test_out_of_range_option_rejected_before_any_hook(rec, bad) -> None:  # type: ignore[no-untyped-def]
    model = tuneplug.get_model("rec/base")
    rec.calls.clear()
    field = next(iter(bad))
    with pytest.raises(InvalidRequestError, match=field) as info:
        model.complete("hi", **bad)
    assert info.value.provider == "rec"
    with pytest.raises(InvalidRequestError, match=field):
        model.stream("hi", **bad)  # raises on the call, not on first iteration
    with pytest.raises(InvalidRequestError, match=field):
        model.astream("hi", **bad)
    with pytest.raises(InvalidRequestError, match=field):
        asyncio.run(model.acomplete("hi", **bad))
    assert rec.calls == []


def test_invalid_default_option_rejected_before_any_hook(rec) -> None:  # type: ignore[no-untyped-def]
    # Options given to get_model are checked before the provider is asked anything.
    with pytest.raises(InvalidRequestError, match="temperature"):
        tuneplug.get_model("rec/base", temperature=9)
    assert rec.calls == []


@pytest.mark.parametrize("prompt", ["", None, 42])
def test_prompt_must_be_non_empty_string(rec, prompt) -> None:  # type: ignore[no-untyped-def]
    model = tuneplug.get_model("rec/base")
    rec.calls.clear()
    with pytest.raises(InvalidRequestError, match="prompt"):
        model.complete(prompt)
    assert rec.calls == []


def test_options_are_passed_validated(rec) -> None:  # type: ignore[no-untyped-def]
    model = tuneplug.get_model("rec/base", max_tokens=10)
    result = model.complete("hi", temperature=0.5, stop="\n", top_k=3, top_p=0.9, seed=7)
    assert isinstance(result, Completion) and result.text == "rec: hi"
    (call,) = rec.calls.of("complete")
    opts = call["options"]
    assert (opts.max_tokens, opts.temperature, opts.top_k, opts.top_p, opts.seed) == (
        10, 0.5, 3, 0.9, 7,
    )  # fmt: skip
    assert opts.stop == ("\n",) and opts.extra == {}
    assert call["model"] == model.info and call["prompt"] == "hi"
    # Defaults alone are built once and reused (the fast path), not rebuilt per call.
    assert model.options() is model.options()
    model.complete("again")
    assert rec.calls.of("complete")[-1]["options"] is model.options()
    assert model.options().max_tokens == 10 and model.options(top_k=3) is not model.options()


def test_provider_extras_pass_through(rec) -> None:  # type: ignore[no-untyped-def]
    model = tuneplug.get_model("rec/base", auto_template=False)
    model.complete("hi", guidance={"type": "regex"}, max_tokens=3)
    opts = rec.calls.of("complete")[-1]["options"]
    assert opts.extra == {"auto_template": False, "guidance": {"type": "regex"}}
    assert opts.max_tokens == 3


# -- capabilities ---------------------------------------------------------------------


def test_capability_errors_before_io(plain) -> None:  # type: ignore[no-untyped-def]
    model = tuneplug.get_model("plain/base")
    plain.calls.clear()
    with pytest.raises(CapabilityError, match="FineTunable") as info:
        model.create_adapter("mine")
    assert info.value.provider == "plain"
    with pytest.raises(CapabilityError):
        model.fine_tune(["a sample"])
    with pytest.raises(CapabilityError):
        asyncio.run(model.afine_tune(["a sample"]))
    with pytest.raises(CapabilityError):
        model.delete()
    assert plain.calls == []


def test_capability_error_even_with_invalid_arguments(plain) -> None:  # type: ignore[no-untyped-def]
    # the capability is the first thing checked: no confusing validation error
    model = tuneplug.get_model("plain/base")
    with pytest.raises(CapabilityError):
        model.create_adapter("", rank=999)
    with pytest.raises(CapabilityError):
        model.fine_tune([])


def test_fine_tuning_a_base_model_fails_before_io(rec) -> None:  # type: ignore[no-untyped-def]
    # Only adapters are trained (the hook's contract); the facade says so without a call.
    base = tuneplug.get_model("rec/base")
    rec.calls.clear()
    with pytest.raises(CapabilityError, match="base model") as info:
        base.fine_tune(["a sample"])
    assert info.value.provider == "rec" and "create_adapter" in str(info.value)
    with pytest.raises(CapabilityError, match="base model"):
        asyncio.run(base.afine_tune(["a sample"]))
    with pytest.raises(CapabilityError, match="base model"):
        base.check_fine_tunable()
    assert rec.calls == []
    base.create_adapter("mine").check_fine_tunable()  # an adapter passes


def test_fine_tune_flow(rec) -> None:  # type: ignore[no-untyped-def]
    base = tuneplug.get_model("rec/base", max_tokens=4)
    adapter = base.create_adapter("mine", rank=8, learning_rate=1e-4)
    assert adapter.info.kind is ModelKind.ADAPTER and adapter.info.base_model_id == "base"
    assert adapter.defaults == {"max_tokens": 4}
    (call,) = rec.calls.of("create_adapter")
    assert (call["name"], call["rank"], call["learning_rate"]) == ("mine", 8, 1e-4)
    assert call["base"] == base.info

    result = adapter.fine_tune(
        ["one two", {"inputs": "three four five", "multiplier": 2}, tuneplug.Sample(inputs="six")]
    )
    assert result == FineTuneResult(trainable_tokens=6, sum_loss=12.0)
    assert result.loss == pytest.approx(2.0)
    samples = rec.calls.of("fine_tune")[0]["samples"]
    assert [s.text for s in samples] == ["one two", "three four five", "six"]
    assert samples[1].weight == 2

    # the adapter is listed, can be fetched again by reference, then deleted
    assert tuneplug.get_model(adapter.ref).info == adapter.info
    adapter.delete()
    assert rec.calls.of("delete_adapter")[0]["model"] == adapter.info
    with pytest.raises(UnknownModelError):
        tuneplug.get_model(adapter.ref)


def test_fine_tune_accepts_a_generator(rec) -> None:  # type: ignore[no-untyped-def]
    adapter = tuneplug.get_model("rec/base").create_adapter("gen")
    result = adapter.fine_tune(f"sample {i}" for i in range(3))
    assert result.trainable_tokens == 6


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": ""}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "x", "rank": 0}, "rank"),
        ({"name": "x", "rank": 8.5}, "rank"),
        ({"name": "x", "rank": True}, "rank"),
        ({"name": "x", "rank": 64}, "rank"),
        ({"name": "x", "learning_rate": 0}, "learning_rate"),
        ({"name": "x", "learning_rate": 1.5}, "learning_rate"),
    ],
)
def test_create_adapter_validation(rec, kwargs, match) -> None:  # type: ignore[no-untyped-def]
    model = tuneplug.get_model("rec/base")
    rec.calls.clear()
    with pytest.raises(InvalidRequestError, match=match):
        model.create_adapter(**kwargs)
    assert rec.calls == []


def test_adapter_on_adapter_and_deleting_base_rejected(rec) -> None:  # type: ignore[no-untyped-def]
    base = tuneplug.get_model("rec/base")
    adapter = base.create_adapter("a")
    rec.calls.clear()
    with pytest.raises(InvalidRequestError, match="base model"):
        adapter.create_adapter("b")
    with pytest.raises(InvalidRequestError, match="base model"):
        base.delete()
    assert rec.calls == []


@pytest.mark.parametrize(
    ("samples", "match"),
    [
        ([], "no samples"),
        (["ok", {"inputs": "x", "multiplier": -1}], "sample 1: multiplier"),
        ([{"inputs": []}], "sample 0: inputs"),
        ([{"text": "wrong key"}], "sample 0"),
    ],
)
def test_invalid_samples_rejected_before_any_hook(rec, samples, match) -> None:  # type: ignore[no-untyped-def]
    adapter = tuneplug.get_model("rec/base").create_adapter("a")
    rec.calls.clear()
    with pytest.raises(InvalidRequestError, match=match):
        adapter.fine_tune(samples)
    with pytest.raises(InvalidRequestError, match=match):
        asyncio.run(adapter.afine_tune(samples))
    assert rec.calls == []


# -- list_models ----------------------------------------------------------------------


def test_list_models_one_provider(rec) -> None:  # type: ignore[no-untyped-def]
    base = tuneplug.get_model("rec/base")
    base.create_adapter("a")
    assert [m.ref for m in tuneplug.list_models("rec")] == ["rec/base", "rec/a_adapter"]
    assert [m.ref for m in tuneplug.list_models("rec", base_only=True)] == ["rec/base"]


def test_list_models_across_providers_skips_unconfigured_provider(
    entry_point_plugins, make_plugin, register
) -> None:  # type: ignore[no-untyped-def]
    # A provider that cannot be used until configured (e.g. missing credentials) must
    # not make listing *every* provider fail; it is skipped with a warning instead.
    def list_models(ctx, base_only):  # type: ignore[no-untyped-def]
        raise ConfigError("missing credentials: set DEMO_TOKEN", provider=ctx.provider)

    entry_point_plugins.add("other")
    register("needs_creds", make_plugin("needs_creds", list_models=list_models))
    with pytest.warns(UserWarning, match="DEMO_TOKEN") as record:
        models = tuneplug.list_models()
    # the provider is named once, not "'needs_creds' skipped: needs_creds: ..."
    assert str(record[0].message).count("needs_creds") == 1
    assert {m.ref for m in models} == {"other/some-model"}
    with pytest.raises(ConfigError, match="DEMO_TOKEN"):
        tuneplug.list_models("needs_creds")


def test_list_models_unknown_provider(rec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownProviderError):
        tuneplug.list_models("nosuch")
