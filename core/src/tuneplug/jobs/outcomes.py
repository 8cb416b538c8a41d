"""Whether a step that raised was applied, and what a job says when no one can tell.

A refusal (a client error, a rate limit, a 503, an error raised before any request)
proves the step was not applied: the job resumes by sending it again. Anything else
leaves its outcome unknown, and on a provider without idempotency keys the job stops
on it, saying how the outcome was lost and what the adapter holds
(:func:`uncertain_message`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuneplug.errors import (
    AuthenticationError,
    CapabilityError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TuneplugError,
    UnknownModelError,
)

if TYPE_CHECKING:
    from tuneplug.jobs.store import JobRow, JobStore

__all__ = [
    "cannot_continue",
    "is_refusal",
    "lost_how",
    "newest_copy",
    "stopped_on",
    "uncertain_message",
]

_UNCERTAIN = "may or may not have been applied: "
_RUN_BEGAN = ("started (", "resumed at step ")  # the runner's first event of a run

_REFUSALS = (
    InvalidRequestError,
    CapabilityError,
    NotFoundError,
    AuthenticationError,
    PermissionDeniedError,
    RateLimitError,
    ConfigError,
    UnknownModelError,
)


def is_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` proves the step was not applied (so sending it again is safe)."""
    if isinstance(exc, _REFUSALS):
        return True
    if isinstance(exc, TuneplugError) and exc.status is not None:
        # 503 and 4xx are answers of a server that did not do the work; 408, 500,
        # 502 and 504 may come after it did.
        return exc.status == 503 or (400 <= exc.status < 500 and exc.status != 408)
    return False


def uncertain_message(
    job_id: str,
    step: int,
    provider: str,
    target: str,
    copy: tuple[int, str] | None = None,
    why: str | None = None,
    origin: str | None = None,
) -> str:
    """What a job says when it stops on a step it cannot prove applied or not, and how
    to go on (``copy``: the step and model of its newest kept checkpoint copy).

    ``why`` says how the step's outcome was lost (default: the run sending it stopped
    before the provider answered, as after a ``kill -9``). A job of ``tuneplug
    fine-tune`` (``origin``) also names ``--no-resume``: rerunning that command as it
    was resumes this job, which stops here again.
    """
    why = why or f"the run sending it stopped before {provider!r} answered"
    return (
        f"step {step} of job {job_id} {_UNCERTAIN}{why}, and "
        f"{provider!r} does not take idempotency keys, so sending it again could train on "
        "that batch twice; the job stops here instead of guessing (the adapter holds "
        f"{_holds(step)}); to go on, {_how(provider, target, copy, origin)}"
    )


def _holds(step: int) -> str:
    held = f"steps 1..{step - 1}" if step > 2 else "step 1" if step == 2 else "none of its steps"
    return f"{held}, perhaps step {step}"


def _how(provider: str, target: str, copy: tuple[int, str] | None, origin: str | None) -> str:
    create = f"`tuneplug jobs create {provider}/{target} DATA`"
    if origin is not None and origin.startswith("fine-tune:"):
        create += ", or the same `tuneplug fine-tune` with `--no-resume`"
    how = f"start a new job on the adapter as it is now ({create})"
    if copy is not None:
        how += (
            f", or on this job's newest checkpoint copy, which holds exactly its steps "
            f"1..{copy[0]} (`tuneplug jobs create {copy[1]} DATA`)"
        )
    return how


def newest_copy(store: JobStore, job_id: str) -> tuple[int, str] | None:
    """The step and model of the job's newest kept checkpoint copy, if any."""
    made = store.checkpoint_copies(job_id)
    return next(((at, str(model)) for at, _, model, state in made if state == "kept"), None)


def stopped_on(row: JobRow, step: int) -> bool:
    """Whether ``row``'s job already stopped on ``step`` saying :func:`uncertain_message`."""
    return (row.error or "").startswith(f"step {step} of job {row.id} {_UNCERTAIN}")


def cannot_continue(store: JobStore, row: JobRow, step: int) -> str:
    """Why resuming ``row``'s job is refused while ``step`` is open on a provider without
    idempotency keys, and how to go on: what ``job.resume()`` and ``jobs resume`` say
    before anything is sent (the job named once; the stop itself said
    :func:`uncertain_message`, with the same reason: :func:`lost_how`)."""
    why = lost_how(store, row.id, step, row.provider)
    why = why or f"the run sending it stopped before {row.provider!r} answered"
    how = _how(row.provider, row.target, newest_copy(store, row.id), row.origin)
    return (
        f"job {row.id} cannot be continued: step {step} {_UNCERTAIN}{why}, and "
        f"{row.provider!r} does not take idempotency keys, so sending it again could train "
        f"on that batch twice (the adapter holds {_holds(step)}); to go on, {how}"
    )


def lost_how(store: JobStore, job_id: str, step: int, provider: str) -> str | None:
    """How the open ``step``'s outcome was lost: when sending it failed with an error
    that does not prove it was not applied, that; when the job already stopped on it
    (abandoned by a second Ctrl-C, or a resume that stopped), the reason it gave then,
    so every resume says the same; ``None``: the run stopped meanwhile (a kill)."""
    failed = f"step {step} failed: "
    stopped = f"step {step} of job {job_id} {_UNCERTAIN}"
    tail = f", and {provider!r} does not take idempotency keys"
    events, _ = store.events_newest(job_id, None, 50)
    for event in events:
        if event.level == "info" and event.message.startswith(_RUN_BEGAN):
            return None  # the errors before it are an earlier run's (a refusal it resent)
        if event.level != "error" or event.step != step:
            continue
        if event.message.startswith(failed):
            error = event.message.removeprefix(failed)
            return f"sending it failed with an error that does not prove it was not ({error})"
        if event.message.startswith(stopped) and tail in event.message:
            return event.message[len(stopped) : event.message.index(tail, len(stopped))]
    return None
