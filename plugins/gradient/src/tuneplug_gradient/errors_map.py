"""Translate Gradient HTTP outcomes into :mod:`tuneplug.errors`.

Nothing raw escapes the provider: statuses, typed error bodies, httpx transport
exceptions and malformed responses all become tuneplug errors carrying
``provider="gradient"`` and the HTTP status where there is one.

Status mapping (the spec documents only "4XX", so the body's ``type`` refines it):

====================================  =============================
401                                   AuthenticationError
403                                   PermissionDeniedError
404, type ``unknownModelAdapter`` or
``unknownBaseModel`` (any 4xx)        NotFoundError
429                                   RateLimitError(retry_after)
other 4xx (400, 422, parsing errors,
flagged content, nanLoss, ...)        InvalidRequestError
5xx                                   ServerError
====================================  =============================

Messages quote the server's ``message`` (cut to 300 characters) and never the
access token: every message goes through :func:`scrub` first, in case a server
echoes the ``Authorization`` header back.
"""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

import httpx
from pydantic import ValidationError
from tuneplug import errors

from tuneplug_gradient.settings import PROVIDER

__all__ = [
    "MESSAGE_LIMIT",
    "error_for_response",
    "error_for_transport",
    "malformed",
    "parse_retry_after",
    "scrub",
]

MESSAGE_LIMIT = 300
_NOT_FOUND_TYPES = frozenset({"unknownModelAdapter", "unknownBaseModel"})


def scrub(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` masked."""
    if secret and secret in text:
        text = text.replace(secret, "***")
    return text


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date).

    ``None`` when absent or unreadable; a date in the past gives ``0.0``.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            return None
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
        return None
    return max(0.0, seconds)


def _error_body(content: bytes) -> tuple[str | None, str | None]:
    """The ``message`` and ``type`` of an error body, if it is the documented JSON."""
    try:
        data: Any = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    message, kind = data.get("message"), data.get("type")
    return (
        message if isinstance(message, str) and message else None,
        kind if isinstance(kind, str) and kind else None,
    )


def _attempts(attempts: int) -> str:
    return f" (gave up after {attempts} attempts)" if attempts > 1 else ""


def error_for_response(
    response: httpx.Response, operation: str, secret: str | None, attempts: int = 1
) -> errors.TuneplugError:
    """The tuneplug error for a non-2xx ``response`` to ``operation`` (``"POST /models"``)."""
    status = response.status_code
    message, kind = _error_body(response.content)
    if message is None:
        # Not the documented JSON (a proxy's HTML page, an empty body): quote a little of it,
        # cut only after scrubbing (cut first, a token across the cut would leak its start).
        text = scrub(response.content.decode("utf-8", "replace"), secret).strip()
        message = text or response.reason_phrase or "no details"
    detail = _clip(scrub(message, secret))
    text = f"{operation} failed: {detail}" + (f" [{kind}]" if kind else "") + _attempts(attempts)
    if status == 401:
        return errors.AuthenticationError(
            f"{text}; check GRADIENT_ACCESS_TOKEN", provider=PROVIDER, status=status
        )
    if status == 403:
        return errors.PermissionDeniedError(
            f"{text}; check GRADIENT_WORKSPACE_ID and the token's workspace",
            provider=PROVIDER,
            status=status,
        )
    if status == 404 or (kind in _NOT_FOUND_TYPES and 400 <= status < 500):
        return errors.NotFoundError(text, provider=PROVIDER, status=status)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return errors.RateLimitError(
            text, provider=PROVIDER, status=status, retry_after=retry_after
        )
    if 400 <= status < 500:
        return errors.InvalidRequestError(text, provider=PROVIDER, status=status)
    if status >= 500:
        return errors.ServerError(text, provider=PROVIDER, status=status)
    # 1xx/3xx that reached us (redirects are not followed): not the protocol.
    return errors.ServerError(
        f"{operation}: unexpected HTTP {status}: {detail}", provider=PROVIDER, status=status
    )


def error_for_transport(
    exc: httpx.HTTPError, operation: str, attempts: int = 1
) -> errors.TuneplugError:
    """The tuneplug error for an httpx exception raised while sending ``operation``.

    The exception text is not quoted verbatim beyond its class and first line:
    transport errors carry no secrets, but they can carry long reprs.
    """
    reason = _clip(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connecting",
            httpx.ReadTimeout: "waiting for the response",
            httpx.WriteTimeout: "sending the request",
            httpx.PoolTimeout: "waiting for a free connection",
        }.get(type(exc), "waiting")
        return errors.TimeoutError(
            f"{operation}: timed out {phase} ({reason}){_attempts(attempts)}", provider=PROVIDER
        )
    if isinstance(exc, httpx.TransportError):
        return errors.ConnectionError(
            f"{operation}: connection failed: {type(exc).__name__}: {reason}"
            f"{_attempts(attempts)}",
            provider=PROVIDER,
        )
    return errors.ServerError(f"{operation}: {type(exc).__name__}: {reason}", provider=PROVIDER)


def malformed(
    operation: str, status: int, problem: ValidationError | str
) -> errors.ServerError:
    """A ``ServerError`` for a 2xx response that is not the documented JSON."""
    if isinstance(problem, ValidationError):
        first = problem.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        problem = f"{where}: {first['msg']}"
    return errors.ServerError(
        f"malformed response to {operation}: {_clip(problem)}",
        provider=PROVIDER,
        status=status,
        retryable=False,
    )
