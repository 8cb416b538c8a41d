"""Every error a fine-tuning job route answers, in the client's terms.

One place for what the backend's job errors become, whatever the route (create,
retrieve, events, checkpoints, cancel, pause, resume):

* no backend id: the backend's job id and reference (``mock/ftjob-5ead...``), the
  hex of its checkpoint ids and the backend models it trains are replaced by the
  client's job id, checkpoint hex and ``ft:`` model; server paths by ``<path>``;
* one condition, one ``code``: a job that ended (``succeeded``, ``failed``,
  ``cancelled``) cannot be cancelled, paused or resumed: 409 ``job_finished``;
  resuming a job that is not paused: 409 ``job_not_paused``. Both carry
  ``x-should-retry: false`` (the SDK retries a 409 otherwise: the answer will not change);
* a field at fault is the ``param``, named as the client sent it
  (``hyperparameters.n_epochs``, or ``method.supervised.hyperparameters.n_epochs``),
  code ``invalid_request``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tuneplug.errors import TuneplugError

from tuneplug_openai.protocol.errors import OpenAIError, from_tuneplug

if TYPE_CHECKING:
    from tuneplug_openai.protocol.schemas import JobBody

__all__ = [
    "ENDED",
    "job_aliases",
    "job_finished",
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
    """409 ``job_finished``: the job ``job_id`` ended with ``status``; nothing to ``action``."""
    return OpenAIError(
        409,
        f"job {job_id!r} has already {_WORDS.get(status, status)}; nothing to {action}",
        code="job_finished",
        headers=_NO_RETRY,
    )


def not_paused(job_id: str, status: str) -> OpenAIError:
    """409 ``job_not_paused``: only a paused job can be resumed."""
    return OpenAIError(
        409,
        f"job {job_id!r} is {status}, not paused; nothing to resume",
        code="job_not_paused",
        headers=_NO_RETRY,
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
    except TuneplugError as exc:
        raise from_tuneplug(exc, aliases=aliases, params=params) from exc
