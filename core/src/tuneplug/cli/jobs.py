"""``tuneplug jobs``: create, follow, list, inspect, cancel and resume fine-tuning jobs
(pause, checkpoints, delete and prune: :mod:`tuneplug.cli.jobs_control`).

Progress (a bar with the live loss) and diagnostics go to stderr; the final
summary, and every ``--json`` document, go to stdout. A job that ends failed or
cancelled, or stops being run, is a runtime error (exit 1, one ``error:`` line)
after its summary. Heavy modules are imported inside the commands.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from tuneplug.cli.base import CommandGroup
from tuneplug.cli.output import console, echo_json, table

if TYPE_CHECKING:
    from tuneplug.jobs.backend import JobBackend
    from tuneplug.jobs.plot import Curves
    from tuneplug.jobs.types import Job, JobEvent

__all__ = ["jobs"]


@click.group(cls=CommandGroup)
def jobs() -> None:
    """Fine-tuning jobs: the provider's own, or the local job runner's.

    Local jobs keep their state in $TUNEPLUG_HOME/jobs; a detached one keeps
    running after the terminal closes (follow it with `jobs wait ID`), and a
    paused or killed one continues with `jobs resume ID`, every step applied
    exactly once. `jobs prune --older-than 7d` deletes old ended jobs.
    """


def _find(ref: str) -> Job:
    import tuneplug

    return tuneplug.get_job(ref)


def _steps_total(job: Job) -> int | None:
    from tuneplug.jobs.local import LocalJobs

    backend = job.backend()
    if isinstance(backend, LocalJobs):
        return backend.store.get(job.id).steps_total
    return None


class _Watch:
    """A progress bar on stderr fed by a job's events, collecting its loss curves."""

    def __init__(self, job: Job, quiet: bool) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        from tuneplug.jobs.plot import Curves

        self.curves: Curves = Curves()
        self.console = Console(stderr=True, quiet=quiet)
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[valid]}"),
            TimeElapsedColumn(), console=self.console, transient=False,
        )  # fmt: skip
        self.task = self.progress.add_task(job.id, total=_steps_total(job), loss="-", valid="")

    def __enter__(self) -> _Watch:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: JobEvent) -> None:
        self.curves.add(event)
        if event.step is not None and "loss" in event.metrics:
            self.progress.update(
                self.task, completed=event.step, loss=f"{event.metrics['loss']:.4f}"
            )
        elif "valid_loss" in event.metrics:
            self.progress.update(self.task, valid=f"valid {event.metrics['valid_loss']:.4f}")
        elif event.level == "warn":
            self.progress.console.print(f"warning: {event.message}", highlight=False)
        elif event.level == "info" and event.step is None:
            self.progress.console.print(event.message, highlight=False, markup=False)
        # error events end the job: its summary and one error line say them


def _summary(job: Job, curves: Curves, as_json: bool, plot: str | None) -> None:
    from tuneplug.jobs.plot import sparkline, write_plot

    if plot:
        write_plot(plot, curves, f"{job.ref} ({job.model})")
    if as_json:
        row = job.model_dump(mode="json")
        row["ref"] = job.ref
        row["loss_curve"] = [{"step": s, "loss": x} for s, x in curves.train]
        row["valid_loss_curve"] = [{"step": s, "valid_loss": x} for s, x in curves.valid]
        echo_json(row)
    else:
        _print_job(job)
        if curves.train:
            first, last = curves.train[0][1], curves.train[-1][1]
            line = sparkline([x for _, x in curves.train])
            click.echo(f"{'loss:':18} {line}  {first:.4f} -> {last:.4f}")
        if curves.valid:
            shown = ", ".join(f"{x:.4f}" for _, x in curves.valid)
            click.echo(f"{'validation loss:':18} {shown}")
        if plot:
            click.echo(f"{'plot:':18} {plot}")
    _fail_unless_done(job)


def _fail_unless_done(job: Job) -> None:
    from tuneplug.errors import TuneplugError
    from tuneplug.jobs.types import JobStatus

    if job.status is JobStatus.SUCCEEDED:
        return
    if job.status is JobStatus.PAUSED and job.raw_status == "interrupted":
        raise TuneplugError(
            f"job {job.id} stopped; resume it with `tuneplug jobs resume {job.ref}`"
        )
    reason = f": {job.error}" if job.error else ""
    raise TuneplugError(f"job {job.id} {job.status.value}{reason}", provider=job.provider)


def _print_job(job: Job) -> None:
    rows = {
        "job": job.ref,
        "status": job.status.value,
        "model": job.model,
        "fine-tuned model": job.fine_tuned_model or "",
        "trained tokens": job.trained_tokens if job.trained_tokens is not None else "",
        "progress": f"{job.progress:.0%}" if job.progress is not None else "",
        "error": job.error or "",
    }
    for key, value in rows.items():
        if value != "":
            click.echo(f"{key + ':':18} {value}")


def _attach(job: Job, as_json: bool, plot: str | None, run: bool) -> None:
    """Follow ``job`` with a progress bar (running it here when ``run``), then summarise."""
    from tuneplug.errors import TuneplugError
    from tuneplug.jobs.local import LocalJobs
    from tuneplug.jobs.types import JobStatus

    backend = job.backend()
    with _Watch(job, quiet=as_json) as watch:
        try:
            if run and isinstance(backend, LocalJobs):
                try:
                    final = backend.run(job.id, watch)
                except TuneplugError:
                    final = job.refresh()
                    if final.status is not JobStatus.FAILED:
                        raise  # not the job's own failure (e.g. another runner has it)
            else:
                final = job.wait(on_event=watch)
        except KeyboardInterrupt:
            watch.progress.stop()
            hint = f"resume it with `tuneplug jobs resume {job.ref}`" if run else "it goes on"
            click.echo(f"error: interrupted; {hint}", err=True)
            raise SystemExit(130) from None
    _summary(final, watch.curves, as_json, plot)


@jobs.command("create")
@click.argument("model")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--validation", type=click.Path(dir_okay=False), help="Validation samples file.")
@click.option("--epochs", type=click.IntRange(min=1), help="Epochs (n_epochs).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Samples per step.")
@click.option("--learning-rate", type=float, help="Absolute learning rate.")
@click.option("--learning-rate-multiplier", type=float, help="OpenAI's relative learning rate.")
@click.option("--rank", type=click.IntRange(min=1), help="LoRA rank of a new adapter.")
@click.option("--suffix", help="Name of the new adapter / suffix of the fine-tuned model.")
@click.option("--seed", type=click.IntRange(min=0), help="Seed of the shuffle (and provider).")
@click.option("--detach", is_flag=True, help="Start the job and return; follow with `jobs wait`.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write loss curves (PNG, SVG...).")
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
def jobs_create(
    model: str,
    data: str,
    validation: str | None,
    epochs: int | None,
    batch_size: int | None,
    learning_rate: float | None,
    learning_rate_multiplier: float | None,
    rank: int | None,
    suffix: str | None,
    seed: int | None,
    detach: bool,
    plot: str | None,
    as_json: bool,
) -> None:
    """Fine-tune MODEL on the samples in DATA (JSONL or a JSON array, any sample format).

    Without --detach the job runs attached: a progress bar with the live loss,
    then a summary. A base model gets a new adapter; an adapter is trained in place.
    """
    if learning_rate is not None and learning_rate_multiplier is not None:
        raise click.UsageError("give --learning-rate or --learning-rate-multiplier, not both")
    if detach and plot:
        raise click.UsageError("--plot needs the finished job: use it with `jobs wait` instead")
    import tuneplug
    from tuneplug.jobs.facade import backend_for, make_spec
    from tuneplug.jobs.local import LocalJobs
    from tuneplug.types import Capability

    target = tuneplug.get_model(model)
    target.provider.require(Capability.JOBS, "run fine-tuning jobs")
    given = {
        "validation_data": validation, "n_epochs": epochs, "batch_size": batch_size,
        "learning_rate": learning_rate, "learning_rate_multiplier": learning_rate_multiplier,
        "rank": rank, "suffix": suffix, "seed": seed,
    }  # fmt: skip
    spec = make_spec(target.id, data, {k: v for k, v in given.items() if v is not None})
    backend: JobBackend = backend_for(target.provider)
    local = isinstance(backend, LocalJobs)
    if local:
        assert isinstance(backend, LocalJobs)
        job = backend.create(spec, start="detach" if detach else "none")
    else:
        job = backend.create(spec)
    if detach:
        if as_json:
            echo_json({**job.model_dump(mode="json"), "ref": job.ref})
        else:
            click.echo(job.ref)
            click.echo(f"follow it with: tuneplug jobs wait {job.ref}", err=True)
        return
    _attach(job, as_json, plot, run=local)


@jobs.command("wait")
@click.argument("job_ref", metavar="ID")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write loss curves (PNG, SVG...).")
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
def jobs_wait(job_ref: str, plot: str | None, as_json: bool) -> None:
    """Follow the job ID (provider/id, or a local job's id) until it ends."""
    _attach(_find(job_ref), as_json, plot, run=False)


@jobs.command("resume")
@click.argument("job_ref", metavar="ID")
@click.option("--detach", is_flag=True, help="Resume in a process of its own and return.")
@click.option("--worker", is_flag=True, hidden=True, help="Run as a detached job's runner.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write loss curves (PNG, SVG...).")
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
def jobs_resume(job_ref: str, detach: bool, worker: bool, plot: str | None, as_json: bool) -> None:
    """Continue a paused job; or a local job that stopped (killed, interrupted, failed on a
    refused step), in the foreground unless --detach."""
    from tuneplug.errors import InvalidRequestError
    from tuneplug.jobs.local import LocalJobs

    job = _find(job_ref)
    backend = job.backend()
    if not isinstance(backend, LocalJobs):
        if worker or detach or plot:
            raise InvalidRequestError(f"{job.ref} is a {job.provider} job: it runs there")
        resumed = job.resume()  # the provider's own resume (CapabilityError without one)
        click.echo(json.dumps(resumed.model_dump(mode="json")) if as_json else resumed.ref)
        return
    if worker:
        final = backend.run(job.id, lambda e: print(e.message, file=sys.stderr, flush=True))
        click.echo(final.status.value)
        return
    if detach:
        resumed = backend.resume(job.id, start="detach")
        click.echo(json.dumps(resumed.model_dump(mode="json")) if as_json else resumed.ref)
        return
    resumed = backend.resume(job.id, start="none")
    # A job asked to pause whose runner had not stopped yet just goes on there: follow it.
    _attach(resumed, as_json, plot, run=not backend.alive(job.id))


@jobs.command("list")
@click.option("--provider", "-p", help="Only this provider's jobs (its native jobs too).")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--after", help="The last job id of the previous page.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def jobs_list(provider: str | None, limit: int, after: str | None, as_json: bool) -> None:
    """List jobs, newest first (every local job, or one provider's)."""
    import tuneplug

    page = tuneplug.list_jobs(provider, after=after, limit=limit)
    if as_json:
        rows = [{**j.model_dump(mode="json"), "ref": j.ref} for j in page]
        echo_json({"data": rows, "has_more": page.has_more})
        return
    shown = table("job", "status", "model", "fine-tuned model", "progress")
    for job in page:
        progress = f"{job.progress:.0%}" if job.progress is not None else ""
        shown.add_row(job.ref, job.status.value, job.model, job.fine_tuned_model or "", progress)
    console().print(shown)
    if page.has_more:
        click.echo(f"more: --after {page[-1].id}", err=True)


@jobs.command("get")
@click.argument("job_ref", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def jobs_get(job_ref: str, as_json: bool) -> None:
    """Describe the job ID."""
    job = _find(job_ref)
    if as_json:
        echo_json({**job.model_dump(mode="json"), "ref": job.ref})
    else:
        _print_job(job)


@jobs.command("cancel")
@click.argument("job_ref", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def jobs_cancel(job_ref: str, as_json: bool) -> None:
    """Cancel the job ID (its runner stops before its next step)."""
    job = _find(job_ref).cancel()
    if as_json:
        echo_json({**job.model_dump(mode="json"), "ref": job.ref})
    else:
        click.echo(f"{job.ref} {job.status.value}")


@jobs.command("events")
@click.argument("job_ref", metavar="ID")
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the job ends.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def jobs_events(job_ref: str, follow: bool, as_json: bool) -> None:
    """Print the events of the job ID, oldest first."""
    import datetime

    job = _find(job_ref)

    def show(event: JobEvent) -> None:
        if as_json:
            click.echo(json.dumps(event.model_dump(mode="json")))
        else:
            when = datetime.datetime.fromtimestamp(event.created_at).strftime("%H:%M:%S")
            click.echo(f"{when} {event.level:5} {event.message}")
        sys.stdout.flush()

    if follow:
        final = job.wait(on_event=show)
        click.echo(f"{final.ref} {final.status.value}", err=True)
        return
    after: str | None = None
    while True:  # bounded: each page moves forward, the last says no more
        page = job.events(after=after, limit=100)
        for event in page:
            show(event)
            after = event.id
        if not page.has_more or not page.data:
            return


def _register() -> None:
    from tuneplug.cli.jobs_control import COMMANDS

    for command in COMMANDS:
        jobs.add_command(command)


_register()
