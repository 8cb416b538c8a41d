"""The local job runner as a :class:`~tuneplug.jobs.backend.JobBackend`.

Every provider with the step hooks (``tuneplug_fine_tune``) gets jobs from
here. A job lives in ``$TUNEPLUG_HOME/jobs``: a row in the journal
(:mod:`tuneplug.jobs.store`) and a directory with its copy of the samples,
its runner's lock and (when detached) its runner's log.

Creating a job validates the spec and every sample, copies the samples, and
(for a base model) creates the adapter it will train, named from ``suffix`` or
the job id; an adapter given as the model is trained in place. Then the job
starts as asked: in a thread of this process (the Python default), in a
detached process of its own (``python -m tuneplug jobs resume ID --worker``,
in a new session so a closed terminal does not stop it), or not at all (the
CLI runs it in the foreground).

A runner checks, before each step, whether it was asked to cancel, to pause
(the job reads ``paused``; :meth:`LocalJobs.resume` continues it) or to
requeue (its server is stopping: the job reads ``queued`` and the server
resumes it when it restarts). Cancelling, pausing and resuming
(:mod:`tuneplug.jobs.control`), checkpoints (:mod:`tuneplug.jobs.checkpoints`),
deleting and pruning (:mod:`tuneplug.jobs.prune`), detaching
(:mod:`tuneplug.jobs.detach`) and checking a spec (:mod:`tuneplug.jobs.spec_check`) live in
modules of their own.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tuneplug.arguments import check_int
from tuneplug.errors import AdapterBusyError, InvalidRequestError, NotFoundError
from tuneplug.jobs.adapter_lock import busy_error
from tuneplug.jobs.backend import JobPage
from tuneplug.jobs.checkpoints import epoch_checkpoints
from tuneplug.jobs.control import JobControl, Start, running_here
from tuneplug.jobs.cursors import check_job_cursor, gone_cursor
from tuneplug.jobs.data import write_samples
from tuneplug.jobs.detach import check_detachable, spawn_worker
from tuneplug.jobs.events import event_seq, to_event
from tuneplug.jobs.inputs import iter_samples, no_samples
from tuneplug.jobs.probe import read_state, runner_alive
from tuneplug.jobs.prune import remove_job, served_by
from tuneplug.jobs.runner import Runner, runner_lock
from tuneplug.jobs.spec_check import adapter_options, check_spec
from tuneplug.jobs.starting import hand_over, hold, release
from tuneplug.jobs.store import JobRow, JobStore, journal_path
from tuneplug.jobs.types import Job, JobCheckpoint, JobEvent, JobSpec, JobStatus
from tuneplug.provider import Provider
from tuneplug.speech import speaks_flags
from tuneplug.types import Capability, ModelInfo, ModelKind

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_EPOCHS", "LocalJobs", "Start", "job_store"]

DEFAULT_BATCH_SIZE = 8
DEFAULT_EPOCHS = 1

_stores: dict[Path, JobStore] = {}
_stores_lock = threading.Lock()


def job_store() -> JobStore:
    """The journal under the current ``TUNEPLUG_HOME`` (one object per path)."""
    path = journal_path()
    with _stores_lock:
        store = _stores.get(path)
        if store is None:
            store = _stores[path] = JobStore(path)
        return store


class LocalJobs(JobControl):
    """Jobs of one provider run by the core (see the module docstring)."""

    poll_interval = 0.1
    """Seconds between polls when following a job: the journal is a local file."""

    def __init__(self, provider: Provider, store: JobStore | None = None) -> None:
        """Jobs of ``provider`` in ``store`` (default: the journal under ``TUNEPLUG_HOME``)."""
        self.provider = provider
        self.store = store or job_store()

    def _dir(self, job_id: str) -> Path:
        return self.store.path.parent / job_id

    def alive(self, job_id: str) -> bool:
        """Whether a runner (any process) holds the job's lock."""
        return runner_alive(self._dir(job_id))

    def to_job(self, row: JobRow) -> Job:
        """The public form of a journal row, its status as it reads (:mod:`.probe`): a
        job nothing runs or will run reads ``paused``, ``raw_status`` ``interrupted``."""
        row, status, raw = read_state(self.store, row, self.alive)
        settings = row.settings
        shown = ("n_epochs", "batch_size", "seed", "shuffle")
        hyper = {k: settings[k] for k in shown if k in settings}
        hyper.update({k: v for k, v in settings.get("adapter", {}).items() if v is not None})
        done = status is JobStatus.SUCCEEDED
        return Job(
            id=row.id, provider=row.provider, model=row.model, status=status, raw_status=raw,
            created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
            error=row.error, trained_tokens=row.trained_tokens,
            progress=row.steps_done / row.steps_total if row.steps_total else None,
            fine_tuned_model=f"{row.provider}/{row.target}" if done else None,
            hyperparameters=hyper,
        ).bind(self)  # fmt: skip

    # -- the JobBackend protocol -----------------------------------------------------

    def create(
        self,
        spec: JobSpec,
        *,
        start: Start = "thread",
        shuffle: bool = True,
        origin: str | None = None,
    ) -> Job:
        """Validate, copy the samples, create the adapter if needed, and start the job.

        ``shuffle=False`` keeps the file's order (``tuneplug fine-tune``);
        ``origin`` tags the job so a front end can find it again.

        Raises:
            InvalidRequestError: the spec asks for what the local runner cannot do.
            SampleFileError: a sample is invalid (before anything is created).
            CapabilityError: the provider cannot fine-tune.
        """
        self.provider.require(Capability.FINE_TUNE, "run fine-tuning jobs")
        if start == "detach":
            check_detachable(self.provider)
        info = check_spec(self.provider, spec)
        if info.kind is ModelKind.ADAPTER:
            self.check_free(info.id)  # before the samples are read
        job_id = f"ftjob-{secrets.token_hex(8)}"
        job_dir = self._dir(job_id)
        job_dir.mkdir(parents=True)
        # Held until the job is journalled: until then its directory has no record, and
        # `prune` must not take it for one a killed creation left (jobs/prune.py).
        creating = runner_lock(job_dir)
        creating.acquire()
        try:
            train = iter_samples(spec.training_data, self.provider, info)
            n = write_samples(train, job_dir / "train.jsonl")
            if n == 0:
                raise no_samples(spec.training_data, "training_data")
            n_valid = 0
            if spec.validation_data is not None:
                n_valid = write_samples(
                    iter_samples(spec.validation_data, self.provider, info, "validation_data"),
                    job_dir / "valid.jsonl",
                )
                if n_valid == 0:
                    raise no_samples(spec.validation_data, "validation_data")
            batch = spec.batch_size or DEFAULT_BATCH_SIZE
            epochs = spec.n_epochs or DEFAULT_EPOCHS
            per_epoch = -(-n // batch)
            target = (
                info.id if info.kind is ModelKind.ADAPTER else self._adapter(info, spec, job_id)
            )
        except BaseException:
            shutil.rmtree(job_dir, ignore_errors=True)
            creating.release()
            raise
        seed = spec.seed if spec.seed is not None else secrets.randbits(31)
        settings = {
            "n_epochs": epochs, "batch_size": batch, "seed": seed, "shuffle": shuffle,
            "samples": n, "valid_samples": n_valid, "steps_per_epoch": per_epoch,
            "adapter": {
                "rank": spec.rank, "learning_rate": spec.learning_rate, "suffix": spec.suffix,
                **adapter_options(spec),
            },
        }  # fmt: skip
        row = JobRow(
            id=job_id, provider=self.provider.name, model=info.id, target=target,
            status="queued", error=None, created_at=time.time(), started_at=None,
            finished_at=None, settings=settings, steps_total=epochs * per_epoch, steps_done=0,
            trained_tokens=0, cancel_requested=False, origin=origin,
        )  # fmt: skip
        what = f"{n} samples, {epochs} epoch(s) of {per_epoch} step(s), training {target}"
        try:
            # Held from before the job reads queued until its runner runs: a process that
            # exits before that leaves a job read as interrupted, not queued for ever.
            hold(job_dir, job_id)
            # Checked again in the write: another process may have taken the adapter since.
            other = self.store.insert(row, f"created: {what}")
            if other is not None:
                release(job_dir)
                shutil.rmtree(job_dir, ignore_errors=True)
                raise self.busy(other)
        except BaseException:
            release(job_dir)
            raise
        finally:
            creating.release()  # before the runner starts: it takes the same lock
        self._start(job_id, start)
        return self.get(job_id)

    def check_free(self, target: str, job_id: str | None = None) -> None:
        """Refuse when an unfinished job other than ``job_id`` trains this provider's
        adapter ``target`` (see :mod:`tuneplug.jobs.adapter_lock`).

        Raises:
            AdapterBusyError: naming that job and how to resume or cancel it.
        """
        other = self.store.holder(self.provider.name, target, job_id)
        if other is not None:
            raise self.busy(other)

    def busy(self, other: JobRow) -> AdapterBusyError:
        """:func:`busy_error` naming ``other``'s status as it reads (``interrupted``: its
        runner died, or its process exited before it ran), not its journal's."""
        return busy_error(other, state=read_state(self.store, other, self.alive)[2])

    def _adapter(self, base: ModelInfo, spec: JobSpec, job_id: str) -> str:
        from tuneplug.models import Model

        name = spec.suffix or job_id
        adapter = Model(base, self.provider).create_adapter(
            name, rank=spec.rank, learning_rate=spec.learning_rate, **adapter_options(spec)
        )
        return adapter.id

    def start(self, job_id: str, start: Start = "thread") -> Job:
        """Start the runner of a job created with ``start="none"`` (once its creator
        recorded it), in a thread of this process or a detached process."""
        self._start(job_id, start)
        return self.get(job_id)

    def _start(self, job_id: str, start: Start) -> None:
        # The start lock this process holds (jobs/starting.py) goes to the runner: the
        # thread's lets go of it once it runs; a detached one inherits it; with "none"
        # the caller's run() lets go of it.
        if start == "thread":
            threading.Thread(
                target=self._quietly, args=(job_id,), name=f"tuneplug-{job_id}", daemon=True
            ).start()
        elif start == "detach":
            fd = hand_over(self._dir(job_id))
            try:
                spawn_worker(job_id, self._dir(job_id), fd)
            finally:
                if fd is not None:
                    os.close(fd)  # the worker holds it now (or, not started, no one does)

    def _quietly(self, job_id: str) -> None:
        # The journal holds the outcome (failed, with its error) for job.wait();
        # nothing is left for a thread to raise to.
        with contextlib.suppress(Exception), running_here(job_id):
            Runner(self.store, self.provider, self._dir(job_id), job_id).run()

    def get(self, job_id: str) -> Job:
        """The job ``job_id`` of this provider (``NotFoundError`` otherwise)."""
        return self.to_job(self.store.get(job_id, self.provider.name))

    def list(self, *, after: str | None = None, limit: int = 20) -> JobPage[Job]:
        """This provider's local jobs, newest first."""
        _check_limit(limit, 100)
        check_job_cursor(after)
        try:
            rows, more = self.store.page(self.provider.name, after, limit)
        except NotFoundError:  # the cursor's job: none of this provider has that id
            raise gone_cursor(str(after), "job", provider=self.provider.name) from None
        return JobPage([self.to_job(r) for r in rows], more)

    def events(
        self, job_id: str, *, after: str | None = None, limit: int = 100
    ) -> JobPage[JobEvent]:
        """The job's events, oldest first, after the event id ``after``.

        Raises:
            NotFoundError: no job ``job_id`` of this provider, or ``after`` names no
                event of it.
            OptionError: ``after`` cannot be an event id (``option="after"``).
        """
        _check_limit(limit, 1000)
        self.store.get(job_id, self.provider.name)
        seq = event_seq(after)
        if seq is not None and not self.store.has_event(job_id, seq):
            raise gone_cursor(str(after), "event", job_id, self.provider.name)
        rows, more = self.store.events(job_id, seq, limit)
        return JobPage([to_event(r) for r in rows], more)

    def events_newest(
        self, job_id: str, *, after: str | None = None, limit: int = 20
    ) -> JobPage[JobEvent]:
        """The events older than ``after``, newest first: one indexed read of ``limit + 1``."""
        _check_limit(limit, 100)
        self.store.get(job_id, self.provider.name)
        rows, more = self.store.events_newest(job_id, event_seq(after), limit)
        return JobPage([to_event(r) for r in rows], more)

    # -- beyond the protocol (cancel, pause, resume: jobs/control.py) ----------------

    def checkpoints(
        self, job_id: str, *, after: str | None = None, limit: int = 10
    ) -> JobPage[JobCheckpoint]:
        """The job's epoch-end checkpoints, newest first (see :mod:`tuneplug.jobs.checkpoints`).

        Raises:
            NotFoundError: no job ``job_id`` of this provider, or ``after`` names no
                checkpoint of it.
            OptionError: ``after`` cannot be a checkpoint id of it (``option="after"``).
        """
        _check_limit(limit, 100)
        row = self.store.get(job_id, self.provider.name)
        return JobPage(*epoch_checkpoints(self.store, row, after, limit))

    def forget_checkpoint_model(self, job_id: str, step: int) -> None:
        """Record that the model kept for the job's checkpoint at ``step`` was deleted
        (a gateway deleted it as a model of its own): the checkpoint keeps its metrics and
        says ``None``, as after retention.

        Raises:
            NotFoundError: no job ``job_id`` of this provider.
        """
        self.store.get(job_id, self.provider.name)
        self.store.end_checkpoint(job_id, step, None)

    def delete(self, job_id: str, *, force: bool = False) -> None:
        """Forget an ended job: its checkpoints' adapter copies, its journal rows and its
        directory (samples copy, log).

        The trained adapter stays: it is the user's model (``Model.delete`` removes it).

        Raises:
            InvalidRequestError: the job has not ended (cancel it first), a runner
                holds it (it is being resumed), or a gateway serves it (its OpenAI or
                Gradient job's history there) and not ``force``.
            TuneplugError: a checkpoint's copy could not be deleted (the job is kept).
        """
        row = self.store.get(job_id, self.provider.name)
        if row.status not in ("succeeded", "failed", "cancelled"):
            raise InvalidRequestError(
                f"job {job_id} is {self.to_job(row).status.value}, not ended: cancel it first "
                f"(`tuneplug jobs cancel {self.provider.name}/{job_id}`)",
                provider=self.provider.name,
            )
        state = None if force else served_by(row)
        if state is not None:
            how = "--force" if speaks_flags() else "force=True"
            raise InvalidRequestError(
                f"job {job_id} is a job of the gateway (`tuneplug serve`) whose state is in "
                f"{state}: its clients' job there shows this job's events and checkpoints, "
                f"and would read failed (backend_record_gone) without it; delete it anyway "
                f"with {how}",
                provider=self.provider.name,
            )
        remove_job(self.store, job_id, self.provider)

    def run(self, job_id: str, on_event: Callable[[JobEvent], None] | None = None) -> Job:
        """Run (or resume) the job in this thread, passing each event to ``on_event``.

        Raises:
            AdapterBusyError: another unfinished job trains its adapter (nothing is sent).
            InvalidRequestError: it failed on a step its provider may or may not have
                applied (as :meth:`resume` says; nothing is sent).
            TuneplugError: a runner is running it already.
        """
        self.check_continuable(job_id)
        row = self.store.get(job_id, self.provider.name)
        self.check_free(row.target, job_id)  # the runner checks again as it starts
        runner = Runner(self.store, self.provider, self._dir(job_id), job_id)
        callback = None if on_event is None else (lambda row: on_event(to_event(row)))
        with running_here(job_id):
            return self.to_job(runner.run(callback))

    def epochs(self, job_id: str) -> Iterator[tuple[int, int, float]]:
        """``(epoch from 1, trainable tokens, summed loss)`` of the job's done steps."""
        for epoch, tokens, total in self.store.epoch_totals(job_id):
            yield epoch + 1, tokens, total


def _check_limit(limit: int, most: int) -> None:
    check_int(limit, "limit", 1, most)
