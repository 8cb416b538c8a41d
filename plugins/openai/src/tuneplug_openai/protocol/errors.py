"""Errors of the OpenAI protocol in OpenAI's shape: ``{"error": {message, type, param, code}}``.

Statuses follow the API: 400 a malformed or invalid request, 401 a missing or
unknown key, 404 an unknown (or another tenant's) model, file or job, 408 a
body too slow, 413 a body or file too large, 422 a well-formed request the
backend cannot act on (e.g. a training file with no usable sample), 429 rate
limited (with ``Retry-After``), 5xx the backend failed. A client's mistake is
never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse
from tuneplug.errors import AdapterBusyError, TuneplugError
from tuneplug.server.errors import (
    HttpProblem,
    public_message,
    public_text,
    retry_after_header,
    status_for,
)

__all__ = ["QUERY_PARAMS", "OpenAIError", "from_problem", "from_tuneplug", "not_found"]

QUERY_PARAMS = frozenset({"after", "limit"})
"""The query parameters of a page: a backend refusing one (a malformed ``after``) is
a 400 naming it, in the words of the gateway's own check of ``limit``."""

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    408: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_exceeded",
}


_CODES = {
    400: "invalid_request",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "request_too_large",
    422: "unprocessable_entity",
    429: "rate_limit_exceeded",
}


class OpenAIError(Exception):
    """An error response: raise it anywhere in a request, the app renders it.

    Every 4xx has a ``code``: the one given, else the status's own (:data:`_CODES`,
    ``invalid_request`` for a 4xx without one), so a client can always tell cases apart by
    ``code`` rather than by the message's words. Every 409 carries ``x-should-retry:
    false``.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        if code is None and 400 <= status < 500:
            code = _CODES.get(status, "invalid_request")
        self.code = code
        self.param = param
        self.type = type or _TYPES.get(status, "server_error" if status >= 500 else "api_error")
        self.headers = dict(headers or {})
        if status == 409:
            # Every 409 the server sends is a state no blind retry changes (a job holds the
            # model, a job ended): the SDK retries 409s unless told not to.
            self.headers.setdefault("x-should-retry", "false")

    def body(self) -> dict[str, Any]:
        """``{"error": {"message", "type", "param", "code"}}``: the response body, and
        the event that ends a stream already under way (openai-python reads both)."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self) -> JSONResponse:
        """The JSON response."""
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def not_found(what: str, id: str, *, param: str | None = None) -> OpenAIError:
    """404 for an unknown ``what`` (``model``, ``file``, ``fine-tuning job``) named ``id``."""
    code = "model_not_found" if what == "model" else "not_found"
    return OpenAIError(404, f"the {what} {id!r} does not exist", code=code, param=param)


def from_problem(exc: HttpProblem) -> OpenAIError:
    """The error for a problem the gateway's shared helpers found (size, time, rate, text)."""
    code = {"body_too_large": "request_too_large", "rate_limited": "rate_limit_exceeded"}
    return OpenAIError(
        exc.status,
        exc.message,
        code=code.get(exc.kind, exc.kind),
        param=exc.param,
        headers=exc.headers,
    )


def from_tuneplug(
    exc: TuneplugError,
    *,
    param: str | None = None,
    aliases: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> OpenAIError:
    """The error for a backend failure, without file paths or the backend names in
    ``aliases`` (see ``tuneplug.server.errors``).

    A refused option (:class:`~tuneplug.options.OptionError`, e.g. ``max_tokens`` beyond
    the backend's bound) names its field as ``param`` — renamed by ``params`` to the
    body field the client sent (``n_epochs`` -> ``hyperparameters.n_epochs``) — with
    the code ``invalid_request`` and the words of a body the schema refused
    (``invalid request body: hyperparameters.n_epochs: ...``); a query parameter
    (:data:`QUERY_PARAMS`) keeps the error's own words (``after must be ...``).
    """
    status = status_for(exc)
    if isinstance(exc, AdapterBusyError):
        # Its words name the backend's job and the CLI's commands; which job is the
        # client's own is the route's to say (job_errors), so here: none.
        return OpenAIError(
            409,
            "the model is being trained by another job: try again once that job has ended",
            code="model_busy",
        )
    message = public_message(exc, aliases)
    option = getattr(exc, "option", None)
    if param is None and isinstance(option, str) and status == 400:
        param = (params or {}).get(option, option)
        detail = getattr(exc, "detail", None)
        # A query parameter (a page's cursor) keeps its own words: "after must be ...".
        if isinstance(detail, str) and detail and param not in QUERY_PARAMS:
            message = public_text(f"invalid request body: {param}: {detail}", aliases)
    code = "invalid_request" if param is not None and status == 400 else None
    return OpenAIError(status, message, code=code, param=param, headers=retry_after_header(exc))
