"""Settings of the OpenAI provider: ``OPENAI_*`` variables and ``[providers.openai]``.

The variables the official SDK reads keep their names and meaning:
``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``OPENAI_ORG_ID`` (``organization``) and
``OPENAI_PROJECT_ID`` (``project``). Everything else reads ``OPENAI_<FIELD>``
(``OPENAI_TIMEOUT``, ``OPENAI_MAX_RETRIES``, ...). An empty value counts as unset.

A provider instance (``[providers.together]`` with ``plugin = "openai"``) has the
same fields from its own table and never reads ``OPENAI_*``: its key comes from
``api_key`` or from the variable its ``api_key_env`` names, so an OpenAI key is
never sent to another service.

Credentials are optional here on purpose (``tuneplug plugins`` must work without
them); :meth:`OpenAISettings.api_key_value` raises the ``ConfigError`` at the first
call that needs one. A server on a loopback address (vLLM, Ollama, llama.cpp,
LM Studio on this machine) needs no key.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.errors import ConfigError, NotConfiguredError
from tuneplug.settings_http import HttpStreamSettings
from tuneplug.settings_secrets import secret_variable, variable_secret

__all__ = ["DEFAULT_BASE_URL", "PROVIDER", "OpenAISettings", "is_loopback"]

PROVIDER = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token


def is_loopback(url: str) -> bool:
    """Whether ``url``'s host is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _header_safe(value: str) -> bool:
    return value.isascii() and value.isprintable()


class OpenAISettings(HttpStreamSettings, BaseSettings):
    """How the OpenAI provider reaches an OpenAI-compatible API.

    Attributes:
        api_key: the bearer key (``OPENAI_API_KEY``); never shown.
        api_key_env: the variable to read the key from instead (provider
            instances: ``"TOGETHER_API_KEY"``); errors name it.
        base_url: the API root, trailing ``/`` removed (``OPENAI_BASE_URL``).
        organization: sent as ``OpenAI-Organization`` (``OPENAI_ORG_ID``).
        project: sent as ``OpenAI-Project`` (``OPENAI_PROJECT_ID``).
        headers: extra headers for every request (Azure's ``api-key``, OpenRouter's
            ``HTTP-Referer``, ...); values are never shown.
        query: extra query parameters for every request (Azure's ``api-version``,
            a SAS ``sig``, an ``api-key``); values are never shown, as for ``headers``.
        chat_max_tokens_field: the chat body field ``max_tokens`` goes out as
            (``max_completion_tokens``, OpenAI's; ``max_tokens`` for older servers).

    The HTTP-client fields (``timeout``, ``connect_timeout``, ``max_retries``,
    ``backoff_base``, ``backoff_max``, ``max_retry_after``, ``max_connections``,
    ``stream_timeout``) are :class:`tuneplug.settings_http.HttpStreamSettings`'s, with
    ``timeout`` the SDK's default, 600 seconds per attempt, and ``stream_timeout`` 3600
    seconds per stream (each at most a day).
    """

    model_config = SettingsConfigDict(
        env_prefix="OPENAI_",
        env_ignore_empty=True,
        extra="forbid",
        frozen=True,
        populate_by_name=True,
    )

    api_key: SecretStr | None = None
    api_key_env: Annotated[str | None, secret_variable(fills="api_key")] = Field(
        default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"
    )
    base_url: str = DEFAULT_BASE_URL
    organization: str | None = Field(
        default=None, validation_alias=AliasChoices("organization", "OPENAI_ORG_ID")
    )
    project: str | None = Field(
        default=None, validation_alias=AliasChoices("project", "OPENAI_PROJECT_ID")
    )
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    # Secret like `headers`: a query credential is common (Azure's `api-key`, a SAS
    # `sig`), and the kit scrubs what `tuneplug config` masks. `api-version` is then
    # masked too: hiding a version beats showing a key.
    query: dict[str, SecretStr] = Field(default_factory=dict)
    # The SDK's default: a long completion takes minutes; a stream may take an hour.
    timeout: float = Field(default=600.0, gt=0, le=86_400)
    stream_timeout: float = Field(default=3600.0, gt=0, le=86_400)
    chat_max_tokens_field: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens"

    @field_validator("api_key", "organization", "project", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # A key pasted with a trailing newline still works; `api_key = ""` means unset.
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("api_key", "organization", "project")
    @classmethod
    def _one_header_line(cls, value: SecretStr | str | None) -> SecretStr | str | None:
        # Sent in headers: a control character would be header injection. The message
        # never quotes the value (one of them is a secret).
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is not None and not (_header_safe(raw) and " " not in raw):
            raise ValueError("must be printable ASCII without spaces (it is sent in a header)")
        return value

    @field_validator("headers")
    @classmethod
    def _headers_are_headers(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, text in value.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a header name")
            if not _header_safe(text.get_secret_value()):
                raise ValueError(f"the value of header {name!r} must be printable ASCII")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")) or not urlsplit(value).hostname:
            raise ValueError("must be an http:// or https:// URL")
        if urlsplit(value).query:
            raise ValueError("must not have a query; put it in `query`")
        return value

    def key_variable(self) -> str:
        """The environment variable the key comes from (for messages)."""
        return self.api_key_env or "OPENAI_API_KEY"

    def key_source(self, provider: str = PROVIDER, origins: Mapping[str, str] | None = None) -> str:
        """Where this provider's key is set, in the words of a hint: as ``origins`` (the
        provider's ``ctx.origins``) says the key or its variable was given
        (``api_key in [providers.local] (tuneplug.toml:4)``, ``the api_key= argument of
        TuneplugChat``), else ``OPENAI_API_KEY`` for the plugin itself, never for an
        instance (``[providers.NAME] plugin = "openai"``), which reads only its own
        table (docs/providers.md)."""
        given = origins or {}
        table = f"[providers.{provider}]"
        if self.api_key is not None:
            if "api_key" in given:
                return given["api_key"]
            return f"api_key in {table}" if provider != PROVIDER else "OPENAI_API_KEY"
        if self.api_key_env:
            named = given.get("api_key_env", f"api_key_env in {table}")
            unset = "" if variable_secret(self.api_key_env) else ", which is not set"
            return f"{self.api_key_env}{unset} (named by {named})"
        if provider != PROVIDER:
            return f"api_key, or api_key_env naming a variable, in {table}"
        return "OPENAI_API_KEY"

    def url_source(
        self, provider: str = PROVIDER, origins: Mapping[str, str] | None = None
    ) -> str | None:
        """Where ``base_url`` is set, in the words of a hint, as ``origins`` says
        (``base_url in [providers.local] (tuneplug.toml:3)``, ``OPENAI_BASE_URL``); an
        instance's left unset is said so; ``None`` for the plugin's default (OpenAI's own
        URL: a failure to reach it is the network's, no setting's)."""
        given = (origins or {}).get("base_url")
        if given:
            return given
        if provider != PROVIDER:
            return f"base_url, which [providers.{provider}] does not set (the default is OpenAI's)"
        return None

    def api_key_value(self, provider: str = PROVIDER) -> str | None:
        """The API key, ``None`` for a loopback server without one.

        Raises:
            NotConfiguredError: no key for a remote server, naming the variable to set.
        """
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        if self.api_key_env:
            found = variable_secret(self.api_key_env)
            if found:
                if not (_header_safe(found) and " " not in found):
                    raise ConfigError(
                        f"{self.api_key_env} must be printable ASCII without spaces",
                        provider=provider,
                    )
                return found
        if is_loopback(self.base_url):
            return None  # a local server (vLLM, Ollama, llama.cpp, LM Studio): no key
        # Not configured, not broken: `tuneplug models` lists it as such, without a warning.
        where = (
            f"{self.key_variable()} in the environment (or api_key in [providers.{provider}] "
            "of tuneplug.toml)"
            if provider == PROVIDER or self.api_key_env
            else self.key_source(provider)
        )
        raise NotConfiguredError(
            f"missing API key for {self.base_url}: set {where}", provider=provider
        )
