"""The local job runner's checkpoints: one per epoch the job completed.

OpenAI's fine-tuning jobs keep a checkpoint at the end of each epoch
(``fine_tuning.job.checkpoint``: ``step_number``, ``metrics``,
``fine_tuned_model_checkpoint``). The local runner reports the same points
from its journal: ``step_number`` is the epoch's last step, ``metrics`` hold
``train_loss`` (the epoch's summed loss over its trainable tokens), ``tokens``,
``epoch``, ``step`` and, when the job has validation data and the provider
implements ``tuneplug_evaluate``, ``valid_loss``.

The provider trains one adapter in place. The last checkpoint of a succeeded job
names it (the job's ``fine_tuned_model``). For the earlier ones, a provider that
implements the optional hook ``tuneplug_copy_adapter`` is asked, at the end of
each epoch but the last, for a copy of the adapter named after the checkpoint
(:class:`Copies`), and ``fine_tuned_model_checkpoint`` names that copy. Like
OpenAI, which keeps the checkpoints of a job's last 3 epochs, only the copies of
the newest :data:`KEPT` checkpoints are kept (the job's own model counting as one
once it succeeded); older copies are deleted and their checkpoints keep their
metrics with ``fine_tuned_model_checkpoint = None``, as does every checkpoint but
the last of a provider without the hook. Deleting the job deletes its copies.

Exactly one copy per checkpoint, whatever is killed when: the copy is journalled
``copying`` (with its name) before the hook is called, and ``kept`` in the same
transaction that starts the next step, so the adapter holds exactly the epoch's
steps while the copy is made. A runner that finds a ``copying`` checkpoint (its
predecessor was killed around the copy) deletes any adapter of that name and
copies again. Ids are ``ftckpt-<job hex>-<step>``, listed newest first like OpenAI's.
"""

from __future__ import annotations

import logging

from tuneplug.errors import NotFoundError, TuneplugError, UnknownModelError
from tuneplug.jobs.cursors import bad_cursor, gone_cursor
from tuneplug.jobs.store import Event, JobRow, JobStore
from tuneplug.jobs.types import JobCheckpoint
from tuneplug.provider import Provider
from tuneplug.types import ModelInfo, ModelKind

__all__ = ["KEPT", "Copies", "checkpoint_id", "drop_copies", "epoch_checkpoints"]

KEPT = 3
"""Checkpoints whose model is kept (OpenAI keeps those of a job's last 3 epochs)."""

COPY_HOOK = "tuneplug_copy_adapter"

log = logging.getLogger("tuneplug.jobs")


class Copies:
    """The adapter copies of one job's checkpoints (see the module docstring)."""

    def __init__(self, store: JobStore, provider: Provider, job_id: str) -> None:
        """Copies of ``job_id``'s adapter through ``provider``, journalled in ``store``."""
        self.store = store
        self.provider = provider
        self.job_id = job_id
        self.enabled = provider.has(COPY_HOOK)

    def wanted(self, step: int, per_epoch: int, total: int) -> bool:
        """Whether a copy is made after ``step``: an epoch's end before the last step."""
        return self.enabled and 0 < step < total and step % per_epoch == 0

    def take(self, info: ModelInfo, step: int) -> None:
        """Copy the adapter ``info`` as the checkpoint at ``step`` and keep the newest
        :data:`KEPT`. A copy that fails is a warning event (the
        checkpoint keeps its metrics, the job goes on); an interrupt leaves it
        ``copying`` for :meth:`settle`."""
        name = checkpoint_id(self.job_id, step)
        if self.store.checkpoint_copies(self.job_id, [step]):
            self._delete_named(name, quiet=False)  # a killed run's copy, perhaps half-made
        self.store.begin_checkpoint(self.job_id, step, name)
        try:
            made: ModelInfo = self.provider.call(COPY_HOOK, model=info, name=name)
        except Exception as exc:
            reason = str(exc) if isinstance(exc, TuneplugError) else f"{type(exc).__name__}: {exc}"
            self._delete_named(name, quiet=True)  # what a failed copy may have left
            message = f"checkpoint at step {step} has no model: copying the adapter failed: "
            message += reason
            warning: Event = ("warn", "message", message, step, {})
            self.store.end_checkpoint(self.job_id, step, None, warning)
            return
        model = f"{self.provider.name}/{made.id}"
        self.store.end_checkpoint(self.job_id, step, model)
        self.retain(final=False)

    def settle(self, keep: int | None) -> None:
        """Delete what copies a killed runner left half-made (found by name) and drop
        their checkpoints, but the one at step ``keep``: :meth:`take` makes it again."""
        for step, name, _, state in self.store.checkpoint_copies(self.job_id):
            if state == "copying" and step != keep:
                self._delete_named(name, quiet=False)
                self.store.end_checkpoint(self.job_id, step, None)

    def due(self, step: int) -> bool:
        """Whether the checkpoint at ``step`` still lacks its copy (none kept or dropped)."""
        found = self.store.checkpoint_copies(self.job_id, [step])
        return not found or found[0][3] == "copying"

    def retain(self, *, final: bool) -> None:
        """Delete the copies beyond the newest :data:`KEPT` checkpoints (``final``: the
        job succeeded, and its own model is the newest checkpoint's)."""
        kept = [c for c in self.store.checkpoint_copies(self.job_id) if c[3] == "kept"]
        for step, _, model, _ in kept[KEPT - 1 if final else KEPT :]:
            if model is not None:
                self._delete(model)
            self.store.end_checkpoint(self.job_id, step, None)

    def drop_all(self) -> None:
        """Delete every copy of the job (it is being deleted)."""
        for step, name, model, state in self.store.checkpoint_copies(self.job_id):
            if state == "copying":
                self._delete_named(name, quiet=False)
            elif model is not None:
                self._delete(model)
            if state != "dropped":
                self.store.end_checkpoint(self.job_id, step, None)

    def _delete(self, model: str) -> None:
        from tuneplug.models import resolve

        try:
            info = resolve(self.provider, model.partition("/")[2])
            self.provider.call("tuneplug_delete_adapter", model=info)
        except (NotFoundError, UnknownModelError):
            pass  # deleted already (by its user, or by a run killed after deleting it)

    def _delete_named(self, name: str, *, quiet: bool) -> None:
        try:
            listed = self.provider.call("tuneplug_list_models", base_only=False)
            for info in listed:
                if info.name == name and info.kind is ModelKind.ADAPTER:
                    self._delete(f"{self.provider.name}/{info.id}")
        except TuneplugError as exc:
            if not quiet:
                raise
            log.warning("job %s: %s left by a failed copy not deleted: %s", self.job_id, name, exc)


def drop_copies(store: JobStore, job_id: str, provider: Provider | None = None) -> None:
    """Delete the checkpoint copies of ``job_id`` (through ``provider``, else the
    provider the job names, opened only if there are copies).

    Raises:
        TuneplugError: a copy could not be deleted, or the provider not opened.
    """
    if not any(c[3] != "dropped" for c in store.checkpoint_copies(job_id)):
        return
    if provider is None:
        import tuneplug

        provider = tuneplug.get_provider(store.get(job_id).provider)
    Copies(store, provider, job_id).drop_all()


def checkpoint_id(job_id: str, step: int) -> str:
    """The id of the checkpoint of ``job_id`` at ``step``."""
    return f"ftckpt-{job_id.removeprefix('ftjob-')}-{step}"


def _step_of(job_id: str, checkpoint: str) -> int:
    head, _, step = checkpoint.rpartition("-")
    if head != checkpoint_id(job_id, 0).rpartition("-")[0] or not step.isdigit():
        form = checkpoint_id(job_id, 0).removesuffix("0") + "<step>"
        raise bad_cursor(checkpoint, f"a checkpoint id of job {job_id} ({form})")
    return int(step)


def epoch_checkpoints(
    store: JobStore, row: JobRow, after: str | None, limit: int
) -> tuple[list[JobCheckpoint], bool]:
    """``row``'s checkpoints newest first, those before the checkpoint ``after``; and
    whether more follow.

    Raises:
        OptionError: ``after`` is not a checkpoint id of this job (``option="after"``).
        NotFoundError: ``after`` is of this job's form but names no checkpoint of it.
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
    if below is not None and below not in ends:
        raise gone_cursor(str(after), "checkpoint", row.id, row.provider)
    ends = [step for step in ends if below is None or step < below]
    ends.reverse()
    chosen = ends[:limit]
    times = store.step_times(row.id, chosen)
    copies = {step: model for step, _, model, _ in store.checkpoint_copies(row.id, chosen)}
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
        model = f"{row.provider}/{row.target}" if done and step == row.steps_total else None
        found.append(
            JobCheckpoint(
                id=checkpoint_id(row.id, step),
                job_id=row.id,
                created_at=times.get(step, row.created_at),
                step_number=step,
                metrics=metrics,
                fine_tuned_model_checkpoint=model or copies.get(step),
            )
        )
    return found, len(ends) > limit
