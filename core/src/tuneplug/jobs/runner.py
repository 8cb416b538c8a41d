"""The local job runner's loop: every step of a job, applied exactly once.

Step ``s`` of a job is journalled ``started`` before it is sent with the
idempotency key ``"<job id>:<s>"`` and ``done`` (with its result and event)
after. A run that finds a started-not-done step (the previous run was killed
between the two writes) re-sends it with the same key when the provider names
``idempotency_key`` in ``tuneplug_fine_tune`` (it answers a seen key with the
recorded result and applies nothing); otherwise the job stops, naming the step,
rather than guess whether the adapter already learned from it.

When a step raises, what the error says decides: a refusal (a client error, a
rate limit, a 503, an error raised before any request) was not applied and the
step is simply sent again on resume; anything else (a timeout, a dropped
connection, a 500, an unexpected exception) leaves the step's outcome unknown.
On such a provider an interrupt while a step is in flight is held until the step is
journalled done (:mod:`tuneplug.jobs.interrupts`); a second one abandons the step,
and the job is journalled failed on it (:class:`~tuneplug.jobs.interrupts.StepAbandoned`).

At a checkpoint (an epoch's end) a provider with ``tuneplug_copy_adapter`` is
asked for a copy of the adapter before the next step is journalled started
(:class:`tuneplug.jobs.checkpoints.Copies`), so a resumed run knows the adapter
still holds exactly that epoch's steps when it makes a copy a killed run did not.

A started step means "perhaps sent", so a step is journalled started last, right
before its hook is called: its batch is read, the cancel and pause requests checked,
the previous step's event told to listeners, an epoch's validation and copy made, all
before. A run that fails or is interrupted before the call (Ctrl-C) drops the step
again, so the job resumes by sending it rather than stopping on a step no provider
ever saw. What is left is inherent to marking before sending: a ``kill -9`` between
that journal write and the provider's bytes leaving (the hook's own work before it
sends: building the request, connecting) leaves a step no one can tell from a sent
one, unless the provider takes idempotency keys.

Batches are deterministic: epoch ``e`` visits the samples in the order
:func:`tuneplug.jobs.data.permuted` gives for the job's seed and ``e``, so a
resumed job sends exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from tuneplug.errors import TuneplugError
from tuneplug.jobs import starting
from tuneplug.jobs.adapter_lock import busy_error
from tuneplug.jobs.checkpoints import Copies
from tuneplug.jobs.data import SampleFile, permuted
from tuneplug.jobs.interrupts import HeldInterrupts, StepAbandoned
from tuneplug.jobs.outcomes import is_refusal, lost_how, uncertain_message
from tuneplug.jobs.store import Event, EventRow, JobRow, JobStore
from tuneplug.provider import Provider
from tuneplug.types import FineTuneResult, ModelInfo, Sample

__all__ = ["EXIT_AFTER_STEP_ENV", "Runner", "is_refusal", "runner_lock"]

EXIT_AFTER_STEP_ENV = "TUNEPLUG_JOBS_EXIT_AFTER_STEP"
"""Fault injection for tests: ``os._exit`` right after step N returns, before its journal entry."""

PROBE_GRACE = 2.0
"""Seconds a starting runner waits for the lock: probes hold it briefly, runners for good."""


def runner_lock(job_dir: Path) -> FileLock:
    """The lock a job's runner holds while it runs (how others tell it is alive)."""
    return FileLock(job_dir / "runner.lock")


class Runner:
    """Runs one job of ``provider`` to its end (or until cancelled, failed or killed)."""

    def __init__(self, store: JobStore, provider: Provider, job_dir: Path, job_id: str) -> None:
        """Bind the runner to its journal, provider and job."""
        self.store = store
        self.provider = provider
        self.dir = job_dir
        self.job_id = job_id
        self._listening = False
        # The step journalled started and not yet handed to the provider, if any.
        self._unsent: int | None = None
        # Interrupts held while a step that cannot be sent again is in flight (no keys).
        self._held: HeldInterrupts | None = None
        self._exit_after = int(os.environ.get(EXIT_AFTER_STEP_ENV, "0") or 0)

    def run(self, on_event: Callable[[EventRow], None] | None = None) -> JobRow:
        """Run the job in this thread under its lock; returns its final row.

        Raises:
            TuneplugError: another process or thread is running this job.
            KeyboardInterrupt: passed on after the journal is left resumable.
        """
        lock = runner_lock(self.dir)
        try:
            # Not 0: `alive()` probes (jobs get/list/wait elsewhere) hold the lock for an instant.
            lock.acquire(timeout=PROBE_GRACE)
        except Timeout:
            starting.release(self.dir)  # another runner has it: nothing left to start
            raise TuneplugError(
                f"job {self.job_id} is already running (in another process or thread); "
                f"follow it with `tuneplug jobs wait {self.job_id}`",
                retryable=True,
            ) from None
        # The job is run now: the start lock its starter held (if this process) goes.
        starting.release(self.dir)
        try:
            # Who runs the job, for `kill` and for the crash tests (only meaningful while locked).
            (self.dir / "runner.pid").write_text(str(os.getpid()), encoding="ascii")
            self._listening = on_event is not None
            if not self.provider.accepts("tuneplug_fine_tune", "idempotency_key"):
                self._held = HeldInterrupts(self.provider.name)
            with self._held or contextlib.nullcontext():
                return self._run(on_event or (lambda event: None))
        except BaseException as exc:
            self._forget_unsent()
            abandoned = None if self._held is None else self._held.abandoned
            if isinstance(exc, KeyboardInterrupt) and abandoned is not None:
                raise self._abandon(abandoned) from None
            if isinstance(exc, Exception):
                self._failed(exc)
            raise
        finally:
            lock.release()

    def _forget_unsent(self) -> None:
        """Drop the step this run journalled started but never sent: resuming sends it."""
        if self._unsent is None:
            return
        # Best effort: a journal that cannot be written keeps the step open, which only
        # makes a resume more careful than it needs to be.
        with contextlib.suppress(TuneplugError):
            self.store.forget_step(self.job_id, self._unsent)

    def _abandon(self, step: int) -> StepAbandoned:
        """Journal the job failed on ``step``, which a second interrupt abandoned in flight."""
        why = f"it was abandoned (interrupted twice) before {self.provider.name!r} answered"
        message = self._uncertain(step, self.store.get(self.job_id), why)
        with contextlib.suppress(TuneplugError):  # the journal's step stays open regardless
            event: Event = ("error", "message", message, step, {})
            self.store.set_status(self.job_id, "failed", event, error=message)
        return StepAbandoned(message)

    def _uncertain(self, step: int, row: JobRow, why: str | None) -> str:
        """:func:`uncertain_message` for ``step``, naming the newest kept checkpoint copy."""
        made = self.store.checkpoint_copies(self.job_id)
        kept = [(at, str(model)) for at, _, model, state in made if state == "kept"]
        copy = next(iter(kept), None)
        name = self.provider.name
        return uncertain_message(self.job_id, step, name, row.target, copy, why, row.origin)

    def _failed(self, exc: Exception) -> None:
        """Journal an error the loop did not (resolving the model, reading the copy, ...)."""
        row = self.store.get(self.job_id)
        if row.status in ("succeeded", "failed", "cancelled"):
            return  # journalled where it happened (a step's error)
        if isinstance(exc, TuneplugError):
            reason = exc.said_of(self.provider.name)
        else:
            reason = f"{type(exc).__name__}: {exc}"
        event: Event = ("error", "message", f"failed: {reason}", None, {})
        self.store.set_status(self.job_id, "failed", event, error=reason)

    def _emit(self, on_event: Callable[[EventRow], None], after: int) -> int:
        if not self._listening:
            return after  # nobody to tell: no read per step
        rows, _ = self.store.events(self.job_id, after, 1000)
        for row in rows:
            on_event(row)
        return rows[-1].seq if rows else after

    def _run(self, on_event: Callable[[EventRow], None]) -> JobRow:
        row = self.store.get(self.job_id)
        if row.status in ("succeeded", "failed", "cancelled") and not self._resumable(row):
            return row
        if row.status == "paused":
            return row  # paused while this runner waited for the lock: resume() unpauses
        seen = self._emit(on_event, 0)
        if row.cancel_requested:
            cancelled: Event = ("info", "message", "cancelled", None, {})
            self.store.set_status(self.job_id, "cancelled", cancelled)
            self._emit(on_event, seen)
            return self.store.get(self.job_id)
        settings = row.settings
        total, per_epoch = row.steps_total, settings["steps_per_epoch"]
        keyed = self.provider.accepts("tuneplug_fine_tune", "idempotency_key")
        pending = self.store.open_step(self.job_id)
        if pending is not None and not keyed:
            why = lost_how(self.store, self.job_id, pending.step, self.provider.name)
            message = self._uncertain(pending.step, row, why)
            event: Event = ("error", "message", message, pending.step, {})
            self.store.set_status(self.job_id, "failed", event, error=message)
            self._emit(on_event, seen)
            return self.store.get(self.job_id)
        first = row.steps_done + 1
        info = self._target(row)
        note = "started" if first == 1 and row.started_at is None else f"resumed at step {first}"
        begun: Event = ("info", "message", f"{note} ({total} steps)", None, {})
        other = self.store.take(self.job_id, "running", begun)
        if other is not None:
            raise busy_error(other)  # nothing sent: a failed job stays failed, others fail
        seen = self._emit(on_event, seen)
        copies = Copies(self.store, self.provider, self.job_id)
        with SampleFile(self.dir / "train.jsonl") as train:
            valid = SampleFile(self.dir / "valid.jsonl") if settings.get("valid_samples") else None
            try:
                if first > 1 and (first - 1) % per_epoch == 0:
                    self._validate(valid, info, (first - 2) // per_epoch)
                    seen = self._emit(on_event, seen)
                if copies.enabled:
                    copies.settle(keep=first - 1 if pending is None else None)
                # Step `first` was never sent: the adapter holds exactly steps 1..first-1,
                # so the copy a killed run did not make can be made now.
                if (
                    first <= total
                    and pending is None
                    and copies.wanted(first - 1, per_epoch, total)
                    and copies.due(first - 1)
                ):
                    copies.take(info, first - 1)
                    seen = self._emit(on_event, seen)
                for step in range(first, total + 1):
                    cancel, stop = self.store.requests(self.job_id)
                    # Nothing of this run is started yet; a step a killed run left open
                    # stays open (it may have been applied). A pause withdrawn since it
                    # was read (`jobs resume`) does not stop it.
                    if (cancel or stop is not None) and self._stop(
                        step, "cancel" if cancel else stop
                    ):
                        self._emit(on_event, seen)
                        return self.store.get(self.job_id)
                    epoch = (step - 1) // per_epoch
                    batch = self._batch(train, settings, step)
                    # Journalled started last, right before it is sent: a run killed
                    # anywhere else (a listener, validation, a copy, reading the batch)
                    # leaves no step that looks perhaps sent.
                    # (The step a killed run left open may have been applied: never dropped.)
                    self._unsent = None if pending and pending.step == step else step
                    self.store.start_step(self.job_id, step, epoch)
                    try:
                        result = self._send(info, batch, step)
                    finally:
                        seen = self._emit(on_event, seen)
                    if step == self._exit_after:
                        os._exit(86)  # the test's kill point: applied, not yet journalled
                    self.store.finish_step(
                        self.job_id, step, result.trainable_tokens, result.sum_loss,
                        _step_event(step, total, epoch, result),
                    )  # fmt: skip
                    if self._held is not None:
                        self._held.end()
                    seen = self._emit(on_event, seen)
                    if self._held is not None:
                        self._held.release()  # an interrupt held in the step stops the job here
                    if step % per_epoch == 0:
                        self._validate(valid, info, epoch)
                        seen = self._emit(on_event, seen)
                    if copies.wanted(step, per_epoch, total):
                        copies.take(info, step)
                        seen = self._emit(on_event, seen)
            finally:
                if valid is not None:
                    valid.close()
        if copies.enabled:
            copies.retain(final=True)  # the job's own model is now the newest checkpoint's
        final = f"{self.provider.name}/{row.target}"
        self.store.set_status(
            self.job_id, "succeeded", ("info", "message", f"succeeded: {final}", None, {})
        )
        self._emit(on_event, seen)
        return self.store.get(self.job_id)

    def _stop(self, step: int, why: str | None) -> bool:
        """Journal the job stopped on request before ``step`` (which was not sent);
        ``False`` when the request was withdrawn meanwhile (the job runs on)."""
        if why == "cancel":
            event: Event = ("info", "message", f"cancelled before step {step}", None, {})
            self.store.set_status(self.job_id, "cancelled", event)
            return True
        if why == "pause":
            paused: Event = ("info", "message", f"paused before step {step}", None, {})
            return self.store.stop(self.job_id, "paused", paused, requested="pause")
        # requeue: the server running it is stopping; it resumes the job when it restarts
        message = f"stopped before step {step}: its server is stopping; queued for its restart"
        requeued: Event = ("info", "message", message, None, {})
        return self.store.stop(self.job_id, "queued", requeued, requested="requeue")

    @staticmethod
    def _resumable(row: JobRow) -> bool:
        return row.status == "failed"

    def _target(self, row: JobRow) -> ModelInfo:
        from tuneplug.models import resolve

        return resolve(self.provider, row.target)

    @staticmethod
    def _batch(train: SampleFile, settings: dict[str, Any], step: int) -> list[Sample]:
        size, per_epoch, n = settings["batch_size"], settings["steps_per_epoch"], train.count
        epoch, index = divmod(step - 1, per_epoch)
        order: Callable[[int], int] = (
            permuted(n, settings["seed"], epoch).__getitem__
            if settings.get("shuffle", True)
            else int
        )
        return train.batch([order(i) for i in range(index * size, min(n, (index + 1) * size))])

    def _send(self, info: ModelInfo, batch: list[Sample], step: int) -> FineTuneResult:
        """The step's result; on an error, the job is journalled failed and the error raised."""
        try:
            self._unsent = None  # from here on the provider may have seen it
            if self._held is not None:
                self._held.begin(step)
            result: FineTuneResult = self.provider.call(
                "tuneplug_fine_tune", model=info, samples=batch,
                idempotency_key=f"{self.job_id}:{step}",
            )  # fmt: skip
            if self._held is not None:
                self._held.answered()  # a second interrupt from here on abandons nothing
            return result
        except TuneplugError as exc:
            if is_refusal(exc):
                self.store.forget_step(self.job_id, step)
            said = exc.said_of(self.provider.name)
            reason = f"step {step} failed: {said}"
            self.store.set_status(
                self.job_id, "failed", ("error", "message", reason, step, {}), error=said
            )
            raise
        except Exception as exc:  # a plugin bug: fail the job, keep the step open
            reason = f"step {step} failed: {type(exc).__name__}: {exc}"
            self.store.set_status(
                self.job_id, "failed", ("error", "message", reason, step, {}), error=reason
            )
            raise

    def _validate(self, valid: SampleFile | None, info: ModelInfo, epoch: int) -> None:
        """Journal the validation loss after ``epoch`` (0-based), once."""
        if valid is None:
            return
        done, _ = self.store.events(self.job_id, None, 1_000_000, kind="valid")
        if any(e.metrics.get("epoch") == epoch + 1 for e in done):
            return
        if not self.provider.has("tuneplug_evaluate"):
            message = (
                f"epoch {epoch + 1}: no validation loss: {self.provider.name!r} does not "
                "implement tuneplug_evaluate (a loss without a training step)"
            )
            warning = ("warn", "valid", message, None, {"epoch": epoch + 1.0})
            self.store.add_event(self.job_id, warning)
            return
        total = FineTuneResult(trainable_tokens=0, sum_loss=0.0)
        batch: list[Sample] = []
        for sample in valid.in_order():
            batch.append(sample)
            if len(batch) == 64:
                total = total + self.provider.call("tuneplug_evaluate", model=info, samples=batch)
                batch = []
        if batch:
            total = total + self.provider.call("tuneplug_evaluate", model=info, samples=batch)
        metrics = {"epoch": epoch + 1.0, "valid_tokens": float(total.trainable_tokens)}
        if total.loss is not None and math.isfinite(total.loss):
            metrics["valid_loss"] = total.loss
        shown = "-" if total.loss is None else f"{total.loss:.4f}"
        self.store.add_event(
            self.job_id, ("info", "valid", f"epoch {epoch + 1}: valid loss {shown}", None, metrics)
        )


def _step_event(step: int, total: int, epoch: int, result: FineTuneResult) -> Event:
    metrics = {"tokens": float(result.trainable_tokens), "epoch": epoch + 1.0}
    loss = result.loss
    if loss is not None and math.isfinite(loss):
        metrics["loss"] = loss
    if math.isfinite(result.sum_loss):
        metrics["sum_loss"] = result.sum_loss
    shown = "-" if loss is None else f"{loss:.4f}"
    return ("info", "step", f"step {step}/{total}: loss {shown}", step, metrics)
