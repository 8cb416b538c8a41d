"""A plugin's bug (a hook raising a non-tuneplug exception, or returning the wrong type) is one
``PluginError`` naming the provider, the plugin and the hook, for every hook the core calls."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import tuneplug
from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.errors import NotFoundError, PluginError, TuneplugError
from tuneplug.jobs.facade import job_backend
from tuneplug.plugin_faults import pass_through
from tuneplug.types import Completion, StreamChunk

from tests.core.plugin_kit import COMPLETER, FINETUNABLE

ALL = (*COMPLETER, "resolve_model", "acomplete", "stream", "astream", *FINETUNABLE, "afine_tune")


def _model() -> Any:
    return tuneplug.get_model("boom/base")


def _adapter() -> Any:
    return _model().create_adapter("a")


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _drain(chunks: Any) -> list[Any]:
    return [c async for c in chunks]


# hook (without tuneplug_) -> how a user reaches it
ACTIONS: dict[str, Callable[[], Any]] = {
    "list_models": lambda: tuneplug.list_models(provider="boom"),
    "resolve_model": _model,
    "complete": lambda: _model().complete("hi"),
    "acomplete": lambda: _run(_model().acomplete("hi")),
    "stream": lambda: list(_model().stream("hi")),
    "astream": lambda: _run(_drain(_model().astream("hi"))),
    "chat_template": lambda: _model().chat([{"role": "user", "content": "hi"}]),
    "options": _model,
    "create_adapter": _adapter,
    "fine_tune": lambda: _adapter().fine_tune(["some text"]),
    "afine_tune": lambda: _run(_adapter().afine_tune(["some text"])),
    "evaluate": lambda: tuneplug.get_model("boom/base").provider.call(
        "tuneplug_evaluate", model=_model().info, samples=[]
    ),
    "copy_adapter": lambda: _model().provider.call(
        "tuneplug_copy_adapter", model=_adapter().info, name="b"
    ),
    "delete_adapter": lambda: _adapter().delete(),
    "jobs": lambda: job_backend("boom").get("ftjob-1"),
    "settings": _model,
}


def _raising(exc: BaseException) -> Callable[..., Any]:
    def hook(**kwargs: Any) -> Any:
        raise exc

    return hook


def _override(hook: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with the hook's signature (pluggy passes arguments by name)."""
    params = {
        "list_models": "ctx, base_only",
        "resolve_model": "ctx, name",
        "complete": "ctx, model, prompt, options",
        "acomplete": "ctx, model, prompt, options",
        "stream": "ctx, model, prompt, options",
        "astream": "ctx, model, prompt, options",
        "chat_template": "ctx, model",
        "options": "ctx, model",
        "create_adapter": "ctx, base, name",
        "fine_tune": "ctx, model, samples",
        "afine_tune": "ctx, model, samples",
        "evaluate": "ctx, model, samples",
        "copy_adapter": "ctx, model, name",
        "delete_adapter": "ctx, model",
        "jobs": "ctx",
        "settings": "",
    }[hook]
    kind = {"acomplete": "async def", "afine_tune": "async def"}.get(hook, "def")
    body = "return fn()"
    if hook == "astream":
        kind, body = "async def", "yield fn()"
    elif hook == "stream":
        body = "yield fn()"
    namespace: dict[str, Any] = {"fn": fn}
    exec(f"{kind} tuneplug_{hook}({params}):\n    {body}\n", namespace)
    return namespace[f"tuneplug_{hook}"]  # type: ignore[no-any-return]


class _Backend:
    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn

    def create(self, spec: Any) -> Any:
        return self.fn()

    def get(self, job_id: str) -> Any:
        return self.fn()

    def list(self, *, after: str | None = None, limit: int = 20) -> Any:
        return self.fn()

    def cancel(self, job_id: str) -> Any:
        return self.fn()

    def events(self, job_id: str, *, after: str | None = None, limit: int = 100) -> Any:
        return self.fn()


def _install(make_plugin, register, hook: str, fn: Callable[[], Any]) -> None:
    if hook == "jobs":
        backend = _Backend(fn)
        overrides = {"jobs": _override("jobs", lambda: backend)}
    else:
        overrides = {hook: _override(hook, fn)}
    register("boom", make_plugin("boom", ALL, **overrides))


def _boom() -> Any:
    raise RuntimeError("boom: backend exploded")


@pytest.mark.parametrize("hook", sorted(ACTIONS))
def test_a_hook_raising_is_a_plugin_error(make_plugin: Any, register: Any, hook: str) -> None:
    _install(make_plugin, register, hook, _boom)
    with pytest.raises(PluginError) as caught:
        ACTIONS[hook]()
    exc = caught.value
    name = "tuneplug_jobs().get" if hook == "jobs" else f"tuneplug_{hook}"
    assert isinstance(exc, TuneplugError) and not exc.retryable
    assert (exc.provider, exc.plugin, exc.hook) == ("boom", "boom", name)
    assert exc.message == (
        f"plugin 'boom': {name} raised RuntimeError: boom: backend exploded (a bug in the plugin)"
    )
    assert isinstance(exc.__cause__, RuntimeError)


WRONG = {
    "list_models": ({"id": "m"}, "dict, expected a list of ModelInfo"),
    "resolve_model": ("base", "str, expected ModelInfo or None"),
    "complete": ({"text": "not a Completion"}, "dict, expected Completion"),
    "acomplete": ("text", "str, expected Completion"),
    "chat_template": (42, "int, expected ChatTemplate, str or None"),
    "options": (dict, "the class dict, expected a pydantic model class or None"),
    "create_adapter": (None, "None, expected ModelInfo"),
    "fine_tune": (42, "int, expected FineTuneResult"),
    "afine_tune": (42, "int, expected FineTuneResult"),
    "evaluate": (0.5, "float, expected FineTuneResult"),
    "copy_adapter": ("b", "str, expected ModelInfo"),
    "jobs": ({"id": "ftjob-1"}, "dict, expected Job"),
    "settings": (SecretStr, "the class SecretStr, expected a pydantic model class or None"),
}


@pytest.mark.parametrize("hook", sorted(WRONG))
def test_a_hook_returning_the_wrong_type_is_a_plugin_error(
    make_plugin: Any, register: Any, hook: str
) -> None:
    value, said = WRONG[hook]
    _install(make_plugin, register, hook, lambda: value)
    with pytest.raises(PluginError) as caught:
        ACTIONS[hook]()
    name = "tuneplug_jobs().get" if hook == "jobs" else f"tuneplug_{hook}"
    assert caught.value.message == f"plugin 'boom': {name} returned {said} (a bug in the plugin)"
    assert caught.value.hook == name


@pytest.mark.parametrize("hook", ["stream", "astream"])
def test_a_stream_yielding_the_wrong_type_is_a_plugin_error(
    make_plugin: Any, register: Any, hook: str
) -> None:
    _install(make_plugin, register, hook, lambda: {"text": "x"})
    with pytest.raises(PluginError, match=f"tuneplug_{hook} yielded dict, expected StreamChunk"):
        ACTIONS[hook]()


def test_a_model_list_holding_the_wrong_type_is_a_plugin_error(
    make_plugin: Any, register: Any
) -> None:
    _install(make_plugin, register, "list_models", lambda: [{"id": "m"}])
    with pytest.raises(PluginError, match="returned a list holding dict, expected ModelInfo"):
        ACTIONS["list_models"]()


@pytest.mark.parametrize(
    ("hook", "value"),
    [("acomplete", "sync"), ("stream", 42), ("astream", [StreamChunk(text="x")])],
)
def test_a_hook_of_the_wrong_kind_is_a_plugin_error(
    make_plugin: Any, register: Any, hook: str, value: Any
) -> None:
    # `def` where `async def` is due, a number where an iterator is: named, not an AttributeError.
    def wrong(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        if value == "sync":
            return Completion(text="x", model=model.id, provider=ctx.provider)
        return value

    register("boom", make_plugin("boom", ALL, **{hook: wrong}))
    with pytest.raises(
        PluginError, match=f"plugin 'boom': tuneplug_{hook} returned .*, expected an"
    ):
        ACTIONS[hook]()


def test_a_tuneplug_error_raised_on_purpose_passes_unchanged(
    make_plugin: Any, register: Any
) -> None:
    gone = NotFoundError("no such model", provider="boom", status=404)
    for hook in ("complete", "stream", "astream", "acomplete", "jobs"):
        _install(make_plugin, register, hook, _raising(gone))
        with pytest.raises(NotFoundError) as caught:
            ACTIONS[hook]()
        assert caught.value is gone


class _Cancelled(BaseException):
    """Another library's cancellation (trio's ``Cancelled``, gevent's ``Timeout``): a
    ``BaseException`` so that ``except Exception`` lets it through."""


# BaseExceptions that are no Exception and not the plugin's: they stop or steer the
# program (a test's verdict too), so they leave a hook as they came.
STEERING: dict[str, Callable[[], BaseException]] = {
    "KeyboardInterrupt": KeyboardInterrupt,
    "SystemExit": lambda: SystemExit(2),
    "GeneratorExit": GeneratorExit,
    "CancelledError": asyncio.CancelledError,
    "pytest.fail": lambda: pytest.fail.Exception("a test's verdict"),
    "pytest.skip": lambda: pytest.skip.Exception("skipped"),
    "another library's": _Cancelled,
}
GUARDED = ["complete", "stream", "astream", "acomplete", "jobs", "settings"]


@pytest.mark.parametrize("hook", GUARDED)
@pytest.mark.parametrize("kind", sorted(STEERING))
def test_a_base_exception_not_the_plugins_own_passes_unchanged(
    make_plugin: Any, register: Any, hook: str, kind: str
) -> None:
    raised = STEERING[kind]()
    _install(make_plugin, register, hook, _raising(raised))
    with pytest.raises(type(raised)) as caught:
        ACTIONS[hook]()
    assert caught.value is raised


@pytest.mark.parametrize("hook", GUARDED)
def test_a_base_exception_the_plugin_defines_is_its_bug(
    make_plugin: Any, register: Any, hook: str
) -> None:
    # A plugin's own class deriving from BaseException (against Python's advice) would pass
    # every `except Exception` of its callers: a gateway's, a batch's, the CLI's.
    own = type("BoomSignal", (BaseException,), {"__module__": "_tuneplug_test_plugin_boom.api"})
    _install(make_plugin, register, hook, _raising(own("backend gave up")))
    with pytest.raises(PluginError) as caught:
        ACTIONS[hook]()
    name = "tuneplug_jobs().get" if hook == "jobs" else f"tuneplug_{hook}"
    assert caught.value.message == (
        f"plugin 'boom': {name} raised BoomSignal: backend gave up (a bug in the plugin)"
    )
    assert isinstance(caught.value.__cause__, own)


def test_a_test_verdict_the_plugin_package_defines_still_passes(
    make_plugin: Any, register: Any
) -> None:
    # pass_through wins over ownership: a harness living in the plugin's package (its own
    # test double's verdict) is still a verdict.
    own = type("Verdict", (BaseException,), {"__module__": "_tuneplug_test_plugin_boom"})
    pass_through(own)
    _install(make_plugin, register, "complete", _raising(own()))
    with pytest.raises(own):
        ACTIONS["complete"]()


def test_the_message_is_one_line_without_the_providers_secrets(
    make_plugin: Any, register: Any
) -> None:
    class Settings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="BOOM_")
        api_key: SecretStr = SecretStr("sk-very-secret-1234")

    def leaky(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        key = ctx.settings.api_key.get_secret_value()
        raise ValueError(f"request failed\nAuthorization: Bearer {key}\n")

    register(
        "boom",
        make_plugin("boom", ALL, complete=leaky, settings=_override("settings", lambda: Settings)),
    )
    with pytest.raises(PluginError) as caught:
        _model().complete("hi")
    assert "sk-very-secret-1234" not in str(caught.value)
    assert caught.value.message == (
        "plugin 'boom': tuneplug_complete raised ValueError: request failed; "
        "Authorization: Bearer ********** (a bug in the plugin)"
    )


def test_a_stream_closed_early_closes_the_plugins_stream(make_plugin: Any, register: Any) -> None:
    closed: list[bool] = []

    def stream(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        try:
            yield StreamChunk(text="a ")
            yield StreamChunk(text="b", finish_reason="stop")
        finally:
            closed.append(True)

    register("boom", make_plugin("boom", ALL, stream=stream))
    chunks = _model().stream("hi")
    assert next(chunks).text == "a "
    chunks.close()  # type: ignore[attr-defined]
    assert closed == [True]


def test_a_plugin_error_names_the_instance_and_its_plugin(
    make_plugin: Any, register: Any, tmp_path, monkeypatch
) -> None:
    register("boom", make_plugin("boom", ALL, complete=_override("complete", _boom)))
    (tmp_path / "tuneplug.toml").write_text('[providers.local]\nplugin = "boom"\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PluginError) as caught:
        tuneplug.get_model("local/base").complete("hi")
    exc = caught.value
    assert (exc.provider, exc.plugin) == ("local", "boom")
    # The message names the instance: no "local: " before it (user 5, #11).
    assert str(exc).startswith(
        "plugin 'boom' serving provider instance 'local': tuneplug_complete raised"
    )


def test_options_returning_an_instance_is_named(make_plugin: Any, register: Any) -> None:
    class Options(BaseModel):
        guidance: str = ""

    _install(make_plugin, register, "options", lambda: Options())
    with pytest.raises(PluginError, match="tuneplug_options returned Options, expected a pydantic"):
        _model()


def test_a_job_backend_without_a_required_method_is_named(make_plugin: Any, register: Any) -> None:
    class Partial:
        def get(self, job_id: str) -> Any:
            raise NotFoundError(f"no job {job_id}", provider="boom")

    register("boom", make_plugin("boom", ALL, jobs=_override("jobs", Partial)))
    backend = job_backend("boom")
    assert not hasattr(backend, "pause")  # an optional method stays simply absent
    with pytest.raises(NotFoundError):
        backend.get("ftjob-1")
    with pytest.raises(PluginError) as caught:
        backend.create(None)
    assert caught.value.message == (
        "plugin 'boom': tuneplug_jobs returned a job backend (Partial) without create(), "
        "which every backend has (a bug in the plugin)"
    )
    register("boom", make_plugin("boom", ALL, jobs=_override("jobs", lambda: None)))
    with pytest.raises(PluginError, match="tuneplug_jobs returned None, expected a JobBackend"):
        job_backend("boom")


def test_a_test_harness_verdict_passes_unchanged(make_plugin: Any, register: Any) -> None:
    # Raised inside a plugin's I/O, they are the test's verdict, not the plugin's bug.
    from tuneplug.testing.cassettes import vcr_config
    from tuneplug.testing.guard import ModelRequestBlockedError
    from vcr.errors import CannotOverwriteExistingCassetteException

    vcr_config()  # what every cassette is built from registers vcrpy's
    blocked = ModelRequestBlockedError("no network in tests")
    unanswered = CannotOverwriteExistingCassetteException.__new__(
        CannotOverwriteExistingCassetteException
    )  # its constructor wants a cassette; the type is what matters
    for verdict in (blocked, unanswered):
        for hook in ("complete", "stream", "acomplete", "jobs"):
            _install(make_plugin, register, hook, _raising(verdict))
            with pytest.raises(type(verdict)) as caught:
                ACTIONS[hook]()
            assert caught.value is verdict


def test_an_assertion_in_a_test_double_passes_unchanged(make_plugin: Any, register: Any) -> None:
    failed = AssertionError("called with the wrong prompt")
    _install(make_plugin, register, "complete", _raising(failed))
    with pytest.raises(AssertionError) as caught:
        ACTIONS["complete"]()
    assert caught.value is failed
