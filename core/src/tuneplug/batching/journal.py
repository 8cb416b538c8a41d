"""The output file of ``tuneplug batch``: append-only JSONL that is its own checkpoint.

A line is written once its input finished, so the file *is* the record of what is
done: a rerun reads the ``custom_id`` of every line and sends only the others.

* **Whole lines per write.** Lines go out in single ``write(2)`` calls on a file
  opened with ``O_APPEND``, each call carrying whole lines: the results that finished
  together (``tuneplug batch`` buffers a burst and writes it once its event loop has
  nothing else ready, one system call instead of one per line). A process killed at
  any point (``kill -9``, Ctrl-C, a crash) leaves whole lines: what ``write``
  accepted belongs to the kernel and reaches the disk without us; a buffered line
  not yet written is absent, and its input is sent again on the rerun.
* **fsync about once a second** (and at the end), not per line, and with
  ``sync_in_thread`` in a thread of its own: a flush to a busy disk can take tens
  or hundreds of milliseconds, which would stall every request in flight on the
  event loop; appends go on meanwhile (``fsync`` covers what was written before it
  began), and :meth:`Journal.close` waits for it, then syncs the rest. ``fsync`` only
  matters if the *machine* stops (power loss, kernel panic); then at most the last
  second of lines is lost, or left torn, and their inputs are simply sent again on
  the rerun. Nothing is written twice, because a lost line is absent, not doubled.
  Syncing every line would cap the batch at the disk's flush rate (a few hundred a
  second on many disks) for no gain against process crashes.
* **A torn last line is repaired on start** (truncated to the last newline, and
  said so), since only the end of an append-only file can be torn. A bad line
  *before* the end is not ours to drop: it is reported with its line number.
* **One writer at a time**: ``<out>.lock`` (a ``filelock``, removed when the run
  ends) refuses a second ``tuneplug batch`` on the same output while one runs.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tuneplug.batching.ids import IdSet
from tuneplug.errors import InvalidRequestError

__all__ = ["Journal", "drop_failed", "fsync_dir", "repair_tail", "scan_done"]

FSYNC_INTERVAL = 1.0
"""Seconds between fsyncs of the output while lines are being written."""

_CHUNK = 1 << 16


def repair_tail(path: Path) -> int:
    """Cut a last line that has no newline (a torn write); returns the bytes dropped."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return 0
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return 0
        os.lseek(fd, size - 1, os.SEEK_SET)
        if os.read(fd, 1) == b"\n":
            return 0
        end = size
        keep = 0
        while end > 0:  # search backwards for the last newline
            start = max(0, end - _CHUNK)
            os.lseek(fd, start, os.SEEK_SET)
            block = os.read(fd, end - start)
            cut = block.rfind(b"\n")
            if cut >= 0:
                keep = start + cut + 1
                break
            end = start
        os.ftruncate(fd, keep)
        os.fsync(fd)
        return size - keep
    finally:
        os.close(fd)


def scan_done(path: Path) -> tuple[IdSet, int]:
    """The ``custom_id`` of every line of the output (frozen) and the line count.

    Raises:
        InvalidRequestError: a line is not a JSON object with a string ``custom_id``
            (named ``file:line``): the file is not this command's output, or was
            edited; nothing is dropped silently.
    """
    done = IdSet()
    count = 0
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        done.freeze()
        return done, 0
    with fh:
        for number, raw in enumerate(fh, start=1):
            try:
                record = json.loads(raw)
                custom_id = record["custom_id"]
            except (ValueError, TypeError, KeyError):
                custom_id = None
            if not isinstance(custom_id, str):
                raise InvalidRequestError(
                    f"{path}:{number}: not a `tuneplug batch` output line (a JSON object "
                    "with a custom_id); fix or move the file"
                )
            done.add(custom_id)
            count += 1
    done.freeze()
    return done, count


def drop_failed(path: Path) -> int:
    """Remove the lines that carry an error, so their inputs run again; returns how many.

    The kept lines go to a temporary file beside ``path`` (fsynced), which then
    replaces it in one ``rename``: a crash at any point leaves either the old file
    or the new one, never a mix.
    """
    if not path.exists():
        return 0
    dropped = 0
    tmp = path.with_name(f".{path.name}.retry.tmp")
    try:
        with path.open("rb") as src, tmp.open("wb") as dst:
            for raw in src:
                try:
                    failed = json.loads(raw).get("error") is not None
                except (ValueError, AttributeError):
                    failed = False  # not ours to judge: scan_done reports it with its line
                if failed:
                    dropped += 1
                else:
                    dst.write(raw)
            dst.flush()
            os.fsync(dst.fileno())
        if dropped:
            os.replace(tmp, path)
            fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return dropped


class Journal:
    """Appends output lines to ``path`` (created if missing); close it to sync.

    ``sync_in_thread``: the periodic fsync runs in a thread of the journal's own, one
    at a time, so :meth:`flush` never waits for the disk; its error (``OSError``) is
    raised by the next :meth:`flush` or by :meth:`close`.
    """

    def __init__(
        self,
        path: Path,
        *,
        fsync_interval: float = FSYNC_INTERVAL,
        sync_in_thread: bool = False,
    ) -> None:
        created = not path.exists()
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._interval = fsync_interval
        self._synced = time.monotonic()
        self._dirty = False
        self._pending: list[str] = []
        self._syncer = (
            ThreadPoolExecutor(1, thread_name_prefix="tuneplug-batch-fsync")
            if sync_in_thread
            else None
        )
        self._syncing: Future[None] | None = None
        self.written = 0
        if created:  # the new name itself must survive a power loss
            fsync_dir(path.parent)

    def write(self, record: dict[str, Any]) -> None:
        """Append one line (a single ``write`` call) and sync if a second has passed."""
        self.buffer(record)
        self.flush()

    def buffer(self, record: dict[str, Any]) -> None:
        """Queue one line for the next :meth:`flush` (nothing is written yet)."""
        self._pending.append(json.dumps(record, ensure_ascii=False))
        self._pending.append("\n")

    def flush(self) -> None:
        """Write the queued lines in one ``write`` call; sync if a second has passed."""
        if not self._pending:
            return
        data = "".join(self._pending).encode("utf-8")
        lines = len(self._pending) // 2
        self._pending.clear()
        view = memoryview(data)
        while view:  # a regular file takes it all at once; the loop is for the odd case
            view = view[os.write(self._fd, view) :]
        self.written += lines
        self._dirty = True
        now = time.monotonic()
        if now - self._synced >= self._interval:
            self._sync_soon(now)

    def _sync_soon(self, now: float) -> None:
        if self._syncer is None:
            self.sync(now)
            return
        if self._syncing is not None:
            if not self._syncing.done():
                return  # one at a time: a later flush starts the next
            self._settle()
        # What is written from here on is the next sync's: the one starting covers the rest.
        self._dirty = False
        self._synced = now
        self._syncing = self._syncer.submit(os.fsync, self._fd)

    def _settle(self) -> None:
        """Wait for the thread's sync, if any; raise its error."""
        syncing, self._syncing = self._syncing, None
        if syncing is not None:
            syncing.result()

    def sync(self, now: float | None = None) -> None:
        """fsync the lines written so far (after the thread's sync, if one is running)."""
        self._settle()
        if self._dirty:
            os.fsync(self._fd)
            self._dirty = False
        self._synced = time.monotonic() if now is None else now

    def close(self) -> None:
        """Write what is queued, sync and close (idempotent)."""
        if self._fd < 0:
            return
        try:
            self.flush()
            self.sync()
        finally:
            if self._syncer is not None:
                self._syncer.shutdown(wait=True)  # never close the fd under a running fsync
            os.close(self._fd)
            self._fd = -1


def fsync_dir(directory: Path) -> None:
    """fsync ``directory``, so a name just created or renamed in it survives a power loss."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories; nothing more to do
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
