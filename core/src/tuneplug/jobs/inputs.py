"""What a job trains on: a samples file or a list of samples, as provider-ready samples.

A path is streamed through :func:`tuneplug.samples.read_samples` (every format
it reads, errors naming file, line and field); a list is validated item by
item. Each sample comes out in the ``inputs`` form the step hooks take.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from tuneplug.errors import InvalidRequestError
from tuneplug.provider import Provider
from tuneplug.samples import read_samples
from tuneplug.types import ModelInfo, Sample

__all__ = ["check_data", "iter_samples"]


def check_data(data: Any, what: str) -> None:
    """Refuse what is neither a path nor a list of samples (no I/O).

    Raises:
        InvalidRequestError: naming ``what`` (``training_data``, ...).
    """
    if isinstance(data, str | os.PathLike):
        if not os.fspath(data):
            raise InvalidRequestError(f"{what}: empty path")
        return
    if isinstance(data, bytes | bytearray | dict) or not isinstance(data, list | tuple):
        raise InvalidRequestError(
            f"{what} must be a samples file path or a list of samples, not {type(data).__name__}"
        )


def iter_samples(data: Any, provider: Provider, model: ModelInfo) -> Iterator[Sample]:
    """Every sample of ``data``, validated, in the form ``provider``'s step hooks take.

    Raises:
        SampleFileError: a file's sample is invalid (file, line, field).
        InvalidRequestError: a listed sample is invalid (its index and field).
    """
    del provider, model  # the model's chat template converts chat samples (see samples)
    if isinstance(data, str | os.PathLike):
        yield from read_samples(data)
        return
    for index, raw in enumerate(data):
        try:
            yield Sample.coerce(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "sample"
            raise InvalidRequestError(f"sample {index}: {field}: {err['msg']}") from None
