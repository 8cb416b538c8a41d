"""A samples file that cannot seek (a pipe: ``/dev/stdin``, a shell's ``<(...)``, a FIFO)
reads as a file does (it failed with "cannot read samples: None", user report p9 N3)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tuneplug.errors import SampleFileError
from tuneplug.samples import read_samples

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")


def _fifo(path: Path, data: bytes) -> Iterator[Path]:
    os.mkfifo(path)

    def write() -> None:
        with path.open("wb") as fh:  # blocks until the reader opens it
            fh.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    yield path
    writer.join(timeout=10)
    assert not writer.is_alive()


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[object]:
    made: list[Iterator[Path]] = []

    def make(data: bytes) -> Path:
        made.append(_fifo(tmp_path / f"samples{len(made)}.fifo", data))
        return next(made[-1])

    yield make
    for gen in made:
        next(gen, None)


def test_jsonl_and_an_array_from_a_pipe(fifo) -> None:  # type: ignore[no-untyped-def]
    # Longer than the first look (4096 bytes) and than one read (64 KiB).
    texts = [f"sample {i} " + "x" * 50 for i in range(2000)]
    lines = "".join(f'"{t}"\n' for t in texts).encode()
    assert [s.inputs for s in read_samples(fifo(lines))] == texts
    array = ("\ufeff  \n[" + ", ".join(f'"{t}"' for t in texts) + "]").encode()
    assert [s.inputs for s in read_samples(fifo(array))] == texts


def test_a_bad_line_in_a_pipe_is_named_as_in_a_file(fifo) -> None:  # type: ignore[no-untyped-def]
    path = fifo(b'"ok"\n{"prompt": 5}\n')
    with pytest.raises(SampleFileError) as info:
        list(read_samples(path))
    assert (info.value.path, info.value.line) == (str(path), 2)
    assert "None" not in str(info.value)


def test_fine_tune_refuses_a_pipe_it_would_read_twice(tmp_path: Path) -> None:
    # `fine-tune` identifies its run by the file's content, checks it whole, then trains:
    # three reads; a pipe would give its samples to the first only ("no samples").
    import tuneplug

    from tests.core.cli_runner import invoke

    adapter = tuneplug.get_model("mock/tiny").create_adapter("piped")
    path = tmp_path / "in.fifo"
    os.mkfifo(path)
    result = invoke("fine-tune", adapter.ref, str(path))
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == (
        f"error: {path}: not a regular file (a pipe?): fine-tune reads its file more than "
        "once; save the samples to a file first, or use `tuneplug jobs create`, which "
        "reads them once"
    )
