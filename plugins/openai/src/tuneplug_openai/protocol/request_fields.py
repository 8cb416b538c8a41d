"""Request fields the OpenAI protocol does not act on: refused unless their value is neutral.

A compatible server that ignores ``tools``, ``response_format: json_schema`` or
``presence_penalty: 1.5`` answers 200 with plain text, and the client fails later and
elsewhere (LangChain's ``with_structured_output``: "Invalid json output"). So a field of
``/chat/completions`` or ``/completions`` that the server does not act on is declared
with :func:`neutral_only`: its neutral values (``presence_penalty: 0``, ``tools: []``,
``n: 1``, ``echo: false``, ``response_format: {"type": "text"}``, and ``null``), which
clients send routinely, pass; any other value is a 400 ``unsupported_parameter`` with
``param`` naming it, before the backend is asked anything. Fields that change nothing in
the answer (``user``, ``metadata``, ``store``...) are declared with their types and
ignored. A field the server has never heard of is refused too (400
``unknown_parameter``, as OpenAI refuses it): a typo (``max_token``) or a feature of a
newer API would otherwise be dropped without a word.

The refusals are pydantic errors of their own types, so a body is validated once and the
first fault is reported wherever it sits (a content part's ``type``, a message's
``role``); :func:`refusal` turns them into the protocol's errors.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import AfterValidator
from pydantic_core import ErrorDetails, PydanticCustomError

from tuneplug_openai.protocol.errors import OpenAIError

__all__ = [
    "UNKNOWN",
    "UNSUPPORTED",
    "neutral_only",
    "refusal",
    "refuse_values",
    "unknown_field",
    "unsupported",
]

UNSUPPORTED = "unsupported_parameter"
"""The ``code`` (and pydantic error type) of a field whose value the server cannot honour."""

UNKNOWN = "unknown_parameter"
"""The ``code`` of a field the server does not know."""


def _same(value: Any, neutral: Any) -> bool:
    # JSON's types, strictly: false is no 0 and "1" is no 1, but 0.0 is 0.
    if isinstance(neutral, bool) or isinstance(value, bool):
        return value is neutral
    if isinstance(neutral, int | float):
        return isinstance(value, int | float) and value == neutral
    return type(value) is type(neutral) and bool(value == neutral)


def unsupported(what: str) -> PydanticCustomError:
    """The error for a value the server cannot honour; ``what`` follows the field's
    name in the message (``is not supported by this server: ...``)."""
    return PydanticCustomError(UNSUPPORTED, what)


def neutral_only(*neutral: Any) -> AfterValidator:
    """The validator of a field the server does not act on: ``null`` and ``neutral`` pass
    (the value as given, ``0.0`` for ``0``), anything else is refused.

    The message names the values that pass: ``is not supported by this server: leave it
    out, or send [] or null``. The value given is not repeated (a tool schema can be long).
    """
    allowed = " or ".join(json.dumps(v, separators=(", ", ": ")) for v in (*neutral, None))
    advice = f"is not supported by this server: leave it out, or send {allowed}"

    def check(value: Any) -> Any:
        if value is None or any(_same(value, n) for n in neutral):
            return value
        raise unsupported(advice)

    return AfterValidator(check)


def refuse_values(refused: Iterable[str], advice: str) -> Callable[[Any], Any]:
    """A ``before`` validator refusing the string values in ``refused`` (roles, content
    part types the server cannot serve): ``'tool' is not supported by this server: ...``."""
    names = frozenset(refused)

    def check(value: Any) -> Any:
        if isinstance(value, str) and value in names:
            raise unsupported(f"{value!r} is not supported by this server: {advice}")
        return value

    return check


def refusal(error: ErrorDetails, param: str, known: Iterable[str]) -> OpenAIError | None:
    """The 400 for ``error`` (one of a body's validation errors, at ``param``) if it is an
    unsupported or an unknown field, else ``None``; ``known`` are the names of the body's
    fields at any depth, for a did-you-mean.

    Unsupported: ``tools is not supported by this server: leave it out, or send [] or
    null``; ``messages.[0].content.[0].type 'image_url' is not supported by this server:
    send text parts only`` (``code`` :data:`UNSUPPORTED`). Unknown: ``unrecognized request
    argument 'max_token' (did you mean 'max_tokens'?): ...`` (``code`` :data:`UNKNOWN`).
    """
    if error["type"] == UNSUPPORTED:
        # "n is not ...", but "role 'tool' is not ...": the value follows its field.
        return OpenAIError(400, f"{param} {error['msg']}", param=param, code=UNSUPPORTED)
    if error["type"] == "extra_forbidden":
        return unknown_field(param, known)
    return None


def unknown_field(param: str, known: Iterable[str]) -> OpenAIError:
    """400 :data:`UNKNOWN` for the field ``param``, with the closest of ``known`` (matched
    by the field's own name: ``hyperparameters.n_epoch`` -> ``n_epochs``)."""
    close = difflib.get_close_matches(param.rpartition(".")[2], list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return OpenAIError(
        400,
        f"unrecognized request argument {param!r}{hint}: this server does not know it, so it "
        "cannot honour it",
        param=param,
        code=UNKNOWN,
    )
