"""The batch output's periodic fsync in a thread of its own: appends never wait for the
disk, the file descriptor is never closed under a running fsync, everything written is
synced by ``close()``, and a failed fsync is raised, not lost."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from tuneplug.batching.journal import Journal

WAIT = 30.0  # seconds a blocked fsync waits to be let go (never reached when it works)


class _Disk:
    """``os.fsync`` and ``os.close`` as the journal calls them, recorded in order; the
    first fsync (the thread's) blocks until the test lets it go."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail: bool = False) -> None:
        self.log: list[tuple[str, str]] = []
        self.entered, self.go = threading.Event(), threading.Event()
        self.fail = fail
        real_fsync, real_close = os.fsync, os.close

        def fsync(fd: int) -> None:
            first = not any(what == "fsync" for what, _ in self.log)
            self.log.append(("fsync", threading.current_thread().name))
            if first:
                self.entered.set()
                assert self.go.wait(WAIT)
                if self.fail:
                    raise OSError(errno.EIO, "Input/output error")
            real_fsync(fd)
            self.log.append(("synced", threading.current_thread().name))

        def close(fd: int) -> None:
            self.log.append(("close", threading.current_thread().name))
            real_close(fd)

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "close", close)


def _line(i: int) -> dict[str, Any]:
    return {"custom_id": f"q{i}", "completion": None, "usage": None, "error": None}


def test_appends_go_on_while_the_thread_syncs_and_close_waits_then_syncs_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.jsonl"
    journal = Journal(out, fsync_interval=0.0, sync_in_thread=True)
    disk = _Disk(monkeypatch)
    journal.write(_line(0))  # due: a sync starts in the journal's thread
    assert disk.entered.wait(WAIT)
    for i in range(1, 4):  # the thread's fsync is blocked: these must not wait for it
        journal.write(_line(i))
    assert out.read_text().count("\n") == 4  # written (the kernel has them) meanwhile
    assert [what for what, _ in disk.log] == ["fsync"]  # one sync at a time
    disk.go.set()
    journal.close()
    whats = [what for what, _ in disk.log]
    assert whats == ["fsync", "synced", "fsync", "synced", "close"]  # the rest, then close
    assert disk.log[0][1].startswith("tuneplug-batch-fsync")
    assert disk.log[2][1] == threading.current_thread().name  # the final sync: inline
    assert [line for line in out.read_text().splitlines()] == [
        f'{{"custom_id": "q{i}", "completion": null, "usage": null, "error": null}}'
        for i in range(4)
    ]


def test_a_failed_sync_in_the_thread_is_raised_by_the_next_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal(tmp_path / "out.jsonl", fsync_interval=0.0, sync_in_thread=True)
    disk = _Disk(monkeypatch, fail=True)
    journal.write(_line(0))
    assert disk.entered.wait(WAIT)
    disk.go.set()
    with pytest.raises(OSError, match="Input/output error"):
        journal.sync()  # waits for the thread's sync: its error, not swallowed
    journal.write(_line(1))  # a new sync starts and succeeds
    journal.close()
    assert [what for what, _ in disk.log][-1] == "close"


def test_without_the_thread_every_sync_is_inline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal(tmp_path / "out.jsonl", fsync_interval=0.0)
    disk = _Disk(monkeypatch)
    disk.go.set()
    journal.write(_line(0))
    journal.close()
    me = threading.current_thread().name
    assert disk.log == [("fsync", me), ("synced", me), ("close", me)]
