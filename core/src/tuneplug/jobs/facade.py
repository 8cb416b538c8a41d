"""The jobs facade: one code path from ``Model.start_fine_tune`` to any provider's jobs.

:func:`backend_for` is the provider's ``tuneplug_jobs`` backend when it
implements the hook, else the core's local job runner
(:class:`~tuneplug.jobs.local.LocalJobs`) when it has the step hooks; a
provider with neither raises ``CapabilityError`` before any I/O.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from tuneplug.arguments import check_name, check_number
from tuneplug.errors import (
    CapabilityError,
    InvalidRequestError,
    TimeoutError,
    TuneplugError,
)
from tuneplug.jobs.backend import OPTIONAL_METHODS, JobBackend
from tuneplug.jobs.inputs import check_data
from tuneplug.jobs.types import Job, JobEvent, JobSpec, JobStatus
from tuneplug.provider import Provider
from tuneplug.speech import setting, speaks_flags
from tuneplug.text import check_text, check_texts
from tuneplug.types import Capability
from tuneplug.validation_words import problem

if TYPE_CHECKING:
    from tuneplug.options import OptionError

__all__ = [
    "backend_for",
    "follow",
    "get_job",
    "job_backend",
    "make_spec",
    "not_running",
    "optional",
    "spec_error",
]


def backend_for(provider: Provider) -> JobBackend:
    """The jobs of ``provider``: native, else the local job runner.

    Raises:
        CapabilityError: the provider has neither ``tuneplug_jobs`` nor the step hooks.
    """
    if provider.has("tuneplug_jobs"):
        backend: JobBackend = provider.call("tuneplug_jobs")
        return backend
    if Capability.FINE_TUNE in provider.capabilities:
        from tuneplug.jobs.local import LocalJobs

        return LocalJobs(provider)
    raise CapabilityError(
        "cannot run fine-tuning jobs: the provider implements neither tuneplug_jobs "
        "nor FineTunable",
        provider=provider.name,
    )


def optional(backend: JobBackend, method: str, provider: str) -> Callable[..., Any]:
    """The backend's optional ``method`` (``pause``, ``resume``, ``checkpoints``, ``delete``).

    Raises:
        CapabilityError: the backend does not implement it (before any request).
    """
    found: Callable[..., Any] | None = getattr(backend, method, None)
    if not callable(found):
        raise CapabilityError(
            f"this provider's jobs cannot be {OPTIONAL_METHODS[method]}: its job service "
            f"offers no {method}",
            provider=provider,
        )
    return found


def job_backend(name: str) -> JobBackend:
    """The job backend of the provider called ``name`` (configured as usual)."""
    from tuneplug.config import load_config
    from tuneplug.models import _registry

    config = load_config()
    return backend_for(_registry(config).provider(name, config=config))


def make_spec(model: str, data: Any, spec: dict[str, Any]) -> JobSpec:
    """A validated :class:`JobSpec` (``InvalidRequestError`` naming the field, no I/O)."""
    if "model" in spec or "training_data" in spec:
        raise InvalidRequestError("pass the model and the training data positionally")
    check_data(data, "training_data")
    if spec.get("validation_data") is not None:
        check_data(spec["validation_data"], "validation_data")
    _check_method_options(spec)
    _check_extra_names(spec)
    # Text fields (suffix, extra, ...): pydantic's own message names no offset.
    for name, value in spec.items():
        if name != "validation_data":  # a path may hold undecodable bytes: check_data's
            check_texts(value, name)
    try:
        return JobSpec(model=model, training_data=data, **spec)
    except ValidationError as exc:
        raise spec_error(exc) from None
    except TypeError as exc:
        raise InvalidRequestError(f"invalid job spec: {exc}") from None


METHOD_OPTIONS = {"beta": "dpo"}
"""Job options of one training method only (OpenAI's ``method.<type>.hyperparameters``)."""


def _check_method_options(spec: dict[str, Any]) -> None:
    """Refuse an option of another method than the spec's, whatever the provider, before
    any I/O: ``beta applies only to method="dpo"`` (on the CLI ``--method dpo``), not the
    provider's "unknown option" for a name it knows under DPO."""
    from tuneplug.options import OptionError

    extra = spec.get("extra")
    if not isinstance(extra, dict):
        return  # JobSpec names the wrong type
    for option, method in METHOD_OPTIONS.items():
        if option in extra and spec.get("method", "sft") != method:
            detail = f"applies only to {setting('method', method)}"
            raise OptionError(f"{option} {detail}", option=option, detail=detail)


def _check_extra_names(spec: dict[str, Any]) -> None:
    """Refuse a job spec field passed in ``extra`` (``extra={"rank": 4}``), naming the
    argument that sets it, not the provider's "unknown option"."""
    from tuneplug.options import OptionError

    extra = spec.get("extra")
    if not isinstance(extra, dict):
        return  # JobSpec names the wrong type
    for name, value in extra.items():
        if name in JobSpec.model_fields:
            detail = f"a field of the job spec, not a provider option: set it with {setting(name)}"
            shown = setting(name, value) if _jsonable(value) else setting(name)
            raise OptionError(
                f"extra[{name!r}] is a field of the job spec, not a provider option: "
                f"set it with {shown}",
                option=name,
                detail=detail,
            )


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def spec_error(exc: ValidationError) -> OptionError:
    """The first of a :class:`JobSpec`'s validation errors, in tuneplug's words.

    An ``OptionError`` naming the field (``option``), so a front end says which of its
    own inputs it was (the CLI its flag, the gateway its body field); ``detail`` is the
    problem alone: ``must be an integer in 1..1000, got 0`` for a bounded number.
    """
    from tuneplug.options import OptionError

    err = exc.errors(include_url=False)[0]
    field = ".".join(str(p) for p in err["loc"])
    detail = problem(err, JobSpec)
    if field and detail.startswith("must be "):
        message = f"{field} {detail}"  # n_epochs must be an integer in 1..1000, got 0
    else:
        message = f"invalid job spec: {field}: {detail}" if field else f"invalid job spec: {detail}"
    option = str(err["loc"][0]) if err["loc"] else None
    return OptionError(message, option=option, detail=detail)


def get_job(ref: str) -> Job:
    """The job ``ref`` names: ``provider/job_id``, or a bare id of a local job.

    Raises:
        InvalidRequestError: the reference is not a string, empty or malformed.
        NotFoundError: the provider has no such job.
    """
    check_name(ref, "ref", "a job reference, 'provider/job_id' or a local job's id")
    check_text(ref, "the job reference")
    provider, sep, job_id = ref.partition("/")
    if sep and not (provider and job_id):
        raise InvalidRequestError(f"bad job reference {ref!r}: expected 'provider/job_id'")
    if not sep:
        from tuneplug.jobs.local import job_store

        provider, job_id = job_store().get(ref).provider, ref
    return job_backend(provider).get(job_id)


def follow(
    job: Job,
    on_event: Callable[[JobEvent], None] | None,
    timeout: float | None,
    poll_interval: float | None,
    clock: Callable[[], float] = time.monotonic,
) -> Job:
    """:meth:`Job.wait`: poll state and events until the job ends (see there)."""
    if on_event is not None and not callable(on_event):
        raise InvalidRequestError(
            f"on_event must be a callable or None, got {type(on_event).__name__}"
        )
    if timeout is not None:
        check_number(timeout, "timeout (seconds)", low=0)
    if poll_interval is not None:
        check_number(poll_interval, "poll_interval (seconds)", low=0)
    backend = job.backend()
    interval = poll_interval or float(getattr(backend, "poll_interval", 1.0))
    deadline = None if timeout is None else clock() + timeout
    after: str | None = None
    stopped_before = False
    while True:
        current = backend.get(job.id)  # state first: events up to it are all written
        after = _drain(backend, job.id, after, on_event)
        if current.status.is_terminal:
            return current
        left = None if deadline is None else deadline - clock()
        stopped = current.status is JobStatus.PAUSED and current.raw_status in _STOPPED
        # Seen twice in a row (or at the deadline): one probe of a runner's lock is not proof.
        if stopped and (stopped_before or (left is not None and left <= 0)):
            raise not_running(current)
        stopped_before = stopped
        if left is not None and left <= 0:
            raise TimeoutError(
                f"job {job.id} still {current.status.value} after {timeout} s",
                provider=job.provider,
            )
        time.sleep(interval if left is None else min(interval, left))


_STOPPED = {
    # A queued job whose process exited before its runner began reads interrupted too.
    "interrupted": "its runner was interrupted or killed, or its process exited before it ran",
    "paused": "it was paused",
}
"""Raw statuses of a paused job nothing will continue by itself (``pausing`` still runs)."""


def not_running(job: Job) -> TuneplugError:
    """The error of a paused job nothing will continue by itself: one wording wherever
    it is followed (``job.wait()``, ``jobs wait``, ``jobs events -f``, an attached job)."""
    why = _STOPPED.get(str(job.raw_status), "it was paused")
    how = f"`tuneplug jobs resume {job.ref}`" if speaks_flags() else "job.resume()"
    return TuneplugError(
        f"job {job.id} is not running: {why} (resume it with {how})", provider=job.provider
    )


def _drain(
    backend: JobBackend, job_id: str, after: str | None, on_event: Callable[[JobEvent], None] | None
) -> str | None:
    # Bounded by what exists: each page moves `after` forward, the last has no more.
    while True:
        page = backend.events(job_id, after=after, limit=100)
        for event in page:
            if on_event is not None:
                on_event(event)
            after = event.id
        if not page.has_more or not page.data:
            return after
