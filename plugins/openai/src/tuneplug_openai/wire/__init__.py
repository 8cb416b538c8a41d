"""The OpenAI web API's JSON bodies as pydantic models.

The provider builds request bodies with the ``*Request`` models and parses
responses with the others. Field names and shapes follow the official ``openai``
SDK (3.x, ``openai/types/``), which is their judge (see ``../shared/openai-api.md``
in the project workspace). The OpenAI protocol of ``tuneplug serve`` validates the
requests it serves with its own, stricter models (``tuneplug_openai.protocol.schemas``).

Conventions:

* Every model keeps unknown fields (``extra="allow"``): servers add fields over
  time, and a gateway must see what a client sent to decide about it.
* Requests are serialised with :func:`dump` (``None`` fields left out: OpenAI
  treats an omitted field as its default).
* Timestamps are Unix seconds (``int``); token counts are ``int``.

One module per group of routes (:mod:`.common`, :mod:`.completions`,
:mod:`.fine_tuning`); every model is importable from here.
"""

from __future__ import annotations

from tuneplug_openai.wire.common import (
    DONE,
    ErrorBody,
    ErrorDetail,
    ModelObject,
    Page,
    Usage,
    WireModel,
    dump,
)
from tuneplug_openai.wire.completions import (
    ChatChoice,
    ChatChunkChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatDelta,
    ChatMessage,
    CompletionChoice,
    CompletionLogprobs,
    CompletionRequest,
    StreamOptions,
    TextCompletion,
)
from tuneplug_openai.wire.fine_tuning import (
    Checkpoint,
    CheckpointMetrics,
    FileObject,
    FineTuningJob,
    FineTuningJobRequest,
    Hyperparameters,
    JobError,
    JobEvent,
    Method,
    MethodConfig,
)

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
    "WireModel",
    "dump",
]
