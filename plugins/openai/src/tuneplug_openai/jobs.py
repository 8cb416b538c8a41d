"""OpenAI fine-tuning jobs as a :class:`tuneplug.jobs.backend.JobBackend`.

``create`` (:mod:`tuneplug_openai.job_create`) validates the whole spec and converts
the training data to OpenAI's JSONL before anything is sent, asks for the model,
uploads with ``POST /files``, then ``POST /fine_tuning/jobs`` with ``method``
(``supervised``, or ``dpo`` on preference pairs) and its hyperparameters, ``suffix``,
``seed``, ``validation_file`` and ``metadata``. Uploads and creates are never re-sent
once the server may have applied them: a timeout there is an error naming what may
exist, not a second file or a second job. Retrieve, list, cancel, pause, resume,
events and checkpoints are here, and deleting a fine-tuned model (``delete_model``:
``DELETE /models/{id}``, what ``Model.delete()`` of an ``ft:`` model calls).

Statuses map onto :class:`~tuneplug.jobs.types.JobStatus` (``validating_files`` is
``validating``; the raw word is kept in ``raw_status``); ``fine_tuned_model`` becomes
``<provider>/ft:...``, ready for ``tuneplug.get_model``. Events come back oldest
first (OpenAI lists newest first), with ``train_loss`` as ``loss``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError
from tuneplug.arguments import check_int
from tuneplug.errors import InvalidRequestError, NotFoundError
from tuneplug.hookspecs import ProviderContext
from tuneplug.jobs.backend import JobPage
from tuneplug.jobs.cursors import gone_cursor
from tuneplug.jobs.types import Job, JobCheckpoint, JobEvent, JobSpec, JobStatus

from tuneplug_openai import wire
from tuneplug_openai.client import OpenAIClient
from tuneplug_openai.cursors import check_cursor
from tuneplug_openai.job_create import JobCreator

__all__ = ["STATUSES", "OpenAIJobs", "jobs_backend"]

STATUSES = {
    "validating_files": JobStatus.VALIDATING,
    "queued": JobStatus.QUEUED,
    "running": JobStatus.RUNNING,
    "pausing": JobStatus.PAUSED,
    "paused": JobStatus.PAUSED,
    "cancelling": JobStatus.CANCELLING,
    "succeeded": JobStatus.SUCCEEDED,
    "failed": JobStatus.FAILED,
    "cancelled": JobStatus.CANCELLED,
}
_MAX_EVENT_PAGES = 100  # 100 pages of 100 events: a bound, far beyond a real job's log


def jobs_backend(ctx: ProviderContext) -> OpenAIJobs:
    """The backend of ``ctx``, on the instance's HTTP client (cheap: no state of its own)."""
    from tuneplug_openai.plugin import client

    return OpenAIJobs(client(ctx))


def _metrics(data: dict[str, Any] | None) -> tuple[int | None, dict[str, float]]:
    if not data:
        return None, {}
    step = data.get("step")
    metrics: dict[str, float] = {}
    for key, value in data.items():
        if key == "step" or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            metrics["loss" if key == "train_loss" else key] = float(value)
    counted = isinstance(step, int) and not isinstance(step, bool) and step >= 1
    return (step if counted else None), metrics


class OpenAIJobs:
    """Fine-tuning jobs of one OpenAI provider instance."""

    def __init__(self, http: OpenAIClient) -> None:
        self.http = http
        self.provider = http.provider
        # The last events listing read (job id, oldest first): the next page of a reader
        # walking forward comes from it while it holds more than a page after the cursor.
        self._read: tuple[str, list[wire.JobEvent]] | None = None

    def create(self, spec: JobSpec) -> Job:
        """Check, convert, upload (training then validation file), create the job
        (:class:`~tuneplug_openai.job_create.JobCreator`: nothing is sent for a bad
        spec or sample, nothing is left uploaded for an unknown model)."""
        model = spec.model
        prefix = f"{self.provider}/"
        base = model[len(prefix) :] if model.startswith(prefix) else model
        return self._job(JobCreator(self.http).create(spec, base))

    # -- read and control ------------------------------------------------------------

    def _job(self, job: wire.FineTuningJob) -> Job:
        error = None
        if job.error is not None and (job.error.message or job.error.code):
            error = job.error.message or job.error.code
            if job.error.code and job.error.message:
                error = f"{job.error.message} [{job.error.code}]"
        hyper = job.hyperparameters
        if job.method is not None:
            used = job.method.dpo if job.method.type == "dpo" else job.method.supervised
            if used is not None:
                hyper = used.hyperparameters or hyper
        hyperparameters = wire.dump(hyper) if hyper is not None else {}
        if job.seed is not None:  # the run's seed (OpenAI's, or the one it drew), to repeat it
            hyperparameters["seed"] = job.seed
        return Job(
            id=job.id,
            provider=self.provider,
            model=f"{self.provider}/{job.model}",
            status=STATUSES.get(job.status, JobStatus.RUNNING),
            raw_status=job.status,
            created_at=float(job.created_at),
            finished_at=None if job.finished_at is None else float(job.finished_at),
            error=error,
            trained_tokens=job.trained_tokens,
            fine_tuned_model=(
                f"{self.provider}/{job.fine_tuned_model}" if job.fine_tuned_model else None
            ),
            hyperparameters=hyperparameters,
        )

    def _path(self, job_id: str, action: str = "") -> str:
        if not isinstance(job_id, str) or not job_id.strip():
            raise InvalidRequestError("a job id must be a non-empty string", provider=self.provider)
        return f"/fine_tuning/jobs/{quote(job_id, safe='')}{action}"

    def _one(self, method: str, path: str, *, idempotent: bool) -> Job:
        call = self.http.call(method, path, idempotent=idempotent)
        # A POST without content still says so (Content-Length: 0, RFC 9110 section 8.6),
        # as the SDK does: some proxies answer 411 to a POST without a length.
        body = b"" if method == "POST" else None
        response = self.http.http.send(call, body)
        return self._job(self.http.parse(wire.FineTuningJob, response, call))

    def get(self, job_id: str) -> Job:
        """``GET /fine_tuning/jobs/{id}``."""
        return self._one("GET", self._path(job_id), idempotent=True)

    def cancel(self, job_id: str) -> Job:
        """``POST /fine_tuning/jobs/{id}/cancel``."""
        return self._one("POST", self._path(job_id, "/cancel"), idempotent=False)

    def pause(self, job_id: str) -> Job:
        """``POST /fine_tuning/jobs/{id}/pause``."""
        return self._one("POST", self._path(job_id, "/pause"), idempotent=False)

    def resume(self, job_id: str) -> Job:
        """``POST /fine_tuning/jobs/{id}/resume``."""
        return self._one("POST", self._path(job_id, "/resume"), idempotent=False)

    def delete_model(self, model_id: str) -> None:
        """``DELETE /models/{model}``: delete a fine-tuned model (``Model.delete()`` of an
        ``ft:`` model); an unknown one is the server's 404, a ``NotFoundError``."""
        if not isinstance(model_id, str) or not model_id.strip():
            raise InvalidRequestError(
                "a model id must be a non-empty string", provider=self.provider
            )
        # `:` stays as written (OpenAI's ft: ids); `/` and the rest are escaped.
        call = self.http.call("DELETE", f"/models/{quote(model_id, safe=':')}", idempotent=True)
        self.http.http.send(call)

    def _page(self, path: str, after: str | None, limit: int) -> wire.Page:
        check_int(limit, "limit", 1, 100)  # worded as every limit
        call = self.http.call("GET", path, idempotent=True, query={"after": after, "limit": limit})
        return self.http.parse(wire.Page, self.http.http.send(call), call)

    def list(self, *, after: str | None = None, limit: int = 20) -> JobPage[Job]:
        """``GET /fine_tuning/jobs?after&limit``: newest first.

        Raises:
            OptionError: ``after`` cannot be a job id (``option="after"``; nothing sent).
            NotFoundError: ``after`` names no job (an empty page is then asked about it:
                the server cannot tell a gone cursor from the last job).
        """
        check_cursor(after, "job")
        page = self._page("/fine_tuning/jobs", after, limit)
        try:
            jobs = [self._job(wire.FineTuningJob.model_validate(item)) for item in page.data]
        except ValidationError as exc:
            raise self.http.http.errors.malformed(
                self.http.call("GET", "/fine_tuning/jobs", idempotent=True), 200, exc
            ) from None
        if after is not None and not jobs:
            self._named(after)
        return JobPage(jobs, has_more=bool(page.has_more))

    def _named(self, after: str) -> None:
        try:
            self.get(after)
        except NotFoundError:
            raise gone_cursor(after, "job", provider=self.provider) from None

    def events(
        self, job_id: str, *, after: str | None = None, limit: int = 100
    ) -> JobPage[JobEvent]:
        """The job's events oldest first, those after the event id ``after``.

        OpenAI pages newest first, so the pages back to ``after`` are read (at most
        100 pages of 100, OpenAI's largest) and turned around; the next pages of a
        forward walk come from that read (:meth:`_cached`).

        Raises:
            OptionError: ``after`` cannot be an event id (nothing sent).
            NotFoundError: ``after`` names no event of the job (read to its oldest).
        """
        check_cursor(after, "event")
        path = self._path(job_id, "/events")
        cached = self._cached(job_id, after, limit)
        if cached is not None:
            return cached
        newest_first: list[wire.JobEvent] = []
        cursor: str | None = None
        for _ in range(_MAX_EVENT_PAGES):
            batch, more = self._event_page(path, cursor, 100)
            ids = [e.id for e in batch]
            if after is not None and after in ids:
                newest_first.extend(batch[: ids.index(after)])
                break
            newest_first.extend(batch)
            if not more or not batch:
                if after is not None:  # read to the oldest without meeting it
                    raise gone_cursor(after, "event", job_id, self.provider)
                break
            cursor = batch[-1].id
        oldest_first = list(reversed(newest_first))
        self._read = (job_id, oldest_first)
        chosen = oldest_first[:limit]
        return JobPage([self._event(e) for e in chosen], has_more=len(oldest_first) > limit)

    def events_newest(
        self, job_id: str, *, after: str | None = None, limit: int = 20
    ) -> JobPage[JobEvent]:
        """``GET /fine_tuning/jobs/{id}/events?after&limit``: one page newest first, as
        OpenAI lists them, for one request (a server's page of a job's events)."""
        check_cursor(after, "event")
        batch, more = self._event_page(self._path(job_id, "/events"), after, limit)
        return JobPage([self._event(e) for e in batch], has_more=more)

    def _event_page(
        self, path: str, after: str | None, limit: int
    ) -> tuple[Sequence[wire.JobEvent], bool]:
        page = self._page(path, after, limit)
        try:
            batch = [wire.JobEvent.model_validate(item) for item in page.data]
        except ValidationError as exc:
            call = self.http.call("GET", path, idempotent=True)
            raise self.http.http.errors.malformed(call, 200, exc) from None
        return batch, bool(page.has_more)

    def _cached(self, job_id: str, after: str | None, limit: int) -> JobPage[JobEvent] | None:
        """The page after ``after`` from the last listing read, if it holds more than
        ``limit`` events after it: those are the oldest after ``after`` whatever came
        since (new events are newer), so walking a job's log costs one read, not one per
        page (9000 events: 91 requests, not 91 per page)."""
        if self._read is None or after is None or self._read[0] != job_id:
            return None
        ids = [e.id for e in self._read[1]]
        if after not in ids:
            return None
        rest = self._read[1][ids.index(after) + 1 :]
        if len(rest) <= limit:
            return None
        return JobPage([self._event(e) for e in rest[:limit]], has_more=True)

    def _event(self, event: wire.JobEvent) -> JobEvent:
        step, metrics = _metrics(event.data)
        return JobEvent(
            id=event.id,
            created_at=float(event.created_at),
            level=event.level,
            message=event.message,
            step=step,
            metrics=metrics,
        )

    def checkpoints(
        self, job_id: str, *, after: str | None = None, limit: int = 10
    ) -> JobPage[JobCheckpoint]:
        """``GET /fine_tuning/jobs/{id}/checkpoints`` (newest first, as OpenAI lists);
        ``fine_tuned_model_checkpoint`` becomes ``<provider>/ft:...:ckpt-step-N``.

        Raises:
            OptionError: ``after`` cannot be a checkpoint id (nothing sent).
            NotFoundError: ``after`` names no checkpoint of the job (an empty page is
                checked against the job's checkpoints: the server answers a gone cursor
                as it answers the oldest one).
        """
        check_cursor(after, "checkpoint")
        items, more = self._checkpoint_page(job_id, after, limit)
        if after is not None and not items:
            self._checkpoint_named(job_id, after)
        return JobPage([self._checkpoint(c) for c in items], has_more=more)

    def _checkpoint_page(
        self, job_id: str, after: str | None, limit: int
    ) -> tuple[Sequence[wire.Checkpoint], bool]:
        path = self._path(job_id, "/checkpoints")
        page = self._page(path, after, limit)
        try:
            items = [wire.Checkpoint.model_validate(item) for item in page.data]
        except ValidationError as exc:
            call = self.http.call("GET", path, idempotent=True)
            raise self.http.http.errors.malformed(call, 200, exc) from None
        return items, bool(page.has_more)

    def _checkpoint_named(self, job_id: str, after: str) -> None:
        cursor: str | None = None
        for _ in range(_MAX_EVENT_PAGES):  # a job keeps a checkpoint per epoch: a few pages
            items, more = self._checkpoint_page(job_id, cursor, 100)
            if any(item.id == after for item in items):
                return
            if not more or not items:
                break
            cursor = items[-1].id
        raise gone_cursor(after, "checkpoint", job_id, self.provider)

    def _checkpoint(self, item: wire.Checkpoint) -> JobCheckpoint:
        metrics = {
            key: float(value)
            for key, value in wire.dump(item.metrics).items()
            if key != "step" and isinstance(value, int | float) and math.isfinite(value)
        }
        return JobCheckpoint(
            id=item.id,
            job_id=item.fine_tuning_job_id,
            created_at=float(item.created_at),
            step_number=max(1, item.step_number),
            metrics=metrics,
            fine_tuned_model_checkpoint=(
                f"{self.provider}/{item.fine_tuned_model_checkpoint}"
                if item.fine_tuned_model_checkpoint
                else None
            ),
        )
