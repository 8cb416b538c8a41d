"""``/v1/fine_tuning/jobs``: create, list and retrieve, per tenant (events:
:mod:`~tuneplug_openai.protocol.job_events`; cancel, pause, resume and checkpoints:
:mod:`~tuneplug_openai.protocol.job_control`).

A job runs on the gateway's job backend (:meth:`~tuneplug.server.gateway.Gateway.start_job`):
the core's local job runner for providers with step hooks (in a thread of the
server, resumed when the server restarts) or the provider's own job service,
bound when the server started. The
server records each job under an OpenAI-style id (``ftjob-...``, namespace
``openai.job``) with its tenant and the backend job it follows. When the job has
succeeded, its model gets an ``ft:`` id
(:func:`~tuneplug_openai.protocol.models.fine_tuned_id`) usable in completions
and chat at once, and after restarts.

Statuses (the objects' shapes: :mod:`~tuneplug_openai.protocol.job_objects`):
``validating`` -> ``validating_files``; ``cancelling`` -> ``running``
(OpenAI has no such state); the others keep their names (``paused`` too: OpenAI's
``/pause`` answers it, :mod:`~tuneplug_openai.protocol.job_control`). A job whose
backend record is gone (pruned behind the server's back) is ``failed`` with the
error code ``backend_record_gone``; it never breaks the listing of the others.
Events are listed newest first, as OpenAI does (:mod:`~tuneplug_openai.protocol.job_events`).

Clients never see the server's side: a bad uploaded file is named by its file id
(``file-...:2: ...``, ``param`` ``training_file`` or ``validation_file``), the
backend model a job trains by the job's ``ft:`` id, and no message carries a
server path or a backend job id (:mod:`~tuneplug_openai.protocol.job_errors`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tuneplug.errors import (
    AdapterBusyError,
    CapabilityError,
    NotFoundError,
    SampleFileError,
    TuneplugError,
)
from tuneplug.jobs.types import Job
from tuneplug.server.errors import model_aliases
from tuneplug.server.gateway import JOB_NAMES, Gateway
from tuneplug.server.tenants import Tenant
from tuneplug.types import ModelKind

from tuneplug_openai.protocol.errors import OpenAIError, from_tuneplug, not_found
from tuneplug_openai.protocol.files import FileStore, check_purpose
from tuneplug_openai.protocol.job_errors import (
    file_error,
    job_aliases,
    model_busy,
    not_continuable,
    speaking_for,
    spec_params,
)
from tuneplug_openai.protocol.job_hyper import LOCAL_DEFAULTS, given, legacy, method_object, shown
from tuneplug_openai.protocol.job_objects import (
    backend_id,
    base_object,
    lost_object,
    public_message,
    served_rows,
    status_of,
)
from tuneplug_openai.protocol.models import ModelIds, fine_tuned_id
from tuneplug_openai.protocol.paging import page, page_params
from tuneplug_openai.protocol.schemas import JobBody
from tuneplug_openai.protocol.state import parse_body, state_of, tenant_of

__all__ = ["JOBS", "ROUTES", "Jobs", "run_jobs"]

JOBS = "openai.job"
"""State namespace: job id -> what the server knows of the job beyond the backend's."""


class Jobs:
    """The tenants' fine-tuning jobs (blocking methods: run in threads)."""

    def __init__(self, gateway: Gateway, ids: ModelIds, files: FileStore) -> None:
        self.gateway = gateway
        self.ids = ids
        self.files = files

    def create(self, tenant: Tenant, body: JobBody) -> dict[str, Any]:
        """Start a job; 404 for an unknown model or file, 400 for a bad spec."""
        model = self.ids.resolve(tenant, body.model)
        if model is None:
            raise self.ids.unknown(body.model, param="model")
        training = self._file(tenant, body.training_file, "training_file")
        validation = None
        if body.validation_file is not None:
            validation = self._file(tenant, body.validation_file, "validation_file")
        self._check_method(body)
        hyper = body.hyper()
        spec: dict[str, Any] = {
            "n_epochs": hyper.n_epochs,
            "batch_size": hyper.batch_size,
            "learning_rate_multiplier": hyper.learning_rate_multiplier,
            "suffix": body.suffix,
            "seed": body.seed,
            "validation_data": str(validation) if validation else None,
        }
        # "auto" is the backend's default: the same as leaving the field out.
        spec = {k: v for k, v in spec.items() if v is not None and v != "auto"}
        if body.method_type == "dpo":
            spec["method"] = "dpo"
            if hyper.beta not in (None, "auto"):
                spec["extra"] = {"beta": hyper.beta}
        files = {str(training): body.training_file}
        if validation is not None:
            files[str(validation)] = body.validation_file or ""
        # Backend names in an error -> the client's: its files, and the model it named
        # (a continued job's source adapter is the backend's, never the client's word).
        named = {**files, **model_aliases(model, body.model)}
        job_id = f"ftjob-{secrets.token_hex(12)}"
        record: dict[str, Any] = {
            "ref": None,  # the backend job's, known once created
            "model": body.model,
            "base": self.ids.base_of(tenant, body.model),  # the ft: model's <base>
            "training_file": body.training_file,
            "validation_file": body.validation_file,
            "suffix": body.suffix,
            "seed": body.seed,  # the seed the backend drew once it says (write_down)
            "metadata": body.metadata,
            "method": body.method_type,
            # What the client gave, then (write_down) what the job runs with: a job whose
            # backend record goes still shows its values.
            "hyperparameters": given(hyper.model_dump(), body.method_type),
            "created_at": int(time.time()),
            "fine_tuned_model": None,
        }

        def write_down(job: Job) -> None:
            # Before the job's first step: a server killed mid-job restarts with a job
            # its tenant can list, not one that trains unseen.
            record["ref"] = job.ref
            drawn = job.hyperparameters.get("seed")
            if isinstance(drawn, int):  # the seed the run uses, so it can be repeated
                record["seed"] = drawn
            record["hyperparameters"] = self._hyperparameters(record, job)
            self.gateway.state.put(JOBS, job_id, tenant.name, record)
            self.gateway.name_job(tenant, job.id, job_id)

        try:
            # A job on an ft: or checkpoint model makes a new model, as OpenAI's: the
            # backend trains a copy named as a new job's adapter would be.
            job = self.gateway.start_job(
                model, str(training), record=write_down, copy=body.suffix or job_id, **spec
            )
        except CapabilityError as exc:
            if model.info.kind is ModelKind.BASE:
                raise from_tuneplug(exc, aliases=named, params=spec_params(body)) from exc
            raise not_continuable(body.model, record["base"]) from exc
        except SampleFileError as exc:
            raise file_error(exc, body.training_file, validation, body.validation_file) from None
        except AdapterBusyError as exc:
            raise model_busy(body.model, exc, self._own_job(tenant, exc.job_id)) from exc
        except TuneplugError as exc:
            raise from_tuneplug(exc, aliases=named, params=spec_params(body)) from exc
        return self._object(tenant, job_id, record, job)

    def _file(self, tenant: Tenant, file_id: str, param: str) -> Path:
        """Where ``tenant``'s fine-tuning file ``file_id`` is; 404 for an unknown one, 400
        for one uploaded for another purpose."""
        record = self.files.get(tenant, file_id)
        if record is None:
            raise not_found("file", file_id, param=param)
        check_purpose(record, param)
        return self.files.dir / file_id

    def _hyperparameters(self, record: dict[str, Any], job: Job) -> dict[str, Any]:
        """The values ``job`` runs with (:mod:`~tuneplug_openai.protocol.job_hyper`)."""
        from tuneplug.jobs.local import LocalJobs

        defaults = LOCAL_DEFAULTS if isinstance(self.gateway.jobs, LocalJobs) else {}
        method = record.get("method", "supervised")
        return shown(method, job.hyperparameters, record.get("hyperparameters") or {}, defaults)

    def _own_job(self, tenant: Tenant, backend_id: str) -> str | None:
        """The client's id of the backend job ``backend_id`` if it is ``tenant``'s."""
        found = self.gateway.state.find(JOB_NAMES, backend_id)
        return str(found[1]["id"]) if found is not None and found[0] == tenant.name else None

    def _check_method(self, body: JobBody) -> None:
        """400 (``param: "method"``) for a method the backend cannot train, before
        anything is read: the local job runner trains supervised steps only."""
        from tuneplug.jobs.local import LocalJobs

        method = body.method_type
        local = isinstance(self.gateway.jobs, LocalJobs)
        if method == "reinforcement" or (method == "dpo" and local):
            raise OpenAIError(
                400,
                f"method {method!r} is not supported by this server (its backend trains "
                "supervised fine-tuning only)",
                param="method",
                code="unsupported_method",
            )
        if method == "supervised" and body.hyper().beta is not None:
            raise OpenAIError(
                400,
                "beta is a hyperparameter of method 'dpo' only",
                param=spec_params(body)["beta"],
                code="invalid_request",
            )

    def _job(self, record: dict[str, Any]) -> Job | None:
        """The backend job, or ``None`` if the backend no longer has it."""
        try:
            return self.gateway.job(backend_id(record))
        except NotFoundError:
            return None

    def _hidden(
        self, tenant: Tenant, job_id: str, record: dict[str, Any], job: Job | None
    ) -> dict[str, str]:
        """Backend model names -> the ``ft:`` id the client knows (longest first)."""
        public = fine_tuned_id(record, tenant, job_id)
        names = [
            job.fine_tuned_model if job else None,
            self.gateway.job_target(backend_id(record)),
        ]
        hidden: dict[str, str] = {}
        for ref in filter(None, names):
            hidden[ref] = public
            hidden[ref.partition("/")[2]] = public
        return hidden

    def _object(
        self, tenant: Tenant, job_id: str, record: dict[str, Any], job: Job | None
    ) -> dict[str, Any]:
        """The OpenAI job object; records the ``ft:`` model the first time it succeeded."""
        if job is None:
            return lost_object(tenant, job_id, record)
        if job.status == "succeeded" and job.fine_tuned_model and not record["fine_tuned_model"]:
            model_id = fine_tuned_id(record, tenant, job_id)
            self.ids.add(
                tenant, model_id, job.fine_tuned_model, record.get("base") or record["model"]
            )
            record = {**record, "fine_tuned_model": model_id}
            self.gateway.state.put(JOBS, job_id, tenant.name, record)
        error = None
        if job.error:
            message = public_message(job.error, self._hidden(tenant, job_id, record, job))
            error = {"code": "job_failed", "message": message, "param": None}
        values = self._hyperparameters(record, job)
        return {
            **base_object(tenant, job_id, record),
            "finished_at": int(job.finished_at) if job.finished_at else None,
            "status": status_of(job),
            "trained_tokens": job.trained_tokens,
            "hyperparameters": legacy(values),
            "method": method_object(record.get("method", "supervised"), values),
            "error": error,
            "seed": _seed(job, record),
        }

    def record(self, tenant: Tenant, job_id: str) -> dict[str, Any]:
        """What the server knows of ``tenant``'s job ``job_id``; 404 if it has none."""
        record = self.gateway.state.get(JOBS, job_id, tenant.name)
        if record is None or not served_rows(self.gateway, [(job_id, record)]):
            raise not_found("fine-tuning job", job_id)
        return record

    def get(self, tenant: Tenant, job_id: str) -> dict[str, Any]:
        """The job object; 404 if ``tenant`` has no such job."""
        record = self.record(tenant, job_id)
        with speaking_for(job_aliases(record, job_id)):
            return self._object(tenant, job_id, record, self._job(record))

    def list(
        self,
        tenant: Tenant,
        after: str | None,
        limit: int,
        metadata: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A page of ``tenant``'s jobs, newest first; with ``metadata``, only the jobs
        whose metadata holds each of its pairs (``{}``: the jobs without metadata)."""
        rows = served_rows(self.gateway, self.gateway.state.list(JOBS, tenant.name)[::-1])
        if metadata is not None:
            rows = [row for row in rows if _matches(row[1].get("metadata") or {}, metadata)]
        listed = page([{"id": job_id, **data} for job_id, data in rows], after, limit)
        objects = []
        for item in listed["data"]:
            with speaking_for(job_aliases(item, item["id"])):
                objects.append(self._object(tenant, item["id"], item, self._job(item)))
        listed["data"] = objects
        return listed


def _seed(job: Job, record: dict[str, Any]) -> int | None:
    """The seed the run used: the backend's (drawn when the client gave none), else the
    recorded one; ``None`` when neither knows (not a made-up 0: it could not be repeated)."""
    used = job.hyperparameters.get("seed")
    return used if isinstance(used, int) and not isinstance(used, bool) else record["seed"]


async def run_jobs(request: Request, fn: Callable[..., Any], *args: Any) -> Response:
    """``fn(jobs, tenant, *args)`` for the request's tenant, in a thread (the jobs' methods
    block), as JSON; a tuneplug error in OpenAI's shape."""
    state = state_of(request)
    try:
        result = await state.gateway.run(fn, state.jobs, tenant_of(request), *args)
    except TuneplugError as exc:
        raise from_tuneplug(exc) from exc
    return JSONResponse(result)


async def create(request: Request) -> Response:
    """``POST /v1/fine_tuning/jobs``."""
    return await run_jobs(request, Jobs.create, await parse_body(request, JobBody))


def _matches(found: dict[str, str], wanted: dict[str, str]) -> bool:
    # {} asks for the jobs without metadata; pairs, for those holding every one of them.
    return not found if not wanted else all(found.get(k) == v for k, v in wanted.items())


def _metadata_filter(request: Request) -> dict[str, str] | None:
    """The ``metadata`` filter of a job listing: ``metadata[k]=v`` (the SDK's form of
    ``metadata={"k": "v"}``), repeated for more pairs; ``metadata=null`` for the jobs
    without metadata (``{}``); ``None`` when absent. Never ignored: a listing that
    skipped the filter would answer with every job."""
    pairs: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name == "metadata" and value == "null":
            return {}
        if name == "metadata" or (name.startswith("metadata[") and name.endswith("]")):
            key = name[len("metadata[") : -1]
            if name == "metadata" or not key:
                raise OpenAIError(
                    400,
                    "metadata filters as metadata[key]=value, or metadata=null for the jobs "
                    f"without metadata, got {name}={value!r}",
                    param="metadata",
                    code="invalid_request",
                )
            pairs[key] = value
    return pairs or None


async def list_jobs(request: Request) -> Response:
    """``GET /v1/fine_tuning/jobs?after&limit&metadata[k]=v``."""
    after, limit = page_params(request, id_prefix="ftjob-")
    return await run_jobs(request, Jobs.list, after, limit, _metadata_filter(request))


async def retrieve(request: Request) -> Response:
    """``GET /v1/fine_tuning/jobs/{id}``."""
    return await run_jobs(request, Jobs.get, request.path_params["id"])


ROUTES = [
    Route("/fine_tuning/jobs", create, methods=["POST"]),
    Route("/fine_tuning/jobs", list_jobs, methods=["GET"]),
    Route("/fine_tuning/jobs/{id}", retrieve, methods=["GET"]),
]
