"""Errors of the Gradient protocol, in Gradient's wire shape.

Every error body is ``{"message", "type"[, "payload"]}``. ``complete`` and ``fine-tune``
use the types the official schema lists; parsing errors carry ``type`` and ``payload``
on every endpoint; any other error is typed after its status (:data:`TYPES`:
``notFound``, ``forbidden``, ...) unless it names its own (``missingWorkspace``). The
schema of the generic endpoints gives ``{"message"}`` only: the extra keys are harmless
to clients that expect that, and let one tell cases apart without parsing words.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse
from tuneplug.errors import (
    AdapterBusyError,
    CapabilityError,
    InvalidRequestError,
    TuneplugError,
)
from tuneplug.server.errors import HttpProblem, public_message, retry_after_header, status_for

from tuneplug_gradient.wire import ErrorBody

__all__ = [
    "TYPES",
    "ApiError",
    "body_parsing_error",
    "from_tuneplug",
    "query_parsing_error",
    "type_of",
]


TYPES = {
    400: "badRequest",
    401: "unauthenticated",
    403: "forbidden",
    404: "notFound",
    405: "methodNotAllowed",
    408: "requestTimeout",
    409: "conflict",
    413: "payloadTooLarge",
    422: "unprocessableContent",
    429: "rateLimited",
}
"""The ``type`` of an error that names none, by status (``failed`` for any other)."""


def type_of(status: int) -> str:
    """The ``type`` of an untyped error of ``status``."""
    return TYPES.get(status, "badRequest" if 400 <= status < 500 else "failed")


class ApiError(Exception):
    """An error response: raise it anywhere in a request, the app renders it (``type``
    defaults to the status's, :func:`type_of`); a 409 carries ``x-should-retry: false``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        payload: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = ErrorBody(message=message, type=type or type_of(status), payload=payload)
        self.headers = dict(headers or {})
        if status == 409:
            # A 409 is a state no blind retry changes: the Stainless SDKs retry 409s
            # unless told not to.
            self.headers.setdefault("x-should-retry", "false")

    def response(self) -> JSONResponse:
        """The JSON response: ``type`` and ``payload`` only when set."""
        return JSONResponse(
            self.body.model_dump(mode="json", exclude_none=True),
            status_code=self.status,
            headers=self.headers,
        )


def _validation_payload(exc: ValidationError, rename: Mapping[str, str]) -> dict[str, Any]:
    # exc.json() makes every ctx value serialisable; inputs are left out because a
    # root-level error would otherwise echo the whole (up to max_body_bytes) body.
    errors: list[dict[str, Any]] = json.loads(exc.json(include_url=False, include_input=False))
    lines = []
    for err in errors:
        err["loc"] = [rename.get(str(p), p) for p in err["loc"]]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        lines.append(f"{where}: {err['msg']}")
    return {"formattedValidationError": "; ".join(lines), "validationError": errors}


def body_parsing_error(exc: ValidationError, rename: Mapping[str, str] | None = None) -> ApiError:
    """400 ``bodyParsingError`` for a body that is not JSON or not the expected shape.

    ``rename`` maps internal field names in error locations to wire names.
    """
    payload = _validation_payload(exc, rename or {})
    return ApiError(
        400,
        f"invalid request body: {payload['formattedValidationError']}",
        type="bodyParsingError",
        payload=payload,
    )


def query_parsing_error(field: str, message: str) -> ApiError:
    """400 ``queryOrPathParsingError`` for a bad query or path parameter."""
    error = {"loc": ["query", field], "msg": message, "type": "value_error"}
    return ApiError(
        400,
        f"invalid query parameter {field}: {message}",
        type="queryOrPathParsingError",
        payload={"formattedValidationError": f"{field}: {message}", "validationError": [error]},
    )


def from_problem(exc: HttpProblem) -> ApiError:
    """The response for a problem the gateway's shared helpers found (size, time, rate,
    text): a body that is not text is a ``bodyParsingError``, a path or query
    parameter a ``queryOrPathParsingError``, as Gradient types its parse errors."""
    if exc.kind == "body_not_text":
        error = {"loc": [], "msg": exc.message, "type": exc.kind}
        payload = {"formattedValidationError": f"body: {exc.message}", "validationError": [error]}
        return ApiError(exc.status, exc.message, type="bodyParsingError", payload=payload)
    if exc.kind in ("path_not_text", "query_not_text"):
        loc = ["path"] if exc.param is None else ["query", exc.param]
        error = {"loc": loc, "msg": exc.message, "type": exc.kind}
        payload = {"formattedValidationError": exc.message, "validationError": [error]}
        return ApiError(exc.status, exc.message, type="queryOrPathParsingError", payload=payload)
    return ApiError(exc.status, exc.message, headers=exc.headers)


def from_tuneplug(
    exc: TuneplugError,
    *,
    typed: bool = False,
    not_found_type: str = "unknownModelAdapter",
    incapable_type: str = "failed",
    aliases: Mapping[str, str] | None = None,
) -> ApiError:
    """The response for a tuneplug error the backend raised.

    ``typed`` gives Gradient's ``type`` of the complete and fine-tune endpoints:
    ``not_found_type`` for 404s, ``incapable_type`` for capability errors,
    ``unprocessableContent`` for rejected requests, ``failed`` otherwise; else the
    status's type (:func:`type_of`).
    ``aliases`` maps backend model names to the Gradient ids the client knows.
    """
    status = status_for(exc)
    headers = retry_after_header(exc)
    kind: str | None = None
    if typed:
        if status == 404:
            kind = not_found_type
        elif isinstance(exc, CapabilityError):
            kind = incapable_type
        elif isinstance(exc, InvalidRequestError):
            kind = "unprocessableContent"
        else:
            kind = "failed"
    if isinstance(exc, AdapterBusyError):
        # Its words name the backend's job and the CLI's commands to end it: none of the
        # client's business (the job may be another protocol's, or the CLI's).
        message = (
            "the adapter is being trained by another job (one job at a time trains an "
            "adapter): try again once that job has ended"
        )
        return ApiError(status, message, type=kind, headers=headers)
    # str(exc) names the provider and status; tuneplug errors never carry secrets,
    # and public_message takes out file paths.
    return ApiError(status, public_message(exc, aliases), type=kind, headers=headers)
