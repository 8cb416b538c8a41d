"""The pydantic data types: option ranges, sample coercion, fine-tune results."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError
from tuneplug.types import (
    Capability,
    Completion,
    CompletionOptions,
    FineTuneResult,
    InputPart,
    ModelInfo,
    ModelKind,
    Sample,
    StreamChunk,
    Usage,
)

# -- CompletionOptions ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_tokens", 1),
        ("max_tokens", 4096),
        ("temperature", 0.0),
        ("temperature", 2.0),
        ("top_k", 1),
        ("top_p", 1.0),
        ("top_p", 0.01),
    ],
)
def test_options_accept_bounds(field: str, value: float) -> None:
    assert getattr(CompletionOptions(**{field: value}), field) == value


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_tokens", 0),
        ("max_tokens", -5),
        ("temperature", -0.01),
        ("temperature", 2.01),
        ("top_k", 0),
        ("top_p", 0.0),
        ("top_p", 1.01),
    ],
)
def test_options_reject_out_of_range(field: str, value: float) -> None:
    with pytest.raises(ValidationError) as info:
        CompletionOptions(**{field: value})
    assert info.value.errors()[0]["loc"] == (field,)


def test_options_defaults_are_unset() -> None:
    opts = CompletionOptions()
    assert opts.max_tokens is None and opts.temperature is None
    assert opts.top_k is None and opts.top_p is None
    assert opts.stop == () and opts.seed is None and opts.extra == {}


def test_stop_accepts_string_or_sequence() -> None:
    assert CompletionOptions(stop="\n").stop == ("\n",)
    assert CompletionOptions(stop=["a", "b"]).stop == ("a", "b")
    assert CompletionOptions(stop=None).stop == ()


@pytest.mark.parametrize("stop", [5, {"a": 1}, b"\n", [1]])
def test_stop_of_another_type_is_a_validation_error(stop: object) -> None:
    # never a raw TypeError, and a mapping is not quietly read as its keys
    with pytest.raises(ValidationError, match="stop"):
        CompletionOptions(stop=stop)


@pytest.mark.parametrize("stop", ["", ["ok", ""]])
def test_empty_stop_string_rejected(stop: object) -> None:
    with pytest.raises(ValidationError, match="stop"):
        CompletionOptions(stop=stop)


def test_options_are_frozen_and_forbid_unknown_fields() -> None:
    opts = CompletionOptions(max_tokens=3)
    with pytest.raises(ValidationError):
        opts.max_tokens = 4  # type: ignore[misc]
    with pytest.raises(ValidationError):
        CompletionOptions(guidance="x")  # type: ignore[call-arg]
    assert CompletionOptions(extra={"guidance": "x"}).extra == {"guidance": "x"}


# -- Sample ---------------------------------------------------------------------------


def test_sample_from_string() -> None:
    sample = Sample.coerce("Question: 1+1?\n\nAnswer: 2")
    assert sample.inputs == "Question: 1+1?\n\nAnswer: 2"
    assert sample.text == sample.inputs
    assert sample.multiplier is None and sample.weight == 1.0


def test_sample_from_dict_with_multiplier() -> None:
    sample = Sample.coerce({"inputs": "hello", "multiplier": 2.5})
    assert sample.text == "hello" and sample.weight == 2.5


def test_sample_passthrough() -> None:
    sample = Sample(inputs="x")
    assert Sample.coerce(sample) is sample


def test_sample_structured_parts() -> None:
    sample = Sample.coerce(
        {
            "inputs": [
                {"value": "Question: hi\n\nAnswer: ", "trainable": False},
                {"value": "hello"},
            ]
        }
    )
    assert isinstance(sample.inputs, list)
    assert sample.inputs[0] == InputPart(value="Question: hi\n\nAnswer: ", trainable=False)
    assert sample.inputs[1].trainable is True
    assert sample.text == "Question: hi\n\nAnswer: hello"


@pytest.mark.parametrize(
    "value",
    [
        {"inputs": []},
        {"inputs": ""},
        {"inputs": [{"value": ""}]},
        {"inputs": "x", "multiplier": 0},
        {"inputs": "x", "multiplier": -1},
        {"inputs": "x", "unknown": 1},
        {},
    ],
    ids=["empty-list", "empty-string", "empty-part", "zero-mult", "neg-mult", "extra", "missing"],
)
def test_sample_invalid(value: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Sample.coerce(value)


def test_sample_rejects_empty_plain_string() -> None:
    with pytest.raises(ValidationError):
        Sample.coerce("")


# -- FineTuneResult -------------------------------------------------------------------


def test_fine_tune_loss_is_mean_per_token() -> None:
    result = FineTuneResult(trainable_tokens=4, sum_loss=10.0)
    assert result.loss == pytest.approx(2.5)
    assert result.model_dump()["loss"] == pytest.approx(2.5)


def test_fine_tune_loss_none_without_tokens() -> None:
    result = FineTuneResult(trainable_tokens=0, sum_loss=0.0)
    assert result.loss is None


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_fine_tune_rejects_non_finite_loss(bad: float) -> None:
    with pytest.raises(ValidationError, match="finite"):
        FineTuneResult(trainable_tokens=3, sum_loss=bad)


def test_fine_tune_rejects_negative_tokens() -> None:
    with pytest.raises(ValidationError):
        FineTuneResult(trainable_tokens=-1, sum_loss=0.0)


def test_fine_tune_results_add_up() -> None:
    total = FineTuneResult(trainable_tokens=2, sum_loss=1.0) + FineTuneResult(
        trainable_tokens=3, sum_loss=4.0
    )
    assert total.trainable_tokens == 5 and total.sum_loss == 5.0
    assert total.loss == pytest.approx(1.0)


# -- the rest -------------------------------------------------------------------------


def test_model_info_ref_and_defaults() -> None:
    info = ModelInfo(id="tiny", provider="mock", name="Tiny")
    assert info.ref == "mock/tiny"
    assert info.kind is ModelKind.BASE
    assert info.capabilities == frozenset({Capability.COMPLETE})


def test_usage_total() -> None:
    assert Usage(prompt_tokens=3, completion_tokens=4).total_tokens == 7
    assert Usage(prompt_tokens=3).total_tokens is None


def test_stream_chunk_defaults() -> None:
    assert StreamChunk(text="a").finish_reason is None


@pytest.mark.parametrize(
    "value",
    [
        Completion(
            text="hi",
            finish_reason="stop",
            model="tiny",
            provider="mock",
            usage=Usage(prompt_tokens=1, completion_tokens=2),
        ),
        FineTuneResult(trainable_tokens=4, sum_loss=2.0),
        Usage(prompt_tokens=1, completion_tokens=2),
    ],
    ids=["completion", "fine-tune-result", "usage"],
)
def test_json_round_trip(value: object) -> None:
    # What one process dumps (CLI --json, a server, a cassette) another must read back,
    # computed fields (``total_tokens``, ``loss``) included.
    cls = type(value)
    assert cls.model_validate_json(value.model_dump_json()) == value  # type: ignore[attr-defined]
    assert cls.model_validate(value.model_dump()) == value  # type: ignore[attr-defined]
