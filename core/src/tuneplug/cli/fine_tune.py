"""``tuneplug fine-tune``: train an adapter on a samples file, resumable by rerunning."""

from __future__ import annotations

import click

from tuneplug.cli.adapters import FORCE_TRAIN_HELP, refuse_served
from tuneplug.cli.base import resumable
from tuneplug.cli.options import MODEL_REF, FilePath
from tuneplug.cli.output import echo_json

__all__ = ["fine_tune"]


@click.command("fine-tune")
@click.argument("model", type=MODEL_REF)
@click.argument("file", type=FilePath("a samples file"))
# The bounds are JobSpec's (fine-tune runs a local job), checked as `jobs create` checks
# them, so a value is refused before any work in the same words (`error: --epochs: ...`).
@click.option(
    "--batch-size", type=int, default=8, show_default=True, help="Samples per step (1..65536)."
)  # fmt: skip
@click.option(
    "--epochs", type=int, default=1, show_default=True, help="Passes over the samples (1..1000)."
)  # fmt: skip
@click.option(
    "--resume/--no-resume", default=True, show_default=True,
    help="Continue an interrupted run of the same model, file (its content), batch size "
    "and epochs.",
)  # fmt: skip
@click.option("--force", is_flag=True, help=FORCE_TRAIN_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def fine_tune(
    model: str, file: str, batch_size: int, epochs: int, resume: bool, force: bool, as_json: bool
) -> None:
    """Fine-tune the adapter MODEL on the samples in FILE (JSONL or a JSON array)."""
    from tuneplug.cli.jobs import checked_spec
    from tuneplug.jobs.interrupts import StepAbandoned
    from tuneplug.training import run_fine_tune

    checked_spec(model, file, {"batch_size": batch_size, "n_epochs": epochs})
    if not force:
        import tuneplug

        refuse_served(tuneplug.get_model(model), training=True)
    # Interrupted before the run has its job, nothing was done: plain `interrupted`. Once
    # it has one, rerunning resumes it (without --no-resume, which would start another).
    again = "the same command again" if resume else "it again without --no-resume"

    def has_job(job_id: str) -> None:
        resumable(f"run {again} to resume where it stopped")

    try:
        summary = run_fine_tune(
            model, file, batch_size=batch_size, epochs=epochs, resume=resume, quiet=as_json,
            on_job=has_job,
        )  # fmt: skip
    except StepAbandoned as exc:
        resumable(str(exc))  # rerunning would not resume it: say why
        raise
    if as_json:
        echo_json(summary)
        return
    # The result on stdout (the progress bar went to stderr).
    for row in summary["epochs"]:
        loss = "-" if row["loss"] is None else f"{row['loss']:.4f}"
        click.echo(
            f"epoch {row['epoch']}: {row['trainable_tokens']} trainable tokens, "
            f"sum loss {row['sum_loss']:.4f}, mean loss {loss}"
        )
