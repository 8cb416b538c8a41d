"""``tuneplug.settings_http``: the HTTP-client fields declared once, for every web-API provider.

The gradient and openai providers each declared the same seven fields and built a
``RetryPolicy`` from them by hand. They now derive from the core's base, as a
third-party provider does; these tests pin what users see of those fields (names,
defaults, bounds, variables, ``tuneplug config`` order) and what the base builds.
"""

from __future__ import annotations

import inspect
import json
import random
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import tuneplug.http
from click.testing import CliRunner
from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.cli import cli
from tuneplug.config import build_settings, env_name
from tuneplug.errors import ConfigError
from tuneplug.http import DEFAULT_RETRY_STATUSES, ErrorMapper, HttpClient, RetryPolicy
from tuneplug.settings_http import HttpSettings, HttpStreamSettings, http_fields
from tuneplug_gradient.settings import GradientSettings
from tuneplug_openai.settings import OpenAISettings

SHARED = ("timeout", "connect_timeout", "max_retries", "backoff_base", "backoff_max",
          "max_retry_after", "max_connections")  # fmt: skip

# field: (default, lower bound as (kind, value), upper bound): the module docstring's table.
TABLE: dict[str, tuple[float, tuple[str, float], float]] = {
    "timeout": (60.0, ("gt", 0), 3600),
    "connect_timeout": (10.0, ("gt", 0), 600),
    "max_retries": (2, ("ge", 0), 10),
    "backoff_base": (0.5, ("ge", 0), 60),
    "backoff_max": (8.0, ("ge", 0), 600),
    "max_retry_after": (60.0, ("ge", 0), 3600),
    "max_connections": (100, ("ge", 1), 10_000),
    "stream_timeout": (600.0, ("gt", 0), 86_400),
}


def _bounds(cls: type[BaseModel], name: str) -> tuple[float, tuple[str, float], float]:
    info = cls.model_fields[name]
    lower = next((k, getattr(m, k)) for m in info.metadata for k in ("gt", "ge") if hasattr(m, k))
    upper = next(m.le for m in info.metadata if hasattr(m, "le"))
    return info.default, lower, upper


def _defaults(function: Callable[..., Any]) -> dict[str, Any]:
    parameters = inspect.signature(function).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


class AcmeSettings(HttpSettings, BaseSettings):
    """A third-party provider's settings, as docs/plugins.md shows them."""

    model_config = SettingsConfigDict(env_prefix="ACME_", extra="forbid")
    api_key: SecretStr | None = None
    base_url: str = "https://api.acme.example/v1"


class AcmeStreamSettings(HttpStreamSettings, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACME_", extra="forbid")
    base_url: str = "https://api.acme.example/v1"


@pytest.mark.parametrize("name", list(TABLE))
def test_the_documented_table(name: str) -> None:
    assert _bounds(HttpStreamSettings, name) == TABLE[name]
    assert (name in HttpSettings.model_fields) == (name != "stream_timeout")


def test_the_defaults_are_the_clients_and_the_policys() -> None:
    # One default per setting in the core: a provider built either way behaves alike.
    given = {**_defaults(HttpClient.__init__), **_defaults(RetryPolicy.__init__)}
    for name, (default, _, _) in TABLE.items():
        assert given[name] == default, name


def test_both_providers_keep_their_fields_defaults_bounds_and_variables() -> None:
    for name in SHARED[1:]:
        assert _bounds(GradientSettings, name) == _bounds(OpenAISettings, name) == TABLE[name]
        assert env_name(GradientSettings, name) == f"GRADIENT_{name.upper()}"
        assert env_name(OpenAISettings, name) == f"OPENAI_{name.upper()}"
    # Each provider's own timeout: the SDKs' defaults, Gradient's at most an hour.
    assert _bounds(GradientSettings, "timeout") == (120.0, ("gt", 0), 3600)
    assert _bounds(OpenAISettings, "timeout") == (600.0, ("gt", 0), 86_400)
    assert _bounds(OpenAISettings, "stream_timeout") == (3600.0, ("gt", 0), 86_400)
    assert "stream_timeout" not in GradientSettings.model_fields  # it never streams


def test_a_third_party_provider_reads_them_like_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_TIMEOUT", "7.5")
    monkeypatch.setenv("ACME_MAX_RETRIES", "")  # empty is unset, as for every field
    built = build_settings(AcmeSettings, project={"max_connections": 3, "backoff_max": 2})
    assert (built.timeout, built.max_retries, built.max_connections) == (7.5, 2, 3)
    assert built.backoff_max == 2.0 and built.base_url.startswith("https://")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [("max_retries", "11", "must be an integer in 0..10, got 11"),
     ("timeout", "0", "must be a number > 0 and <= 3600, got 0"),
     ("max_connections", "0", "must be an integer in 1..10000, got 0"),
     ("backoff_base", "nan", "must be a finite number")],
)  # fmt: skip
def test_a_value_out_of_bounds_is_one_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, field: str, value: str, words: str
) -> None:
    monkeypatch.setenv(f"ACME_{field.upper()}", value)
    with pytest.raises(ConfigError) as info:
        build_settings(AcmeSettings)
    assert str(info.value) == f"ACME_{field.upper()}: {words}"


def test_the_retry_policy_carries_the_settings() -> None:
    settings = AcmeSettings(max_retries=4, backoff_base=0.25, backoff_max=3, max_retry_after=9)
    policy = settings.retry_policy()
    assert (policy.max_retries, policy.backoff_base, policy.backoff_max) == (4, 0.25, 3.0)
    assert policy.max_retry_after == 9.0 and policy.retry_statuses == DEFAULT_RETRY_STATUSES
    rng = random.Random(3)
    chosen = settings.retry_policy(retry_statuses=frozenset({409, 503}), rng=rng)
    assert chosen.retry_statuses == {409, 503} and chosen.rng is rng


def _recording(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(tuneplug.http, "HttpClient", lambda **kwargs: seen.append(kwargs))
    return seen


def test_the_client_gets_every_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _recording(monkeypatch)
    errors = ErrorMapper(provider="acme")
    settings = AcmeSettings(timeout=5, connect_timeout=2, max_connections=7, max_retries=0)
    settings.http_client(base_url="http://127.0.0.1:9", headers={"A": "b"}, errors=errors)
    (kwargs,) = seen
    policy = kwargs.pop("policy")
    assert kwargs == {"base_url": "http://127.0.0.1:9", "headers": {"A": "b"}, "errors": errors,
                      "timeout": 5.0, "connect_timeout": 2.0, "max_connections": 7}  # fmt: skip
    assert policy.max_retries == 0
    streaming = AcmeStreamSettings(stream_timeout=30)
    mine = streaming.retry_policy(retry_statuses=frozenset({409}))
    streaming.http_client(base_url="http://127.0.0.1:9", headers={}, errors=errors, policy=mine)
    assert seen[1]["stream_timeout"] == 30.0 and seen[1]["policy"] is mine


def test_a_real_client_is_built() -> None:
    settings = AcmeStreamSettings(timeout=4, stream_timeout=40, max_retries=1)
    http = settings.http_client(
        base_url="http://127.0.0.1:9/v1/", headers={}, errors=ErrorMapper(provider="acme")
    )
    try:
        assert isinstance(http, HttpClient) and http.base_url == "http://127.0.0.1:9/v1"
        assert (http.timeout, http.stream_timeout, http.policy.max_retries) == (4.0, 40.0, 1)
    finally:
        http.close()


@pytest.mark.parametrize("settings", [OpenAISettings(max_retries=5), GradientSettings()])
def test_both_providers_build_their_clients_from_the_base(
    monkeypatch: pytest.MonkeyPatch, settings: HttpSettings
) -> None:
    seen = _recording(monkeypatch)
    if isinstance(settings, OpenAISettings):
        from tuneplug_openai.client import OpenAIClient

        OpenAIClient(settings.model_copy(update={"api_key": SecretStr("sk-x")}), "openai")
        # The SDK retries 409 (a lock timeout on OpenAI's side) on top of the defaults.
        assert seen[0]["policy"].retry_statuses == DEFAULT_RETRY_STATUSES | {409}
        assert seen[0]["stream_timeout"] == 3600.0 and seen[0]["timeout"] == 600.0
    else:
        from tuneplug_gradient.client import GradientClient

        assert isinstance(settings, GradientSettings)
        full = settings.model_copy(update={"access_token": SecretStr("t"), "workspace_id": "w"})
        GradientClient(full, rng=random.Random(1))
        assert seen[0]["policy"].retry_statuses == DEFAULT_RETRY_STATUSES
        assert "stream_timeout" not in seen[0] and seen[0]["timeout"] == 120.0
    assert seen[0]["policy"].max_retries == settings.max_retries


def test_http_fields_are_the_bases() -> None:
    assert http_fields(GradientSettings) == frozenset(SHARED)
    assert http_fields(OpenAISettings) == frozenset((*SHARED, "stream_timeout"))
    assert http_fields(BaseSettings) == frozenset()


def _config_keys(provider: str) -> list[str]:
    result = CliRunner().invoke(cli, ["config", "--json"])
    assert result.exit_code == 0, result.output
    prefix = f"providers.{provider}."
    keys = [row["key"] for row in json.loads(result.stdout)]
    return [key.removeprefix(prefix) for key in keys if key.startswith(prefix)]


def test_config_lists_a_providers_own_fields_first() -> None:
    assert _config_keys("gradient") == ["access_token", "workspace_id", "api_url", *SHARED]
    assert _config_keys("openai") == [
        "api_key", "api_key_env", "base_url", "organization", "project", "headers", "query",
        "chat_max_tokens_field", *SHARED, "stream_timeout",
    ]  # fmt: skip


def test_a_third_party_providers_rows_alike(
    make_plugin: Callable[..., Any], register: Callable[..., Any]
) -> None:
    register("acme", make_plugin("acme", settings=lambda: AcmeSettings))
    assert _config_keys("acme") == ["api_key", "base_url", *SHARED]


def test_declaring_the_settings_imports_no_http_library() -> None:
    code = (
        "import sys, tuneplug.settings_http, tuneplug_openai.settings, tuneplug_gradient.settings\n"
        "print(','.join(m for m in ('httpx', 'aiohttp', 'tuneplug.http') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
