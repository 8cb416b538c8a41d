"""The data types every provider speaks: models, completion options and results, samples.

They are pydantic v2 models, so a plugin gets validation and JSON for free and a
user gets one clear error naming the bad field before anything is sent.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, computed_field, field_validator, model_validator

from tuneplug.invalid_values import Checked

__all__ = [
    "MAX_MULTIPLIER",
    "AdapterLimits",
    "Capability",
    "ChatSample",
    "Completion",
    "CompletionOptions",
    "FineTuneResult",
    "InputPart",
    "Message",
    "ModelInfo",
    "ModelKind",
    "PromptCompletionSample",
    "Sample",
    "StreamChunk",
    "TokenLogprob",
    "Usage",
]


class Capability(StrEnum):
    """What a provider (and so its models) can do; follows from the hooks it implements."""

    COMPLETE = "complete"
    FINE_TUNE = "fine_tune"
    CHAT = "chat"
    """Native chat: the completion hooks take ``messages`` (every Completer can chat
    through its template; this marks the providers that need no template)."""
    JOBS = "jobs"
    """Fine-tuning jobs: native (``tuneplug_jobs``) or from the local job runner."""


class ModelKind(StrEnum):
    """A base model, or an adapter trained on top of one."""

    BASE = "base"
    ADAPTER = "adapter"


class _Frozen(Checked):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AdapterLimits(_Frozen):
    """What a provider's new adapters take, declared with ``tuneplug_adapter_limits``.

    ``min_rank``..``max_rank`` bound PEFT's LoRA rank ``r`` (``rank`` in tuneplug),
    inclusive. The defaults are what a provider that declares nothing gets: 1..32.

    Raises:
        pydantic.ValidationError: a bound below 1, or ``min_rank > max_rank``.
    """

    min_rank: int = Field(default=1, ge=1, strict=True)
    max_rank: int = Field(default=32, ge=1, strict=True)

    @model_validator(mode="after")
    def _ordered(self) -> AdapterLimits:
        if self.min_rank > self.max_rank:
            raise ValueError(f"min_rank {self.min_rank} is above max_rank {self.max_rank}")
        return self


class ModelInfo(_Frozen):
    """A model as a provider describes it.

    ``id`` is the provider's own identifier; ``ref`` (``provider/id``) is what
    :func:`tuneplug.get_model` accepts.
    """

    id: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    name: str
    kind: ModelKind = ModelKind.BASE
    base_model_id: str | None = None
    slug: str | None = None
    capabilities: frozenset[Capability] = frozenset({Capability.COMPLETE})
    updated_at: str | None = None

    @property
    def ref(self) -> str:
        """The ``provider/id`` reference of this model."""
        return f"{self.provider}/{self.id}"


class CompletionOptions(_Frozen):
    """Options common to every provider; ranges are checked before any I/O.

    Provider-specific options (Gradient's ``guidance``, ``auto_template``) travel
    in ``extra``, validated before any I/O against what the provider declares
    with ``tuneplug_options`` (see :mod:`tuneplug.options`).
    """

    max_tokens: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Most tokens to generate."
    )
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Sampling temperature (0: greedy)."
    )
    top_k: int | None = Field(default=None, ge=1, description="Sample from the k likeliest tokens.")
    top_p: float | None = Field(
        default=None, gt=0.0, le=1.0, description="Nucleus sampling: the probability mass kept."
    )
    stop: tuple[str, ...] = Field(
        default=(), description="End the text before the first of these sequences."
    )
    seed: int | None = Field(default=None, description="Seed for reproducible sampling.")
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_as_tuple(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        # Anything but a list or tuple is left for pydantic to reject with a clear error.
        return tuple(value) if isinstance(value, list | tuple) else value

    @field_validator("stop")
    @classmethod
    def _stop_not_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(s == "" for s in value):
            raise ValueError("stop sequences must not be empty strings")
        return value


class Usage(_Frozen):
    """Token counts as the provider reports them (``None`` where it does not)."""

    # The computed total is dumped; ignoring it on input makes JSON round-trip.
    model_config = ConfigDict(frozen=True, extra="ignore")

    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_tokens(self) -> int | None:
        """Prompt plus completion tokens, when both are known."""
        if self.prompt_tokens is None or self.completion_tokens is None:
            return None
        return self.prompt_tokens + self.completion_tokens


class TokenLogprob(_Frozen):
    """One generated token with its log probability (natural log), and the most
    likely alternatives at that position (token -> log probability) when asked for."""

    token: str
    logprob: float | None = None
    top_logprobs: dict[str, float] = Field(default_factory=dict)


class Completion(_Frozen):
    """The result of one completion.

    ``finish_reason`` is ``"stop"`` (end of text or a stop sequence, which the
    text ends before), ``"length"`` (``max_tokens`` reached) or what else the
    provider reports; ``"unknown"`` when it reports nothing. ``model`` is the
    provider's model id and ``provider`` the provider name. ``logprobs`` is set
    only when the call asked for them (a provider option, e.g. OpenAI's
    ``logprobs``) and the provider returned them.
    """

    text: str
    finish_reason: str = "unknown"
    model: str
    provider: str
    usage: Usage = Field(default_factory=Usage)
    logprobs: tuple[TokenLogprob, ...] | None = None


class StreamChunk(_Frozen):
    """One piece of a streamed completion; the last chunk carries ``finish_reason``."""

    text: str
    finish_reason: str | None = None
    usage: Usage | None = None


class Message(_Frozen):
    """One turn of a conversation, as OpenAI's chat API and fine-tuning files write it.

    ``role`` is ``"system"``, ``"user"`` or ``"assistant"``; ``content`` the text.
    ``weight`` (OpenAI fine-tuning files, assistant turns only) is ``0`` to leave a
    turn out of the loss; ``None`` means trained (assistant) or not (other roles).
    """

    role: Literal["system", "user", "assistant"]
    content: str
    weight: Literal[0, 1] | None = None

    @field_validator("weight", mode="before")
    @classmethod
    def _no_bool_weight(cls, value: object) -> object:
        # True == 1 in Python, so Literal[0, 1] takes it: refuse it as every number field does.
        if isinstance(value, bool):
            raise ValueError(f"must be 0 or 1, got {str(value).lower()}")
        return value


MAX_MULTIPLIER = 1000.0
"""The largest sample ``multiplier`` accepted (a finite weight; more than this is an error
before any work, so no provider's state can overflow from one sample's weight)."""


def _multiplier() -> Any:
    # A field, not an Annotated type inside the Optional, so the error words can read
    # its bounds (validation_words.bounds_of). Strict, as every number of tuneplug: "2"
    # or true is refused, not read as 2.0 or 1.0 (an integer is a number).
    return Field(default=None, gt=0.0, le=MAX_MULTIPLIER, allow_inf_nan=False, strict=True)


class InputPart(_Frozen):
    """One part of a structured sample: text, and whether the model is trained on it."""

    value: str = Field(min_length=1)
    trainable: bool = Field(default=True, strict=True)  # "yes" or 0 is an error


class Sample(_Frozen):
    """One fine-tuning sample.

    ``inputs`` is the whole text, or a list of parts of which only the trainable
    ones count towards the loss. ``multiplier`` scales the sample's weight.
    """

    inputs: Annotated[str, Field(min_length=1)] | list[InputPart]
    multiplier: float | None = _multiplier()

    @field_validator("inputs")
    @classmethod
    def _parts_not_empty(cls, value: str | list[InputPart]) -> str | list[InputPart]:
        if isinstance(value, list) and not value:
            raise ValueError("must not be an empty list")
        return value

    @classmethod
    def coerce(cls, value: Sample | str | dict[str, Any]) -> Sample:
        """Accept a ``Sample``, a plain string or a mapping such as ``{"inputs": ...}``.

        Only the ``inputs`` format; :func:`tuneplug.samples.parse_sample` reads every
        training data format (chat, prompt/completion) and :func:`tuneplug.samples.to_inputs`
        turns those into a ``Sample``.
        """
        if isinstance(value, Sample):
            return value
        if isinstance(value, str):
            return cls(inputs=value)
        return cls.model_validate(value)

    @property
    def text(self) -> str:
        """The whole text of the sample, parts joined."""
        if isinstance(self.inputs, str):
            return self.inputs
        return "".join(part.value for part in self.inputs)

    @property
    def weight(self) -> float:
        """The effective multiplier (1.0 when unset)."""
        return 1.0 if self.multiplier is None else self.multiplier


class PromptCompletionSample(_Frozen):
    """A ``{"prompt", "completion"}`` sample (OpenAI's legacy fine-tuning format).

    Only the completion is trained on; ``multiplier`` as in :class:`Sample`.
    """

    prompt: str
    completion: Annotated[str, Field(min_length=1)]
    multiplier: float | None = _multiplier()


class ChatSample(_Frozen):
    """A ``{"messages": [...]}`` sample, as OpenAI's chat fine-tuning files write it.

    The turns are :class:`Message` objects; assistant turns are trained on unless
    their ``weight`` is ``0``; ``weight`` is allowed on assistant turns only, and
    at least one assistant turn must be trained (as OpenAI requires).
    """

    messages: list[Message] = Field(min_length=1)

    @field_validator("messages")
    @classmethod
    def _trainable_turns(cls, value: list[Message]) -> list[Message]:
        for index, message in enumerate(value):
            if message.weight is not None and message.role != "assistant":
                raise ValueError(f"message {index}: weight is allowed on assistant turns only")
        if not any(m.role == "assistant" and m.weight != 0 for m in value):
            raise ValueError("needs at least one assistant message to train on (weight not 0)")
        return value


class FineTuneResult(_Frozen):
    """What one fine-tuning step reports: trainable tokens and the summed loss.

    ``sum_loss`` is the loss of the samples under the model *before* the update.
    """

    # The computed mean loss is dumped; ignoring it on input makes JSON round-trip.
    model_config = ConfigDict(frozen=True, extra="ignore")

    trainable_tokens: int = Field(ge=0)
    sum_loss: float

    @computed_field  # type: ignore[prop-decorator]
    @property
    def loss(self) -> float | None:
        """Mean loss per trainable token, ``None`` when nothing was trainable."""
        if self.trainable_tokens == 0:
            return None
        return self.sum_loss / self.trainable_tokens

    def __add__(self, other: FineTuneResult) -> FineTuneResult:
        """Combine the results of several steps (e.g. the batches of an epoch)."""
        return FineTuneResult(
            trainable_tokens=self.trainable_tokens + other.trainable_tokens,
            sum_loss=self.sum_loss + other.sum_loss,
        )

    @field_validator("sum_loss")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("sum_loss must be finite")
        return value
