"""The local job runner's checkpoints: one per epoch the job completed.

OpenAI's fine-tuning jobs keep a checkpoint at the end of each epoch
(``fine_tuning.job.checkpoint``: ``step_number``, ``metrics``,
``fine_tuned_model_checkpoint``). The local runner reports the same points
from its journal: ``step_number`` is the epoch's last step, ``metrics`` hold
``train_loss`` (the epoch's summed loss over its trainable tokens), ``tokens``,
``epoch``, ``step`` and, when the job has validation data and the provider
implements ``tuneplug_evaluate``, ``valid_loss``.

The provider holds the adapter the steps train, in place; no step hook copies
it, so only the last checkpoint of a succeeded job names a model (the job's
``fine_tuned_model``); earlier ones have ``fine_tuned_model_checkpoint = None``.
Ids are ``ftckpt-<job hex>-<step>``, listed newest first like OpenAI's.
"""

from __future__ import annotations

from tuneplug.errors import InvalidRequestError
from tuneplug.jobs.store import JobRow, JobStore
from tuneplug.jobs.types import JobCheckpoint

__all__ = ["checkpoint_id", "epoch_checkpoints"]


def checkpoint_id(job_id: str, step: int) -> str:
    """The id of the checkpoint of ``job_id`` at ``step``."""
    return f"ftckpt-{job_id.removeprefix('ftjob-')}-{step}"


def _step_of(job_id: str, checkpoint: str) -> int:
    head, _, step = checkpoint.rpartition("-")
    if head != checkpoint_id(job_id, 0).rpartition("-")[0] or not step.isdigit():
        raise InvalidRequestError(f"bad checkpoint id {checkpoint!r} for job {job_id}")
    return int(step)


def epoch_checkpoints(
    store: JobStore, row: JobRow, after: str | None, limit: int
) -> tuple[list[JobCheckpoint], bool]:
    """``row``'s checkpoints newest first, those before the checkpoint ``after``; and
    whether more follow.

    Raises:
        InvalidRequestError: ``after`` is not a checkpoint id of this job.
    """
    below = None if after is None else _step_of(row.id, after)
    per_epoch = int(row.settings["steps_per_epoch"])
    done_epochs = row.steps_done // per_epoch
    totals = {epoch: (tokens, loss) for epoch, tokens, loss in store.epoch_totals(row.id)}
    valid_rows, _ = store.events(row.id, None, 1_000_000, kind="valid")
    valid = {
        int(e.metrics["epoch"]): e.metrics["valid_loss"]
        for e in valid_rows
        if "valid_loss" in e.metrics and "epoch" in e.metrics
    }
    ends = [(epoch + 1) * per_epoch for epoch in range(done_epochs)]
    ends = [step for step in ends if below is None or step < below]
    ends.reverse()
    chosen = ends[:limit]
    times = store.step_times(row.id, chosen)
    done = row.status == "succeeded"
    found: list[JobCheckpoint] = []
    for step in chosen:
        epoch = step // per_epoch
        tokens, loss = totals.get(epoch - 1, (0, 0.0))
        metrics = {"step": float(step), "epoch": float(epoch), "tokens": float(tokens)}
        if tokens:
            metrics["train_loss"] = loss / tokens
        if epoch in valid:
            metrics["valid_loss"] = valid[epoch]
        last = done and step == row.steps_total
        found.append(
            JobCheckpoint(
                id=checkpoint_id(row.id, step),
                job_id=row.id,
                created_at=times.get(step, row.created_at),
                step_number=step,
                metrics=metrics,
                fine_tuned_model_checkpoint=f"{row.provider}/{row.target}" if last else None,
            )
        )
    return found, len(ends) > limit
