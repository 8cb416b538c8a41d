"""The OpenAI web API's JSON bodies as pydantic models, for both sides of the wire.

The provider builds request bodies with the ``*Request`` models and parses
responses with the others; the OpenAI protocol of ``tuneplug serve`` parses
requests with the same ``*Request`` models and answers with the others, so the
two cannot drift apart. Field names and shapes follow the official ``openai``
SDK (3.x, ``openai/types/``), which is the judge of both (see
``../shared/openai-api.md`` in the project workspace).

Conventions:

* Every model keeps unknown fields (``extra="allow"``): servers add fields over
  time, and a gateway must see what a client sent to decide about it.
* Requests are serialised with :func:`dump` (``None`` fields left out: OpenAI
  treats an omitted field as its default).
* Timestamps are Unix seconds (``int``); token counts are ``int``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DONE",
    "ChatChoice",
    "ChatChunkChoice",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "ChatDelta",
    "ChatMessage",
    "Checkpoint",
    "CheckpointMetrics",
    "CompletionChoice",
    "CompletionLogprobs",
    "CompletionRequest",
    "ErrorBody",
    "ErrorDetail",
    "FileObject",
    "FineTuningJob",
    "FineTuningJobRequest",
    "Hyperparameters",
    "JobError",
    "JobEvent",
    "Method",
    "MethodConfig",
    "ModelObject",
    "Page",
    "StreamOptions",
    "TextCompletion",
    "Usage",
    "dump",
]

DONE = "[DONE]"
"""The ``data`` of the SSE event that ends a stream."""


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


def dump(body: BaseModel) -> dict[str, Any]:
    """``body`` as the JSON object to send: ``None`` fields left out, aliases used."""
    return body.model_dump(mode="json", exclude_none=True, by_alias=True)


# -- shared ----------------------------------------------------------------------------


class Usage(_Wire):
    """Token counts (``usage``); the last stream chunk carries it with ``include_usage``."""

    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    total_tokens: int = Field(ge=0)


class ErrorDetail(_Wire):
    """The ``error`` object of a failed request."""

    message: str
    type: str | None = None
    param: str | None = None
    code: str | int | None = None


class ErrorBody(_Wire):
    """``{"error": {"message", "type", "param", "code"}}``, with the HTTP status."""

    error: ErrorDetail


class Page(_Wire):
    """A list: ``{"object": "list", "data": [...], "has_more"}`` (``has_more`` only where the
    route paginates with ``after`` / ``limit``; ``first_id`` / ``last_id`` on some routes)."""

    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    has_more: bool | None = None
    first_id: str | None = None
    last_id: str | None = None


# -- models ----------------------------------------------------------------------------


class ModelObject(_Wire):
    """One entry of ``GET /models``."""

    id: str = Field(min_length=1)
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = ""


# -- completions (legacy) --------------------------------------------------------------


class StreamOptions(_Wire):
    """``stream_options``: ``include_usage`` adds a last chunk with ``usage``, no choices."""

    include_usage: bool | None = None


class CompletionRequest(_Wire):
    """``POST /completions``."""

    model: str = Field(min_length=1)
    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: int | None = Field(default=None, ge=0)
    temperature: float | None = None
    top_p: float | None = None
    n: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    echo: bool | None = None
    logprobs: int | None = Field(default=None, ge=0, le=5)
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    best_of: int | None = None
    suffix: str | None = None
    user: str | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None


class CompletionLogprobs(_Wire):
    """``choices[i].logprobs`` of a legacy completion (``logprobs=N``)."""

    tokens: list[str] | None = None
    token_logprobs: list[float | None] | None = None
    top_logprobs: list[dict[str, float] | None] | None = None
    text_offset: list[int] | None = None


class CompletionChoice(_Wire):
    """One choice of a legacy completion (or of one of its stream chunks)."""

    index: int = 0
    text: str
    logprobs: CompletionLogprobs | None = None
    finish_reason: str | None = None


class TextCompletion(_Wire):
    """The answer to ``POST /completions``, and each chunk of its stream
    (``object: "text_completion"`` in both)."""

    id: str = ""
    object: str = "text_completion"
    created: int = 0
    model: str = ""
    choices: list[CompletionChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


# -- chat completions ------------------------------------------------------------------


class ChatMessage(_Wire):
    """One message: ``role`` and ``content`` (a string, or a list of content parts)."""

    role: Literal["developer", "system", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    weight: Literal[0, 1] | None = None
    """Fine-tuning files only: ``0`` leaves an assistant turn out of the loss."""


class ChatCompletionRequest(_Wire):
    """``POST /chat/completions``."""

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=0)
    max_completion_tokens: int | None = Field(default=None, ge=0)
    temperature: float | None = None
    top_p: float | None = None
    n: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    response_format: dict[str, Any] | None = None
    user: str | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None


class ChatChoice(_Wire):
    """One choice of a chat completion: the assistant ``message``."""

    index: int = 0
    message: ChatMessage
    finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None


class ChatCompletion(_Wire):
    """The answer to ``POST /chat/completions`` (``object: "chat.completion"``)."""

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[ChatChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


class ChatDelta(_Wire):
    """What one stream chunk adds to a choice: ``role`` first, then ``content`` pieces."""

    role: str | None = None
    content: str | None = None
    refusal: str | None = None


class ChatChunkChoice(_Wire):
    """One choice of a chat stream chunk; the last one carries ``finish_reason``."""

    index: int = 0
    delta: ChatDelta = Field(default_factory=ChatDelta)
    finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None


class ChatCompletionChunk(_Wire):
    """One SSE event of a chat stream (``object: "chat.completion.chunk"``).

    With ``stream_options.include_usage`` a final chunk has ``choices: []`` and
    ``usage``; the others carry ``usage: null``.
    """

    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChatChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


# -- files -----------------------------------------------------------------------------


class FileObject(_Wire):
    """An uploaded file (``POST /files``, multipart fields ``file`` and ``purpose``)."""

    id: str = Field(min_length=1)
    object: Literal["file"] = "file"
    bytes: int = Field(default=0, ge=0)
    created_at: int = 0
    filename: str = ""
    purpose: str
    status: str | None = None
    status_details: str | None = None
    expires_at: int | None = None


# -- fine-tuning -----------------------------------------------------------------------


class Hyperparameters(_Wire):
    """Each value a number or ``"auto"`` (the service picks); ``beta`` is DPO's."""

    n_epochs: int | Literal["auto"] | None = None
    batch_size: int | Literal["auto"] | None = None
    learning_rate_multiplier: float | Literal["auto"] | None = None
    beta: float | Literal["auto"] | None = None


class MethodConfig(_Wire):
    """``method.supervised`` / ``method.dpo``: the hyperparameters of that method."""

    hyperparameters: Hyperparameters | None = None


class Method(_Wire):
    """``method``: ``{"type": "supervised", "supervised": {"hyperparameters": {...}}}``."""

    type: Literal["supervised", "dpo", "reinforcement"]
    supervised: MethodConfig | None = None
    dpo: MethodConfig | None = None
    reinforcement: dict[str, Any] | None = None


class FineTuningJobRequest(_Wire):
    """``POST /fine_tuning/jobs``."""

    model: str = Field(min_length=1)
    training_file: str = Field(min_length=1)
    validation_file: str | None = None
    method: Method | None = None
    hyperparameters: Hyperparameters | None = None
    """Legacy (supervised only); new requests put them under ``method``."""
    suffix: str | None = Field(default=None, min_length=1, max_length=64)
    seed: int | None = None
    metadata: dict[str, str] | None = None


class JobError(_Wire):
    """``error`` of a failed job."""

    code: str | None = None
    message: str = ""
    param: str | None = None


class FineTuningJob(_Wire):
    """A job (``object: "fine_tuning.job"``), as create, retrieve, list and cancel return it.

    ``status`` is ``validating_files``, ``queued``, ``running``, ``succeeded``,
    ``failed`` or ``cancelled`` (servers may add others, e.g. ``paused``).
    ``fine_tuned_model`` is ``ft:<base>:<org>:<suffix>:<id>`` once succeeded.
    """

    id: str = Field(min_length=1)
    object: str = "fine_tuning.job"
    model: str
    status: str
    created_at: int
    finished_at: int | None = None
    estimated_finish: int | None = None
    fine_tuned_model: str | None = None
    organization_id: str | None = None
    result_files: list[str] = Field(default_factory=list)
    trained_tokens: int | None = Field(default=None, ge=0)
    training_file: str | None = None
    validation_file: str | None = None
    hyperparameters: Hyperparameters | None = None
    method: Method | None = None
    error: JobError | None = None
    seed: int | None = None
    suffix: str | None = None


class JobEvent(_Wire):
    """One event of a job (``object: "fine_tuning.job.event"``); ``type`` ``metrics``
    events carry ``data`` such as ``{"step": 3, "train_loss": 1.2, "total_steps": 10}``."""

    id: str = Field(min_length=1)
    object: str = "fine_tuning.job.event"
    created_at: int
    level: Literal["info", "warn", "error"] = "info"
    message: str = ""
    type: Literal["message", "metrics"] | None = None
    data: dict[str, Any] | None = None


class CheckpointMetrics(_Wire):
    """``metrics`` of a checkpoint."""

    step: float | None = None
    train_loss: float | None = None
    train_mean_token_accuracy: float | None = None
    valid_loss: float | None = None
    valid_mean_token_accuracy: float | None = None
    full_valid_loss: float | None = None
    full_valid_mean_token_accuracy: float | None = None


class Checkpoint(_Wire):
    """One checkpoint (``GET /fine_tuning/jobs/{id}/checkpoints``)."""

    id: str = Field(min_length=1)
    object: str = "fine_tuning.job.checkpoint"
    created_at: int
    # OpenAI always names one; a tuneplug gateway's local runner keeps no model per
    # checkpoint and says null (docs/jobs.md "Checkpoints").
    fine_tuned_model_checkpoint: str | None
    fine_tuning_job_id: str
    step_number: int
    metrics: CheckpointMetrics = Field(default_factory=CheckpointMetrics)
