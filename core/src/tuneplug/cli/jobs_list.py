"""``tuneplug jobs list``: the local job runner's jobs and every provider's native jobs.

A thin layer over :func:`tuneplug.list_jobs` (the jobs facade), so Python and the
CLI list the same jobs: without ``--provider``, every local job (all providers)
and the newest page of each configured provider's own jobs (``tuneplug_jobs``,
such as OpenAI's), merged newest first. A provider that is not configured is a
``note:`` on stderr, one that fails to answer a ``warning:``, and the list goes
on. The ``more:`` line on stderr is the command of the next page: with
``--provider`` that provider's, without it the same merged listing's (its
``--after`` holds where each provider left off).
"""

from __future__ import annotations

import shlex

import click

from tuneplug.cli.jobs_watch import job_json, model_ref
from tuneplug.cli.options import refused_as
from tuneplug.cli.output import console, echo_json, table, warn

__all__ = ["jobs_list"]


@click.command("list")
@click.option("--provider", "-p", help="Only this provider's jobs (native or local).")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option(
    "--after",
    help="Where the previous page left off: the command on its more: line says it "
    "(with --provider, the last job id).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def jobs_list(provider: str | None, limit: int, after: str | None, as_json: bool) -> None:
    """List jobs, newest first: local jobs and every provider's own, or one provider's."""
    import tuneplug

    listing = refused_as(
        {"after": "--after"}, tuneplug.list_jobs, provider, after=after, limit=limit
    )
    for problem in listing.problems:
        if not problem.configured:
            click.echo(f"note: {problem}", err=True)
    warn([str(p) for p in listing.problems if p.configured])
    from tuneplug.jobs.served import served_as

    # A gateway's job on this TUNEPLUG_HOME is listed twice, as its local job and as the
    # gateway's (a provider pointed at it): say which local job is which gateway job.
    served = {job.ref: served_as(job) for job in listing}
    if as_json:
        rows = [job_json(j) | {"served_as": served[j.ref]} for j in listing]
        echo_json(
            {
                "data": rows,
                "has_more": listing.has_more,
                "more": list(listing.more),
                "after": listing.after,
            }
        )
    else:
        linked = any(served.values())
        columns = ("job", "status", "model", "fine-tuned model", "progress")
        shown = table(*columns, *(("served as",) if linked else ()))
        for job in listing:
            progress = f"{job.progress:.0%}" if job.progress is not None else ""
            cells = [
                job.ref,
                job.status.value,
                model_ref(job),
                job.fine_tuned_model or "",
                progress,
            ]
            shown.add_row(*cells, *((served[job.ref] or "",) if linked else ()))
        console().print(shown)
    if listing.after is not None:
        command = ["tuneplug", "jobs", "list"]
        command += ["--provider", provider] if provider is not None else []
        command += ["--after", listing.after] + (["--limit", str(limit)] if limit != 20 else [])
        names = ", ".join(listing.more)
        click.echo(f"more ({names}): {shlex.join(command)}", err=True)
