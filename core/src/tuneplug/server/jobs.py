"""The server's fine-tuning jobs: started for a gateway, resumed when it restarts.

A protocol starts a job with :meth:`Gateway.start_job
<tuneplug.server.gateway.Gateway.start_job>` (not ``Model.start_fine_tune``):
a job of the core's local job runner is tagged with the gateway's origin,
``serve:<state dir>``, and runs in a thread of the server. The jobs a server
runs belong to its state directory, so a second server with another state
directory never touches them.

* **On start** (the app's lifespan), :func:`resume_jobs` resumes every job of
  this origin that has not ended and that no runner holds: one whose server
  was killed mid-job (``running`` in the journal, nobody holding its lock) or
  stopped (``queued``). Each continues at its first step not done, every step
  applied exactly once (the runner's journal and idempotency keys). A job a
  client paused stays paused.
* **Continued fine-tuning** (a protocol's job on an adapter that must make a new
  model, as OpenAI's on an ``ft:`` model): :func:`copy_for_job` copies the source
  adapter and the job trains the copy, since the local runner trains in place.
* **On a graceful stop**, :func:`stop_jobs` asks each running job to stop
  before its next step, back to ``queued``, and waits for them (at most
  :data:`STOP_GRACE` seconds): a step is not cut off half-way, which a
  provider without idempotency keys could not resume.

A provider with native jobs (its own service runs them) needs none of this.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tuneplug.jobs.local import LocalJobs
    from tuneplug.models import Model
    from tuneplug.server.gateway import Gateway

__all__ = ["STOP_GRACE", "copy_for_job", "origin_of", "resume_jobs", "stop_jobs"]

STOP_GRACE = 30.0
"""Seconds a graceful stop waits for running jobs to finish their current step."""

_POLL = 0.05
log = logging.getLogger("tuneplug.server")


def origin_of(gateway: Gateway) -> str:
    """The origin tag of the jobs ``gateway`` starts: ``serve:<absolute state dir>``."""
    return f"serve:{gateway.state_dir.resolve()}"


def _local(gateway: Gateway) -> LocalJobs | None:
    from tuneplug.jobs.local import LocalJobs

    # The backend bound when the gateway was made (its journal: TUNEPLUG_HOME at start).
    # No journal yet: no job ever ran here, and starting must not create one (or fail
    # on a read-only TUNEPLUG_HOME for a server that never fine-tunes).
    jobs = gateway._jobs
    if not isinstance(jobs, LocalJobs) or not jobs.store.path.exists():
        return None
    return jobs


def resume_jobs(gateway: Gateway) -> list[str]:
    """Resume the gateway's jobs that have not ended and that nothing runs; their ids."""
    jobs = _local(gateway)
    if jobs is None:
        return []
    resumed: list[str] = []
    for row in jobs.store.unfinished(origin_of(gateway)):
        if row.provider != gateway.name or row.status == "paused" or jobs.alive(row.id):
            continue
        try:
            jobs.resume(row.id, start="thread")
        except Exception as exc:  # one job's trouble must not keep the server down
            public = gateway.public_job_id(row.id)
            log.warning("job %s not resumed: %s", public, str(exc).replace(row.id, public))
            continue
        public = gateway.public_job_id(row.id)
        log.info("job %s resumed at step %d", public, row.steps_done + 1)
        resumed.append(row.id)
    return resumed


def stop_jobs(gateway: Gateway, grace: float = STOP_GRACE) -> list[str]:
    """Ask the gateway's running jobs to stop before their next step, back to ``queued``;
    wait for them at most ``grace`` seconds. Returns the ids of those still running."""
    jobs = _local(gateway)
    if jobs is None:
        return []
    running = [
        row.id
        for row in jobs.store.unfinished(origin_of(gateway))
        if row.provider == gateway.name and row.status in ("queued", "running")
    ]
    # A job a client is pausing keeps its "pause" request: requeued, it would resume at restart.
    running = [job_id for job_id in running if jobs.store.requests(job_id)[1] != "pause"]
    for job_id in running:
        jobs.store.request_stop(job_id, "requeue")
    deadline = time.monotonic() + grace
    # Bounded: by `grace` in time, and by grace / _POLL rounds.
    for _ in range(int(grace / _POLL) + 1):
        running = [job_id for job_id in running if jobs.alive(job_id)]
        if not running or time.monotonic() >= deadline:
            break
        time.sleep(_POLL)
    for job_id in running:
        public = gateway.public_job_id(job_id)
        log.warning("job %s still running its step at shutdown; resumed at restart", public)
    return running


def copy_for_job(gateway: Gateway, source: Model, name: str) -> Model:
    """A new adapter named ``name`` holding ``source``'s weights (an adapter the gateway
    serves), for a job of the local runner to train instead of ``source``.

    Raises:
        CapabilityError: the provider has no ``tuneplug_copy_adapter`` (nothing made).
        AdapterBusyError: an unfinished job trains ``source``: its weights are moving,
            and the copy would hold no step the client can name.
        NotFoundError: ``source`` is gone.
    """
    from tuneplug.errors import CapabilityError
    from tuneplug.jobs.local import LocalJobs
    from tuneplug.models import Model
    from tuneplug.types import ModelInfo

    provider = gateway.provider
    if not provider.has("tuneplug_copy_adapter"):
        raise CapabilityError(
            "cannot copy an adapter, so a job cannot start from a fine-tuned model "
            "without changing it",
            provider=provider.name,
        )
    if isinstance(gateway.jobs, LocalJobs):
        gateway.jobs.check_free(source.id)
    made: ModelInfo = provider.call("tuneplug_copy_adapter", model=source.info, name=name)
    return Model(provider.model_info(made), provider, gateway.defaults)
