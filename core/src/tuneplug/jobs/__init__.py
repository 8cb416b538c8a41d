"""Fine-tuning jobs: the types, the backend protocol and the local job runner.

A job is what every living fine-tuning service works with: upload data, create
a job, follow its status and events, get a new model to complete with. A
provider with native jobs implements ``tuneplug_jobs`` (a :class:`JobBackend`);
a provider with the step hooks (``tuneplug_fine_tune``) gets jobs from the
core's local job runner. Either way users see the same :class:`Job`.
"""

from __future__ import annotations

from tuneplug.jobs.backend import (
    CheckpointedJobBackend,
    DeletableJobBackend,
    JobBackend,
    JobPage,
    PausableJobBackend,
)
from tuneplug.jobs.types import Job, JobCheckpoint, JobEvent, JobSpec, JobStatus

__all__ = [
    "CheckpointedJobBackend",
    "DeletableJobBackend",
    "Job",
    "JobBackend",
    "JobCheckpoint",
    "JobEvent",
    "JobPage",
    "JobSpec",
    "JobStatus",
    "PausableJobBackend",
]
