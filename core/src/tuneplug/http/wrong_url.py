"""The marks of a wrong base URL, one rule for every HTTP provider.

A client pointed at the wrong root (OpenAI's ``/v1`` for Gradient's ``/api``, a bare
host, the reverse) gets answers that read like other failures: a 404, a 405, a 200
whose body is not its protocol's, or an error only another protocol's server sends
(Gradient's ``missingWorkspace`` 403 to an OpenAI client, which would otherwise send the
user after their key). :func:`clue` tells these apart from ordinary failures, so the
:class:`~tuneplug.http.mapping.ErrorMapper` can name the URL and where it was set.
"""

from __future__ import annotations

from collections.abc import Iterable

from tuneplug.http.policy import Call

__all__ = ["SHAPE_ERRORS", "answer_clue", "clue", "is_route"]

SHAPE_ERRORS = frozenset(
    {"missing", "model_type", "model_attributes_type", "dict_type", "list_type",
     "json_invalid", "json_type"}
)  # fmt: skip
"""Pydantic error types that say a body lacks the protocol's shape (a field missing, not
an object, not JSON), unlike a value out of range, which a server of the protocol sends."""


def is_route(operation: str, routes: Iterable[str]) -> bool:
    """Whether ``operation`` (``"POST /models/ab%2Fc/complete"``) is one of ``routes``,
    where a route's ``{...}`` segment stands for any one non-empty path segment
    (``"POST /models/{id}/complete"``)."""
    method, _, path = operation.partition(" ")
    parts = path.split("/")
    for route in routes:
        verb, _, pattern = route.partition(" ")
        wanted = pattern.split("/")
        if verb != method or len(wanted) != len(parts):
            continue
        # Lengths are equal here: strict only documents it.
        pairs = zip(wanted, parts, strict=True)
        if all(w == p or (w.startswith("{") and w.endswith("}") and p) for w, p in pairs):
            return True
    return False


def _plain_url(call: Call) -> str:
    return str(call.url.copy_with(query=None))


def clue(
    call: Call,
    status: int,
    said: Iterable[str | None],
    *,
    routes: Iterable[str],
    foreign_types: Iterable[str],
    typed: bool,
) -> str | None:
    """Why an error response to ``call`` points at a wrong URL (``None`` if it does not).

    Args:
        call: the request.
        status: the response's HTTP status.
        said: the error body's ``type`` and ``code``.
        routes: operations every server of the protocol answers (see :func:`is_route`).
        foreign_types: error types or codes only another protocol's servers send.
        typed: the body named a not-found type (a job or model that does not exist: no
            sign of a wrong URL).

    Returns:
        A clause naming the URL (without its query; the caller masks it): ``nothing
        answers at URL`` (a bare 404 on a route), ``URL does not take POST`` (405 on a
        route), or ``URL answers as another protocol's server ('missingWorkspace'): the
        URL looks like another protocol's root``.
    """
    if is_route(call.operation, routes):
        if status == 404 and not typed:
            return f"nothing answers at {_plain_url(call)}"
        if status == 405:
            return f"{_plain_url(call)} does not take {call.method}"
    foreign = sorted({kind for kind in said if kind} & set(foreign_types))
    if foreign:
        return (
            f"{_plain_url(call)} answers as another protocol's server ('{foreign[0]}'): "
            "the URL looks like another protocol's root"
        )
    return None


def answer_clue(call: Call, error_type: str | None, routes: Iterable[str]) -> str | None:
    """Why a 2xx body that failed to parse with pydantic error ``error_type`` points at a
    wrong URL: a route answered in another shape (``None`` for a value a server of the
    protocol could send, or an operation that is not a route)."""
    if error_type in SHAPE_ERRORS and is_route(call.operation, routes):
        return f"the answer is not this API's: {_plain_url(call)} may be another protocol's root"
    return None
