"""Request bodies of the OpenAI protocol, validated before anything reaches the backend.

Every field of OpenAI's ``/completions`` and ``/chat/completions`` is declared, in one
of three kinds: those tuneplug acts on (typed); those that change nothing in the answer
(``user``, ``metadata``, ``store``...: typed, accepted, ignored); and those it does not
act on (``tools``, ``response_format``, ``presence_penalty``, ``n``, ``echo``...): only
their neutral values pass (:func:`~tuneplug_openai.protocol.request_fields.neutral_only`),
any other is a 400 ``unsupported_parameter``. A field of neither body is a 400
``unknown_parameter``. Nested objects of a completion (a message, ``stream_options``)
ignore keys they do not know, as their newer fields (``include_obfuscation``) change
nothing here; a job's body refuses them at any depth (``hyperparameters.n_epoch``: a
typo would train with the default). A job's ``integrations`` pass only empty.

Types are JSON's, strictly: a number field takes a JSON number (an integer field an
integer), never a string or a boolean; ``NaN`` and ``Infinity`` literals are refused
as not finite. A hyperparameter is a number or ``"auto"`` (the backend's default).
Bounds the backend sets (``n_epochs`` at most 1000, ...) are checked by the job spec
(:func:`tuneplug.jobs.facade.make_spec`) and answered as 400 with the same ``param``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    field_validator,
)

from tuneplug_openai.protocol.request_fields import neutral_only, refuse_values

__all__ = ["ChatBody", "ChatMessageIn", "CompletionBody", "JobBody", "StreamOptions"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


class _Request(_Body):
    # A request body, and the job's nested settings: a field they do not know is refused.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


_Count = Annotated[StrictInt, Field(ge=1)]
_Id = Annotated[str, Field(max_length=512)]
_Positive = Annotated[StrictFloat, Field(gt=0)]
_Text = Annotated[str, Field(min_length=1)]


class StreamOptions(_Body):
    """``stream_options``: ``include_usage`` adds a last chunk with ``usage``."""

    include_usage: StrictBool = False


class _Sampling(_Request):
    model: str = Field(min_length=1)
    max_tokens: _Count | None = None
    temperature: StrictFloat | None = Field(default=None, ge=0.0, le=2.0)
    top_p: StrictFloat | None = Field(default=None, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: StrictInt | None = None
    stream: StrictBool | None = False
    stream_options: StreamOptions | None = None
    # Not acted on: a Completion is one choice, sampled without penalties or biases.
    n: Annotated[Any, neutral_only(1)] = None
    presence_penalty: Annotated[Any, neutral_only(0)] = None
    frequency_penalty: Annotated[Any, neutral_only(0)] = None
    logit_bias: Annotated[Any, neutral_only({})] = None
    # Changes nothing in the answer.
    user: _Id | None = None

    @field_validator("stop")
    @classmethod
    def _at_most_four_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    def options(self) -> dict[str, Any]:
        """The tuneplug completion options of this request (unset ones left out)."""
        values = {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": self.stop,
            "seed": self.seed,
        }
        return {k: v for k, v in values.items() if v is not None}


class CompletionBody(_Sampling):
    """``POST /v1/completions``: a prompt, or a list of prompts (one choice each; one
    prompt when streaming)."""

    prompt: _Text | list[_Text]
    echo: Annotated[Any, neutral_only(False)] = None
    # logprobs: 0 still asks for the chosen tokens' log probabilities: null only.
    logprobs: Annotated[Any, neutral_only()] = None
    best_of: Annotated[Any, neutral_only(1)] = None
    suffix: Annotated[Any, neutral_only("")] = None

    @field_validator("prompt")
    @classmethod
    def _some_prompts(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not 1 <= len(value) <= 64:
            raise ValueError("give 1 to 64 prompts")
        return value

    @property
    def prompts(self) -> list[str]:
        """The prompts."""
        return [self.prompt] if isinstance(self.prompt, str) else self.prompt


_MEDIA = ("image_url", "input_audio", "file", "refusal")


class _Part(_Body):
    type: Annotated[Literal["text"], BeforeValidator(refuse_values(_MEDIA, "send text parts only"))]
    text: str


class ChatMessageIn(_Body):
    """One message: ``content`` a string or a list of text parts."""

    role: Annotated[
        Literal["system", "developer", "user", "assistant"],
        BeforeValidator(refuse_values(("tool", "function"), "it calls no tools")),
    ]
    content: str | list[_Part]
    # An assistant turn that called tools: a history this server could not have made.
    tool_calls: Annotated[Any, neutral_only([])] = None
    function_call: Annotated[Any, neutral_only()] = None

    @property
    def text(self) -> str:
        """The content as one string."""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class ChatBody(_Sampling):
    """``POST /v1/chat/completions``."""

    messages: list[ChatMessageIn] = Field(min_length=1)
    max_completion_tokens: _Count | None = None
    # Not acted on: the answer is text, from the model alone, without tools or media.
    tools: Annotated[Any, neutral_only([])] = None
    tool_choice: Annotated[Any, neutral_only("none", "auto")] = None
    functions: Annotated[Any, neutral_only([])] = None
    function_call: Annotated[Any, neutral_only("none", "auto")] = None
    response_format: Annotated[Any, neutral_only({"type": "text"})] = None
    logprobs: Annotated[Any, neutral_only(False)] = None
    top_logprobs: Annotated[Any, neutral_only(0)] = None
    modalities: Annotated[Any, neutral_only(["text"])] = None
    audio: Annotated[Any, neutral_only()] = None
    web_search_options: Annotated[Any, neutral_only()] = None
    moderation: Annotated[Any, neutral_only()] = None
    reasoning_effort: Annotated[Any, neutral_only("none")] = None
    verbosity: Annotated[Any, neutral_only("medium")] = None
    # Change nothing in the answer: hints for OpenAI's caches, storage and billing.
    parallel_tool_calls: StrictBool | None = None  # no tools are called at all
    metadata: dict[str, str] | None = None
    store: StrictBool | None = None
    service_tier: str | None = None
    safety_identifier: _Id | None = None
    prompt_cache_key: _Id | None = None
    prompt_cache_options: dict[str, Any] | None = None
    prompt_cache_retention: str | None = None
    prediction: dict[str, Any] | None = None  # a latency hint: the answer is the same

    def options(self) -> dict[str, Any]:
        """As for completions; ``max_completion_tokens`` wins over ``max_tokens``."""
        values = super().options()
        if self.max_completion_tokens is not None:
            values["max_tokens"] = self.max_completion_tokens
        return values


class _Hyper(_Request):
    # The bound sits on the number, not on the union: "auto" is no number to compare.
    n_epochs: _Count | Literal["auto"] | None = None
    batch_size: _Count | Literal["auto"] | None = None
    learning_rate_multiplier: _Positive | Literal["auto"] | None = None
    beta: _Positive | Literal["auto"] | None = None
    """DPO's; refused under ``supervised``."""


class _Supervised(_Request):
    hyperparameters: _Hyper | None = None


class _Method(_Request):
    type: Literal["supervised", "dpo", "reinforcement"]
    """What OpenAI names; the server refuses what its backend cannot train."""
    supervised: _Supervised | None = None
    dpo: _Supervised | None = None
    reinforcement: dict[str, Any] | None = None


class JobBody(_Request):
    """``POST /v1/fine_tuning/jobs`` (supervised; ``dpo`` where the backend trains it)."""

    model: str = Field(min_length=1)
    training_file: str = Field(min_length=1)
    validation_file: str | None = None
    hyperparameters: _Hyper | None = None
    method: _Method | None = None
    suffix: str | None = Field(default=None, min_length=1, max_length=64)
    seed: StrictInt | None = None
    metadata: dict[str, str] | None = None
    # Not acted on: the server reports to no Weights & Biases project.
    integrations: Annotated[Any, neutral_only([])] = None

    @property
    def method_type(self) -> str:
        """``supervised`` (also when no method is given), ``dpo`` or ``reinforcement``."""
        return self.method.type if self.method is not None else "supervised"

    def hyper(self) -> _Hyper:
        """The hyperparameters, from ``method.<type>`` or the legacy field."""
        if self.method is not None:
            config = self.method.dpo if self.method.type == "dpo" else self.method.supervised
            if config is not None and config.hyperparameters is not None:
                return config.hyperparameters
        return self.hyperparameters or _Hyper()
