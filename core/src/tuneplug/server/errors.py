"""What a backend's tuneplug error means to an HTTP client, for every protocol.

Protocols render errors in their own wire shape; the status and the words come
from here, so the Gradient and OpenAI faces of one failure agree:

* :func:`status_for`: 404 not found, 400 a client mistake, 429 rate limited,
  502 the backend's own credentials, connection or configuration failed (never 401:
  the client's key was fine), 504 backend timeout, the backend's 5xx, else 500.
* :func:`public_message`: the error's message without the backend provider's name
  and with absolute file paths replaced by ``<path>`` (a route after its HTTP method,
  ``POST /chat/completions``, is not a path and is kept). The backend's own
  credentials, connection or configuration failing (502) is the operator's problem: the client
  reads one sentence of the server's (:data:`BACKEND_WORDS`), never the backend's
  hints (which name the operator's config table, file and line, or environment).
  Every error answered 5xx is logged on the ``tuneplug.server`` logger, one line with
  the whole error (secrets are masked in it where it is made), so the operator can
  tell why. Tracebacks are never part of
  a message (tuneplug errors carry none; anything else is a bare 500), nor is a plugin's bug (a
  ``PluginError``: its words are the plugin's internals): "internal server error",
  500, the error and its cause in the server's log.
* :class:`HttpProblem`: a problem with the request itself (too large, too
  slow, malformed framing) found by the server's shared helpers; each protocol
  renders it in its own shape.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping

from tuneplug.errors import (
    AdapterBusyError,
    AdapterChangedError,
    AuthenticationError,
    CapabilityError,
    ConfigError,
    ConnectionError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    RateLimitError,
    ServerError,
    TimeoutError,
    TuneplugError,
    UnknownModelError,
)
from tuneplug.models import Model
from tuneplug.types import ModelKind

__all__ = [
    "BACKEND_WORDS",
    "HttpProblem",
    "model_aliases",
    "public_message",
    "public_text",
    "retry_after_header",
    "scrub",
    "status_for",
]

log = logging.getLogger("tuneplug.server")

# An absolute POSIX or Windows path: not the path part of a URL (preceded by ':' '/' or a
# word), and not a route after its HTTP method (group 1: kept whole by `scrub`), whatever
# its number of segments: `POST /chat/completions` as `POST /completions`.
_PATH = re.compile(
    r"(\b(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /\S*)"
    r"|(?<![\w:/.])(?:/[\w.@+-]+){2,}/?|\b[A-Za-z]:\\[^\s'\"]+"
)

BACKEND_WORDS: dict[type[TuneplugError], str] = {
    AuthenticationError: "the server's backend refused its credentials",
    PermissionDeniedError: "the server's backend refused its credentials",
    ConnectionError: "the server could not reach its backend",
    ConfigError: "the server's backend is misconfigured",
}
"""What a client reads when the server's own side of its backend fails (502): the
backend's words name the operator's config and are logged instead."""


class HttpProblem(Exception):
    """A request the server refuses before any protocol logic: ``status`` and ``message``.

    ``kind`` is a short machine name (``body_too_large``, ``body_timeout``,
    ``bad_content_length``, ``rate_limited``, ``body_not_text``, ``path_not_text``,
    ``query_not_text``, ``header_not_text``) a protocol may map to its error codes;
    ``param`` the query parameter or header at fault, if one is.
    """

    def __init__(
        self,
        status: int,
        message: str,
        kind: str,
        headers: dict[str, str] | None = None,
        *,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.headers = headers or {}
        self.param = param


def scrub(message: str) -> str:
    """``message`` with absolute file paths replaced by ``<path>`` (routes kept)."""
    return _PATH.sub(lambda m: m.group(1) or "<path>", message)


def status_for(exc: TuneplugError) -> int:
    """The HTTP status a client gets for the backend error ``exc``."""
    if isinstance(exc, NotFoundError | UnknownModelError):
        return 404
    if isinstance(exc, AdapterBusyError):
        return 409  # the request is sound; the model is taken (retry once that job ends)
    if isinstance(exc, AdapterChangedError):
        return 409  # the job cannot resume onto a model another job trained since
    if isinstance(exc, InvalidRequestError | CapabilityError):
        return 400
    if isinstance(exc, RateLimitError):
        return 429
    # The backend's credentials are the server's, not the client's: a 401 here
    # would tell the client its own key is wrong. It is a bad gateway.
    # A backend's ConfigError (a device the machine lacks, a missing setting) is the
    # operator's config, found on a request: the same bad gateway.
    if isinstance(exc, AuthenticationError | PermissionDeniedError | ConnectionError | ConfigError):
        return 502
    if isinstance(exc, TimeoutError):
        return 504
    if isinstance(exc, ServerError):
        return exc.status if exc.status is not None and 500 <= exc.status < 600 else 502
    return 500


def public_message(exc: TuneplugError, aliases: Mapping[str, str] | None = None) -> str:
    """The message a client may see for ``exc``: each backend name in ``aliases`` (a
    backend model reference or id, or a server path) replaced by the name the client
    used, then every other absolute file path replaced by ``<path>``. A plugin's bug is
    "internal server error" (logged with its cause, as any other exception is)."""
    if isinstance(exc, PluginError):
        log.error("internal server error: %s", exc, exc_info=exc)
        return "internal server error"
    status = status_for(exc)
    if status >= 500:
        # The operator's only view of why (the access log has the status alone).
        log.warning("backend error answered %d: %s", status, exc)
    for kind, words in BACKEND_WORDS.items():
        if isinstance(exc, kind):
            return words
    # Without the "provider: " prefix: the backend is the server's business, not its clients'.
    return public_text(exc.said_of(exc.provider), aliases)


def public_text(message: str, aliases: Mapping[str, str] | None = None) -> str:
    """``message`` made public as :func:`public_message` makes an error's."""
    # Longest first: a reference ("mock/abc") contains its id ("abc"). Before the
    # scrub, so an alias may name a server path (an uploaded file -> its public id).
    for backend, public in sorted((aliases or {}).items(), key=lambda kv: -len(kv[0])):
        message = message.replace(backend, public)
    return scrub(message)


def model_aliases(model: Model, public: str) -> dict[str, str]:
    """``aliases`` for :func:`public_message` hiding ``model``'s backend names behind
    ``public``: its reference, and its id unless it is a base model (whose id is public)."""
    names = {model.ref: public}
    if model.info.kind is not ModelKind.BASE:
        names[model.id] = public
    return names


def retry_after_header(exc: TuneplugError) -> dict[str, str]:
    """``{"Retry-After": seconds}`` for a rate-limit error that says when,
    ``{"x-should-retry": "false"}`` for a backend's :class:`ConfigError` (the operator's
    config stays wrong until the server restarts: a client's retry only waits longer),
    else ``{}``."""
    if isinstance(exc, RateLimitError) and exc.retry_after is not None:
        return {"Retry-After": str(max(0, math.ceil(exc.retry_after)))}
    if isinstance(exc, ConfigError):
        return {"x-should-retry": "false"}
    return {}
