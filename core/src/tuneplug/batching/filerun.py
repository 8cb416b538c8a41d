"""``tuneplug batch`` without the command line: a resumable batch from file to file.

Order of work, so that nothing is sent before everything is known to be right:
take the output's lock, repair its torn tail, read the ids it holds; validate the
whole input file (bad lines and duplicate ids, with line numbers); resolve the
model and check the options; only then send, skipping ids already in the output,
and append each result as it completes.
"""

from __future__ import annotations

import asyncio
import errno
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from tuneplug.batching.inputs import read_inputs, validate_inputs
from tuneplug.batching.journal import Journal, drop_failed, repair_tail, scan_done
from tuneplug.batching.provenance import check_settings, run_settings, settle
from tuneplug.batching.runner import Batch
from tuneplug.batching.types import BatchInput, BatchResult, BatchStats
from tuneplug.errors import InvalidRequestError, TuneplugError

__all__ = ["FileRunSummary", "record_of", "run_batch_file"]


@dataclass(frozen=True)
class FileRunSummary:
    """What a run did: inputs in the file, skipped (already in the output), sent now."""

    total: int
    skipped: int
    succeeded: int
    failed: int
    requests: int
    rate_limited: int
    prompt_tokens: int
    completion_tokens: int
    repaired_bytes: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return dict(self.__dict__)


def record_of(result: BatchResult) -> dict[str, Any]:
    """The output line of one result: ``custom_id``, ``completion`` or ``error``, ``usage``."""
    if result.completion is not None:
        c = result.completion
        return {
            "custom_id": result.custom_id,
            "completion": {
                "text": c.text, "finish_reason": c.finish_reason,
                "model": c.model, "provider": c.provider,
            },
            "usage": c.usage.model_dump(mode="json"),
            "error": None,
        }  # fmt: skip
    exc = result.error
    assert exc is not None
    error: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, TuneplugError):
        error.update(
            message=exc.message, provider=exc.provider, status=exc.status, retryable=exc.retryable
        )
    return {"custom_id": result.custom_id, "completion": None, "usage": None, "error": error}


def _todo(path: Path, done: Any) -> Iterator[BatchInput]:
    skip = len(done) > 0  # a first run skips the lookups
    for _, item in read_inputs(path):
        if not (skip and item.custom_id in done):
            yield item


def run_batch_file(
    model_ref: str,
    input_path: str | Path,
    output_path: str | Path,
    *,
    concurrency: int = 16,
    rpm: float | None = None,
    tpm: float | None = None,
    options: dict[str, Any] | None = None,
    retry_failed: bool = False,
    allow_mixed: bool = False,
    progress: Any = None,
    notice: Any = None,
) -> FileRunSummary:
    """Complete every input of ``input_path`` not yet in ``output_path``, appending results.

    ``retry_failed`` first removes the output lines that carry an error, so those
    inputs are sent again (each still ends with exactly one line).
    The settings that make the lines (model, options, input file) are recorded in
    ``OUT.settings.json``; a rerun with others is refused unless ``allow_mixed``
    (:mod:`tuneplug.batching.provenance`).
    ``progress(stats, total, skipped, paused)`` is called after each result (for a
    progress bar); ``notice(text)`` receives one-line notices (a repaired tail).

    Raises:
        BatchFileError: bad input lines or duplicate ids (before any request).
        SettingsMismatchError: the output's lines were made with other settings
            (an ``InvalidRequestError``; nothing was changed or sent).
        InvalidRequestError: bad options or limits, or an output line that is not ours.
        TuneplugError: the output is locked by another run; a fatal provider error.
        OSError: a file cannot be read or written; the output's directory is missing.
    """
    inp, out = Path(input_path), Path(output_path)
    for path in (inp, out):
        if path.is_dir():  # a runtime error (exit 1) like a missing file, docs/cli.md
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
    if not inp.is_file():
        why = f"cannot read the inputs: {os.strerror(errno.ENOENT)}"
        raise FileNotFoundError(errno.ENOENT, why, str(inp))
    if out.exists() and out.resolve() == inp.resolve():
        raise InvalidRequestError(f"the output {out} is the input file: give another -o")
    if not out.parent.is_dir():
        # As `cp` and `tee`: a typo in a directory name must not create a new tree.
        raise FileNotFoundError(errno.ENOENT, "no such directory for the output", str(out.parent))
    lock_path = Path(str(out) + ".lock")
    # filelock reports any failure to open the lock file as "held by another"; open it
    # first so an unwritable place is named with the real OS error (EACCES, EROFS...).
    with open(lock_path, "a"):
        pass
    lock = FileLock(str(lock_path), blocking=False)
    try:
        lock.acquire()
    except Timeout:
        raise TuneplugError(f"another `tuneplug batch` is writing {out}") from None
    try:
        started = time.monotonic()
        repaired = repair_tail(out)
        if repaired and notice is not None:
            notice(f"{out}: dropped a torn last line ({repaired} bytes); its input runs again")
        # The model and options first: the settings check needs them, and it must refuse
        # before --retry-failed drops a line.
        runner = Batch(model_ref, concurrency=concurrency, rpm=rpm, tpm=tpm, options=options)
        settings = run_settings(runner.model, runner.options, model_ref, inp)
        check_settings(out, settings, allow_mixed=allow_mixed)
        retried = drop_failed(out) if retry_failed else 0
        if retried and notice is not None:
            notice(f"{out}: removed {retried} failed line(s); their inputs run again")
        done, _ = scan_done(out)
        summary = validate_inputs(inp, done)
        said = settle(out, settings, allow_mixed=allow_mixed)
        if said and notice is not None:
            notice(said)
        stats = asyncio.run(_drive(runner, _todo(inp, done), out, summary, progress))
        return FileRunSummary(
            total=summary.total, skipped=summary.done, succeeded=stats.succeeded,
            failed=stats.failed, requests=stats.requests, rate_limited=stats.rate_limited,
            prompt_tokens=stats.prompt_tokens, completion_tokens=stats.completion_tokens,
            repaired_bytes=repaired, seconds=time.monotonic() - started,
        )  # fmt: skip
    finally:
        # Removed while still held, so no lock file is left behind. A second run that
        # opened the old file just before gets a lock on an unlinked file, which
        # filelock (>= 4.3) never counts as held: never two writers at once.
        lock_path.unlink(missing_ok=True)
        lock.release()


async def _drive(
    runner: Batch, todo: Iterator[BatchInput], out: Path, summary: Any, progress: Any
) -> BatchStats:
    journal = Journal(out, sync_in_thread=True)  # a slow disk never stalls the requests
    loop = asyncio.get_running_loop()
    flushing = False
    failed: list[BaseException] = []

    def flush() -> None:
        nonlocal flushing
        flushing = False
        try:
            journal.flush()
        except BaseException as exc:  # raised in the batch below, not lost in the loop
            failed.append(exc)

    try:
        async for result in runner.results(todo):
            if failed:
                raise failed[0]
            # Results that finish together are written together: the flush runs once
            # the loop has nothing else ready (one write(2) per burst, not per line).
            journal.buffer(record_of(result))
            if not flushing:
                flushing = True
                loop.call_soon(flush)
            if progress is not None:
                progress(runner.stats, summary.total, summary.done, runner.backoff.paused)
        if failed:
            raise failed[0]
    finally:
        journal.close()
    return runner.stats
