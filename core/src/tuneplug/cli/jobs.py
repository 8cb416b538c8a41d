"""``tuneplug jobs``: create, follow, list, inspect, cancel and resume fine-tuning jobs
(pause, checkpoints, delete and prune: :mod:`tuneplug.cli.jobs_control`).

Progress (a bar with the live loss) and diagnostics go to stderr; the final
summary, and every ``--json`` document, go to stdout (:mod:`.jobs_watch`). A
hyperparameter out of its range, or one the provider's jobs do not take, is a
usage error (exit 2) naming the flag, before any file is read or request sent.
A job that ends failed or cancelled, or stops being run, is a runtime error (exit
1, one ``error:`` line) after its summary. Heavy modules are imported inside the
commands.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from tuneplug.cli.adapters import FORCE_TRAIN_HELP, refuse_served
from tuneplug.cli.base import CommandGroup, UsageLine, resumable
from tuneplug.cli.jobs_list import jobs_list
from tuneplug.cli.jobs_watch import attach, check_plot, following_hint, job_json, print_job
from tuneplug.cli.options import (
    JOB_REF,
    MODEL_REF,
    Beta,
    FilePath,
    Finite,
    parse_extra,
    refused,
    refused_as,
)
from tuneplug.cli.output import echo_json

if TYPE_CHECKING:
    from tuneplug.jobs.backend import JobBackend
    from tuneplug.jobs.types import Job, JobEvent, JobSpec

__all__ = ["checked_spec", "jobs"]


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


_FLAGS = {
    "n_epochs": "--epochs", "batch_size": "--batch-size", "learning_rate": "--learning-rate",
    "learning_rate_multiplier": "--learning-rate-multiplier", "rank": "--rank",
    "lora_alpha": "--lora-alpha", "lora_dropout": "--lora-dropout", "suffix": "--suffix",
    "seed": "--seed", "extra": "-o", "method": "--method", "model": "MODEL",
    "training_data": "DATA", "validation_data": "--validation",
}  # fmt: skip
"""JobSpec field -> the flag (or argument) that sets it, to name it in a usage error."""


def _flag(field: str | None, options: dict[str, Any] | None = None) -> str | None:
    """The flag that set ``field``: ``-o NAME`` for a provider option (a key of
    ``options``, the ``-o`` values, or no spec field), ``None`` if none did."""
    if field is None:
        return None
    if options is not None and field in options:
        return f"-o {field}"
    return _FLAGS.get(field, f"-o {field}")


def _no_spec_fields(options: dict[str, Any]) -> None:
    """``-o`` is for the provider's own job options: a spec field has its flag."""
    for key in options:
        if key in _FLAGS and key != "extra":
            raise UsageLine(f"-o {key}: a field of the job spec, set by {_FLAGS[key]}")


def checked_spec(model: str, data: str, given: dict[str, Any]) -> JobSpec:
    """The job spec of the command line, every value checked before any I/O.

    A value out of its range is a usage error naming its flag (JobSpec's bounds
    are the single source of them); the data paths are checked when read.
    """
    from pydantic import ValidationError

    from tuneplug.jobs.facade import spec_error
    from tuneplug.jobs.types import JobSpec

    try:
        return JobSpec(model=model, training_data=data, **given)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = str(err["loc"][0]) if err["loc"] else None
        inner = ".".join(str(p) for p in err["loc"][1:])  # inside -o's dict: the key
        where = f"-o {inner}" if field == "extra" and inner else _flag(field) or "the job spec"
        detail = spec_error(exc).detail  # worded as Python's: "must be an integer in 1..1000"
        raise UsageLine(f"{where}: {detail[:1].lower()}{detail[1:]}") from None


@jobs.command("create")
@click.argument("model", type=MODEL_REF)
@click.argument("data", type=FilePath("a samples file"))
@click.option("--validation", type=FilePath("a samples file"), help="Validation samples file.")
@click.option("--method", type=click.Choice(["sft", "dpo"]), help="Training method. [default: sft]")
@click.option(
    "--beta", type=Beta(),
    help="DPO's beta: a finite number > 0, or 'auto' (--method dpo only; the provider's default).",
)  # fmt: skip
@click.option("--epochs", type=int, help="Epochs (n_epochs, 1..1000).")
@click.option("--batch-size", type=int, help="Samples per step (1..65536).")
@click.option("--learning-rate", type=Finite(), help="Absolute learning rate (0 < lr < 1).")
@click.option(
    "--learning-rate-multiplier", type=Finite(),
    help="OpenAI's learning rate relative to its default (0 < m <= 100).",
)  # fmt: skip
@click.option("--rank", type=int, help="LoRA rank of a new adapter, within the provider's limits.")
@click.option("--lora-alpha", type=Finite(), help="LoRA alpha of a new adapter (> 0).")
@click.option("--lora-dropout", type=Finite(), help="LoRA dropout of a new adapter (0 <= p < 1).")
@click.option("--suffix", help="Name of the new adapter / suffix of the fine-tuned model.")
@click.option("--seed", type=int, help="Seed of the shuffle (and provider).")
@click.option(
    "-o", "--option", "extra", multiple=True,
    help="Provider job option key=value (JSON), such as OpenAI's metadata.",
)  # fmt: skip
@click.option("--detach", is_flag=True, help="Start the job and return; follow with `jobs wait`.")
@click.option("--force", is_flag=True, help=FORCE_TRAIN_HELP)
@click.option("--plot", help="Write loss curves (PNG, SVG... by suffix; needs matplotlib).")
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
def jobs_create(
    model: str,
    data: str,
    validation: str | None,
    method: str | None,
    beta: float | str | None,
    epochs: int | None,
    batch_size: int | None,
    learning_rate: float | None,
    learning_rate_multiplier: float | None,
    rank: int | None,
    lora_alpha: float | None,
    lora_dropout: float | None,
    suffix: str | None,
    seed: int | None,
    extra: tuple[str, ...],
    detach: bool,
    force: bool,
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
    given: dict[str, Any] = {
        "validation_data": validation, "method": method, "n_epochs": epochs,
        "batch_size": batch_size, "learning_rate": learning_rate,
        "learning_rate_multiplier": learning_rate_multiplier, "rank": rank,
        "lora_alpha": lora_alpha, "lora_dropout": lora_dropout, "suffix": suffix, "seed": seed,
    }  # fmt: skip
    given = {k: v for k, v in given.items() if v is not None}
    options = parse_extra(extra)
    if beta is not None:
        if method != "dpo":
            raise UsageLine("--beta: applies only to --method dpo")
        if "beta" in options:
            raise UsageLine("--beta: give it once: --beta or -o beta, not both")
        options["beta"] = beta  # OpenAI's `extra={"beta": ...}`, as Python passes it
    _no_spec_fields(options)
    if options:
        given["extra"] = options
    checked_spec(model, data, given)  # the ranges, before the model is even resolved
    check_plot(plot)
    import tuneplug
    from tuneplug.jobs.facade import backend_for, make_spec
    from tuneplug.jobs.local import LocalJobs
    from tuneplug.options import OptionError
    from tuneplug.types import Capability

    target = tuneplug.get_model(model)
    target.provider.require(Capability.JOBS, "run fine-tuning jobs")
    if not force:
        refuse_served(target, training=True)
    backend: JobBackend = backend_for(target.provider)
    local = isinstance(backend, LocalJobs)
    try:
        spec = make_spec(target.id, data, given)
        if isinstance(backend, LocalJobs):
            job = backend.create(spec, start="detach" if detach else "none")
        else:
            job = backend.create(spec)
    except OptionError as exc:
        # What this provider's jobs refuse before any I/O (a flag it does not take).
        raise refused(exc, _flag(exc.option, options)) from None
    if detach:
        if as_json:
            echo_json(job_json(job))
        else:
            click.echo(job.ref)
            click.echo(f"follow it with: tuneplug jobs wait {job.ref}", err=True)
        return
    attach(job, as_json, plot, run=local)


@jobs.command("wait")
@click.argument("job_ref", metavar="ID", type=JOB_REF)
@click.option("--plot", help="Write loss curves (PNG, SVG... by suffix; needs matplotlib).")
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
def jobs_wait(job_ref: str, plot: str | None, as_json: bool) -> None:
    """Follow the job ID (provider/id, or a local job's id) until it ends.

    Ctrl-C stops following, not the job: it keeps running.
    """
    # Interrupted at any point (even while the job is looked up), the job keeps running.
    resumable(following_hint(job_ref))
    check_plot(plot)
    attach(_find(job_ref), as_json, plot, run=False)


@jobs.command("resume")
@click.argument("job_ref", metavar="ID", type=JOB_REF)
@click.option("--detach", is_flag=True, help="Resume in a process of its own and return.")
@click.option("--worker", is_flag=True, hidden=True, help="Run as a detached job's runner.")
@click.option("--plot", help="Write loss curves (PNG, SVG... by suffix; needs matplotlib).")
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
def jobs_resume(job_ref: str, detach: bool, worker: bool, plot: str | None, as_json: bool) -> None:
    """Continue a paused job; or a local job that stopped (killed, interrupted, failed on a
    refused step), in the foreground unless --detach (a provider's own job: followed until
    it ends; --detach returns once the provider resumed it)."""
    from tuneplug.jobs.local import LocalJobs

    check_plot(plot)
    if worker:
        _work(job_ref)
        return
    if detach and plot:
        raise click.UsageError("--plot needs the finished job: use it with `jobs wait` instead")
    job = _find(job_ref)
    backend = job.backend()
    if not isinstance(backend, LocalJobs):
        # The provider runs its own job: resuming asks it to, and following it here is
        # what the foreground means (as `jobs create` follows one).
        resumed = job.resume()  # the provider's own resume (CapabilityError without one)
        if detach:
            click.echo(json.dumps(job_json(resumed)) if as_json else resumed.ref)
            return
        attach(resumed, as_json, plot, run=False)
        return
    if detach:
        resumed = backend.resume(job.id, start="detach")
        click.echo(json.dumps(job_json(resumed)) if as_json else resumed.ref)
        return
    resumed = backend.resume(job.id, start="none")
    # A job asked to pause whose runner had not stopped yet just goes on there: follow it.
    attach(resumed, as_json, plot, run=not backend.alive(job.id))


def _work(job_id: str) -> None:
    """The detached runner of the local job ``job_id`` (``jobs resume ID --worker``).

    What fails before the runner starts (the provider does not load here, its
    settings are invalid) is journalled as the job's failure, so `jobs wait`
    says it instead of waiting for a runner that will never come.
    """
    from tuneplug.errors import InvalidRequestError
    from tuneplug.jobs.detach import fail_unstarted
    from tuneplug.jobs.local import LocalJobs, job_store
    from tuneplug.jobs.starting import adopt

    # The start lock our parent passed: held until the runner runs (or this process exits).
    adopt(job_store().path.parent / job_id.rpartition("/")[2])
    try:
        job = _find(job_id)
        backend = job.backend()
        if not isinstance(backend, LocalJobs):
            raise InvalidRequestError(f"{job.ref} is run by provider {job.provider!r} itself")
    except Exception as exc:
        fail_unstarted(job_store(), job_id, exc)
        raise
    final = backend.run(job.id, lambda e: print(e.message, file=sys.stderr, flush=True))
    click.echo(final.status.value)


@jobs.command("get")
@click.argument("job_ref", metavar="ID", type=JOB_REF)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def jobs_get(job_ref: str, as_json: bool) -> None:
    """Describe the job ID."""
    job = _find(job_ref)
    if as_json:
        echo_json(job_json(job))
    else:
        print_job(job)


@jobs.command("cancel")
@click.argument("job_ref", metavar="ID", type=JOB_REF)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def jobs_cancel(job_ref: str, as_json: bool) -> None:
    """Cancel the job ID (its runner stops before its next step)."""
    job = _find(job_ref).cancel()
    if as_json:
        echo_json(job_json(job))
    else:
        click.echo(f"{job.ref} {job.status.value}")


@jobs.command("events")
@click.argument("job_ref", metavar="ID", type=JOB_REF)
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the job ends.")
@click.option(
    "--after", help="Only the events after this event id (the first column; not with --follow)."
)
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=None,
    help="Print at most this many events (a more: line on stderr gives the next page's command).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def jobs_events(
    job_ref: str, follow: bool, after: str | None, limit: int | None, as_json: bool
) -> None:
    """Print the events of the job ID, oldest first: event id, time, level, message."""
    import datetime
    import shlex

    if follow and (after is not None or limit is not None):
        given = "--after" if after is not None else "--limit"
        raise click.UsageError(f"--follow prints every event: give --follow or {given}, not both")
    job = _find(job_ref)

    def show(event: JobEvent) -> None:
        if as_json:
            click.echo(json.dumps(event.model_dump(mode="json")))
        else:
            # The id first: what --after takes (ids are global, not numbered from 1 per job).
            when = datetime.datetime.fromtimestamp(event.created_at).strftime("%H:%M:%S")
            click.echo(f"{event.id} {when} {event.level:5} {event.message}")
        sys.stdout.flush()

    if follow:
        # Ctrl-C stops following, not the job.
        resumable(
            f"the job keeps running; follow it again with `tuneplug jobs events {job.ref} -f`"
        )
        final = job.wait(on_event=show)
        click.echo(f"{final.ref} {final.status.value}", err=True)
        return
    left = limit
    while True:  # bounded: each page moves forward, the last says no more
        size = 100 if left is None else min(100, left)
        page = refused_as({"after": "--after"}, job.events, after=after, limit=size)
        for event in page:
            show(event)
            after = event.id
        if not page.has_more or not page.data:
            return
        if left is not None:
            left -= len(page.data)
            if left <= 0:
                command = ["tuneplug", "jobs", "events", job.ref, "--after", str(after)]
                command += ["--limit", str(limit)]
                click.echo(f"more: {shlex.join(command)}", err=True)
                return


def _register() -> None:
    from tuneplug.cli.jobs_control import COMMANDS

    for command in (jobs_list, *COMMANDS):
        jobs.add_command(command)


_register()
