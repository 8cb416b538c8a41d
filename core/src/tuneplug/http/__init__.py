"""HTTP for provider plugins: pooled clients, bounded retries, deadlines, typed errors.

Install with ``pip install 'tuneplug[http]'`` (httpx and aiohttp); ``import tuneplug``
never imports this package, so a provider should import it inside its hooks (or in a
module its hooks import lazily) to keep ``tuneplug plugins`` cheap.

A provider builds one :class:`HttpClient` per provider instance, with
``ctx.resource``, and sends :class:`Call` s through it. Settings deriving from
:class:`tuneplug.settings_http.HttpSettings` carry the timeouts, retries and pool
size, and build the client::

    from tuneplug.http import ErrorMapper

    def make_client(ctx):
        key = ctx.settings.api_key.get_secret_value()
        return ctx.settings.http_client(
            base_url=ctx.settings.base_url,
            headers={"Authorization": f"Bearer {key}", "User-Agent": "acme/1.0"},
            errors=ErrorMapper(provider=ctx.provider, secrets=(key,),
                               auth_hint="check ACME_API_KEY"),
        )

    http = ctx.resource(make_client)           # closed when the provider closes
    call = http.call("POST", "/complete", idempotent=True)
    response = http.send(call, body_bytes)     # or: await http.asend(...)
    for event in http.events(call, body):      # server-sent events, WHATWG grammar
        ...

What every call gets:

* **Retries** bounded by ``max_retries``, full-jitter backoff, the server's
  ``retry-after-ms`` / ``Retry-After`` (all RFC 9110 forms) on 408/429/503; a wait
  longer than ``max_retry_after`` fails at once with the wait in the error
  (``RateLimitError.retry_after`` for 429). A non-idempotent call (``idempotent=False``)
  is repeated only when the server provably did not apply it. See
  :mod:`tuneplug.http.policy` for the whole table. Inside
  :func:`tuneplug.rate_limit_scope.handling_rate_limits` (a batch) a 429 is not
  repeated but raised at once, for the caller's shared back-off.
* **Deadlines**: one attempt ends ``timeout`` seconds after it started however the
  server trickles its bytes (``TimeoutError``); ``call_timeout`` bounds a whole call.
* **Fairness**: async callers beyond ``max_connections`` wait in arrival order.
* **Errors**: every failure is a :mod:`tuneplug.errors` exception with the provider,
  the status, the server's message and request id, secrets masked, and
  ``retryable`` meaning "safe to send again" (:mod:`tuneplug.http.mapping`).
"""

from __future__ import annotations

from tuneplug.http.client import HttpClient
from tuneplug.http.gate import FifoGate
from tuneplug.http.mapping import MESSAGE_LIMIT, ErrorInfo, ErrorMapper, mask, parse_error_body
from tuneplug.http.policy import DEFAULT_RETRY_STATUSES, Call, RetryPolicy, may_repeat
from tuneplug.http.retry_after import (
    parse_retry_after,
    parse_retry_after_ms,
    retry_after_from_headers,
)
from tuneplug.http.sse import SSEDecoder, SSEEvent

__all__ = [
    "DEFAULT_RETRY_STATUSES",
    "MESSAGE_LIMIT",
    "Call",
    "ErrorInfo",
    "ErrorMapper",
    "FifoGate",
    "HttpClient",
    "RetryPolicy",
    "SSEDecoder",
    "SSEEvent",
    "mask",
    "may_repeat",
    "parse_error_body",
    "parse_retry_after",
    "parse_retry_after_ms",
    "retry_after_from_headers",
]
