"""``POST /files`` and ``/fine_tuning/jobs``: files, job requests, jobs, events, checkpoints."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tuneplug_openai.wire.common import WireModel

__all__ = [
    "Checkpoint",
    "CheckpointMetrics",
    "FileObject",
    "FineTuningJob",
    "FineTuningJobRequest",
    "Hyperparameters",
    "JobError",
    "JobEvent",
    "Method",
    "MethodConfig",
]

# -- files -----------------------------------------------------------------------------


class FileObject(WireModel):
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


class Hyperparameters(WireModel):
    """Each value a number or ``"auto"`` (the service picks); ``beta`` is DPO's."""

    n_epochs: int | Literal["auto"] | None = None
    batch_size: int | Literal["auto"] | None = None
    learning_rate_multiplier: float | Literal["auto"] | None = None
    beta: float | Literal["auto"] | None = None


class MethodConfig(WireModel):
    """``method.supervised`` / ``method.dpo``: the hyperparameters of that method."""

    hyperparameters: Hyperparameters | None = None


class Method(WireModel):
    """``method``: ``{"type": "supervised", "supervised": {"hyperparameters": {...}}}``."""

    type: Literal["supervised", "dpo", "reinforcement"]
    supervised: MethodConfig | None = None
    dpo: MethodConfig | None = None
    reinforcement: dict[str, Any] | None = None


class FineTuningJobRequest(WireModel):
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


class JobError(WireModel):
    """``error`` of a failed job."""

    code: str | None = None
    message: str = ""
    param: str | None = None


class FineTuningJob(WireModel):
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


class JobEvent(WireModel):
    """One event of a job (``object: "fine_tuning.job.event"``); ``type`` ``metrics``
    events carry ``data`` such as ``{"step": 3, "train_loss": 1.2, "total_steps": 10}``."""

    id: str = Field(min_length=1)
    object: str = "fine_tuning.job.event"
    created_at: int
    level: Literal["info", "warn", "error"] = "info"
    message: str = ""
    type: Literal["message", "metrics"] | None = None
    data: dict[str, Any] | None = None


class CheckpointMetrics(WireModel):
    """``metrics`` of a checkpoint."""

    step: float | None = None
    train_loss: float | None = None
    train_mean_token_accuracy: float | None = None
    valid_loss: float | None = None
    valid_mean_token_accuracy: float | None = None
    full_valid_loss: float | None = None
    full_valid_mean_token_accuracy: float | None = None


class Checkpoint(WireModel):
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
