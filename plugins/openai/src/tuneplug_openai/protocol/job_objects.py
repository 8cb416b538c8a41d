"""The OpenAI objects of a fine-tuning job: the ``fine_tuning.job`` and
``fine_tuning.job.event`` shapes the server answers, built from its record of the job
(namespace ``openai.job``) and the backend's :class:`~tuneplug.jobs.types.Job`.

Statuses: ``validating`` -> ``validating_files``; ``cancelling`` -> ``running``
(OpenAI has no such state; a cancel waits for the step in flight, so only one longer than
``tuneplug.jobs.control.CANCEL_WAIT`` shows it); the others keep their names. A job
whose backend record is gone is ``failed``. Messages carry no server path and no backend model name
(replaced by the job's ``ft:`` id).
"""

from __future__ import annotations

from typing import Any

from tuneplug.jobs.types import Job, JobEvent
from tuneplug.server.errors import scrub
from tuneplug.server.gateway import Gateway
from tuneplug.server.tenants import Tenant

from tuneplug_openai.protocol.job_hyper import legacy, method_object, shown
from tuneplug_openai.protocol.models import public_id

__all__ = [
    "STATUS",
    "backend_id",
    "base_object",
    "event_object",
    "lost_object",
    "public_message",
    "status_of",
]

STATUS = {"validating": "validating_files", "cancelling": "running"}
"""Backend job status -> OpenAI's, where they differ."""


def status_of(job: Job | None) -> str:
    """The OpenAI status of ``job``; ``"failed"`` for ``None`` (its backend record is gone)."""
    return "failed" if job is None else STATUS.get(str(job.status), str(job.status))


def backend_id(record: dict[str, Any]) -> str:
    """The backend job id of the server's ``record`` (its ``ref`` without the provider)."""
    return str(record["ref"]).partition("/")[2]


def public_message(message: str, hidden: dict[str, str]) -> str:
    """``message`` without server paths, backend model names replaced (longest first)."""
    message = scrub(message)
    for name, public in sorted(hidden.items(), key=lambda kv: -len(kv[0])):
        message = message.replace(name, public)
    return message


def base_object(tenant: Tenant, job_id: str, record: dict[str, Any]) -> dict[str, Any]:
    """The ``fine_tuning.job`` object from the server's ``record`` alone (status ``failed``,
    the hyperparameters recorded when the job started): the fields the backend's job fills
    in are overridden."""
    method = record.get("method", "supervised")
    values = shown(method, {}, record.get("hyperparameters") or {}, {})
    return {
        "id": job_id,
        "object": "fine_tuning.job",
        "model": record["model"],
        "created_at": record["created_at"],
        "finished_at": None,
        "fine_tuned_model": record["fine_tuned_model"],
        "organization_id": tenant.name,
        "result_files": [],
        "status": "failed",
        "trained_tokens": None,
        "training_file": record["training_file"],
        "validation_file": record["validation_file"],
        "hyperparameters": legacy(values),
        "error": None,
        "seed": record["seed"],
        "estimated_finish": None,
        "integrations": None,
        "metadata": record["metadata"],
        "method": method_object(method, values),
    }


def served_job(gateway: Gateway, record: dict[str, Any]) -> bool:
    """Whether ``gateway``'s backend runs the job ``record`` names: its backend job is this
    provider's and its base model is served (the rule of the models,
    :meth:`~tuneplug.server.gateway.Gateway.serves`). Another backend's job, on the same
    state directory, is neither listed nor found, until a server with that backend runs."""
    return bool(served_rows(gateway, [("", record)]))


def served_rows(
    gateway: Gateway, rows: list[tuple[str, dict[str, Any]]]
) -> list[tuple[str, dict[str, Any]]]:
    """The ``(job id, record)`` rows of jobs :func:`served_job` keeps (one listing of the
    served base models for them all)."""
    bases = {public_id(info) for info in gateway.base_models()}
    kept = []
    for row in rows:
        base = str(row[1].get("base") or row[1]["model"])
        if base.startswith("ft:"):  # a record from before the server kept "base"
            base = base.split(":")[1]
        provider = str(row[1].get("ref") or "").partition("/")[0]
        if provider == gateway.name and base in bases:
            kept.append(row)
    return kept


def lost_object(tenant: Tenant, job_id: str, record: dict[str, Any]) -> dict[str, Any]:
    """A job whose backend record is gone: failed, saying so (its listing goes on)."""
    message = (
        "the backend's record of this job is gone (it was removed from the server): it "
        "cannot be resumed; start a new job on its training file"
    )
    return {
        **base_object(tenant, job_id, record),
        "error": {"code": "backend_record_gone", "message": message, "param": None},
    }


def event_object(event: JobEvent, hidden: dict[str, str]) -> dict[str, Any]:
    """The ``fine_tuning.job.event`` object of ``event``: ``type`` ``metrics`` with ``data``
    (``step``, the metrics, ``train_loss``) when it has metrics, else ``message``."""
    data: dict[str, Any] | None = None
    if event.metrics:
        data = {"step": event.step, **event.metrics}
        if "loss" in event.metrics:
            data["train_loss"] = event.metrics["loss"]
    return {
        "id": event.id,
        "object": "fine_tuning.job.event",
        "created_at": int(event.created_at),
        "level": event.level,
        "message": public_message(event.message, hidden),
        "type": "metrics" if data else "message",
        "data": data,
    }
