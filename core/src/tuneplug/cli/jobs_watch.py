"""Following a job from ``tuneplug jobs create|wait|resume``: progress bar, summary, plot.

The bar (with the live loss) goes to stderr; the summary, or the ``--json``
document, to stdout. A job that ends failed or cancelled, or stops being run, is
a runtime error (exit 1, one ``error:`` line) after its summary. Ctrl-C says
plainly what happens to the job: one this process was running stops and resumes
with ``jobs resume``; one running elsewhere (a provider's, a detached runner's)
goes on, and ``jobs wait`` follows it again.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from tuneplug.cli.base import resumable
from tuneplug.cli.options import require_module
from tuneplug.cli.output import echo_json, stderr_console

if TYPE_CHECKING:
    from tuneplug.jobs.plot import Curves
    from tuneplug.jobs.types import Job, JobEvent

__all__ = ["attach", "check_plot", "following_hint", "job_json", "model_ref", "print_job"]


def model_ref(job: Job) -> str:
    """The job's model as the reference ``complete -m`` takes (``provider/id``), whoever ran it."""
    prefix = f"{job.provider}/"
    return job.model if job.model.startswith(prefix) else prefix + job.model


def job_json(job: Job) -> dict[str, Any]:
    """A job's JSON document: its fields, its ``ref`` and its model's reference."""
    return {**job.model_dump(mode="json"), "ref": job.ref, "model_ref": model_ref(job)}


def check_plot(plot: str | None) -> None:
    """Refuse a ``--plot`` that could not be written, before the job runs.

    A missing matplotlib or an image format it cannot write is a usage error
    (exit 2); a path that is a directory is a runtime error (exit 1), like every
    file the command line names (``docs/cli.md``).
    """
    if plot is None:
        return
    require_module("matplotlib", "plot", "--plot")
    from matplotlib.backend_bases import FigureCanvasBase

    from tuneplug.cli.base import UsageLine
    from tuneplug.errors import InvalidRequestError

    suffix = os.path.splitext(plot)[1].lstrip(".").lower()
    formats = FigureCanvasBase.get_supported_filetypes()
    if suffix and suffix not in formats:
        raise UsageLine(
            f"--plot: cannot write .{suffix} images; use one of: {', '.join(sorted(formats))}"
        )
    if os.path.isdir(plot):
        raise InvalidRequestError(f"--plot: {plot} is a directory")


def _steps_total(job: Job) -> int | None:
    from tuneplug.jobs.local import LocalJobs

    backend = job.backend()
    if isinstance(backend, LocalJobs):
        return backend.store.get(job.id).steps_total
    return None


class _Watch:
    """A progress bar on stderr fed by a job's events, collecting its loss curves."""

    def __init__(self, job: Job, quiet: bool) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        from tuneplug.jobs.plot import Curves

        self.curves: Curves = Curves()
        self.console = stderr_console(quiet)
        total = _steps_total(job)
        # A provider's job does not say how many steps it has: a spinner and the step
        # reached, not a bar (rich draws one of unknown total full, beside "11/?").
        middle: tuple[ProgressColumn, ...] = (
            (BarColumn(), MofNCompleteColumn())
            if total is not None
            else (SpinnerColumn(finished_text=" "), TextColumn("step {task.fields[step]}"))
        )
        self.progress = Progress(
            # The description is the job's id (the provider's): data, never markup.
            TextColumn("{task.description}", markup=False), *middle,
            TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[valid]}"),
            TimeElapsedColumn(), console=self.console, transient=False,
        )  # fmt: skip
        self.task = self.progress.add_task(job.id, total=total, loss="-", valid="", step="-")

    def __enter__(self) -> _Watch:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        task = self.progress.tasks[0]
        if task.total is None:  # the spinner stops: its last frame is not "still running"
            self.progress.update(self.task, total=task.completed)
        self.progress.stop()

    def __call__(self, event: JobEvent) -> None:
        self.curves.add(event)
        if event.step is not None and "loss" in event.metrics:
            self.progress.update(
                self.task, completed=event.step, loss=f"{event.metrics['loss']:.4f}",
                step=event.step,
            )  # fmt: skip
        elif "valid_loss" in event.metrics:
            self.progress.update(self.task, valid=f"valid {event.metrics['valid_loss']:.4f}")
        elif event.level == "warn":
            self.progress.console.print(f"warning: {event.message}", highlight=False, markup=False)
        elif event.level == "info" and event.step is None:
            self.progress.console.print(event.message, highlight=False, markup=False)
        # error events end the job: its summary and one error line say them


def _summary(job: Job, curves: Curves, as_json: bool, plot: str | None) -> None:
    from tuneplug.jobs.plot import sparkline, write_plot

    if plot:
        write_plot(plot, curves, f"{job.ref} ({model_ref(job)})")
    if as_json:
        row = job_json(job)
        row["loss_curve"] = [{"step": s, "loss": x} for s, x in curves.train]
        row["valid_loss_curve"] = [{"step": s, "valid_loss": x} for s, x in curves.valid]
        echo_json(row)
    else:
        print_job(job)
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
    if job.status is JobStatus.PAUSED:
        from tuneplug.jobs.facade import not_running

        raise not_running(job)
    reason = f": {job.error}" if job.error else ""
    raise TuneplugError(f"job {job.id} {job.status.value}{reason}", provider=job.provider)


def print_job(job: Job) -> None:
    """A job as ``key: value`` lines on stdout (empty fields left out)."""
    rows = {
        "job": job.ref,
        "status": job.status.value,
        "model": model_ref(job),
        "fine-tuned model": job.fine_tuned_model or "",
        "trained tokens": job.trained_tokens if job.trained_tokens is not None else "",
        "progress": f"{job.progress:.0%}" if job.progress is not None else "",
        "error": job.error or "",
    }
    for key, value in rows.items():
        if value != "":
            click.echo(f"{key + ':':18} {value}")


def attach(job: Job, as_json: bool, plot: str | None, run: bool) -> None:
    """Follow ``job`` with a progress bar (running it here when ``run``), then summarise.

    ``plot`` must have passed :func:`check_plot` before the job was started.
    """
    from tuneplug.errors import TuneplugError
    from tuneplug.jobs.interrupts import StepAbandoned
    from tuneplug.jobs.local import LocalJobs
    from tuneplug.jobs.types import JobStatus

    backend = job.backend()
    here = run and isinstance(backend, LocalJobs)
    resumable(_interrupted(job, here))  # also said if interrupted before the bar is up
    # Ctrl-C (or SIGTERM) leaves the block, which stops the bar once, and reaches the
    # CLI's handler, which says the hint set above: one line, as for every command.
    with _Watch(job, quiet=as_json) as watch:
        if isinstance(backend, LocalJobs) and here:
            try:
                final = backend.run(job.id, watch)
            except StepAbandoned as exc:
                resumable(str(exc))  # not "continue it": it cannot be
                raise
            except TuneplugError:
                final = job.refresh()
                if final.status is not JobStatus.FAILED:
                    raise  # not the job's own failure (e.g. another runner has it)
        else:
            try:
                final = job.wait(on_event=watch)
            except TuneplugError as exc:
                # A paused job nothing will continue: the summary, then the CLI's
                # way to resume it (the Python error also names job.resume()).
                try:
                    final = job.refresh()
                except TuneplugError:
                    raise _lost_sight(job, exc) from exc  # its service is out of reach
                if final.status.is_terminal:
                    raise
                if final.status is not JobStatus.PAUSED:
                    raise _lost_sight(job, exc) from exc
    _summary(final, watch.curves, as_json, plot)


def _lost_sight(job: Job, exc: Exception) -> Exception:
    """``exc`` (following ``job`` failed: its service restarting, the network down), saying
    that only the following stopped, not the job, and how to follow it again."""
    from tuneplug.errors import TuneplugError

    if not isinstance(exc, TuneplugError):
        return exc
    return TuneplugError(
        f"{exc.said_of(None)}; only following it stopped: the job goes on at "
        f"{job.provider!r}; follow it again with `tuneplug jobs wait {job.ref}` "
        f"or stop it with `tuneplug jobs cancel {job.ref}`",
        retryable=exc.retryable,
    )


def _interrupted(job: Job, here: bool) -> str:
    """What Ctrl-C did to ``job``: stopped it (run here) or only stopped following it."""
    if here:
        return (
            f"the job stopped after its last finished step; "
            f"continue it with `tuneplug jobs resume {job.ref}`"
        )
    return following_hint(job.ref)


def following_hint(ref: str) -> str:
    """What Ctrl-C (or SIGTERM) while following the job ``ref`` did: nothing to the job."""
    return (
        f"the job keeps running; follow it again with `tuneplug jobs wait {ref}` "
        f"or stop it with `tuneplug jobs cancel {ref}`"
    )
