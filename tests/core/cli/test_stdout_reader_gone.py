"""A reader that goes away mid-output is exit 141 on every output path, never a cut-short 0.

The kernel takes part of a big write when the reader exits while the writer waits;
CPython's buffered writer reports the short count and its text layer drops the rest
silently. `tuneplug.cli.stdout` writes until every byte is out or EPIPE says why not.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tuneplug.cli import stdout
from tuneplug.cli.base import EXIT_BROKEN_PIPE

WORDS = 100_000
"""500 kB of output: far beyond a pipe's 64 kB, so the writer waits on the reader."""


@pytest.fixture
def big_prompt(tmp_path: Path) -> Path:
    path = tmp_path / "big.txt"
    path.write_text("word " * WORDS + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "flags",
    [[], ["--json"], ["--stream"], ["--stream", "--json"]],
    ids=["plain", "json", "stream", "stream-json"],
)
def test_complete_whose_reader_reads_a_few_bytes_exits_141(
    big_prompt: Path, flags: list[str]
) -> None:
    args = ["complete", "-m", "mock/echo", "--max-tokens", str(WORDS * 2), *flags]
    with big_prompt.open("rb") as stdin:
        process = subprocess.Popen(
            [sys.executable, "-m", "tuneplug", *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None and process.stderr is not None
        first = os.read(process.stdout.fileno(), 5)  # `| head -c 5`
        process.stdout.close()
        stderr = process.stderr.read()
        status = process.wait(timeout=120)
    assert first  # it had started writing when the reader left
    assert (status, stderr) == (EXIT_BROKEN_PIPE, b"")


def test_complete_whose_reader_reads_everything_gets_every_byte(big_prompt: Path) -> None:
    with big_prompt.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "tuneplug", "complete", "-m", "mock/echo",
             "--max-tokens", str(WORDS * 2)],
            stdin=stdin, capture_output=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == big_prompt.read_bytes() + b"\n"  # the echo, then the line end


def test_whole_writes_finishes_a_write_the_kernel_cut_short(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read, write = os.pipe()
    real_write = os.write

    def at_most_three(fd: int, data: Any) -> int:
        return real_write(fd, bytes(data[:3]))

    monkeypatch.setattr(os, "write", at_most_three)
    try:
        assert stdout.WholeWrites(write).write(b"0123456789") == 10
        monkeypatch.undo()
        assert os.read(read, 100) == b"0123456789"
    finally:
        os.close(read)
        os.close(write)


def test_whole_writes_to_a_pipe_without_reader_raises_broken_pipe() -> None:
    read, write = os.pipe()
    os.close(read)
    try:
        with pytest.raises(BrokenPipeError):
            stdout.WholeWrites(write).write(b"x")
    finally:
        os.close(write)


def test_whole_writes_never_closes_the_descriptor_it_borrows() -> None:
    read, write = os.pipe()
    try:
        raw = stdout.WholeWrites(write)
        raw.close()
        assert os.write(write, b"x") == 1  # still open
    finally:
        os.close(read)
        os.close(write)


class _Gone(io.StringIO):
    """stdout whose reader left while output was still buffered."""

    def flush(self) -> None:
        raise BrokenPipeError


def test_output_left_in_the_buffer_at_exit_is_141_not_the_commands_0(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdout", _Gone())
    monkeypatch.setattr("tuneplug.cli.base.quiet_stdout", lambda: None)
    assert stdout.flush_at_exit(0) == EXIT_BROKEN_PIPE


def test_a_flushed_stdout_keeps_the_commands_status(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert stdout.flush_at_exit(0) == 0
    assert stdout.flush_at_exit(None) is None


def test_install_keeps_encoding_and_leaves_a_capture_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    capture = io.StringIO()  # no file descriptor: a test runner's capture
    monkeypatch.setattr(sys, "stdout", capture)
    stdout.install()
    assert sys.stdout is capture

    read, write = os.pipe()
    try:
        real = io.TextIOWrapper(io.FileIO(write, "w", closefd=False), encoding="utf-8")
        monkeypatch.setattr(sys, "stdout", real)
        stdout.install()
        assert sys.stdout is not real
        assert (sys.stdout.encoding, sys.stdout.fileno()) == ("utf-8", write)
        sys.stdout.write("é\n")
        sys.stdout.flush()
        assert os.read(read, 10) == "é\n".encode()
    finally:
        os.close(read)
        os.close(write)
