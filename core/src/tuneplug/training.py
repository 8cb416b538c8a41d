"""Fine-tuning runs over a samples file: batches, epochs, live progress, resume.

A run validates the whole file first (constant memory), so a broken line is
reported before anything is sent. Progress is checkpointed after every batch
under ``$TUNEPLUG_HOME/runs``; re-running the same command after an interruption
continues where it stopped, and a finished run removes its checkpoint.

A run holds a lock on its checkpoint (``<checkpoint>.lock``, kept for reuse):
the same command started again while it runs is refused rather than letting two
processes share, and so corrupt, one checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from tuneplug import paths
from tuneplug.errors import InvalidRequestError, TuneplugError
from tuneplug.models import Model, get_model
from tuneplug.samples import batched, count_samples, read_samples
from tuneplug.types import FineTuneResult

__all__ = ["Checkpoint", "run_fine_tune"]


@dataclass
class Checkpoint:
    """How far a run got: the next epoch and batch, and the totals so far per epoch."""

    epoch: int = 0
    batch: int = 0
    epochs: list[dict[str, float]] = field(default_factory=list)

    @staticmethod
    def path_for(model: Model, file: Path, batch_size: int) -> Path:
        """The checkpoint file of this model, samples file (by content stamp) and batch size."""
        stat = file.stat()
        key = f"{model.ref}\0{file.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0{batch_size}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        return paths.home() / "runs" / f"{digest}.json"

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        """The saved checkpoint, or a fresh one."""
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return cls()

    def save(self, path: Path) -> None:
        """Write atomically, so an interruption never leaves half a checkpoint."""
        path.parent.mkdir(parents=True, exist_ok=True)
        # A temporary of its own per save: concurrent writers never rename each other's.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(asdict(self), fh)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _summary(result: FineTuneResult) -> dict[str, float]:
    return {"trainable_tokens": result.trainable_tokens, "sum_loss": result.sum_loss}


def run_fine_tune(
    ref: str,
    file: str | os.PathLike[str],
    *,
    batch_size: int = 8,
    epochs: int = 1,
    resume: bool = True,
    quiet: bool = False,
) -> dict[str, Any]:
    """Fine-tune the adapter ``ref`` on every sample of ``file``, ``epochs`` times.

    Shows a progress bar with the live mean loss on stderr unless ``quiet``, and
    returns a summary with per-epoch trainable tokens, summed and mean loss (the
    CLI prints it on stdout).

    Raises:
        CapabilityError: ``ref`` is not an adapter of a FineTunable provider.
        SampleFileError: the file is unreadable or holds an invalid sample.
        TuneplugError: the same run (model, file, batch size) is already going on.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if batch_size < 1 or epochs < 1:
        raise InvalidRequestError("batch size and epochs must be at least 1")
    model = get_model(ref)
    model.check_fine_tunable()
    path = Path(file)
    total = count_samples(path)  # validates every line before anything is sent
    if total == 0:
        raise InvalidRequestError(f"{path}: no samples")
    ckpt_path = Checkpoint.path_for(model, path, batch_size)
    ckpt_path.parent.mkdir(parents=True, exist_ok=True)  # fail before the progress bar shows
    what = f"a fine-tune of {model.ref} on {path} with batch size {batch_size}"
    with _only_run(ckpt_path, what):
        batches = -(-total // batch_size)
        ckpt = Checkpoint.load(ckpt_path) if resume else Checkpoint()
        if ckpt.epoch >= epochs or len(ckpt.epochs) > epochs:
            ckpt = Checkpoint()  # it went past what is asked now: a different run
        console = Console(stderr=True, quiet=quiet)
        resumed_from = (ckpt.epoch, ckpt.batch) if (ckpt.epoch or ckpt.batch) else None
        if resumed_from:
            console.print(f"resuming at epoch {ckpt.epoch + 1}, batch {ckpt.batch + 1}")

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            for epoch in range(ckpt.epoch, epochs):
                if len(ckpt.epochs) <= epoch:
                    ckpt.epochs.append({"trainable_tokens": 0, "sum_loss": 0.0})
                totals = FineTuneResult(
                    trainable_tokens=int(ckpt.epochs[epoch]["trainable_tokens"]),
                    sum_loss=ckpt.epochs[epoch]["sum_loss"],
                )
                task = progress.add_task(
                    f"epoch {epoch + 1}/{epochs}", total=batches, completed=ckpt.batch,
                    loss=_fmt(totals.loss),
                )  # fmt: skip
                for index, batch in enumerate(batched(read_samples(path), batch_size)):
                    if index < ckpt.batch:
                        continue
                    totals = totals + model.fine_tune(batch)
                    ckpt.batch = index + 1
                    ckpt.epochs[epoch] = _summary(totals)
                    ckpt.save(ckpt_path)
                    progress.update(task, advance=1, loss=_fmt(totals.loss))
                ckpt.epoch, ckpt.batch = epoch + 1, 0
                ckpt.save(ckpt_path)
        ckpt_path.unlink(missing_ok=True)

        results = [
            {
                "epoch": n + 1,
                "trainable_tokens": int(e["trainable_tokens"]),
                "sum_loss": e["sum_loss"],
                "loss": e["sum_loss"] / e["trainable_tokens"] if e["trainable_tokens"] else None,
            }
            for n, e in enumerate(ckpt.epochs)
        ]
        return {
            "model": model.ref,
            "file": str(path),
            "samples": total,
            "batch_size": batch_size,
            "resumed": resumed_from is not None,
            "epochs": results,
        }


@contextmanager
def _only_run(ckpt_path: Path, what: str) -> Iterator[None]:
    """Hold the checkpoint's lock, or refuse at once if another run holds it."""
    lock = FileLock(ckpt_path.with_suffix(".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise TuneplugError(
            f"{what} is already running; wait for it to finish", retryable=True
        ) from None
    try:
        yield
    finally:
        lock.release()


def _fmt(loss: float | None) -> str:
    return "-" if loss is None else f"{loss:.4f}"
