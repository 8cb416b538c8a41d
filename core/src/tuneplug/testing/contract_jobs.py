"""The contract suite of a provider's fine-tuning jobs (see :mod:`tuneplug.testing.contract`).

A provider with native jobs (``tuneplug_jobs``) and one that gets them from the
local job runner (the step hooks) pass the same tests.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, ClassVar

import pytest

import tuneplug
from tuneplug.errors import InvalidRequestError, NotFoundError, UnknownModelError
from tuneplug.jobs.types import Job, JobEvent, JobStatus
from tuneplug.models import Model
from tuneplug.testing.contract_complete import ProviderContract
from tuneplug.types import Capability, ModelKind

__all__ = ["FineTuneJobsContract"]


class FineTuneJobsContract(ProviderContract):
    """Jobs: create, follow with events whose losses are finite, complete with the
    result, cancel, list and get, and spec validation before any I/O.

    Optional class attributes (defaults in brackets):
        answer: appended to ``prompt`` to make the training sample [" The Dallas Cowboys!"].
        learned_answer: if set, the job's model must complete ``prompt`` with it [None].
        n_epochs, batch_size, seed: the job's hyperparameters [3, 1, 0].
        suffix: names the result (fixed, so cassettes replay) [``"tuneplug-contract-job"``].
        cancel_epochs: epochs of the job the cancel test stops after its first step [50].
        job_timeout: seconds a job may take [120].
        poll_interval: seconds between polls while waiting (``None``: the backend's) [None].
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"complete", "fine_tune", "jobs"})
    answer: ClassVar[str] = " The Dallas Cowboys!"
    learned_answer: ClassVar[str | None] = None
    n_epochs: ClassVar[int] = 3
    batch_size: ClassVar[int] = 1
    seed: ClassVar[int] = 0
    suffix: ClassVar[str] = "tuneplug-contract-job"
    cancel_epochs: ClassVar[int] = 50
    job_timeout: ClassVar[float] = 120.0
    poll_interval: ClassVar[float | None] = None

    @property
    def job_samples(self) -> list[dict[str, Any]]:
        """The training data: the prompt followed by the answer, twice."""
        return [{"inputs": self.prompt + self.answer}] * 2

    def start(self, model: Model, **spec: Any) -> Job:
        """Start the suite's job on ``model`` (spec keywords override the class's)."""
        given: dict[str, Any] = {
            "n_epochs": self.n_epochs, "batch_size": self.batch_size, "seed": self.seed,
            "suffix": self.suffix,
        }  # fmt: skip
        given.update(spec)
        return model.start_fine_tune(self.job_samples, **given)

    def finish(self, job: Job, on_event: Any = None) -> Job:
        """Wait for ``job`` within ``job_timeout``."""
        return job.wait(
            on_event=on_event, timeout=self.job_timeout, poll_interval=self.poll_interval
        )

    def cleanup(self, job: Job) -> None:
        """Delete the adapter a job made (best effort)."""
        if job.fine_tuned_model is None:
            return
        with contextlib.suppress(NotFoundError, UnknownModelError, InvalidRequestError):
            made = tuneplug.get_model(job.fine_tuned_model)
            # A hosted service's result (OpenAI's ft: model) is not an adapter we can delete.
            if made.info.kind is ModelKind.ADAPTER and made.provider.has("tuneplug_delete_adapter"):
                made.delete()

    def test_provider_has_jobs(self, model: Model) -> None:
        assert Capability.JOBS in model.provider.capabilities

    def test_create_and_wait_with_finite_losses(self, model: Model) -> None:
        job = self.start(model)
        assert isinstance(job, Job) and job.provider == self.provider and job.id
        assert job.status in set(JobStatus)
        events: list[JobEvent] = []
        done = self.finish(job, events.append)
        try:
            assert done.status is JobStatus.SUCCEEDED, done.error
            assert done.finished_at is not None and done.finished_at >= done.created_at
            assert done.fine_tuned_model and done.fine_tuned_model.startswith(f"{self.provider}/")
            losses = [e.metrics["loss"] for e in events if "loss" in e.metrics]
            assert losses, "at least one event reports a training loss"
            assert all(math.isfinite(x) and x >= 0 for x in losses)
            assert len({e.id for e in events}) == len(events), "each event is seen once"
            times = [e.created_at for e in events]
            assert times == sorted(times), "events come oldest first"
        finally:
            self.cleanup(done)

    def test_result_model_completes_with_the_learned_answer(self, model: Model) -> None:
        done = self.finish(self.start(model))
        try:
            assert done.status is JobStatus.SUCCEEDED, done.error
            assert done.fine_tuned_model is not None
            result = tuneplug.get_model(done.fine_tuned_model)
            text = result.complete(self.prompt, max_tokens=self.max_tokens).text
            assert isinstance(text, str)
            if self.learned_answer is not None:
                assert text.strip().startswith(self.learned_answer)
        finally:
            self.cleanup(done)

    def test_list_and_get(self, model: Model) -> None:
        done = self.finish(self.start(model))
        try:
            got = tuneplug.get_job(done.ref)
            assert got.id == done.id and got.status is done.status
            assert got.fine_tuned_model == done.fine_tuned_model
            listed = tuneplug.list_jobs(self.provider, limit=100)
            assert done.id in [j.id for j in listed]
            assert all(j.provider == self.provider for j in listed)
            first = done.events(limit=1)
            assert len(first) == 1
            if first.has_more:
                rest = done.events(after=first[0].id, limit=100)
                assert first[0].id not in [e.id for e in rest]
        finally:
            self.cleanup(done)

    def test_cancel(self, model: Model) -> None:
        # Cancelled once the first step is reported: at least one step is always
        # sent (so cassettes replay), and the job must stop before its end.
        job = self.start(model, n_epochs=self.cancel_epochs)
        asked: list[Job | InvalidRequestError] = []

        def on_event(event: JobEvent) -> None:
            if event.step is not None and not asked:
                try:
                    asked.append(job.cancel())
                except InvalidRequestError as exc:  # it ended first
                    asked.append(exc)

        # Polled often, so the cancel lands long before the job's end, even on replay.
        final = job.wait(on_event=on_event, timeout=self.job_timeout, poll_interval=0.01)
        assert asked, "the job reported at least one step"
        if isinstance(asked[0], Job):
            assert asked[0].status in (JobStatus.CANCELLING, JobStatus.CANCELLED)
            assert final.status is JobStatus.CANCELLED
            assert final.fine_tuned_model is None
        else:
            assert final.status is JobStatus.SUCCEEDED

    def test_invalid_spec_fails_before_any_io(self, model: Model) -> None:
        for bad in ({"n_epochs": 0}, {"learning_rate": 0.1, "learning_rate_multiplier": 2.0}):
            with pytest.raises(InvalidRequestError):
                model.start_fine_tune(self.job_samples, **bad)
        with pytest.raises(InvalidRequestError):
            model.start_fine_tune(42)

    def test_unknown_job_is_not_found(self, model: Model) -> None:
        with pytest.raises(NotFoundError):
            tuneplug.get_job(f"{self.provider}/tuneplug-contract-no-such-job")
