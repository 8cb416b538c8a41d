"""``tuneplug.list_jobs()`` is the listing ``tuneplug jobs list`` shows: local jobs and one
page of each configured provider's native jobs, with the providers it could not list
reported in ``problems``, never raised (the facade; the CLI is a thin layer over it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError, NotConfiguredError, ServerError
from tuneplug.jobs.backend import JobPage
from tuneplug.jobs.listing import JobListing, ListProblem

from tests.core.cli_runner import invoke


def _local(data: str) -> str:
    done = invoke("jobs", "create", "mock/tiny", data, "--json")
    assert done.exit_code == 0, done.stderr
    ref: str = json.loads(done.stdout)["ref"]
    return ref


def test_python_and_the_cli_list_the_same_jobs(natives: dict[str, Any], data: str) -> None:
    local = _local(data)
    listing = tuneplug.list_jobs()
    assert [job.ref for job in listing] == [local, "native/ftjob-native1"]  # newest first
    shown = json.loads(invoke("jobs", "list", "--json").stdout)["data"]
    assert [row["ref"] for row in shown] == [job.ref for job in listing]


def test_providers_not_listed_are_problems_not_errors(natives: dict[str, Any]) -> None:
    listing = tuneplug.list_jobs()
    assert [job.ref for job in listing] == ["native/ftjob-native1"]
    problems = {p.provider: p for p in listing.problems}
    assert set(problems) >= {"broken", "unset"}
    broken, unset = problems["broken"], problems["unset"]
    assert broken.configured and isinstance(broken.error, ServerError)
    assert str(broken) == "provider 'broken' skipped: upstream is down (HTTP 503)"
    assert not unset.configured and isinstance(unset.error, NotConfiguredError)
    assert str(unset) == "provider 'unset' not configured: set UNSET_API_KEY"
    # The CLI says the same, a note for the unconfigured, a warning for the failing one.
    result = invoke("jobs", "list")
    assert result.exit_code == 0
    assert f"warning: {broken}" in result.stderr.splitlines()
    assert f"note: {unset}" in result.stderr.splitlines()


def test_the_listing_is_still_a_job_page(natives: dict[str, Any], data: str) -> None:
    _local(data)
    listing = tuneplug.list_jobs()
    assert isinstance(listing, JobListing) and isinstance(listing, JobPage)
    assert len(listing) == 2 and listing[0].provider == "mock"
    assert (listing.has_more, listing.more) == (False, ())
    assert all(isinstance(p, ListProblem) for p in listing.problems)


def test_one_provider_is_listed_alone_and_its_failure_raised(natives: dict[str, Any]) -> None:
    only = tuneplug.list_jobs("native")
    assert [job.ref for job in only] == ["native/ftjob-native1"] and only.problems == ()
    with pytest.raises(ServerError, match="upstream is down"):
        tuneplug.list_jobs("broken")


def test_more_names_the_providers_to_page_on(natives: dict[str, Any], data: str) -> None:
    refs = [_local(data) for _ in range(3)]
    first = tuneplug.list_jobs(limit=2)
    assert [job.ref for job in first] == refs[::-1][:2]
    # Another local job and the older native one did not fit: both providers have more.
    assert first.has_more and set(first.more) == {"mock", "native"}
    rest = tuneplug.list_jobs("mock", after=first[-1].id, limit=2)
    assert [job.ref for job in rest] == [refs[0]] and not rest.has_more


def test_after_without_a_provider_pages_the_local_jobs_as_before(
    natives: dict[str, Any], data: str
) -> None:
    refs = [_local(data) for _ in range(2)]
    page = tuneplug.list_jobs(after=refs[1].split("/")[1], limit=5)
    assert [job.ref for job in page] == [refs[0]]
    assert natives["native"].listed == []  # native jobs page per provider


@pytest.mark.parametrize("limit", [0, 101, True, 2.5])
def test_a_bad_limit_is_refused_before_any_provider_is_asked(
    natives: dict[str, Any], limit: Any
) -> None:
    with pytest.raises(InvalidRequestError, match=r"limit must be an integer in 1\.\.100"):
        tuneplug.list_jobs(limit=limit)
    assert natives["native"].listed == []
