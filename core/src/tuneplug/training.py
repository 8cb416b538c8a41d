"""``tuneplug fine-tune``: a front end on a local fine-tuning job.

A run is a local job (:mod:`tuneplug.jobs.local`) over the file in its own
order (no shuffle), tagged with the run's key: the adapter, the file (its path,
and its content: size and SHA-256, not its modification time), the batch size
and the epochs. A rerun after the file's content changed is refused while the
run's job is unfinished, saying so and how to go on. Running the same
command again after an interruption or a refused step resumes that job, every
step applied exactly once (see :mod:`tuneplug.jobs.runner`); ``resume=False``
starts a new job, and later runs resume that one. A finished run's job stays listed in
``tuneplug jobs list``; the next identical command starts a new one.

The same command started while its job runs is refused: the job's runner lock
is held.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuneplug.errors import InvalidRequestError, TuneplugError
from tuneplug.models import Model, get_model
from tuneplug.samples import count_samples

__all__ = ["run_fine_tune", "run_key"]


def run_key(model: Model, file: Path, batch_size: int, epochs: int) -> str:
    """The tag of the job a run of this adapter, file, batch size and epochs uses:
    ``fine-tune:<the command's 24 hex digits>:<the file's content, 24 hex digits>``.

    The file is known by its bytes (size and SHA-256), not its modification time: a
    file touched, saved unchanged or checked out again is the same file.

    Raises:
        OSError: the file cannot be read.
    """
    command = f"{model.ref}\0{file.resolve()}\0{batch_size}\0{epochs}"
    return f"{_command_key(command)}:{_content_key(file)}"


def _command_key(command: str) -> str:
    return "fine-tune:" + hashlib.sha256(command.encode()).hexdigest()[:24]


def _content_key(file: Path) -> str:
    content = hashlib.sha256()
    size = 0
    with file.open("rb") as fh:
        # Bounded by the file's size, 1 MiB at a time.
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            content.update(chunk)
            size += len(chunk)
    return hashlib.sha256(f"{size}\0{content.hexdigest()}".encode()).hexdigest()[:24]


def _changed_since(jobs: Any, origin: str, path: Path) -> InvalidRequestError | None:
    """The refusal of a run whose file changed since this command's unfinished job read
    it (same adapter, file path, batch size and epochs; other bytes), or ``None``."""
    command = origin.rpartition(":")[0] + ":"
    for row in jobs.store.by_origin_prefix(command):
        if row.origin == origin or row.status in ("succeeded", "failed", "cancelled"):
            continue
        ref = f"{row.provider}/{row.id}"
        return InvalidRequestError(
            f"{path} changed since job {ref} (an unfinished run of this command) read it, "
            f"so rerunning the command cannot resume that job: `tuneplug jobs resume {ref}` "
            "finishes it on the file as it was then (the job keeps its own copy), or "
            f"`tuneplug jobs cancel {ref}` ends it, after which this command trains on the "
            "file as it is now",
            provider=row.provider,
        )
    return None


def run_fine_tune(
    ref: str,
    file: str | os.PathLike[str],
    *,
    batch_size: int = 8,
    epochs: int = 1,
    resume: bool = True,
    quiet: bool = False,
    on_job: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fine-tune the adapter ``ref`` on every sample of ``file``, ``epochs`` times.

    Shows a progress bar with the live loss on stderr unless ``quiet``, and
    returns a summary: ``model``, ``file``, ``samples``, ``batch_size``,
    ``resumed``, ``job`` (its ``provider/id``) and ``epochs``, a list of
    ``{epoch, trainable_tokens, sum_loss, loss}`` (the CLI prints it on stdout).
    ``on_job(job_id)`` is called once the run has its job (found to resume, or
    created): from then on, not before, rerunning the same command resumes it.

    Raises:
        CapabilityError: ``ref`` is not an adapter of a FineTunable provider.
        SampleFileError: the file is unreadable or holds an invalid sample.
        InvalidRequestError: the file is no regular file (a pipe: it is read more
            than once), or it changed since the interrupted run of this command.
        AdapterBusyError: another unfinished job (another run, ``jobs create``, a
            gateway's) trains the adapter; nothing is read or sent.
        TuneplugError: the same run is already going on, or its job stopped on
            a step it cannot prove applied or not.
    """
    from tuneplug.cli.output import stderr_console
    from tuneplug.jobs.facade import make_spec
    from tuneplug.jobs.local import LocalJobs
    from tuneplug.jobs.types import JobStatus

    model = get_model(ref)
    path = Path(file)
    if path.exists() and not path.is_file():
        # Its content names the run to resume, then it is checked whole, then trained on:
        # a pipe (/dev/stdin, a shell's <(...)) gives its bytes once.
        raise InvalidRequestError(
            f"{path}: not a regular file (a pipe?): fine-tune reads its file more than "
            "once; save the samples to a file first, or use `tuneplug jobs create`, "
            "which reads them once"
        )
    # JobSpec's bounds (epochs 1..1000, batch size 1..65536), as an InvalidRequestError.
    spec = make_spec(model.id, path, {"n_epochs": epochs, "batch_size": batch_size})
    model.check_fine_tunable()
    jobs = LocalJobs(model.provider)
    try:
        origin = run_key(model, path, batch_size, epochs)
    except OSError:
        count_samples(path)  # says what is wrong with the file, as a SampleFileError
        raise
    # Only the newest job of this run is ever resumed: --no-resume leaves older ones behind.
    latest = next(iter(jobs.store.by_origin(origin)), None)
    again = resume and latest is not None and latest.status not in _ENDED
    changed = None if again or not resume else _changed_since(jobs, origin, path)
    if changed is not None:
        raise changed
    # Another job on the adapter refuses this run before the file is read.
    jobs.check_free(model.id, latest.id if again and latest is not None else None)
    total = count_samples(path)  # validates every line before anything is made
    if total == 0:
        raise InvalidRequestError(f"{path}: no samples")
    if again and latest is not None:
        jobs.check_continuable(latest.id)  # a job stopped on an uncertain step: said up front
        job_id, resumed = latest.id, latest.steps_done > 0
    else:
        job_id = jobs.create(spec, start="none", shuffle=False, origin=origin).id
        resumed = False
    if on_job is not None:
        on_job(job_id)
    console = stderr_console(quiet)
    # A run another process is going on with is refused by the runner: don't announce it.
    if resumed and not jobs.alive(job_id):
        done = jobs.store.get(job_id).steps_done
        console.print(f"resuming job {job_id} after step {done}", markup=False)
    final = _run(jobs, job_id, epochs, console)
    if final.status is not JobStatus.SUCCEEDED:
        raise TuneplugError(final.error or f"job {job_id} {final.status.value}")
    results = [
        {
            "epoch": epoch,
            "trainable_tokens": tokens,
            "sum_loss": summed,
            "loss": summed / tokens if tokens else None,
        }
        for epoch, tokens, summed in jobs.epochs(job_id)
    ]
    return {
        "model": model.ref,
        "file": str(path),
        "samples": total,
        "batch_size": batch_size,
        "resumed": resumed,
        "job": final.ref,
        "epochs": results,
    }


_ENDED = ("succeeded", "cancelled")


def _run(jobs: Any, job_id: str, epochs: int, console: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tuneplug.jobs.types import JobEvent

    row = jobs.store.get(job_id)
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(
            f"epoch 1/{epochs}", total=row.steps_total, completed=row.steps_done, loss="-"
        )

        def on_event(event: JobEvent) -> None:
            if event.step is None:
                return
            epoch = int(event.metrics.get("epoch", 1))
            loss = event.metrics.get("loss")
            progress.update(
                task, completed=event.step, description=f"epoch {epoch}/{epochs}",
                loss="-" if loss is None else f"{loss:.4f}",
            )  # fmt: skip

        return jobs.run(job_id, on_event)
