"""A plugin's error never shows the provider's secrets, in its own text or in the exception it
wraps, whichever way a hook fails: the traceback a user sees is checked, not the message only."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable
from typing import Any

import pytest
import tuneplug
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.errors import AuthenticationError, PluginError
from tuneplug.jobs.facade import job_backend

from tests.core.plugin_kit import COMPLETER, FINETUNABLE

KEY = "sk-test-SECRET123"
ALL = (*COMPLETER, "resolve_model", "acomplete", "stream", "astream", *FINETUNABLE)


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZAP_")
    api_key: SecretStr = SecretStr("")


def _settings() -> type[_Settings]:
    return _Settings


def _leak(ctx: Any) -> RuntimeError:
    key = ctx.settings.api_key.get_secret_value()
    return RuntimeError(f"cannot resolve with key {key}")


def _resolve(ctx, name):  # type: ignore[no-untyped-def]
    raise _leak(ctx)


def _complete(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
    try:
        raise OSError(f"socket to {ctx.settings.api_key.get_secret_value()} closed")
    except OSError as exc:
        raise _leak(ctx) from exc


async def _acomplete(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
    raise _leak(ctx)


def _stream(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
    raise _leak(ctx)
    yield  # pragma: no cover - a generator that fails on its first chunk


class _Backend:
    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def get(self, job_id: str) -> Any:
        raise _leak(self.ctx)


def _jobs(ctx):  # type: ignore[no-untyped-def]
    return _Backend(ctx)


ACTIONS: dict[str, Callable[[], Any]] = {
    "resolve_model": lambda: tuneplug.get_model("zap/other"),
    "complete": lambda: tuneplug.get_model("zap/base").complete("hi"),
    "acomplete": lambda: asyncio.run(tuneplug.get_model("zap/base").acomplete("hi")),
    "stream": lambda: list(tuneplug.get_model("zap/base").stream("hi")),
    "jobs": lambda: job_backend("zap").get("ftjob-1"),
}


@pytest.fixture
def zap(make_plugin: Any, register: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    monkeypatch.setenv("ZAP_API_KEY", KEY)

    def install(hook: str) -> None:
        base_resolve = make_plugin("zap", ALL).tuneplug_resolve_model

        def resolve(ctx, name):  # type: ignore[no-untyped-def]
            if name == "other":
                return _resolve(ctx, name)
            return base_resolve(ctx=ctx, name=name)

        overrides: dict[str, Any] = {"settings": _settings, "resolve_model": resolve}
        overrides.update(
            {
                "complete": {"complete": _complete},
                "acomplete": {"acomplete": _acomplete},
                "stream": {"stream": _stream},
                "jobs": {"jobs": _jobs},
            }.get(hook, {})
        )
        register("zap", make_plugin("zap", ALL, **overrides))

    return install


@pytest.mark.parametrize("hook", sorted(ACTIONS))
def test_the_wrapped_exception_is_masked_too(zap: Callable[..., None], hook: str) -> None:
    zap(hook)
    with pytest.raises(PluginError) as caught:
        ACTIONS[hook]()
    printed = "".join(traceback.format_exception(caught.value))
    assert KEY not in printed
    assert "cannot resolve with key **********" in printed
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert caught.value.__suppress_context__


def test_every_exception_the_plugin_chained_is_masked(zap: Callable[..., None]) -> None:
    zap("complete")
    with pytest.raises(PluginError) as caught:
        ACTIONS["complete"]()
    printed = "".join(traceback.format_exception(caught.value))
    assert "OSError: socket to ********** closed" in printed
    assert KEY not in printed


def test_an_error_raised_on_purpose_is_masked_and_passes(
    make_plugin: Any, register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZAP_API_KEY", KEY)

    def complete(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        key = ctx.settings.api_key.get_secret_value()
        raise AuthenticationError(f"key {key} refused", provider="zap", status=401)

    register("zap", make_plugin("zap", ALL, settings=_settings, complete=complete))
    with pytest.raises(AuthenticationError) as caught:
        tuneplug.get_model("zap/base").complete("hi")
    assert str(caught.value) == "zap: key ********** refused (HTTP 401)"
    assert KEY not in "".join(traceback.format_exception(caught.value))


def test_an_exception_group_quoting_the_key_is_a_masked_plugin_error(
    make_plugin: Any, register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A group's message is read-only: masking it in place raised AttributeError, which
    # left the hook with the unmasked group as its context instead of the PluginError.
    monkeypatch.setenv("ZAP_API_KEY", KEY)

    def complete(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        key = ctx.settings.api_key.get_secret_value()
        raise ExceptionGroup(f"2 retries with {key} failed", [ConnectionError(f"to {key}")])

    register("zap", make_plugin("zap", ALL, settings=_settings, complete=complete))
    with pytest.raises(PluginError) as caught:
        tuneplug.get_model("zap/base").complete("hi")
    printed = "".join(traceback.format_exception(caught.value))
    assert KEY not in printed
    assert "2 retries with ********** failed" in printed and "to **********" in printed


@pytest.mark.parametrize("hook", sorted(ACTIONS))
def test_a_harness_verdict_passes_with_the_secrets_masked(
    make_plugin: Any, register: Any, monkeypatch: pytest.MonkeyPatch, hook: str
) -> None:
    # A verdict (here AssertionError; vcrpy's cassette miss, the network guard's block)
    # is no plugin bug and keeps its type, but may quote the request the plugin sent:
    # vcrpy's names the live URL, query credential and all.
    monkeypatch.setenv("ZAP_API_KEY", KEY)

    def verdict(ctx: Any) -> AssertionError:
        key = ctx.settings.api_key.get_secret_value()
        return AssertionError(f"no match for POST /v1?sig={key}")

    def complete(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        raise verdict(ctx)

    async def acomplete(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        raise verdict(ctx)

    def stream(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        raise verdict(ctx)
        yield  # pragma: no cover - a generator that fails on its first chunk

    class Backend:
        def __init__(self, ctx: Any) -> None:
            self.ctx = ctx

        def get(self, job_id: str) -> Any:
            raise verdict(self.ctx)

    base = make_plugin("zap", ALL)

    def resolve(ctx, name):  # type: ignore[no-untyped-def]
        if name == "other":
            raise verdict(ctx)
        return base.tuneplug_resolve_model(ctx=ctx, name=name)

    hooks = {"complete": complete, "acomplete": acomplete, "stream": stream}
    hooks.update({"jobs": lambda ctx: Backend(ctx)})
    overrides = {"settings": _settings, "resolve_model": resolve}
    if hook in hooks:
        overrides[hook] = hooks[hook]
    register("zap", make_plugin("zap", ALL, **overrides))
    with pytest.raises(AssertionError) as caught:
        ACTIONS[hook]()
    assert str(caught.value) == "no match for POST /v1?sig=**********"
    assert KEY not in "".join(traceback.format_exception(caught.value))
