"""Fine-tuning samples: the accepted formats, reading them from files, and batching.

* :func:`read_samples` streams a JSONL or JSON-array file (linear time, memory
  bounded by one sample, errors naming file, line and field);
* :func:`parse_sample` validates one sample in any format, :func:`sample_list`
  turns what a caller passed into a list (a bare string is *one* sample);
* :func:`to_inputs` converts a chat or prompt/completion sample into the
  ``inputs`` form providers train on, through the model's chat template;
* :func:`read_preference_samples` and :func:`parse_preference` read preference
  pairs (:class:`PreferenceSample`, DPO's data), which the functions above refuse.

The formats and the conversion rules are described in :mod:`tuneplug.samples.formats`
and in ``docs/samples.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from os import PathLike
from typing import TypeVar

from tuneplug.samples.formats import (
    MAX_SAMPLE_BYTES,
    SampleLike,
    TrainingSample,
    parse_sample,
    sample_list,
    to_inputs,
)
from tuneplug.samples.preference import PreferenceSample, parse_preference
from tuneplug.samples.reader import read_preference_samples, read_samples

__all__ = [
    "MAX_SAMPLE_BYTES",
    "PreferenceSample",
    "SampleLike",
    "TrainingSample",
    "batched",
    "count_samples",
    "parse_preference",
    "parse_sample",
    "read_preference_samples",
    "read_samples",
    "sample_list",
    "to_inputs",
]

_T = TypeVar("_T")


def count_samples(path: str | PathLike[str]) -> int:
    """How many samples the file holds (validating each; constant memory)."""
    return sum(1 for _ in read_samples(path))


def batched(samples: Iterable[_T], size: int) -> Iterator[list[_T]]:
    """Group ``samples`` into lists of at most ``size`` (an int >= 1, else
    ``InvalidRequestError``, raised when the iterator is created)."""
    from tuneplug.arguments import check_int
    from tuneplug.errors import InvalidRequestError

    check_int(size, "size", 1, 2**31 - 1)
    if not hasattr(samples, "__iter__"):
        got = type(samples).__name__
        raise InvalidRequestError(f"samples must be an iterable of samples, got {got}")
    return _batches(samples, size)


def _batches(samples: Iterable[_T], size: int) -> Iterator[list[_T]]:
    it = iter(samples)
    while batch := list(islice(it, size)):
        yield batch
