"""Settings of the Gradient provider: ``GRADIENT_*`` env vars and ``[providers.gradient]``.

The three variables the official SDK reads keep their names and meaning
(``GRADIENT_ACCESS_TOKEN``, ``GRADIENT_WORKSPACE_ID``, ``GRADIENT_API_URL``), and
an empty value counts as unset, as in the SDK. The other fields tune the HTTP
client (:mod:`tuneplug.settings_http`) and read ``GRADIENT_TIMEOUT``,
``GRADIENT_MAX_RETRIES``, ... the same way.

Credentials are optional here on purpose: building the settings must not fail
without them, so ``tuneplug plugins`` or another provider's commands work on a
machine that has no Gradient account. :meth:`GradientSettings.credentials`
raises :class:`~tuneplug.errors.NotConfiguredError` (a ``ConfigError``) at the first call
that needs them; listing every provider's models passes an unconfigured Gradient by.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.errors import NotConfiguredError
from tuneplug.settings_http import HttpSettings

__all__ = ["DEFAULT_API_URL", "PROVIDER", "GradientSettings"]

PROVIDER = "gradient"
DEFAULT_API_URL = "https://api.gradient.ai/api"


class GradientSettings(HttpSettings, BaseSettings):
    """How the Gradient provider reaches the API.

    Attributes:
        access_token: the bearer token (``GRADIENT_ACCESS_TOKEN``); never shown.
        workspace_id: sent as ``x-gradient-workspace-id`` (``GRADIENT_WORKSPACE_ID``).
        api_url: the API base URL, trailing ``/`` removed (``GRADIENT_API_URL``).

    The HTTP-client fields (``timeout``, ``connect_timeout``, ``max_retries``,
    ``backoff_base``, ``backoff_max``, ``max_retry_after``, ``max_connections``) are
    :class:`tuneplug.settings_http.HttpSettings`'s, with ``timeout`` 120 seconds per
    attempt. Every number has an upper bound (an hour for timeouts, ten minutes for a
    connection or one backoff wait): a value beyond it is a typo, refused before any call.
    """

    model_config = SettingsConfigDict(
        env_prefix="GRADIENT_", env_ignore_empty=True, extra="forbid", frozen=True
    )

    access_token: SecretStr | None = None
    workspace_id: str | None = None
    api_url: str = DEFAULT_API_URL
    timeout: float = Field(default=120.0, gt=0, le=3600)

    @field_validator("access_token", "workspace_id", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # The SDK treats "" as missing, and the Node SDK trims: a token pasted with a
        # trailing newline still works, and `access_token = ""` in a file means unset.
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("access_token", "workspace_id")
    @classmethod
    def _header_safe(cls, value: SecretStr | str | None) -> SecretStr | str | None:
        # Both travel in HTTP headers; a control character would be header injection.
        # The message never quotes the value: one of them is a secret.
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is not None and not (raw.isascii() and raw.isprintable() and " " not in raw):
            raise ValueError("must be printable ASCII without spaces (it is sent in a header)")
        return value

    @field_validator("api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        # The SDK would build "//models" from a trailing slash; we normalise instead.
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    def credentials(self, provider: str = PROVIDER) -> tuple[str, str]:
        """The token and workspace id of ``provider`` (the plugin, or an instance:
        ``[providers.NAME] plugin = "gradient"``).

        Raises:
            NotConfiguredError: one is missing, naming what to set: the variables or
                ``[providers.gradient]`` for the plugin, the instance's own table for an
                instance (it never reads the variables).
        """
        missing = []
        instance = provider != PROVIDER
        if self.access_token is None:
            missing.append(
                "access_token" if instance else "GRADIENT_ACCESS_TOKEN (or access_token)"
            )
        if self.workspace_id is None:
            missing.append(
                "workspace_id" if instance else "GRADIENT_WORKSPACE_ID (or workspace_id)"
            )
        if missing:
            where = "" if instance else "in the environment or "
            raise NotConfiguredError(
                f"missing Gradient credentials: set {' and '.join(missing)} "
                f"{where}in [providers.{provider}] of tuneplug.toml",
                provider=provider,
            )
        assert self.access_token is not None and self.workspace_id is not None
        return self.access_token.get_secret_value(), self.workspace_id
