"""What a job trains on: a samples file or a list of samples, as provider-ready samples.

A path is streamed through :func:`tuneplug.samples.read_samples` (every format
it reads, errors naming file, line and field); a list is validated item by
item. Each sample comes out in the ``inputs`` form the step hooks take: a chat
sample is rendered through the model's chat template (only assistant turns
trainable), a prompt/completion pair keeps only the completion trainable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from tuneplug.errors import InvalidRequestError, SampleFileError
from tuneplug.provider import Provider
from tuneplug.samples import read_samples
from tuneplug.text import check_text
from tuneplug.types import ModelInfo, Sample

__all__ = ["check_data", "iter_samples", "no_samples"]


def check_data(data: Any, what: str) -> None:
    """Refuse what is neither a path nor a list of samples (no I/O).

    Raises:
        InvalidRequestError: naming ``what`` (``training_data``, ...).
    """
    if isinstance(data, str | os.PathLike):
        path = os.fspath(data)
        if not path:
            raise InvalidRequestError(f"{what}: empty path")
        try:
            os.fsencode(path)
        except UnicodeEncodeError:  # a lone surrogate that is not an undecodable byte
            check_text(str(path), f"{what} (a path)")
        return
    if isinstance(data, bytes | bytearray | dict) or not isinstance(data, list | tuple):
        raise InvalidRequestError(
            f"{what} must be a samples file path or a list of samples, not {type(data).__name__}"
        )


def no_samples(data: Any, what: str) -> InvalidRequestError:
    """The error for ``data`` (``what``: ``training_data``, ...) holding no samples:
    a :class:`SampleFileError` naming the file, or naming ``what`` for a list."""
    if isinstance(data, str | os.PathLike):
        return SampleFileError(os.fspath(data), None, f"no samples in the file ({what})")
    return InvalidRequestError(f"{what}: no samples")


def iter_samples(
    data: Any, provider: Provider, model: ModelInfo, what: str = "training_data"
) -> Iterator[Sample]:
    """Every sample of ``data``, validated, in the form ``provider``'s step hooks take.

    Raises:
        SampleFileError: a file's sample is invalid (file, line, field).
        InvalidRequestError: a listed sample is invalid (``what``, its index and field).
    """
    from tuneplug.models import Model
    from tuneplug.samples.formats import SampleProblem, parse_value, to_inputs

    template: Any = None
    raw: Iterator[Any] = read_samples(data) if isinstance(data, str | os.PathLike) else iter(data)
    for index, value in enumerate(raw):
        try:
            sample = parse_value(value)
        except SampleProblem as exc:
            where = f"{exc.field}: " if exc.field else ""
            raise InvalidRequestError(
                f"{what}: sample {index}: {where}{exc.message}", provider=provider.name
            ) from None
        if not isinstance(sample, Sample) and template is None:
            template = Model(model, provider)._training_template()
        yield to_inputs(sample, template)
