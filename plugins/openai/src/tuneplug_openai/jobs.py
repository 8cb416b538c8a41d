"""OpenAI fine-tuning jobs as a :class:`tuneplug.jobs.backend.JobBackend`.

``create`` validates the whole spec and converts the training data to OpenAI's JSONL
(:mod:`tuneplug_openai.training_files`) before anything is sent, uploads it with
``POST /files`` (``purpose=fine-tune``, multipart), then ``POST /fine_tuning/jobs``
with ``method`` (``supervised``) and its hyperparameters, ``suffix``, ``seed``,
``validation_file`` and ``metadata``. Uploads and creates are never re-sent once the
server may have applied them (``idempotent=False``): a timeout there is an error
naming what may exist, not a second file or a second job.

Statuses map onto :class:`~tuneplug.jobs.types.JobStatus` (``validating_files`` is
``validating``; the raw word is kept in ``raw_status``); ``fine_tuned_model`` becomes
``<provider>/ft:...``, ready for ``tuneplug.get_model``. Events come back oldest
first (OpenAI lists newest first), with ``train_loss`` as ``loss``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError
from tuneplug.errors import InvalidRequestError, NotFoundError, TuneplugError, UnknownModelError
from tuneplug.hookspecs import ProviderContext
from tuneplug.jobs.backend import JobPage
from tuneplug.jobs.types import Job, JobCheckpoint, JobEvent, JobSpec, JobStatus
from tuneplug.options import OptionError

from tuneplug_openai import wire
from tuneplug_openai.client import OpenAIClient
from tuneplug_openai.training_files import FileFormat, file_format, multipart, to_jsonl

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
_EXTRA = frozenset({"metadata", "file_format"})
_MAX_EVENT_PAGES = 100  # 100 pages of 100 events: a bound, far beyond a real job's log


def jobs_backend(ctx: ProviderContext) -> OpenAIJobs:
    """The backend of ``ctx``, on the instance's HTTP client (cheap: no state of its own)."""
    from tuneplug_openai.plugin import client

    return OpenAIJobs(client(ctx))


def _samples(data: Any, what: str) -> list[Any]:
    from tuneplug.samples import parse_sample, read_samples

    if isinstance(data, str | os.PathLike):
        return list(read_samples(Path(data)))
    if isinstance(data, list | tuple):
        return [parse_sample(item) for item in data]
    raise InvalidRequestError(f"{what} must be a samples file path or a list of samples")


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

    # -- create ----------------------------------------------------------------------

    def _base(self, spec: JobSpec) -> str:
        model = spec.model
        prefix = f"{self.provider}/"
        return model[len(prefix) :] if model.startswith(prefix) else model

    def _check(self, spec: JobSpec) -> None:
        unsupported = [
            name
            for name in ("learning_rate", "rank", "lora_alpha", "lora_dropout")
            if getattr(spec, name) is not None
        ]
        # OptionError (an InvalidRequestError): a spec field or extra these jobs do not
        # take, found before any request; the CLI names its flag in a usage error.
        if unsupported:
            hint = (
                " (OpenAI takes learning_rate_multiplier, relative to its default)"
                if "learning_rate" in unsupported
                else ""
            )
            raise _refused(
                f"OpenAI fine-tuning does not take {', '.join(unsupported)}{hint}",
                unsupported[0], self.provider,
            )  # fmt: skip
        if spec.method != "sft":
            raise _refused(
                "OpenAI DPO needs preference pairs, which no tuneplug sample format holds; "
                "only method='sft' is supported",
                "method", self.provider,
            )  # fmt: skip
        unknown = sorted(set(spec.extra) - _EXTRA)
        if unknown:
            raise _refused(
                f"unknown extra {unknown[0]!r} for OpenAI jobs "
                f"(known: {', '.join(sorted(_EXTRA))})",
                unknown[0], self.provider,
            )  # fmt: skip

    def _file(self, data: Any, what: str, fmt: FileFormat) -> bytes:
        try:
            return to_jsonl(_samples(data, what), fmt)
        except TuneplugError as exc:
            exc.provider = exc.provider or self.provider
            raise

    def _upload(self, content: bytes, filename: str) -> str:
        body, content_type = multipart({"purpose": "fine-tune"}, "file", filename, content)
        call = self.http.call("POST", "/files", idempotent=False)
        response = self.http.http.send(call, body, content_type=content_type)
        return self.http.parse(wire.FileObject, response, call).id

    def create(self, spec: JobSpec) -> Job:
        """Validate, convert, upload (training then validation file), create the job."""
        self._check(spec)
        base = self._base(spec)
        fmt: FileFormat = spec.extra.get("file_format") or file_format(base)
        if fmt not in ("chat", "completion"):
            raise _refused(
                "file_format must be 'chat' or 'completion'", "file_format", self.provider
            )
        training = self._file(spec.training_data, "training_data", fmt)
        validation = (
            None
            if spec.validation_data is None
            else self._file(spec.validation_data, "validation_data", fmt)
        )
        hyper = wire.Hyperparameters(
            n_epochs=spec.n_epochs,
            batch_size=spec.batch_size,
            learning_rate_multiplier=spec.learning_rate_multiplier,
        )
        try:  # validated now; the file ids are filled in after the uploads
            request = wire.FineTuningJobRequest(
                model=base,
                training_file="pending",
                method=wire.Method(
                    type="supervised", supervised=wire.MethodConfig(hyperparameters=hyper)
                ),
                suffix=spec.suffix,
                seed=spec.seed,
                metadata=spec.extra.get("metadata"),
            )
        except ValidationError as exc:  # a spec value OpenAI bounds tighter (suffix, metadata)
            err = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in err["loc"])
            top = str(err["loc"][0]) if err["loc"] else "value"
            raise _refused(f"invalid {field}: {err['msg']}", top, self.provider) from None
        self._known_model(base)
        uploaded: list[str] = []
        try:
            uploaded.append(self._upload(training, "training.jsonl"))
            if validation is not None:
                uploaded.append(self._upload(validation, "validation.jsonl"))
            request = request.model_copy(
                update={
                    "training_file": uploaded[0],
                    "validation_file": uploaded[1] if validation is not None else None,
                }
            )
            call = self.http.call("POST", "/fine_tuning/jobs", idempotent=False)
            response = self.http.http.send(call, json.dumps(wire.dump(request)).encode())
            return self._job(self.http.parse(wire.FineTuningJob, response, call))
        except TuneplugError as exc:
            if uploaded:
                exc.message += self._clean_up(uploaded, exc)
            raise

    def _known_model(self, base: str) -> None:
        """``GET /models/{base}`` before anything is uploaded: an unknown model is an
        ``UnknownModelError`` and no file is left behind.

        Only OpenAI's ``model_not_found`` answer counts: a compatible server without
        the route (a bare 404) is not taken to mean the model is unknown; its create
        decides (and the uploads are then deleted).
        """
        call = self.http.call("GET", f"/models/{quote(base, safe='')}", idempotent=True)
        try:
            self.http.http.send(call)
        except NotFoundError as exc:
            if "model_not_found" in exc.message:
                raise UnknownModelError(
                    f"unknown model {base!r} to fine-tune (nothing was uploaded): {exc.message}",
                    provider=self.provider,
                    status=exc.status,
                ) from None

    def _clean_up(self, uploaded: list[str], exc: TuneplugError) -> str:
        """Delete the files a failed create uploaded; what to add to its message.

        Only when the job surely does not exist (a 4xx answer): after a timeout or a
        5xx the job may have been created and may be reading them, so they are kept.
        """
        files = ", ".join(uploaded)
        if exc.status is None or not 400 <= exc.status < 500:
            return (
                f" (uploaded {files} kept: the job may exist and use them; if it does not, "
                "delete them with DELETE /files/{id})"
            )
        failed: list[str] = []
        for file_id in uploaded:
            call = self.http.call("DELETE", f"/files/{quote(file_id, safe='')}", idempotent=True)
            try:
                self.http.http.send(call)
            except TuneplugError as deleting:
                if not isinstance(deleting, NotFoundError):
                    failed.append(f"{file_id} ({deleting.message})")
        if failed:
            return f" (could not delete uploaded {'; '.join(failed)}: delete them yourself)"
        return f" (uploaded {files} deleted)"

    # -- read and control ------------------------------------------------------------

    def _job(self, job: wire.FineTuningJob) -> Job:
        error = None
        if job.error is not None and (job.error.message or job.error.code):
            error = job.error.message or job.error.code
            if job.error.code and job.error.message:
                error = f"{job.error.message} [{job.error.code}]"
        hyper = job.hyperparameters
        if job.method is not None and job.method.supervised is not None:
            hyper = job.method.supervised.hyperparameters or hyper
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
            hyperparameters=wire.dump(hyper) if hyper is not None else {},
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

    def _page(self, path: str, after: str | None, limit: int) -> wire.Page:
        if not 1 <= limit <= 100:
            raise InvalidRequestError("limit must be in 1..100", provider=self.provider)
        call = self.http.call("GET", path, idempotent=True, query={"after": after, "limit": limit})
        return self.http.parse(wire.Page, self.http.http.send(call), call)

    def list(self, *, after: str | None = None, limit: int = 20) -> JobPage[Job]:
        """``GET /fine_tuning/jobs?after&limit``: newest first."""
        page = self._page("/fine_tuning/jobs", after, limit)
        try:
            jobs = [self._job(wire.FineTuningJob.model_validate(item)) for item in page.data]
        except ValidationError as exc:
            raise self.http.http.errors.malformed(
                self.http.call("GET", "/fine_tuning/jobs", idempotent=True), 200, exc
            ) from None
        return JobPage(jobs, has_more=bool(page.has_more))

    def events(
        self, job_id: str, *, after: str | None = None, limit: int = 100
    ) -> JobPage[JobEvent]:
        """The job's events oldest first, those after the event id ``after``.

        OpenAI pages newest first, so the pages back to ``after`` are read (at most
        100 pages) and turned around.
        """
        path = self._path(job_id, "/events")
        newest_first: list[wire.JobEvent] = []
        cursor: str | None = None
        for _ in range(_MAX_EVENT_PAGES):
            page = self._page(path, cursor, 100)
            try:
                batch = [wire.JobEvent.model_validate(item) for item in page.data]
            except ValidationError as exc:
                call = self.http.call("GET", path, idempotent=True)
                raise self.http.http.errors.malformed(call, 200, exc) from None
            ids = [e.id for e in batch]
            if after is not None and after in ids:
                newest_first.extend(batch[: ids.index(after)])
                break
            newest_first.extend(batch)
            if not page.has_more or not batch:
                break
            cursor = batch[-1].id
        oldest_first = list(reversed(newest_first))
        chosen = oldest_first[:limit]
        return JobPage([self._event(e) for e in chosen], has_more=len(oldest_first) > limit)

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
        ``fine_tuned_model_checkpoint`` becomes ``<provider>/ft:...:ckpt-step-N``."""
        page = self._page(self._path(job_id, "/checkpoints"), after, limit)
        try:
            items = [wire.Checkpoint.model_validate(item) for item in page.data]
        except ValidationError as exc:
            call = self.http.call("GET", self._path(job_id, "/checkpoints"), idempotent=True)
            raise self.http.http.errors.malformed(call, 200, exc) from None
        return JobPage([self._checkpoint(c) for c in items], has_more=bool(page.has_more))

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
            fine_tuned_model_checkpoint=f"{self.provider}/{item.fine_tuned_model_checkpoint}",
        )


def _refused(message: str, option: str, provider: str) -> OptionError:
    error = OptionError(message, provider=provider)
    error.option = option
    return error
