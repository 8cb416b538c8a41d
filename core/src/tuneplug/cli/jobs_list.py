"""``tuneplug jobs list``: the local job runner's jobs and every provider's native jobs.

Without ``--provider`` the list has every local job (all providers) and the
newest page of each configured provider's own jobs (``tuneplug_jobs``, such as
OpenAI's), merged newest first. A provider that is not configured, or fails to
answer, is one line on stderr and the list goes on: one request per provider,
each bounded by the provider's own timeouts. ``--after`` pages one provider's
jobs, so it needs ``--provider``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from tuneplug.cli.jobs_watch import job_json, model_ref
from tuneplug.cli.output import console, echo_json, table, warn

if TYPE_CHECKING:
    from tuneplug.jobs.types import Job

__all__ = ["jobs_list"]


class _Listing:
    """Jobs from every source, the providers with more of them, what to say on stderr."""

    def __init__(self, jobs: list[Job] | None = None, more: list[str] | None = None) -> None:
        self.jobs: list[Job] = jobs or []
        self.more: list[str] = more or []
        self.notes: list[str] = []
        self.warnings: list[str] = []


def _native_jobs(listing: _Listing, limit: int) -> None:
    """Add the newest page of each configured provider's native jobs to ``listing``."""
    from tuneplug.config import load_config
    from tuneplug.errors import NotConfiguredError, TuneplugError
    from tuneplug.plugins import default_registry
    from tuneplug.types import Capability

    config = load_config()
    registry = default_registry(plugins=config.settings.plugins, strict=config.settings.strict)
    infos = registry.infos() + registry.instance_infos(config)
    for info in infos:
        if not info.ok or Capability.JOBS not in info.capabilities:
            continue
        try:
            provider = registry.provider(info.name, config=config)
            if not provider.has("tuneplug_jobs"):
                continue  # its jobs are the local runner's, listed already
            page = provider.call("tuneplug_jobs").list(limit=limit)
        except NotConfiguredError as exc:
            listing.notes.append(f"provider {info.name!r} not configured: {exc.message}")
            continue
        except TuneplugError as exc:
            reason = str(exc).removeprefix(f"{info.name}: ")
            listing.warnings.append(f"provider {info.name!r} skipped: {reason}")
            continue
        listing.jobs.extend(page)
        if page.has_more:
            listing.more.append(info.name)


def _everything(limit: int) -> _Listing:
    import tuneplug

    listing = _Listing()
    local = tuneplug.list_jobs(None, limit=limit)
    listing.jobs.extend(local)
    if local.has_more:
        listing.more.extend(sorted({j.provider for j in local}))
    _native_jobs(listing, limit)
    listing.jobs.sort(key=lambda j: j.created_at, reverse=True)
    for job in listing.jobs[limit:]:
        if job.provider not in listing.more:
            listing.more.append(job.provider)
    del listing.jobs[limit:]
    return listing


@click.command("list")
@click.option("--provider", "-p", help="Only this provider's jobs (native or local).")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--after", help="The last job id of the previous page (with --provider).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def jobs_list(provider: str | None, limit: int, after: str | None, as_json: bool) -> None:
    """List jobs, newest first: local jobs and every provider's own, or one provider's."""
    import tuneplug

    if after is not None and provider is None:
        raise click.UsageError("--after pages one provider's jobs: give --provider too")
    if provider is not None:
        page = tuneplug.list_jobs(provider, after=after, limit=limit)
        listing = _Listing(jobs=list(page), more=[provider] if page.has_more else [])
    else:
        listing = _everything(limit)
    for note in listing.notes:
        click.echo(f"note: {note}", err=True)
    warn(listing.warnings)
    if as_json:
        rows = [job_json(j) for j in listing.jobs]
        echo_json({"data": rows, "has_more": bool(listing.more)})
    else:
        shown = table("job", "status", "model", "fine-tuned model", "progress")
        for job in listing.jobs:
            progress = f"{job.progress:.0%}" if job.progress is not None else ""
            shown.add_row(
                job.ref, job.status.value, model_ref(job), job.fine_tuned_model or "", progress
            )
        console().print(shown)
    if listing.more:
        # One provider's jobs page on; name where each left off.
        for name in listing.more:
            mine = [j for j in listing.jobs if j.provider == name]
            after_id = f" --after {mine[-1].id}" if mine else ""
            click.echo(f"more: tuneplug jobs list --provider {name}{after_id}", err=True)
