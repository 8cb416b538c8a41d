"""The merged listing (``tuneplug.list_jobs()``, ``tuneplug jobs list``) pages as a whole:
``listing.after`` (the CLI's ``more:`` command) reaches every provider's older jobs, each
listed once, and ``more`` names exactly the providers with jobs not listed yet (fresh user
5, #2: a provider whose every job was listed was named, and the hint narrowed to one
provider)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any

import pytest
import tuneplug
from tuneplug.jobs.backend import JobPage
from tuneplug.jobs.local import LocalJobs
from tuneplug.jobs.types import Job, JobStatus
from tuneplug.options import OptionError

from tests.core.cli_runner import invoke
from tests.core.plugin_kit import local_jobs

SEED = [{"inputs": "Question: hi?\n\nAnswer: hello."}] * 2


class PagedNatives:
    """A provider's own jobs (like OpenAI's), paged by ``after`` as a service pages them."""

    def __init__(self, provider: str, created: list[float]) -> None:
        self.jobs = [
            Job(id=f"ftjob-n{i}", provider=provider, model=f"{provider}/base",
                status=JobStatus.SUCCEEDED, created_at=at)
            for i, at in enumerate(sorted(created, reverse=True))
        ]  # fmt: skip
        self.asked: list[str | None] = []

    def list(self, *, after: str | None = None, limit: int = 20) -> JobPage[Job]:
        self.asked.append(after)
        ids = [job.id for job in self.jobs]
        start = ids.index(after) + 1 if after is not None else 0
        return JobPage(self.jobs[start : start + limit], start + limit < len(self.jobs))

    def get(self, job_id: str) -> Job:
        return next(job for job in self.jobs if job.id == job_id)


def _queued(jobs: LocalJobs, model: str, n: int) -> list[Job]:
    spec = tuneplug.JobSpec(model=model, training_data=SEED, batch_size=2, seed=1)
    return [jobs.get(jobs.create(spec, start="none").id) for _ in range(n)]


@pytest.fixture
def mixed(make_plugin: Callable[..., Any], register: Callable[..., Any]) -> dict[str, Any]:
    """Local jobs of two providers (mock: 4, acme: 1, made in between) and 3 native ones
    older, newer and between them: every job's ref, newest first, and the natives."""
    mock = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    acme = local_jobs(make_plugin, register, "acme")
    made = _queued(mock, "tiny", 2) + _queued(acme, "base", 1) + _queued(mock, "tiny", 2)
    first, last = made[0].created_at, made[-1].created_at
    natives = PagedNatives("native", [first - 10, (first + last) / 2, last + 10])
    register("native", make_plugin("native", jobs=lambda ctx: natives))
    every = sorted([*made, *natives.jobs], key=lambda j: j.created_at, reverse=True)
    return {"refs": [job.ref for job in every], "natives": natives}


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 8, 20])
def test_after_pages_through_every_provider_and_more_is_exact(
    mixed: dict[str, Any], limit: int
) -> None:
    refs: list[str] = mixed["refs"]
    seen: list[str] = []
    after = None
    for _ in range(len(refs) + 1):  # bounded: each page lists at least one job
        page = tuneplug.list_jobs(after=after, limit=limit)
        assert 0 < len(page) <= limit
        seen += [job.ref for job in page]
        left = {ref.split("/")[0] for ref in refs[len(seen) :]}
        assert page.more == tuple(sorted(left)) and page.has_more == bool(left)
        after = page.after
        if after is None:
            break
    assert seen == refs


def test_a_provider_whose_jobs_were_all_listed_is_not_named_nor_asked_again(
    mixed: dict[str, Any],
) -> None:
    first = tuneplug.list_jobs(limit=2)  # the newest native job and the newest mock one
    assert [job.provider for job in first] == ["native", "mock"]
    assert first.more == ("acme", "mock", "native")
    # acme's one job is next: once listed, acme is neither in more nor asked for more.
    second = tuneplug.list_jobs(after=first.after, limit=3)
    assert "acme" in {job.provider for job in second} and "acme" not in second.more
    assert second.after is not None and "acme" not in second.after
    natives: PagedNatives = mixed["natives"]
    asked = len(natives.asked)
    rest = tuneplug.list_jobs(after=second.after, limit=100)
    assert not rest.has_more and rest.after is None and rest.more == ()
    assert len(natives.asked) == asked + ("native" in second.more)


def test_the_fresh_users_case_names_only_the_provider_with_more(
    make_plugin: Callable[..., Any], register: Callable[..., Any]
) -> None:
    mock = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    acme = local_jobs(make_plugin, register, "acme")
    _queued(mock, "tiny", 1), _queued(acme, "base", 1), _queued(mock, "tiny", 2)
    listing = tuneplug.list_jobs(limit=3)
    assert [j.provider for j in listing] == ["mock", "mock", "acme"]
    assert (listing.has_more, listing.more) == (True, ("mock",))
    only = tuneplug.list_jobs("acme")
    assert (only.has_more, only.more, only.after) == (False, (), None)
    assert list(tuneplug.list_jobs("acme", after=only[-1].id)) == []


def test_one_providers_listing_says_its_next_after() -> None:
    mock = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    made = _queued(mock, "tiny", 3)
    page = tuneplug.list_jobs("mock", limit=2)
    assert (page.more, page.after) == (("mock",), made[1].id)
    assert [j.id for j in tuneplug.list_jobs("mock", after=page.after)] == [made[0].id]


@pytest.mark.parametrize("cursor", ["mock:ftjob-1,mock:", ":ftjob-1", "mock:,", "mock:x,nonsense"])
def test_a_malformed_listing_after_is_refused_naming_after(cursor: str) -> None:
    with pytest.raises(OptionError) as info:
        tuneplug.list_jobs(after=cursor)
    assert info.value.option == "after" and info.value.detail.endswith(f"got {cursor!r}")
    result = invoke("jobs", "list", "--after", cursor)
    assert result.exit_code == 2 and "error: --after: must be a listing's after" in result.stderr


def test_ids_with_separators_survive_the_cursor(
    make_plugin: Callable[..., Any], register: Callable[..., Any]
) -> None:
    odd = PagedNatives("odd", [1.0, 2.0, 3.0])
    for i, job in enumerate(odd.jobs):
        odd.jobs[i] = job.model_copy(update={"id": f"id,{i}:x%y"})
    register("odd", make_plugin("odd", jobs=lambda ctx: odd))
    first = tuneplug.list_jobs(limit=2)
    assert first.more == ("odd",)
    rest = tuneplug.list_jobs(after=first.after, limit=2)
    assert [j.id for j in [*first, *rest]] == [j.id for j in odd.jobs]
    assert odd.asked == [None, "id,1:x%y"]


def test_the_cli_more_line_is_the_next_pages_command(mixed: dict[str, Any]) -> None:
    refs: list[str] = mixed["refs"]
    seen: list[str] = []
    args = ["jobs", "list", "--limit", "3", "--json"]
    for _ in range(len(refs)):
        result = invoke(*args)
        assert result.exit_code == 0, result.stderr
        shown = json.loads(result.stdout)
        seen += [row["ref"] for row in shown["data"]]
        hints = [line for line in result.stderr.splitlines() if line.startswith("more")]
        if shown["after"] is None:
            assert hints == [] and shown["more"] == [] and not shown["has_more"]
            break
        (hint,) = hints
        names, command = hint.split(": ", 1)
        assert names == f"more ({', '.join(shown['more'])})"
        assert shlex.split(command)[:3] == ["tuneplug", "jobs", "list"]
        args = [*shlex.split(command)[1:], "--json"]
        assert args[2:6] == ["--after", shown["after"], "--limit", "3"]
    assert seen == refs


def test_a_bare_local_job_id_pages_the_local_jobs_with_an_exact_more(
    make_plugin: Callable[..., Any], register: Callable[..., Any]
) -> None:
    mock = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    acme = local_jobs(make_plugin, register, "acme")
    made = _queued(mock, "tiny", 1) + _queued(acme, "base", 1) + _queued(mock, "tiny", 3)
    page = tuneplug.list_jobs(after=made[-1].id, limit=1)  # made[-2]; older: acme's and mock's
    assert [j.id for j in page] == [made[-2].id] and page.after == made[-2].id
    assert page.more == ("acme", "mock")
    page = tuneplug.list_jobs(after=made[2].id, limit=1)  # acme's; only mock's one is older
    assert [j.id for j in page] == [made[1].id] and page.more == ("mock",)
    last = tuneplug.list_jobs(after=made[1].id, limit=1)
    assert [j.id for j in last] == [made[0].id] and (last.more, last.after) == ((), None)
