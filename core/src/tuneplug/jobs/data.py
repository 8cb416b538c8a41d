"""A job's own copy of its samples: written once at create, read by index ever after.

At create the training (and validation) samples are streamed into the job's
directory as normalised JSON Lines (one :class:`~tuneplug.types.Sample` per
line) with a side index of 8-byte line offsets. The job then depends on
neither the user's file nor its format, and memory stays constant whatever the
size: a batch is read by seeking to the offsets of its samples.

Shuffling never materialises a permutation. :func:`permuted` is a keyed
bijection on ``range(n)`` (a 4-round Feistel network over the next power of
four, cycle-walking back into range), keyed by the job's seed and the epoch:
the same seed gives the same order in every epoch of every run, so a resumed
job sends exactly the batches the interrupted one would have.
"""

from __future__ import annotations

import mmap
import os
import struct
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

from tuneplug.errors import InvalidRequestError
from tuneplug.types import Sample

__all__ = ["SampleFile", "permuted", "write_samples"]

_OFFSET = struct.Struct("<Q")
_FLUSH = 4096
_MASK64 = (1 << 64) - 1


def write_samples(samples: Iterable[Sample], data: Path) -> int:
    """Write ``samples`` to ``data`` (JSONL) and their offsets to ``data`` + ``.idx``.

    Returns how many were written. Written to temporaries and renamed, so a
    crash never leaves a half-written copy that looks whole.
    """
    index = data.with_suffix(data.suffix + ".idx")
    tmp_data = data.with_name(f".{data.name}.tmp")
    tmp_index = index.with_name(f".{index.name}.tmp")
    count = 0
    offsets = array("Q")
    with tmp_data.open("wb") as out, tmp_index.open("wb") as idx:
        position = 0
        for sample in samples:
            line = sample.model_dump_json(exclude_none=True).encode() + b"\n"
            offsets.append(position)
            out.write(line)
            position += len(line)
            count += 1
            if len(offsets) >= _FLUSH:
                _flush(offsets, idx)
        _flush(offsets, idx)
    os.replace(tmp_data, data)
    os.replace(tmp_index, index)
    return count


def _flush(offsets: array[int], idx: IO[bytes]) -> None:
    if offsets.itemsize != 8:  # pragma: no cover - 'Q' is 8 bytes on every CPython platform
        raise RuntimeError("array('Q') is not 64-bit here")
    if struct.pack("=H", 1) != struct.pack("<H", 1):  # pragma: no cover - big-endian hosts
        offsets.byteswap()
    idx.write(offsets.tobytes())
    del offsets[:]


class SampleFile:
    """Random access to a job's sample copy (``data`` and ``data.idx``)."""

    def __init__(self, data: Path) -> None:
        """Open the copy; ``InvalidRequestError`` if it is missing or torn."""
        index = data.with_suffix(data.suffix + ".idx")
        try:
            self._data = data.open("rb")
        except OSError as exc:
            raise InvalidRequestError(f"the job's sample copy {data} is gone: {exc}") from None
        self._index_file = index.open("rb")
        size = os.fstat(self._index_file.fileno()).st_size
        self.count = size // _OFFSET.size
        self._index: mmap.mmap | None = (
            mmap.mmap(self._index_file.fileno(), 0, access=mmap.ACCESS_READ) if size else None
        )

    def close(self) -> None:
        """Release the files."""
        if self._index is not None:
            self._index.close()
        self._index_file.close()
        self._data.close()

    def __enter__(self) -> SampleFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self.count

    def get(self, position: int) -> Sample:
        """The sample at ``position`` (0-based, in file order)."""
        assert self._index is not None
        (offset,) = _OFFSET.unpack_from(self._index, position * _OFFSET.size)
        self._data.seek(offset)
        return Sample.model_validate_json(self._data.readline())

    def batch(self, positions: Sequence[int]) -> list[Sample]:
        """The samples at ``positions``, in that order."""
        return [self.get(p) for p in positions]

    def in_order(self) -> Iterator[Sample]:
        """Every sample, in file order, read sequentially."""
        self._data.seek(0)
        for line in self._data:
            yield Sample.model_validate_json(line)


def _mix(value: int) -> int:
    """splitmix64's finaliser: a cheap, well-spread 64-bit hash."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


class permuted:
    """The ``seed``/``epoch`` shuffle of ``range(n)`` as a lazy sequence (O(1) memory).

    ``permuted(n, seed, epoch)[i]`` is the position of the ``i``-th sample of
    that epoch; every position appears exactly once.
    """

    def __init__(self, n: int, seed: int, epoch: int) -> None:
        """Key the permutation; ``n`` >= 0."""
        self.n = n
        bits = max(2, (max(n, 2) - 1).bit_length())
        self._half = (bits + 1) // 2
        self._low = (1 << self._half) - 1
        base = _mix(_mix(seed & _MASK64) ^ (epoch & _MASK64))
        self._keys = [_mix(base + r) for r in range(4)]

    def _encrypt(self, x: int) -> int:
        left, right = x >> self._half, x & self._low
        for key in self._keys:
            left, right = right, left ^ (_mix(right ^ key) & self._low)
        return (left << self._half) | right

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> int:
        if not 0 <= index < self.n:
            raise IndexError(index)
        x = self._encrypt(index)
        while x >= self.n:  # cycle-walk: the domain is < 4n, so this ends fast
            x = self._encrypt(x)
        return x
