"""``tuneplug jobs pause|checkpoints|delete|prune``: control and housekeeping of jobs
(registered on the ``jobs`` group by :mod:`tuneplug.cli.jobs`).

``pause`` follows OpenAI's ``POST /fine_tuning/jobs/{id}/pause`` (``jobs
resume`` continues the job); ``checkpoints`` lists OpenAI's
``fine_tuning.job.checkpoint`` objects, newest first; ``delete`` forgets one
ended local job and ``prune`` every local job that ended before an age. The
models jobs trained are never deleted here (``tuneplug adapters delete``).
"""

from __future__ import annotations

from typing import Any

import click

from tuneplug.cli.jobs_watch import job_json
from tuneplug.cli.options import JOB_REF, refused_as
from tuneplug.cli.output import console, echo_json, table

__all__ = ["COMMANDS"]


def _find(ref: str) -> Any:
    import tuneplug

    return tuneplug.get_job(ref)


class _Age(click.ParamType[float, Any]):
    """An age such as ``7d``, ``12h``, ``30m``, ``90s`` or ``2w``, in seconds."""

    name = "AGE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from tuneplug.errors import InvalidRequestError
        from tuneplug.jobs.prune import parse_age

        if isinstance(value, float):
            return value
        try:
            return parse_age(value)
        except InvalidRequestError as exc:
            self.fail(exc.message.removeprefix("bad age "), param, ctx)


@click.command("pause")
@click.argument("job_ref", metavar="ID", type=JOB_REF)
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
def jobs_pause(job_ref: str, as_json: bool) -> None:
    """Pause the job ID: it stops before its next step; `jobs resume ID` continues it."""
    job = _find(job_ref).pause()
    if as_json:
        echo_json(job_json(job))
    else:
        # The service's own word only when it says more (`paused (pausing)`).
        raw = f" ({job.raw_status})" if job.raw_status != job.status.value else ""
        click.echo(f"{job.ref} {job.status.value}{raw}")


@click.command("checkpoints")
@click.argument("job_ref", metavar="ID", type=JOB_REF)
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--after", help="The last checkpoint id of the previous page.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def jobs_checkpoints(job_ref: str, limit: int, after: str | None, as_json: bool) -> None:
    """List the checkpoints of the job ID, newest first (one per completed epoch locally)."""
    job = _find(job_ref)
    page = refused_as({"after": "--after"}, job.checkpoints, after=after, limit=limit)
    if as_json:
        echo_json({"data": [c.model_dump(mode="json") for c in page], "has_more": page.has_more})
        return
    shown = table("checkpoint", "step", "train loss", "valid loss", "model")
    for item in page:
        losses = [item.metrics.get(k) for k in ("train_loss", "valid_loss")]
        cells = ["" if x is None else f"{x:.4f}" for x in losses]
        model = item.fine_tuned_model_checkpoint or ""
        shown.add_row(item.id, str(item.step_number), *cells, model)
    console().print(shown)
    if page.has_more:
        click.echo(f"more: --after {page[-1].id}", err=True)


@click.command("delete")
@click.argument("job_ref", metavar="ID", type=JOB_REF)
@click.option(
    "--force", is_flag=True,
    help="Also a job a gateway (tuneplug serve) serves: its clients then see it failed.",
)  # fmt: skip
def jobs_delete(job_ref: str, force: bool) -> None:
    """Forget the ended job ID: its record, events and copy of the samples (not its model)."""
    job = _find(job_ref)
    job.delete(force=force)
    click.echo(f"deleted {job.ref}")


@click.command("prune")
@click.option(
    "--older-than", "older_than", type=_Age(), required=True,
    help="Delete local jobs that ended longer ago than this: 7d, 12h, 30m, 90s, 2w.",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=10_000, show_default=True,
    help="Delete at most this many jobs, oldest first.",
)  # fmt: skip
@click.option(
    "--include-served", "served", is_flag=True,
    help="Also the jobs a gateway (tuneplug serve) serves: its clients then see them failed.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def jobs_prune(older_than: float, dry_run: bool, limit: int, served: bool, as_json: bool) -> None:
    """Delete the local jobs (every provider's) that ended before an age.

    Jobs that have not ended (queued, running, paused, interrupted) are never touched, nor
    one being resumed at that moment; the models they trained stay. A gateway's
    jobs (its clients' job history) are skipped unless --include-served. Job
    directories with no record (left by a killed creation or deletion) unchanged
    for as long go too; --limit bounds both together.
    """
    from tuneplug.jobs.prune import prune_jobs, prune_orphans, served_by

    rows = prune_jobs(older_than, limit=limit, dry_run=dry_run, served=served)
    refs = [f"{row.provider}/{row.id}" for row in rows]
    gateways = {row.id: served_by(row) for row in rows}
    orphans: list[str] = []
    if len(rows) < limit:
        orphans = list(prune_orphans(older_than, limit=limit - len(rows), dry_run=dry_run))
    skipped = [f"{row.provider}/{row.id}" for row in rows.served]
    if as_json:
        key = "would_delete" if dry_run else "deleted"
        other = "deleted" if dry_run else "would_delete"
        echo_json(
            {key: refs, other: [], f"orphans_{key}": orphans, f"orphans_{other}": [],
             "skipped_served": skipped}
        )  # fmt: skip
        return
    for row, ref in zip(rows, refs, strict=True):
        state = gateways[row.id]
        click.echo(ref if state is None else f"{ref} (served by the gateway in {state})")
    for orphan in orphans:
        click.echo(f"{orphan} (a job directory with no record)")
    verb = "would delete" if dry_run else "deleted"
    tail = f" and {len(orphans)} directory(ies) with no record" if orphans else ""
    click.echo(f"{verb} {len(refs)} job(s){tail}", err=True)
    if skipped:
        click.echo(
            f"skipped {len(skipped)} job(s) a gateway (tuneplug serve) serves: its clients' "
            "job history; --include-served prunes them too",
            err=True,
        )


COMMANDS = (jobs_pause, jobs_checkpoints, jobs_delete, jobs_prune)
"""Added to the ``jobs`` group."""
