"""A provider's own job service for the jobs tests: the ``natives`` fixture's (conftest)."""

from __future__ import annotations

from tuneplug.jobs.backend import JobPage
from tuneplug.jobs.types import Job, JobStatus

__all__ = ["NativeJobs"]


class NativeJobs:
    """A provider's own jobs (like OpenAI's): one job, created long ago."""

    def __init__(self, provider: str, fail: Exception | None = None) -> None:
        self.provider = provider
        self.fail = fail
        self.listed: list[int] = []

    def _job(self) -> Job:
        return Job(
            id="ftjob-native1", provider=self.provider, model=f"{self.provider}/base",
            status=JobStatus.RUNNING, created_at=1.0,
        )  # fmt: skip

    def list(self, *, after: str | None = None, limit: int = 20) -> JobPage[Job]:
        self.listed.append(limit)
        if self.fail is not None:
            raise self.fail
        return JobPage([self._job()], False)

    def get(self, job_id: str) -> Job:
        return self._job()
