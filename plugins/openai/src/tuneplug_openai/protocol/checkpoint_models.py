"""Checkpoint models of the OpenAI protocol: ``<the job's ft: id>:ckpt-step-<step>``.

OpenAI makes a model of each checkpoint a job keeps (``fine_tuned_model_checkpoint``,
"the name of the fine-tuned checkpoint model that is created"), a model of its own next
to the job's ``ft:`` model. So, for the job's tenant only:

* :func:`checkpoint_model` resolves such an id to the backend's copy, so it answers
  ``/v1/chat/completions`` and ``/v1/completions``, and ``GET /v1/models/{id}``;
* :func:`listed` gives the ones whose copy still exists for ``GET /v1/models``, after
  the tenant's ``ft:`` models (a running job's appear as its epochs end; one whose
  copy retention dropped disappears);
* :func:`delete` deletes one (``DELETE /v1/models/{id}``): its backend copy, then the
  journal's record of it, so the job's checkpoint says ``null`` as after retention.
  Deleting the job's ``ft:`` model leaves its checkpoint models, models of their own.

A succeeded job's last checkpoint is its ``ft:`` model: it is listed and deleted under
that id only.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tuneplug.errors import CapabilityError
from tuneplug.jobs.types import Job, JobCheckpoint
from tuneplug.server.tenants import Tenant

from tuneplug_openai.protocol.job_objects import served_job, served_rows
from tuneplug_openai.protocol.models import fine_tuned_id

if TYPE_CHECKING:
    from tuneplug_openai.protocol.jobs import Jobs

__all__ = ["checkpoint_model", "delete", "job_of", "listed"]

_CHECKPOINT_MODEL = re.compile(r"^(ft:.+):ckpt-step-([1-9][0-9]{0,11})$")
_CHECKPOINT_PAGES = 10  # pages of 100 checkpoints read to find one: far beyond a job's epochs


def job_of(jobs: Jobs, tenant: Tenant, model_id: str) -> dict[str, Any] | None:
    """The server's record of ``tenant``'s job whose checkpoint model ``model_id`` is, or
    ``None`` (not of that form, or not a job of ``tenant``'s)."""
    found = _CHECKPOINT_MODEL.match(model_id)
    return None if found is None else _job_record(jobs, tenant, found.group(1))


def _job_record(jobs: Jobs, tenant: Tenant, ft_id: str) -> dict[str, Any] | None:
    from tuneplug_openai.protocol.jobs import JOBS

    job_id = ft_id.rpartition(":")[2]
    record = jobs.gateway.state.get(JOBS, job_id, tenant.name)
    if record is None or fine_tuned_id(record, tenant, job_id) != ft_id:
        return None
    return record if served_job(jobs.gateway, record) else None


def _find(jobs: Jobs, tenant: Tenant, model_id: str) -> tuple[Job, JobCheckpoint] | None:
    """``tenant``'s job and its checkpoint that ``model_id`` names, or ``None``."""
    found = _CHECKPOINT_MODEL.match(model_id)
    if found is None:
        return None
    step = int(found.group(2))
    record = _job_record(jobs, tenant, found.group(1))
    if record is None:
        return None
    job = jobs._job(record)
    if job is None:
        return None
    cursor: str | None = None
    for _ in range(_CHECKPOINT_PAGES):
        got = job.checkpoints(after=cursor, limit=100)
        for checkpoint in got:
            if checkpoint.step_number == step:
                return job, checkpoint
        if not got.has_more or not len(got):
            break
        cursor = got[-1].id
    return None


def _own(jobs: Jobs, tenant: Tenant, ref: str) -> None:
    # The copy becomes the tenant's (kind ``checkpoint``) so the gateway lets it, and
    # only it, use the model.
    if jobs.gateway.state.owner(ref) != tenant.name:
        jobs.gateway.own(tenant, ref, "checkpoint")


def checkpoint_model(jobs: Jobs, tenant: Tenant, model_id: str) -> str | None:
    """The backend model of ``tenant``'s checkpoint model ``model_id``, or ``None``: not
    of this form, not a job of ``tenant``, or no model kept for that checkpoint."""
    found = _find(jobs, tenant, model_id)
    ref = None if found is None else found[1].fine_tuned_model_checkpoint
    if ref is not None:
        _own(jobs, tenant, ref)
    return ref


def listed(jobs: Jobs, tenant: Tenant) -> list[dict[str, Any]]:
    """``GET /v1/models`` entries of ``tenant``'s checkpoint models whose copy exists,
    by job (oldest first), newest checkpoint first within a job."""
    from tuneplug_openai.protocol.jobs import JOBS

    candidates: list[tuple[str, dict[str, Any]]] = []
    for job_id, record in served_rows(jobs.gateway, jobs.gateway.state.list(JOBS, tenant.name)):
        job = jobs._job(record)
        if job is None:
            continue
        ft_id = fine_tuned_id(record, tenant, job_id)
        try:
            checkpoints = job.checkpoints(limit=100)
        except CapabilityError:
            continue  # a backend without checkpoints has no checkpoint models
        for checkpoint in checkpoints:
            ref = checkpoint.fine_tuned_model_checkpoint
            if ref is None or ref == job.fine_tuned_model:
                continue  # none kept, or the job's own ft: model (listed as such)
            _own(jobs, tenant, ref)
            entry = {
                "id": f"{ft_id}:ckpt-step-{checkpoint.step_number}",
                "object": "model",
                "created": int(checkpoint.created_at),
                "owned_by": tenant.name,
            }
            candidates.append((ref, entry))
    if not candidates:
        return []
    # One listing of the backend's models: a copy deleted behind the server's back is
    # not listed (the gateway's cache would still know it).
    existing = {info.ref for info in jobs.gateway.owned_models(tenant, "checkpoint")}
    return [entry for ref, entry in candidates if ref in existing]


def delete(jobs: Jobs, tenant: Tenant, model_id: str) -> bool:
    """Delete ``tenant``'s checkpoint model ``model_id``; whether there was one.

    The backend copy goes first: killed before the journal says so, the checkpoint
    names a model that is gone, which answers 404 and is not listed.

    Raises:
        TuneplugError: the backend could not delete the copy (nothing changed).
    """
    from tuneplug.jobs.local import LocalJobs

    found = _find(jobs, tenant, model_id)
    if found is None:
        return False
    job, checkpoint = found
    ref = checkpoint.fine_tuned_model_checkpoint
    if ref is None or ref == job.fine_tuned_model:
        return False  # none kept; the job's own model is deleted under its ft: id
    _own(jobs, tenant, ref)
    model = jobs.gateway.model(tenant, ref)
    if model is None:
        return False
    jobs.gateway.delete(model)
    backend = jobs.gateway.jobs
    if isinstance(backend, LocalJobs):
        backend.forget_checkpoint_model(job.id, checkpoint.step_number)
    return True
