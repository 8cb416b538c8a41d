"""HTTP outcomes as :mod:`tuneplug.errors`: statuses, error bodies, transport failures.

Nothing raw escapes a provider built on :mod:`tuneplug.http`. An :class:`ErrorMapper`
(one per client) turns

====================================  ===================================================
401                                   ``AuthenticationError`` (+ the provider's hint)
403                                   ``PermissionDeniedError`` (+ hint)
404, or a 4xx whose error type is one
of ``not_found_types``                ``NotFoundError``
429                                   ``RateLimitError`` with ``retry_after``
408, other 4xx                        ``InvalidRequestError`` (408: ``TimeoutError``)
5xx, 1xx/3xx, a malformed 2xx         ``ServerError``
timeouts / the call's deadline        ``TimeoutError``
refused, reset, cut, DNS              ``ConnectionError``
====================================  ===================================================

Every error carries the provider, the status, the server's message (cut to
``MESSAGE_LIMIT`` characters), its request id (``x-request-id`` by default) and
``retryable`` = "safe to send again" (:func:`tuneplug.http.policy.may_repeat`):
a fine-tuning step that failed with 500 is **not** retryable, whatever 500 says.
No message ever holds a secret: every text is masked with :func:`mask` before it
is cut (a secret across the cut would otherwise leak its start).
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tuneplug import errors
from tuneplug.http.policy import Call, may_repeat, server_wait
from tuneplug.http.wrong_url import answer_clue, clue
from tuneplug.secret_forms import scrub

__all__ = ["MESSAGE_LIMIT", "ErrorInfo", "ErrorMapper", "mask", "parse_error_body"]

MESSAGE_LIMIT = 300
MASK = "***"


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret replaced by ``***`` in every form a request carries
    it in (raw, percent- or form-encoded, JSON-escaped, Basic auth: a server that
    echoes the URL it was sent echoes its query encoded)."""
    masked: str = scrub(text, secrets, MASK)
    return masked


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


@dataclass(frozen=True)
class ErrorInfo:
    """What an error body says: ``message``, and the ``type`` / ``code`` / ``param``."""

    message: str | None = None
    type: str | None = None
    code: str | None = None
    param: str | None = None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def parse_error_body(content: bytes) -> ErrorInfo:
    """Read the common JSON error shapes: OpenAI's ``{"error": {message, type, param,
    code}}``, a bare ``{"message", "type"}`` (Gradient) and ``{"error": "text"}``."""
    try:
        data: Any = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return ErrorInfo()
    if not isinstance(data, dict):
        return ErrorInfo()
    inner = data.get("error")
    if isinstance(inner, dict):
        data = inner
    elif _text(inner) and not _text(data.get("message")):
        return ErrorInfo(message=_text(inner), type=_text(data.get("type")))
    return ErrorInfo(
        message=_text(data.get("message")),
        type=_text(data.get("type")),
        code=_text(data.get("code")),
        param=_text(data.get("param")),
    )


def _attempts(attempts: int) -> str:
    return f" (gave up after {attempts} attempts)" if attempts > 1 else ""


_PHASES: dict[type[Exception], str] = {
    httpx.ConnectTimeout: "connecting",
    httpx.ReadTimeout: "waiting for the response",
    httpx.WriteTimeout: "sending the request",
    httpx.PoolTimeout: "waiting for a free connection",
}


@dataclass(frozen=True)
class ErrorMapper:
    """Maps one provider's HTTP failures onto :mod:`tuneplug.errors`.

    Attributes:
        provider: the provider name every error carries.
        secrets: values never shown (API keys, tokens); masked in every message.
        auth_hint: appended to 401 messages (``"check OPENAI_API_KEY"``).
        permission_hint: appended to 403 messages.
        not_found_types: error ``type`` / ``code`` values that mean "no such
            thing" whatever the 4xx status (a job or file id).
        model_not_found_types: those that mean "no such model" (OpenAI's
            ``model_not_found``, Gradient's ``unknownModelAdapter``): the
            ``NotFoundError`` has ``unknown_model`` set.
        request_id_header: the response header quoted as ``request id``.
        parse_body: reads an error body (default :func:`parse_error_body`).
        routes: operations (``"POST /chat/completions"``; ``{id}`` for any one path
            segment: ``"POST /models/{id}/complete"``) every server of the protocol
            answers: a 404 there that is not a not-found type, a 405, or a 2xx body
            without the protocol's shape means the URL is wrong, and the error names
            it (never its query) and adds ``route_hint`` (``"check base_url ..."``).
        foreign_types: error types or codes only another protocol's servers send
            (Gradient's ``missingWorkspace`` to an OpenAI client): whatever the status
            and operation, the error says the URL looks like another protocol's root
            and adds ``route_hint`` instead of the 401/403 hint (the key is not the
            problem). See :mod:`tuneplug.http.wrong_url`.
        connect_hint: appended to a failure to connect (refused, DNS, unreachable):
            where the URL was set (``"check base_url in [providers.local] (...)"``).
    """

    provider: str
    secrets: tuple[str, ...] = ()
    auth_hint: str = ""
    permission_hint: str = ""
    not_found_types: frozenset[str] = frozenset()
    model_not_found_types: frozenset[str] = frozenset()
    request_id_header: str | None = "x-request-id"
    parse_body: Callable[[bytes], ErrorInfo] = field(default=parse_error_body)
    routes: frozenset[str] = frozenset()
    route_hint: str = ""
    foreign_types: frozenset[str] = frozenset()
    connect_hint: str = ""

    def mask(self, text: str) -> str:
        """``text`` with this provider's secrets masked."""
        return mask(text, self.secrets)

    def response(
        self, call: Call, response: httpx.Response, attempts: int = 1
    ) -> errors.TuneplugError:
        """The error for the non-2xx ``response`` to ``call`` (its body already read)."""
        status = response.status_code
        info = self.parse_body(response.content)
        message = info.message
        if message is None:
            # Not JSON (a proxy's HTML page, an empty body): quote a little of it.
            text = self.mask(response.content.decode("utf-8", "replace")).strip()
            message = text or response.reason_phrase or "no details"
        detail = self._detail(info, message)
        rid = response.headers.get(self.request_id_header) if self.request_id_header else None
        if rid:
            detail += f" (request id {self.mask(rid)[:100]})"
        text = f"{call.operation} failed: {detail}{_attempts(attempts)}"
        common: dict[str, Any] = {
            "provider": self.provider,
            "status": status,
            "retryable": may_repeat(call, response),
        }
        wait = server_wait(response)
        said = {info.type, info.code}
        model = bool(said & self.model_not_found_types)
        types = model or bool(said & self.not_found_types)
        wrong = clue(
            call, status, said, routes=self.routes, foreign_types=self.foreign_types, typed=types
        )
        if wrong is not None:
            # The URL, not the key, is what to fix: its hint replaces the 401/403 one.
            text = _hint(f"{text}; {self.mask(wrong)}", self.route_hint)
        if status == 401:
            hint = "" if wrong else self.auth_hint
            return errors.AuthenticationError(_hint(text, hint), **common)
        if status == 403:
            hint = "" if wrong else self.permission_hint
            return errors.PermissionDeniedError(_hint(text, hint), **common)
        if status == 404 or (types and 400 <= status < 500):
            found = errors.ModelNotFoundError if model else errors.NotFoundError
            return found(text, unknown_model=model, **common)
        if status == 429:
            return errors.RateLimitError(_come_back(text, wait), retry_after=wait, **common)
        if status == 408:
            return errors.TimeoutError(text, **common)
        if 400 <= status < 500:
            return errors.InvalidRequestError(text, **common)
        if status >= 500:
            return errors.ServerError(_come_back(text, wait), **common)
        # 1xx/3xx that reached us (redirects are not followed): not the protocol.
        return errors.ServerError(f"{call.operation}: unexpected HTTP {status}: {detail}", **common)

    def _detail(self, info: ErrorInfo, message: str) -> str:
        """``message`` masked and cut, with the body's ``code``/``type`` and ``param``."""
        kind = info.code or info.type
        detail = _clip(self.mask(message))
        if kind and kind not in detail:
            detail += f" [{kind}]"
        if info.param:
            detail += f" (param: {self.mask(info.param)[:80]})"
        return detail

    def in_stream(self, call: Call, body: bytes) -> errors.ServerError:
        """The error for an error object a server sent as an event of a stream it had
        already answered 200 to (OpenAI's ``data: {"error": {...}}``, which
        openai-python raises as ``APIError``): its message, code and param, not
        retryable (the stream was under way)."""
        info = self.parse_body(body)
        detail = self._detail(info, info.message or "no details")
        return errors.ServerError(
            f"{call.operation}: the server ended the stream with an error: {detail}",
            provider=self.provider,
            retryable=False,
        )

    def transport(
        self, call: Call, exc: BaseException, attempts: int = 1, *, deadline: float | None = None
    ) -> errors.TuneplugError:
        """The error for ``exc`` raised while sending ``call``.

        ``deadline`` (seconds) names the call's total deadline when that is what
        cut it. The exception text is quoted by class and first line only.
        """
        reason = _clip(self.mask(str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
        retryable = may_repeat(call, exc)
        tail = _attempts(attempts)
        if deadline is not None:
            return errors.TimeoutError(
                f"{call.operation}: no complete response within the deadline of "
                f"{deadline:g} s{tail}",
                provider=self.provider,
                retryable=retryable,
            )
        if isinstance(exc, httpx.TimeoutException):
            phase = _PHASES.get(type(exc), "waiting")
            return errors.TimeoutError(
                f"{call.operation}: timed out {phase} ({reason}){tail}",
                provider=self.provider,
                retryable=retryable,
            )
        if isinstance(exc, httpx.ConnectError):
            # One wording for httpx and aiohttp (which says "ssl:default" of plain http).
            refused = f"cannot connect to {_host_port(call.url)}: {_os_reason(exc, reason)}"
            return errors.ConnectionError(
                _hint(f"{call.operation}: {self.mask(refused)}{tail}", self.connect_hint),
                provider=self.provider,
                retryable=retryable,
            )
        if isinstance(exc, httpx.TransportError):
            return errors.ConnectionError(
                f"{call.operation}: connection failed: {type(exc).__name__}: {reason}{tail}",
                provider=self.provider,
                retryable=retryable,
            )
        return errors.ServerError(
            f"{call.operation}: {type(exc).__name__}: {reason}",
            provider=self.provider,
            retryable=False,
        )

    def malformed(self, call: Call, status: int, problem: Any) -> errors.ServerError:
        """A ``ServerError`` for a 2xx response that is not the documented shape.

        ``problem`` is a pydantic ``ValidationError`` (its first error is quoted)
        or a sentence. Not retryable: the same request gets the same answer. A body
        without the protocol's shape at one of ``routes`` (a field missing, not JSON)
        adds that the URL may be another protocol's root, and ``route_hint``.
        """
        errors_of = getattr(problem, "errors", None)
        wrong = None
        if callable(errors_of):
            first = errors_of(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            problem = f"{where}: {first['msg']}"
            wrong = answer_clue(call, first["type"], self.routes)
        text = f"malformed response to {call.operation}: {_clip(self.mask(str(problem)))}"
        if wrong is not None:
            text = _hint(f"{text}; {self.mask(wrong)}", self.route_hint)
        return errors.ServerError(
            text,
            provider=self.provider,
            status=status,
            retryable=False,
        )


def _host_port(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{host}:{port}"


def _os_reason(exc: BaseException, fallback: str) -> str:
    """What the operating system said (``Connection refused``), found along the
    exception's causes (aiohttp keeps it in ``os_error``); else ``fallback``."""
    seen: BaseException | None = exc
    for _ in range(6):  # a chain is a few links; never loop on a cycle
        if seen is None:
            break
        inner = getattr(seen, "os_error", None)
        found = inner if isinstance(inner, OSError) else seen
        if isinstance(found, OSError) and found.errno:
            # asyncio words a refusal "Connect call failed (...)": the errno says it.
            if found.errno > 0 and not isinstance(found, socket.gaierror):
                return os.strerror(found.errno)
            return str(found.strerror or found)
        seen = seen.__cause__ or seen.__context__
    return re.sub(r"^\[Errno -?\d+\] ", "", fallback)


def _hint(text: str, hint: str) -> str:
    return f"{text}; {hint}" if hint else text


def _come_back(text: str, wait: float | None) -> str:
    if wait is None:
        return text
    when = time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + wait))
    return f"{text}; the server asks to retry after {wait:g} s (at {when})"
