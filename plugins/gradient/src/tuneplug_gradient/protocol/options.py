"""Gradient request bodies → tuneplug completion options and samples (the server side).

* ``maxGeneratedTokenCount``/``temperature``/``topK``/``topP`` become
  ``max_tokens``/``temperature``/``top_k``/``top_p``, checked against
  :class:`~tuneplug.types.CompletionOptions` so an out-of-range value is a 400
  ``bodyParsingError`` naming the wire field.
* ``guidance`` (choose one of N strings) needs a backend that can constrain its
  output. tuneplug's hooks have no scoring call, and faking a choice by
  matching free text against the values would be a guess presented as a
  constraint, so only backends that pass it on to a real Gradient API get it;
  the rest answer 400 ``modelDoesNotSupportGuidance``.
* ``autoTemplate`` (``null``/``true``/``false``) is accepted everywhere; it is
  forwarded to Gradient backends and otherwise ignored, because other
  backends have no "recommended template" to add or leave out.
* ``rag`` is answered with 404 ``unknownRagCollection``: the server has no
  RAG collections (retrieval is out of scope), so no collection id exists.
* Structured sample inputs keep ``value`` and ``trainable``;
  ``parseSpecialTokens`` has no tuneplug equivalent and is dropped.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError
from tuneplug.types import CompletionOptions, InputPart, Sample

from tuneplug_gradient.protocol.errors import ApiError, body_parsing_error
from tuneplug_gradient.wire import CompleteRequest, FineTuneRequest

__all__ = ["PASSTHROUGH_PROVIDERS", "completion_options", "to_samples"]

PASSTHROUGH_PROVIDERS = frozenset({"gradient"})
"""Providers whose completion understands ``guidance`` and ``auto_template`` options
(the Gradient client, which sends them on as the wire fields)."""

_WIRE_NAMES = {"max_tokens": "maxGeneratedTokenCount", "top_k": "topK", "top_p": "topP"}


def completion_options(
    request: CompleteRequest, provider: str, plugin: str | None = None
) -> dict[str, Any]:
    """The tuneplug options for ``request`` on a backend of ``provider``, an instance of
    ``plugin`` when it is one (``[providers.NAME] plugin = "gradient"`` passes them on too).

    Raises:
        ApiError: 404 ``unknownRagCollection``, 400 ``modelDoesNotSupportGuidance``
            or 400 ``bodyParsingError`` (a value out of tuneplug's range).
    """
    if request.rag is not None:
        raise ApiError(
            404,
            f"unknown RAG collection {request.rag.collection_id!r}: "
            "this server has no RAG collections",
            type="unknownRagCollection",
        )
    passthrough = (plugin or provider) in PASSTHROUGH_PROVIDERS
    if request.guidance is not None and not passthrough:
        raise ApiError(
            400,
            f"the {provider!r} backend cannot constrain its output, so guidance is not supported",
            type="modelDoesNotSupportGuidance",
        )
    options: dict[str, Any] = {
        key: value
        for key, value in {
            "max_tokens": request.max_generated_token_count,
            "temperature": request.temperature,
            "top_k": request.top_k,
            "top_p": request.top_p,
        }.items()
        if value is not None
    }
    try:
        CompletionOptions(**options)
    except ValidationError as exc:
        raise body_parsing_error(exc, _WIRE_NAMES) from None
    if passthrough:
        if request.guidance is not None:
            options["guidance"] = request.guidance.model_dump(mode="json")
        if request.auto_template is not None:
            options["auto_template"] = request.auto_template
    return options


def to_samples(request: FineTuneRequest) -> list[Sample]:
    """The tuneplug samples of a fine-tune request (already validated on the wire).

    Raises:
        ApiError: 400 ``bodyParsingError`` for an infinite multiplier, which the
            wire model's ``> 0`` lets through (JSON parsers accept ``Infinity``).
    """
    samples = []
    for index, wire in enumerate(request.samples):
        params = wire.fine_tuning_parameters
        multiplier = params.multiplier if params is not None else None
        if multiplier is not None and not math.isfinite(multiplier):
            raise _not_finite(["samples", index, "fineTuningParameters", "multiplier"])
        inputs: str | list[InputPart]
        if isinstance(wire.inputs, str):
            inputs = wire.inputs
        else:
            inputs = [InputPart(value=p.value, trainable=p.trainable) for p in wire.inputs]
        samples.append(Sample(inputs=inputs, multiplier=params.multiplier if params else None))
    return samples


def _not_finite(loc: list[str | int]) -> ApiError:
    where = ".".join(str(p) for p in loc)
    error = {"loc": loc, "msg": "Input should be a finite number", "type": "finite_number"}
    return ApiError(
        400,
        f"invalid request body: {where}: Input should be a finite number",
        type="bodyParsingError",
        payload={
            "formattedValidationError": f"{where}: {error['msg']}",
            "validationError": [error],
        },
    )
