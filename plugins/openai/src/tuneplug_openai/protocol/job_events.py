"""``/v1/fine_tuning/jobs/{id}/events``: a job's events, newest first, per tenant.

OpenAI's shape: a page of ``fine_tuning.job.event`` objects with ``after``/``limit``
and ``has_more`` (:mod:`~tuneplug_openai.protocol.paging`). A page is one indexed
query of ``limit + 1`` rows on the local runner and one request of ``limit`` on a
native backend that pages newest first (the OpenAI provider:
:class:`~tuneplug.jobs.backend.NewestEventsJobBackend`), whatever the job's size.
Only a third-party backend without that method has its events read to the end.
A job whose backend record is gone has no events, and a cursor that names no event
of this server (gone, or another server's) is an empty page; a malformed cursor is
a 400 naming ``after``. Messages name the job's ``ft:`` model, never the backend's.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tuneplug.errors import InvalidRequestError, NotFoundError
from tuneplug.jobs.types import Job, JobEvent
from tuneplug.options import OptionError
from tuneplug.server.tenants import Tenant

from tuneplug_openai.protocol.job_errors import job_aliases, speaking_for
from tuneplug_openai.protocol.job_objects import backend_id, event_object
from tuneplug_openai.protocol.jobs import Jobs, run_jobs
from tuneplug_openai.protocol.paging import listing, page, page_params

__all__ = ["ROUTES", "events"]

# A backend without events_newest is read oldest first, in pages of the protocol's default
# size (JobBackend.events promises no larger), at most 100,000 events for one listing.
_EVENT_PAGE = 100
_EVENT_PAGES = 1000


def events(
    jobs: Jobs, tenant: Tenant, job_id: str, after: str | None, limit: int
) -> dict[str, Any]:
    """A page of ``tenant``'s job ``job_id``'s events, newest first; 404 if it has no such
    job (blocking: run in a thread)."""
    record = jobs.record(tenant, job_id)
    with speaking_for(job_aliases(record, job_id)):
        return _page(jobs, tenant, job_id, record, after, limit)


def _page(
    jobs: Jobs,
    tenant: Tenant,
    job_id: str,
    record: dict[str, Any],
    after: str | None,
    limit: int,
) -> dict[str, Any]:
    job = jobs._job(record)
    hidden = jobs._hidden(tenant, job_id, record, job)
    if job is None:
        return page([], after, limit)
    try:
        newest = jobs.gateway.job_events_newest(backend_id(record), after, limit)
    except OptionError:
        raise  # a malformed cursor (not an event id at all): 400 naming `after`
    except InvalidRequestError:
        return page([], after, limit)  # not an event id of this server: the cursor is gone
    except NotFoundError:
        return page([], after, limit)
    if newest is not None:  # one indexed query of limit + 1 rows, or one request
        return listing([event_object(e, hidden) for e in newest], newest.has_more)
    items = [event_object(e, hidden) for e in reversed(_all_events(job))]
    return page(items, after, limit)


def _all_events(job: Job) -> list[JobEvent]:
    """Every event of ``job``, oldest first (at most ``_EVENT_PAGES`` pages)."""
    found: list[JobEvent] = []
    cursor: str | None = None
    for _ in range(_EVENT_PAGES):
        got = job.events(after=cursor, limit=_EVENT_PAGE)
        found.extend(got)
        if not got.has_more or not len(got):
            break
        cursor = got[-1].id
    return found


async def list_events(request: Request) -> Response:
    """``GET /v1/fine_tuning/jobs/{id}/events?after&limit``."""
    after, limit = page_params(request)
    return await run_jobs(request, events, request.path_params["id"], after, limit)


ROUTES = [Route("/fine_tuning/jobs/{id}/events", list_events, methods=["GET"])]
