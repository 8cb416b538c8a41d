"""``tuneplug.list_jobs``: one provider's jobs, or every provider's merged newest first.

The merged listing pages as a whole. Each provider is a source paged on its own (its
local runner's jobs, or its native jobs by its own ``after``), and a page takes the
newest ``limit`` of the sources' next pages, each source's jobs in its own order: so
what a page lists of a source is always a prefix of that source's next jobs, and where
it left off is one id per source. :attr:`JobListing.after` records them for the next
page, ``mock:ftjob-1a2b,openai:`` (an empty id: none of that source's jobs listed yet),
each part percent-encoded; a source not in it has nothing more and is not asked again.
``more`` is exact for the same reason: a source has more when its page said so or when
one of its fetched jobs did not fit.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from urllib.parse import quote, unquote

from tuneplug.arguments import check_int, check_name
from tuneplug.errors import NotConfiguredError, TuneplugError
from tuneplug.jobs.backend import JobBackend, JobPage
from tuneplug.jobs.cursors import bad_cursor, check_job_cursor
from tuneplug.jobs.types import Job
from tuneplug.text import check_text

__all__ = ["JobListing", "ListProblem", "list_jobs"]

_SAFE = "-_.~"  # kept as they are in a cursor; ':' and ',' separate, so are encoded
_EXPECTED = "a listing's after (PROVIDER:ID,...) or a local job id (ftjob-<hex>)"


@dataclass(frozen=True)
class ListProblem:
    """A provider whose jobs :func:`list_jobs` could not list (the rest are listed).

    ``configured`` is false for a provider not configured (no key: a normal
    state, as ``tuneplug models`` shows it), true for one that failed to answer;
    ``error`` is what it raised (its message names no secret).
    """

    provider: str
    error: TuneplugError
    configured: bool

    def __str__(self) -> str:
        if not self.configured:
            return f"provider {self.provider!r} not configured: {self.error.message}"
        reason = self.error.said_of(self.provider)
        return f"provider {self.provider!r} skipped: {reason}"


@dataclass(frozen=True)
class JobListing(JobPage[Job]):
    """What :func:`list_jobs` returns: a :class:`JobPage` of jobs, newest first, and

    * ``more``: the providers with jobs not listed yet, sorted (exact: a provider
      whose every job is listed is not in it); ``has_more`` is ``bool(more)``;
    * ``after``: the ``after`` of the next page of this same listing (every provider
      in ``more``), ``None`` when there is none;
    * ``problems``: the providers that could not be listed (:class:`ListProblem`).
    """

    more: tuple[str, ...] = ()
    problems: tuple[ListProblem, ...] = ()
    after: str | None = None


def list_jobs(
    provider: str | None = None, *, after: str | None = None, limit: int = 20
) -> JobListing:
    """Jobs newest first, at most ``limit`` (1..100).

    With ``provider``: that provider's jobs (native, or the local runner's),
    ``after`` being the last job id of the previous page. Without: every local
    job (any provider's) and each configured provider's own jobs
    (``tuneplug_jobs``, such as OpenAI's: one request per provider and page,
    bounded by its timeouts), merged; ``tuneplug jobs list`` shows the same. A
    provider not configured, or failing to answer, is in ``problems``, not
    raised. Page on with ``after=listing.after``; a bare local job id as
    ``after`` pages only the local jobs on.

    Raises:
        InvalidRequestError: ``limit`` out of range, ``after`` not text.
        OptionError: ``after`` malformed (``option == "after"``).
        TuneplugError: the one ``provider`` asked for fails (unknown, not configured, ...).
    """
    from tuneplug.jobs.facade import job_backend

    check_name(provider, "provider", "a provider name", optional=True)
    if after is not None:
        check_text(check_name(after, "after", "the last job id of a previous page") or "", "after")
    check_int(limit, "limit", 1, 100)
    if provider is not None:
        page = job_backend(provider).list(after=after, limit=limit)
        cursor = page[-1].id if page.has_more and page.data else None
        return JobListing(
            list(page), page.has_more, (provider,) if page.has_more else (), (), cursor
        )
    if after is not None and ":" not in after:
        return _local_after(after, limit)
    positions = _parse(after) if after is not None else None
    problems: list[ListProblem] = []
    pages: dict[str, tuple[JobPage[Job], str | None]] = {}
    for name, backend in _sources(positions, problems):
        start = positions.get(name) if positions is not None else None
        try:
            pages[name] = (backend.list(after=start, limit=limit), start)
        except TuneplugError as exc:
            problems.append(ListProblem(name, exc, not isinstance(exc, NotConfiguredError)))
    return _listing(pages, limit, problems)


def _listing(
    pages: dict[str, tuple[JobPage[Job], str | None]], limit: int, problems: list[ListProblem]
) -> JobListing:
    """The newest ``limit`` of ``pages`` ({source: (its page, where it started)})."""
    order = sorted(pages)  # ties in created_at go to the first source, the same every page
    merged = heapq.merge(
        *([(job, name) for job in pages[name][0]] for name in order),
        key=lambda pair: pair[0].created_at,
        reverse=True,
    )
    listed = [pair for pair, _ in zip(merged, range(limit), strict=False)]
    positions: dict[str, str | None] = {}
    for name in order:
        page, start = pages[name]
        mine = [job.id for job, source in listed if source == name]
        if page.has_more or len(mine) < len(page):
            positions[name] = mine[-1] if mine else start
    more = tuple(positions)
    jobs = [job for job, _ in listed]
    return JobListing(jobs, bool(more), more, tuple(problems), _format(positions))


def _sources(
    positions: dict[str, str | None] | None, problems: list[ListProblem]
) -> list[tuple[str, JobBackend]]:
    """The sources to ask: those of ``positions``, or (a first page) every provider with
    jobs: each configured one with its own, each with jobs in the local journal."""
    from tuneplug.config import load_config
    from tuneplug.config_names import registry_for
    from tuneplug.jobs.facade import backend_for
    from tuneplug.jobs.local import job_store

    config = load_config()
    registry = registry_for(config)
    if positions is not None:
        names = list(positions)
    else:
        names = [
            info.name
            for info in registry.infos() + registry.instance_infos(config)
            # Only plugins with jobs of their own: building a provider costs its settings.
            if info.ok and "tuneplug_jobs" in info.hooks
        ]
        names += [n for n in job_store().providers() if n not in names]
    found: list[tuple[str, JobBackend]] = []
    for name in names:
        try:
            found.append((name, backend_for(registry.provider(name, config=config))))
        except TuneplugError as exc:
            problems.append(ListProblem(name, exc, not isinstance(exc, NotConfiguredError)))
    return found


def _local_after(after: str, limit: int) -> JobListing:
    """Every provider's local jobs after the local job ``after`` (no native ones)."""
    from tuneplug.jobs.facade import job_backend
    from tuneplug.jobs.local import job_store

    check_job_cursor(after)
    rows, has_more = job_store().page(None, after, limit)
    backends: dict[str, JobBackend] = {}
    jobs: list[Job] = []
    for row in rows:
        if row.provider not in backends:
            backends[row.provider] = job_backend(row.provider)
        jobs.append(backends[row.provider].get(row.id))
    if not has_more or not jobs:
        return JobListing(jobs)
    more = job_store().providers(older_than=jobs[-1].id)
    return JobListing(jobs, True, tuple(more), after=jobs[-1].id)


def _format(positions: dict[str, str | None]) -> str | None:
    if not positions:
        return None
    return ",".join(
        f"{quote(name, safe=_SAFE)}:{quote(at or '', safe=_SAFE)}" for name, at in positions.items()
    )


def _parse(after: str) -> dict[str, str | None]:
    """``{source: its last listed id, or None}`` from a listing's ``after`` (``OptionError``)."""
    positions: dict[str, str | None] = {}
    for part in after.split(","):
        quoted, colon, at = part.partition(":")
        name = unquote(quoted)
        if not colon or not name or name in positions:
            raise bad_cursor(after, _EXPECTED)
        positions[name] = unquote(at) or None
    return positions
