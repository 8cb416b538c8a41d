"""A plugin's job backend stays guarded past the call that returned a job: the jobs it
hands out (alone or in a page) answer ``refresh()`` through the guard, its pages hold
what their type says, and a call reaches it with its arguments as given."""

from __future__ import annotations

from typing import Any

import pytest
from tuneplug.errors import PluginError
from tuneplug.jobs.backend import JobPage
from tuneplug.jobs.facade import job_backend
from tuneplug.jobs.types import Job, JobStatus

from tests.core.plugin_kit import COMPLETER


class _Backend:
    """Binds its jobs to itself, as a plugin's backend does; ``get`` fails once armed."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.broken = False
        self.page_items: list[Any] | None = None

    def _job(self, job_id: str) -> Job:
        job = Job(
            id=job_id, provider="boom", model="base", status=JobStatus.RUNNING, created_at=1.0
        )
        return job.bind(self)  # type: ignore[arg-type]

    def create(self, spec: Any) -> Job:
        return self._job("ftjob-1")

    def get(self, job_id: str) -> Job:
        self.calls.append(("get", {"job_id": job_id}))
        if self.broken:
            raise RuntimeError("backend exploded")
        return self._job(job_id)

    def list(self, *, after: str | None = None, limit: int = 20) -> JobPage[Any]:
        self.calls.append(("list", {"after": after, "limit": limit}))
        items = self.page_items if self.page_items is not None else [self._job("ftjob-2")]
        return JobPage(data=items, has_more=False)

    def cancel(self, job_id: str) -> Job:
        return self._job(job_id)

    def events(self, job_id: str, *, after: str | None = None, limit: int = 100) -> JobPage[Any]:
        self.calls.append(("events", {"job_id": job_id, "after": after, "limit": limit}))
        return JobPage(data=[], has_more=False)


@pytest.fixture
def backend(make_plugin: Any, register: Any) -> _Backend:
    plain = _Backend()

    def tuneplug_jobs(ctx):  # type: ignore[no-untyped-def]
        return plain

    register("boom", make_plugin("boom", COMPLETER, jobs=tuneplug_jobs))
    return plain


def test_a_job_it_returns_refreshes_through_the_guard(backend: _Backend) -> None:
    job = job_backend("boom").get("ftjob-1")
    backend.broken = True
    with pytest.raises(PluginError) as caught:
        job.refresh()
    assert caught.value.hook == "tuneplug_jobs().get"
    assert "RuntimeError: backend exploded" in str(caught.value)


def test_a_listed_job_refreshes_through_the_guard(backend: _Backend) -> None:
    (job,) = job_backend("boom").list()
    backend.broken = True
    with pytest.raises(PluginError) as caught:
        job.refresh()
    assert caught.value.hook == "tuneplug_jobs().get"


def test_arguments_reach_the_backend_as_given(backend: _Backend) -> None:
    guarded = job_backend("boom")
    guarded.list(after="ftjob-9", limit=3)
    guarded.events("ftjob-1", after="ftevent-4", limit=7)
    assert backend.calls == [
        ("list", {"after": "ftjob-9", "limit": 3}),
        ("events", {"job_id": "ftjob-1", "after": "ftevent-4", "limit": 7}),
    ]


@pytest.mark.parametrize("item", [{"id": "ftjob-2"}, None, "ftjob-2"])
def test_a_page_holding_the_wrong_type_is_the_plugins_error(backend: _Backend, item: Any) -> None:
    backend.page_items = [item]
    with pytest.raises(PluginError) as caught:
        job_backend("boom").list()
    assert caught.value.message == (
        f"plugin 'boom': tuneplug_jobs().list returned a page holding "
        f"{'None' if item is None else type(item).__name__}, expected Job (a bug in the plugin)"
    )
    assert (caught.value.provider, caught.value.plugin) == ("boom", "boom")
    assert caught.value.hook == "tuneplug_jobs().list"


def test_a_missing_method_names_the_plugin_in_its_fields(make_plugin: Any, register: Any) -> None:
    class Partial:
        def create(self, spec: Any) -> Any:
            raise AssertionError("not called")

    def tuneplug_jobs(ctx):  # type: ignore[no-untyped-def]
        return Partial()

    register("boom", make_plugin("boom", COMPLETER, jobs=tuneplug_jobs))
    with pytest.raises(PluginError) as caught:
        job_backend("boom").get("ftjob-1")
    error = caught.value
    assert (error.provider, error.plugin, error.hook) == ("boom", "boom", "tuneplug_jobs().get")
    assert "without get(), which every backend has" in error.message


def test_a_public_attribute_that_is_no_method_is_read_as_it_is(backend: _Backend) -> None:
    # Only methods are wrapped in the guard; a value (a flag, a name) stays a value.
    backend.kind = "native"  # type: ignore[attr-defined]
    assert job_backend("boom").kind == "native"  # type: ignore[attr-defined]
