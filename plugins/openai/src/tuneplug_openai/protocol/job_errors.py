"""Every error a fine-tuning job route answers, in the client's terms.

One place for what the backend's job errors become, whatever the route (create,
retrieve, events, checkpoints, cancel, pause, resume):

* no backend id: the backend's job id and reference (``mock/ftjob-5ead...``), the
  hex of its checkpoint ids and the backend models it trains are replaced by the
  client's job id, checkpoint hex and ``ft:`` model; server paths by ``<path>``;
* one condition, one ``code``: a job that ended (``succeeded``, ``failed``,
  ``cancelled``) cannot be cancelled, paused or resumed: 400 ``job_finished``;
  resuming a job that is not paused: 400 ``job_not_paused``. A status no client
  retries (the SDK retries every 409; the answer will not change), and
  ``x-should-retry: false`` besides;
* a job on a model another unfinished job trains (one job at a time trains a model,
  :mod:`tuneplug.jobs.adapter_lock`): 409 ``model_busy``, naming that job when it is
  the client's own and nothing of it otherwise, also with ``x-should-retry: false``
  (a retry at once meets the same job);
* resuming a job whose model another job trained since its last step (a failed job
  freed it): 409 ``model_changed``, naming no job, ``x-should-retry: false``;
* deleting a model a job trains: 409 ``model_busy`` (:func:`model_in_use`), naming the
  job and its ``/cancel`` route only when it is the client's own;
* continued fine-tuning on a backend that cannot copy a model (the job would change its
  source): 400 ``model_not_continuable`` (:func:`not_continuable`), before anything is made;
* a bad uploaded file is named by its file id and line (``file-...:2: ...``), ``param``
  ``training_file`` or ``validation_file``, code ``invalid_<param>``;
* a field at fault is the ``param``, named as the client sent it
  (``hyperparameters.n_epochs``, or ``method.supervised.hyperparameters.n_epochs``),
  code ``invalid_request``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuneplug.errors import (
    AdapterBusyError,
    AdapterChangedError,
    SampleFileError,
    TuneplugError,
)
from tuneplug.server.errors import scrub

from tuneplug_openai.protocol.errors import OpenAIError, from_tuneplug

if TYPE_CHECKING:
    from tuneplug_openai.protocol.schemas import JobBody

__all__ = [
    "ENDED",
    "file_error",
    "job_aliases",
    "job_finished",
    "model_busy",
    "model_changed",
    "model_in_use",
    "not_continuable",
    "not_paused",
    "speaking_for",
    "spec_params",
]

ENDED = ("succeeded", "failed", "cancelled")
"""Statuses after which nothing can be cancelled or paused."""

_NO_RETRY = {"x-should-retry": "false"}
_WORDS = {"succeeded": "succeeded", "failed": "failed", "cancelled": "been cancelled"}
_HYPER = ("n_epochs", "batch_size", "learning_rate_multiplier", "beta")


def job_finished(job_id: str, status: str, action: str) -> OpenAIError:
    """400 ``job_finished``: the job ``job_id`` ended with ``status``; nothing to ``action``.

    400, not 409: the condition is permanent, and the SDK retries every 409 (a client
    that ignores ``x-should-retry`` would ask three more times for the same answer).
    """
    return OpenAIError(
        400,
        f"job {job_id!r} has already {_WORDS.get(status, status)}; nothing to {action}",
        code="job_finished",
        headers=_NO_RETRY,
    )


def record_gone(job_id: str, action: str, training_file: str) -> OpenAIError:
    """400 ``backend_record_gone``: the backend's record of the job ``job_id`` was removed
    behind the server's back, so nothing of it is left to ``action`` (permanent, as
    :func:`job_finished`); the advice names what can be done instead."""
    return OpenAIError(
        400,
        f"job {job_id!r} cannot {action}: the backend's record of it is gone (removed from "
        f"the server), and its steps and checkpoints with it; start a new job on its "
        f"training file {training_file!r} instead",
        code="backend_record_gone",
        headers=_NO_RETRY,
    )


def not_paused(job_id: str, status: str) -> OpenAIError:
    """400 ``job_not_paused``: only a paused job can be resumed (400 as :func:`job_finished`:
    asking again at once cannot succeed)."""
    return OpenAIError(
        400,
        f"job {job_id!r} is {status}, not paused; nothing to resume",
        code="job_not_paused",
        headers=_NO_RETRY,
    )


def model_busy(model: str | None, exc: AdapterBusyError, other: str | None) -> OpenAIError:
    """409 ``model_busy``: ``model`` (``None``: the job's own) is trained by the unfinished
    job of ``exc``, known to the client as ``other`` (``None``: not the client's job, so it
    is not named)."""
    status = "running" if exc.job_status in ("queued", "running") else exc.job_status
    what = "this job's model" if model is None else f"model {model!r}"
    if other is None:
        return OpenAIError(
            409,
            f"{what} is being trained by another job ({status}); one job at a "
            "time trains a model: start this one once that job has ended",
            code="model_busy",
            headers=_NO_RETRY,
        )
    url = f"/v1/fine_tuning/jobs/{other}"
    # The advice fits the job's state: a running job ends by itself, a paused one only
    # once resumed; either can be cancelled.
    ends = "wait for it to end" if status == "running" else f"resume it (POST {url}/resume)"
    return OpenAIError(
        409,
        f"{what} is being trained by job {other!r} ({status}); one job at a time "
        f"trains a model: {ends} or cancel it (POST {url}/cancel), then start this one",
        code="model_busy",
        headers=_NO_RETRY,
    )


def model_in_use(model: str, exc: AdapterBusyError, other: str | None) -> OpenAIError:
    """409 ``model_busy`` for deleting ``model`` while the unfinished job of ``exc`` trains
    it, known to the client as ``other`` (``None``: not the client's job, not named)."""
    status = "running" if exc.job_status in ("queued", "running") else exc.job_status
    if other is None:
        return OpenAIError(
            409,
            f"model {model!r} is being trained by another job ({status}): delete it once "
            "that job has ended",
            code="model_busy",
            param="model",
        )
    return OpenAIError(
        409,
        f"model {model!r} is being trained by job {other!r} ({status}): delete it once that "
        f"job has ended, or cancel it (POST /v1/fine_tuning/jobs/{other}/cancel) first",
        code="model_busy",
        param="model",
    )


def not_continuable(model: str, base: str) -> OpenAIError:
    """400 ``model_not_continuable``: continued fine-tuning of ``model`` (an ``ft:`` or
    checkpoint model) on a backend that cannot copy a model, so the job would change
    ``model`` instead of making a new one; ``base`` is where a new job can start."""
    return OpenAIError(
        400,
        f"continued fine-tuning is not supported by this server: a job on {model!r} would "
        f"change that model instead of making a new one; start the job from {base!r}",
        param="model",
        code="model_not_continuable",
    )


def model_changed() -> OpenAIError:
    """409 ``model_changed``: the job's model was trained by another job since this job's
    last step, so resuming would continue on weights it did not leave there."""
    return OpenAIError(
        409,
        "this job's model was trained by another job since this job's last step; resuming "
        "would continue on weights this job did not leave there: start a new job on the "
        "model (or on one of this job's checkpoint models) instead",
        code="model_changed",
        headers=_NO_RETRY,
    )


def file_error(
    exc: SampleFileError, training_id: str, validation: Path | None, validation_id: str | None
) -> OpenAIError:
    """400 naming the uploaded file by its id, line and field, as OpenAI's ``param``."""
    in_validation = validation is not None and Path(exc.path) == validation
    param = "validation_file" if in_validation else "training_file"
    file_id = (validation_id or "") if in_validation else training_id
    where = f"{file_id}:{exc.line}" if exc.line is not None else file_id
    field = f"{exc.field}: " if exc.field else ""
    return OpenAIError(
        400, f"{where}: {field}{scrub(exc.detail)}", param=param, code=f"invalid_{param}"
    )


def spec_params(body: JobBody) -> dict[str, str]:
    """Job spec field -> the body field the client set it with."""
    hyper = "hyperparameters"
    if body.method is not None:
        kind = body.method.type
        config = getattr(body.method, kind, None)
        if getattr(config, "hyperparameters", None) is not None:
            hyper = f"method.{kind}.hyperparameters"
    names = {name: f"{hyper}.{name}" for name in _HYPER}
    names.update(
        extra=f"{hyper}.beta",
        training_data="training_file",
        validation_data="validation_file",
        method="method",
        model="model",
    )
    return names


def _hex(job_id: str) -> str:
    return job_id.removeprefix("ftjob-")


def job_aliases(
    record: Mapping[str, Any], job_id: str, hidden: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Backend names -> the client's: the job's reference and id, its checkpoints' hex,
    and ``hidden`` (backend models -> the ``ft:`` id)."""
    ref = str(record["ref"])
    backend = ref.partition("/")[2]
    names = {ref: job_id, backend: job_id}
    if _hex(backend) != backend:
        names[_hex(backend)] = _hex(job_id)
    names.update(hidden or {})
    return names


@contextmanager
def speaking_for(
    aliases: Mapping[str, str], params: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Turn a backend error raised inside into the client's :class:`OpenAIError`."""
    try:
        yield
    except AdapterBusyError as exc:
        # Resuming a job whose model another job took: that job is not named (whose is it?).
        raise model_busy(None, exc, None) from exc
    except AdapterChangedError as exc:
        raise model_changed() from exc
    except TuneplugError as exc:
        raise from_tuneplug(exc, aliases=aliases, params=params) from exc
