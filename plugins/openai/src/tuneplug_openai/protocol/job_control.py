"""``/v1/fine_tuning/jobs/{id}/cancel``, ``/pause``, ``/resume`` and ``/checkpoints``, per tenant.

OpenAI's shapes: pause and resume answer the ``fine_tuning.job`` object (status
``paused`` once paused; a running job of the local runner reads ``paused`` at
once and stops before its next step); checkpoints are a newest-first list of
``fine_tuning.job.checkpoint`` objects with ``after``/``limit`` (1..100, default
10) and ``has_more``/``first_id``/``last_id``. The backend's job id never shows:
a checkpoint id is ``ftckpt-<the client's job hex>-<step>``. A checkpoint's model
(``fine_tuned_model_checkpoint``) is, as OpenAI names them,
``<the job's ft: id>:ckpt-step-<step>``, or the job's ``ft:`` id for a succeeded
job's last checkpoint; ``None`` when the backend keeps no model for it (a provider
without ``tuneplug_copy_adapter``, or a checkpoint older than the newest 3).
Such a model is listed, resolved and deleted, for its tenant only, by
:mod:`~tuneplug_openai.protocol.checkpoint_models`. Another tenant's job is a 404; a
job that ended cannot be cancelled, paused or resumed: 400 ``job_finished`` (also a failed
job that cannot be continued: it stopped on a step its backend may or may not have applied;
one whose backend record is gone: 400 ``backend_record_gone``), and resuming a job that is
not paused is 400 ``job_not_paused``
(:mod:`~tuneplug_openai.protocol.job_errors`: every job error in the client's ids).
A paused job stays paused across a restart of the server
(:func:`tuneplug.server.jobs.resume_jobs`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tuneplug.errors import (
    AdapterBusyError,
    AdapterChangedError,
    InvalidRequestError,
    NotFoundError,
    TuneplugError,
)
from tuneplug.jobs.types import Job, JobCheckpoint
from tuneplug.server.tenants import Tenant

from tuneplug_openai.protocol.job_errors import (
    ENDED,
    job_aliases,
    job_finished,
    not_paused,
    record_gone,
    speaking_for,
)
from tuneplug_openai.protocol.job_objects import backend_id, status_of
from tuneplug_openai.protocol.jobs import Jobs, run_jobs
from tuneplug_openai.protocol.models import fine_tuned_id
from tuneplug_openai.protocol.paging import listing, page_params

__all__ = ["ROUTES", "cancel", "checkpoints", "control", "pause", "resume"]


def control(jobs: Jobs, tenant: Tenant, job_id: str, action: str) -> dict[str, Any]:
    """``action`` (``cancel``, ``pause`` or ``resume``) on ``tenant``'s job: the job object.

    A job that ended answers 400 ``job_finished`` (a failed one can be resumed: its
    runner starts again from its last applied step); resuming one that runs, 400
    ``job_not_paused``; either also when the job got there while the backend acted. A job
    whose backend record is gone (listed as failed) is 400 ``backend_record_gone``.
    """
    record = jobs.record(tenant, job_id)
    aliases = job_aliases(record, job_id)
    with speaking_for(aliases):
        job = jobs._job(record)
    ended = ("succeeded", "cancelled") if action == "resume" else ENDED
    if job is None:  # listed as failed, but there is nothing left to act on
        raise record_gone(job_id, action, record["training_file"])
    if str(job.status) in ended:
        raise job_finished(job_id, status_of(job), action)
    try:
        done = getattr(job, action)()
    except (AdapterBusyError, AdapterChangedError):
        # The job's model, not its status, refused it (a failed job resuming): say so.
        with speaking_for(aliases):
            raise
    except TuneplugError as exc:
        with speaking_for(aliases):
            now = jobs._job(record)
        if now is None:
            raise record_gone(job_id, action, record["training_file"]) from exc
        if str(now.status) in ended:
            raise job_finished(job_id, status_of(now), action) from exc
        if action == "resume" and str(now.status) == "failed" and type(exc) is InvalidRequestError:
            # Refused as it cannot be continued (it stopped on a step its backend may or
            # may not have applied): ended for good, as the client can act on it.
            raise job_finished(job_id, status_of(now), action) from exc
        if action == "resume" and str(now.status) != "paused":
            raise not_paused(job_id, status_of(now)) from exc
        with speaking_for(aliases):
            raise
    with speaking_for(jobs._hidden(tenant, job_id, record, done) | aliases):
        return jobs._object(tenant, job_id, record, done)


def pause(jobs: Jobs, tenant: Tenant, job_id: str) -> dict[str, Any]:
    """Pause ``tenant``'s job: the job object, status ``paused``."""
    return control(jobs, tenant, job_id, "pause")


def resume(jobs: Jobs, tenant: Tenant, job_id: str) -> dict[str, Any]:
    """Resume ``tenant``'s paused job (it runs in a thread of the server again)."""
    return control(jobs, tenant, job_id, "resume")


def cancel(jobs: Jobs, tenant: Tenant, job_id: str) -> dict[str, Any]:
    """Cancel ``tenant``'s job (its runner stops before its next step)."""
    return control(jobs, tenant, job_id, "cancel")


def _hex(job_id: str) -> str:
    return job_id.removeprefix("ftjob-")


def checkpoints(
    jobs: Jobs, tenant: Tenant, job_id: str, after: str | None, limit: int
) -> dict[str, Any]:
    """A page of the job's checkpoints, newest first, in OpenAI's list shape."""
    record = jobs.record(tenant, job_id)
    with speaking_for(job_aliases(record, job_id)):
        job = jobs._job(record)
    if job is None:  # its backend record is gone: nothing is left to list, as for events
        return listing([], False)
    backend, public = _hex(backend_id(record)), _hex(job_id)
    cursor = after.replace(public, backend) if after is not None else None
    with speaking_for(job_aliases(record, job_id, jobs._hidden(tenant, job_id, record, job))):
        try:
            got = job.checkpoints(after=cursor, limit=limit)
        except NotFoundError:  # a cursor naming no checkpoint has gone: OpenAI's empty page
            return listing([], False)
    ft_id = fine_tuned_id(record, tenant, job_id)
    data = [_checkpoint(c, job_id, backend, public, job, ft_id) for c in got]
    return listing(data, got.has_more)


def _checkpoint(
    checkpoint: JobCheckpoint, job_id: str, backend: str, public: str, job: Job, ft_id: str
) -> dict[str, Any]:
    model = checkpoint.fine_tuned_model_checkpoint
    if model is not None:
        last = model == job.fine_tuned_model
        model = ft_id if last else f"{ft_id}:ckpt-step-{checkpoint.step_number}"
    metrics: dict[str, Any] = {"step": checkpoint.step_number}
    metrics.update({k: v for k, v in checkpoint.metrics.items() if k != "step"})
    return {
        "id": checkpoint.id.replace(backend, public),
        "object": "fine_tuning.job.checkpoint",
        "created_at": int(checkpoint.created_at),
        "fine_tuned_model_checkpoint": model,
        "fine_tuning_job_id": job_id,
        "metrics": metrics,
        "step_number": checkpoint.step_number,
    }


async def cancel_job(request: Request) -> Response:
    """``POST /v1/fine_tuning/jobs/{id}/cancel``."""
    return await run_jobs(request, cancel, request.path_params["id"])


async def pause_job(request: Request) -> Response:
    """``POST /v1/fine_tuning/jobs/{id}/pause``."""
    return await run_jobs(request, pause, request.path_params["id"])


async def resume_job(request: Request) -> Response:
    """``POST /v1/fine_tuning/jobs/{id}/resume``."""
    return await run_jobs(request, resume, request.path_params["id"])


async def list_checkpoints(request: Request) -> Response:
    """``GET /v1/fine_tuning/jobs/{id}/checkpoints?after&limit`` (limit default 10)."""
    after, limit = page_params(request, default_limit=10)
    return await run_jobs(request, checkpoints, request.path_params["id"], after, limit)


ROUTES = [
    Route("/fine_tuning/jobs/{id}/cancel", cancel_job, methods=["POST"]),
    Route("/fine_tuning/jobs/{id}/pause", pause_job, methods=["POST"]),
    Route("/fine_tuning/jobs/{id}/resume", resume_job, methods=["POST"]),
    Route("/fine_tuning/jobs/{id}/checkpoints", list_checkpoints, methods=["GET"]),
]
