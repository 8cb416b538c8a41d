"""Preference pairs: the training data of DPO (direct preference optimization).

One sample, as OpenAI's DPO fine-tuning files write it::

    {"input": {"messages": [{"role": "user", "content": "..."}]},
     "preferred_output": [{"role": "assistant", "content": "..."}],
     "non_preferred_output": [{"role": "assistant", "content": "..."}]}

The input is the conversation so far (any roles, at least one turn); each output is
the assistant's reply, one or more assistant turns without ``weight``. A pair is
never a supervised sample: :func:`tuneplug.samples.parse_sample` refuses one, naming
``method="dpo"``, and :func:`parse_preference` refuses anything else, naming the
keys a pair needs. Errors are :class:`~tuneplug.samples.formats.SampleProblem`
naming the field (``preferred_output.0.role``), so a file's errors name file, line
and field like every other format's (:func:`tuneplug.samples.read_preference_samples`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tuneplug.samples.words import sample_problem
from tuneplug.speech import setting
from tuneplug.types import Message

__all__ = [
    "PREFERENCE_KEYS",
    "PreferenceInput",
    "PreferenceSample",
    "as_line",
    "is_preference",
    "parse_preference",
]

PREFERENCE_KEYS = ("input", "preferred_output", "non_preferred_output")
"""The keys of a preference pair."""


class PreferenceInput(BaseModel):
    """``input``: the conversation the two outputs answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: list[Message] = Field(min_length=1)


def _replies(value: list[Message]) -> list[Message]:
    for index, message in enumerate(value):
        if message.role != "assistant":
            raise ValueError(f"message {index}: an output holds assistant turns only")
        if message.weight is not None:
            raise ValueError(f"message {index}: an output's turns take no weight")
    return value


class PreferenceSample(BaseModel):
    """A preference pair: ``input``, the ``preferred_output`` and the ``non_preferred_output``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: PreferenceInput
    preferred_output: list[Message] = Field(min_length=1)
    non_preferred_output: list[Message] = Field(min_length=1)

    @field_validator("preferred_output", "non_preferred_output")
    @classmethod
    def _assistant_only(cls, value: list[Message]) -> list[Message]:
        return _replies(value)


def is_preference(value: object) -> bool:
    """Whether ``value`` is (or claims to be, by its keys) a preference pair: an output
    key, or an ``input`` object (``{"input": "text"}`` is a typo of ``inputs``, not one)."""
    if isinstance(value, PreferenceSample):
        return True
    if not isinstance(value, Mapping):
        return False
    outputs = "preferred_output" in value or "non_preferred_output" in value
    return outputs or isinstance(value.get("input"), Mapping)


def _texts(sample: PreferenceSample) -> list[tuple[str, str]]:
    found = [
        (f"input.messages.{i}.content", m.content) for i, m in enumerate(sample.input.messages)
    ]
    for key in ("preferred_output", "non_preferred_output"):
        turns: list[Message] = getattr(sample, key)
        found += [(f"{key}.{i}.content", m.content) for i, m in enumerate(turns)]
    return found


def parse_preference(value: object) -> PreferenceSample:
    """``value`` as a validated preference pair.

    Raises:
        SampleProblem: naming the field and what is wrong (a supervised sample
            says which keys a pair needs).
    """
    from tuneplug.samples.formats import SampleProblem, check_texts

    if isinstance(value, PreferenceSample):
        sample = value
    else:
        if not is_preference(value):
            raise SampleProblem(
                f"{setting('method', 'dpo')} trains on preference pairs: "
                '{"input": {"messages": [...]}, "preferred_output": [...], '
                '"non_preferred_output": [...]}'
            )
        try:
            sample = PreferenceSample.model_validate(value)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            raise SampleProblem(sample_problem(err, PreferenceSample), field or None) from None
    check_texts(_texts(sample))
    return sample


def as_line(sample: PreferenceSample) -> dict[str, Any]:
    """The JSON object of ``sample`` (OpenAI's DPO file line)."""
    line: dict[str, Any] = sample.model_dump(mode="json", exclude_none=True)
    return line
