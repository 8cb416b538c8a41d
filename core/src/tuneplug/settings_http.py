"""The HTTP-client settings every web-API provider has, declared once: a base for its settings.

A provider whose settings class derives from :class:`HttpSettings` gets the fields
below, read like its own (``ACME_TIMEOUT`` with ``env_prefix="ACME_"``, ``timeout``
in ``[providers.acme]``), and builds its :class:`~tuneplug.http.HttpClient` from
them with :meth:`HttpSettings.http_client`::

    class AcmeSettings(HttpSettings, BaseSettings):
        model_config = SettingsConfigDict(env_prefix="ACME_", extra="forbid")
        api_key: SecretStr | None = None
        base_url: str = "https://api.acme.example/v1"

    http = settings.http_client(base_url=settings.base_url, headers=..., errors=...)

==================  ======  =========  ==================================================
field               unit    default    bounds, meaning
==================  ======  =========  ==================================================
``timeout``         s       60         > 0, <= 3600: one attempt, in total
``connect_timeout`` s       10         > 0, <= 600: opening a connection
``max_retries``     count   2          0 to 10: repeats after the first attempt
``backoff_base``    s       0.5        0 to 60: attempt ``n`` waits up to ``base * 2**n``
``backoff_max``     s       8          0 to 600: no backoff wait is longer
``max_retry_after`` s       60         0 to 3600: a longer server wait fails at once
``max_connections`` count   100        1 to 10000: pool size (sync, and per event loop)
``stream_timeout``  s       600        > 0, <= 86400: a whole stream
                                       (:class:`HttpStreamSettings` only)
==================  ======  =========  ==================================================

The defaults are :class:`~tuneplug.http.HttpClient`'s and
:class:`~tuneplug.http.RetryPolicy`'s own. A provider changes a default or a bound by
declaring the field again (``timeout: float = Field(default=600.0, gt=0, le=86_400)``);
it keeps its place.
Only ``pydantic`` is imported here: ``tuneplug.http`` (httpx, aiohttp) is imported
when a client is built, so declaring settings stays cheap for ``tuneplug plugins``.
``tuneplug config`` lists a provider's own fields first, then these, in this order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import random
    from collections.abc import Mapping

    from tuneplug.http import ErrorMapper, HttpClient, RetryPolicy

__all__ = ["HttpSettings", "HttpStreamSettings", "http_fields"]


class HttpSettings(BaseModel):
    """The HTTP-client fields of a provider's settings (see the module for the table).

    Attributes:
        timeout: seconds one attempt may take in total, however the server paces
            its bytes (also the limit of each read).
        connect_timeout: seconds to open a connection (TCP and TLS).
        max_retries: repeats after the first attempt of a retryable failure.
        backoff_base: seconds; attempt ``n`` waits a random time in
            ``[0, min(backoff_max, backoff_base * 2**n)]`` (full jitter).
        backoff_max: seconds; upper bound of one backoff wait.
        max_retry_after: seconds; the longest server-requested wait (``Retry-After``)
            that is slept through; a longer one fails at once with the wait in the error.
        max_connections: connection-pool size (sync, and per event loop).
    """

    timeout: float = Field(default=60.0, gt=0, le=3600)
    connect_timeout: float = Field(default=10.0, gt=0, le=600)
    max_retries: int = Field(default=2, ge=0, le=10)
    backoff_base: float = Field(default=0.5, ge=0, le=60)
    backoff_max: float = Field(default=8.0, ge=0, le=600)
    max_retry_after: float = Field(default=60.0, ge=0, le=3600)
    max_connections: int = Field(default=100, ge=1, le=10_000)

    def retry_policy(
        self,
        *,
        retry_statuses: frozenset[int] | None = None,
        rng: random.Random | None = None,
    ) -> RetryPolicy:
        """The :class:`~tuneplug.http.RetryPolicy` of these settings.

        Args:
            retry_statuses: statuses after which a repeatable request is repeated
                (default :data:`~tuneplug.http.DEFAULT_RETRY_STATUSES`).
            rng: the backoff's random source (tests pass a seeded one).
        """
        from tuneplug.http import DEFAULT_RETRY_STATUSES, RetryPolicy

        return RetryPolicy(
            max_retries=self.max_retries,
            backoff_base=self.backoff_base,
            backoff_max=self.backoff_max,
            max_retry_after=self.max_retry_after,
            retry_statuses=DEFAULT_RETRY_STATUSES if retry_statuses is None else retry_statuses,
            rng=rng,
        )

    def _client_options(self) -> dict[str, Any]:
        # What HttpClient takes from the settings besides the policy; subclasses add theirs.
        return {
            "timeout": self.timeout,
            "connect_timeout": self.connect_timeout,
            "max_connections": self.max_connections,
        }

    def http_client(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str],
        errors: ErrorMapper,
        policy: RetryPolicy | None = None,
    ) -> HttpClient:
        """An :class:`~tuneplug.http.HttpClient` with these settings' limits.

        Args:
            base_url: prefix of every path (``https://api.acme.example/v1``).
            headers: sent with every request (auth, user agent).
            errors: maps failures to tuneplug errors and masks the secrets it holds.
            policy: the retry rules (default: :meth:`retry_policy`).

        Raises:
            ImportError: ``tuneplug[http]`` (httpx, aiohttp) is not installed.
        """
        from tuneplug.http import HttpClient

        return HttpClient(
            base_url=base_url,
            headers=headers,
            errors=errors,
            policy=self.retry_policy() if policy is None else policy,
            **self._client_options(),
        )


class HttpStreamSettings(HttpSettings):
    """:class:`HttpSettings` plus ``stream_timeout``, for a provider that streams.

    Attributes:
        stream_timeout: seconds a stream may last in total (each chunk must still
            follow the previous one within ``timeout``).
    """

    stream_timeout: float = Field(default=600.0, gt=0, le=86_400)

    def _client_options(self) -> dict[str, Any]:
        return {**super()._client_options(), "stream_timeout": self.stream_timeout}


def http_fields(cls: type[BaseModel]) -> frozenset[str]:
    """The fields ``cls`` has from :class:`HttpSettings` / :class:`HttpStreamSettings`
    (none when it derives from neither): ``tuneplug config`` lists them last."""
    for base in (HttpStreamSettings, HttpSettings):
        if issubclass(cls, base):
            return frozenset(base.model_fields)
    return frozenset()
