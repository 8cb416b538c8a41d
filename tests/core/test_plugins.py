"""Plugin discovery and loading: lazy, isolated, validated, filtered, reported."""

from __future__ import annotations

import sys
import threading
import warnings

import pytest
import tuneplug
import tuneplug.plugin_discovery
from tuneplug.errors import PluginLoadError, UnknownProviderError
from tuneplug.plugins import PluginFilter, Registry
from tuneplug.types import Capability

from tests.core.plugin_kit import COMPLETER, FINETUNABLE, Calls

BROKEN_IMPORT = """
raise RuntimeError("boom at import")
"""

MISSPELLED_MARKED = """
from tuneplug import hookimpl
from tuneplug.types import Completion, ModelInfo

@hookimpl
def tuneplug_list_models(ctx, base_only):
    return [ModelInfo(id="m", provider=ctx.provider, name="m")]

@hookimpl
def tuneplug_complete(ctx, model, prompt, options):
    return Completion(text="x", model=model.id, provider=ctx.provider)

@hookimpl
def tuneplug_complet(ctx, model, prompt, options):
    return None
"""

MISSPELLED_PREFIX = MISSPELLED_MARKED.replace("def tuneplug_complet(", "def tunplug_complete(")

MISSPELLED_UNMARKED = """
from tuneplug import hookimpl
from tuneplug.types import Completion, ModelInfo

@hookimpl
def tuneplug_list_models(ctx, base_only):
    return [ModelInfo(id="m", provider=ctx.provider, name="m")]

@hookimpl
def tuneplug_complete(ctx, model, prompt, options):
    return Completion(text="x", model=model.id, provider=ctx.provider)

def tuneplug_stream_chunks(ctx, model, prompt, options):
    return iter(())
"""

WRONG_SIGNATURE = """
from tuneplug import hookimpl
from tuneplug.types import Completion, ModelInfo

@hookimpl
def tuneplug_list_models(ctx, base_only):
    return [ModelInfo(id="m", provider=ctx.provider, name="m")]

@hookimpl
def tuneplug_complete(ctx, model, prompt, options, temperature):
    return Completion(text="x", model=model.id, provider=ctx.provider)
"""

# -- lazy loading ---------------------------------------------------------------------


def test_discovery_imports_nothing(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    a = entry_point_plugins.add("alpha")
    b = entry_point_plugins.add("beta")
    registry = Registry()
    assert registry.names() == ["alpha", "beta"]
    assert "tpfake_alpha" not in sys.modules and "tpfake_beta" not in sys.modules
    assert a.loads == 0 and b.loads == 0

    info = registry.info("alpha")
    assert info.ok and info.capabilities == frozenset({Capability.COMPLETE})
    assert "tpfake_alpha" in sys.modules
    assert "tpfake_beta" not in sys.modules  # only the provider the call needs
    registry.info("alpha")
    assert a.loads == 1  # cached


def test_get_model_loads_only_the_provider_it_needs(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("alpha")
    entry_point_plugins.add("beta")
    entry_point_plugins.add("broken", BROKEN_IMPORT)
    model = tuneplug.get_model("alpha/some-model")
    assert model.complete("hi").text == "alpha says: hi"
    assert "tpfake_beta" not in sys.modules
    assert "tpfake_broken" not in sys.modules


def test_register_in_process_plugin(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    register("inproc", make_plugin("inproc"))
    assert "inproc" in tuneplug.plugins.default_registry().names()
    assert tuneplug.get_model("inproc/base").complete("x").text == "inproc: x"


# -- failing plugins ------------------------------------------------------------------


def test_broken_plugin_is_reported(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("broken", BROKEN_IMPORT, dist="tuneplug-broken", version="0.3")
    info = Registry().info("broken")
    assert not info.ok
    assert info.name == "broken"
    assert info.distribution == "tuneplug-broken" and info.version == "0.3"
    assert "RuntimeError" in info.error and "boom at import" in info.error


def test_broken_plugin_skipped_with_warning_by_list_models(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("alpha")
    entry_point_plugins.add("broken", BROKEN_IMPORT, dist="tuneplug-broken")
    with pytest.warns(UserWarning, match="broken") as record:
        models = tuneplug.list_models()
    assert [m.ref for m in models] == ["alpha/some-model"]
    message = str(record[0].message)
    assert "tuneplug-broken" in message and "boom at import" in message
    # the working provider still completes
    assert tuneplug.get_model("alpha/some-model").complete("yo").text == "alpha says: yo"


def test_using_a_broken_plugin_raises_plugin_load_error(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("broken", BROKEN_IMPORT, dist="tuneplug-broken")
    with pytest.raises(PluginLoadError) as info:
        tuneplug.get_model("broken/x")
    assert info.value.provider == "broken"
    assert "tuneplug-broken" in str(info.value) and "boom at import" in str(info.value)


def test_strict_env_raises(entry_point_plugins, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("alpha")
    entry_point_plugins.add("broken", BROKEN_IMPORT, dist="tuneplug-broken")
    monkeypatch.setenv("TUNEPLUG_STRICT", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # strict mode raises instead of warning
        with pytest.raises(PluginLoadError, match="boom at import"):
            tuneplug.list_models()


def test_strict_registry_raises(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("alpha")
    entry_point_plugins.add("broken", BROKEN_IMPORT, dist="tuneplug-broken")
    with pytest.raises(PluginLoadError) as info:
        Registry(strict=True).infos()
    assert "broken" in str(info.value) and "tuneplug-broken" in str(info.value)
    # non-strict: reported, not raised
    infos = {i.name: i for i in Registry().infos()}
    assert infos["alpha"].ok and not infos["broken"].ok


# -- TUNEPLUG_PLUGINS -----------------------------------------------------------------


def test_plugin_filter_parse() -> None:
    f = PluginFilter.parse("a, b")
    assert f.allows("a") and f.allows("b") and not f.allows("c")
    f = PluginFilter.parse("-x")
    assert f.allows("a") and not f.allows("x")
    f = PluginFilter.parse("a,-a")
    assert not f.allows("a")
    assert PluginFilter.parse("").allows("anything")
    assert PluginFilter.parse(None).allows("anything")


def test_allow_list_env(entry_point_plugins, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in ("a", "b", "c"):
        entry_point_plugins.add(name)
    monkeypatch.setenv("TUNEPLUG_PLUGINS", "a,b")
    assert sorted({m.provider for m in tuneplug.list_models()}) == ["a", "b"]
    assert "tpfake_c" not in sys.modules
    with pytest.raises(UnknownProviderError, match="TUNEPLUG_PLUGINS"):
        tuneplug.get_model("c/some-model")
    assert "tpfake_c" not in sys.modules


def test_exclusion_env(entry_point_plugins, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("a")
    entry_point_plugins.add("x")
    monkeypatch.setenv("TUNEPLUG_PLUGINS", "-x")
    with pytest.raises(UnknownProviderError) as info:
        tuneplug.get_model("x/some-model")
    assert "TUNEPLUG_PLUGINS" in str(info.value) and "'x'" in str(info.value)
    assert "available providers: a" in str(info.value)  # x is installed, just not allowed
    # Named once, by the message (it used to read "x: unknown provider 'x' ...").
    assert info.value.provider is None and str(info.value).count("'x'") == 1
    assert "tpfake_x" not in sys.modules
    assert tuneplug.get_model("a/some-model").complete("q").text == "a says: q"


def test_exclusion_keeps_broken_plugin_out_of_strict_mode(entry_point_plugins, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("a")
    entry_point_plugins.add("broken", BROKEN_IMPORT)
    monkeypatch.setenv("TUNEPLUG_STRICT", "1")
    monkeypatch.setenv("TUNEPLUG_PLUGINS", "-broken")
    assert [m.provider for m in tuneplug.list_models()] == ["a"]


def test_plugins_setting_from_config_file(entry_point_plugins, tmp_path) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("a")
    entry_point_plugins.add("b")
    (tmp_path / "work" / "tuneplug.toml").write_text('plugins = ["b"]\n')
    assert [m.provider for m in tuneplug.list_models()] == ["b"]


def test_unknown_provider_lists_installed(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("alpha")
    with pytest.raises(UnknownProviderError) as info:
        tuneplug.get_model("nope/model")
    assert "nope" in str(info.value) and "alpha" in str(info.value)


# -- hook validation ------------------------------------------------------------------


def test_misspelled_marked_hook_fails_naming_it(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("typo", MISSPELLED_MARKED)
    info = Registry().info("typo")
    assert not info.ok and "tuneplug_complet" in info.error
    with pytest.raises(PluginLoadError, match="tuneplug_complet"):
        tuneplug.get_model("typo/m")


def test_misspelled_prefix_marked_hook_fails_via_pluggy(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    # not caught by the tuneplug_* name check: pluggy's check_pending must reject it
    entry_point_plugins.add("typo", MISSPELLED_PREFIX)
    info = Registry().info("typo")
    assert not info.ok and "tunplug_complete" in info.error


def test_unmarked_misspelled_hook_fails(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("typo", MISSPELLED_UNMARKED)
    info = Registry().info("typo")
    assert not info.ok and "tuneplug_stream_chunks" in info.error


def test_unmarked_correctly_named_hook_is_not_silently_ignored(make_plugin) -> None:  # type: ignore[no-untyped-def]
    # A hook the author forgot to mark must not silently do nothing: either it is
    # used, or loading fails naming it.
    plugin = make_plugin("forgot")

    def tuneplug_stream(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        yield from ()

    plugin.tuneplug_stream = tuneplug_stream  # no @hookimpl
    registry = Registry()
    registry.register("forgot", plugin)
    info = registry.info("forgot")
    # Refused at load, naming the hook and what is missing (never loaded half-working).
    assert not info.ok and info.error is not None, info
    assert "'tuneplug_stream' without the @tuneplug.hookimpl marker" in info.error


def test_wrong_hook_signature_fails(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("sig", WRONG_SIGNATURE)
    info = Registry().info("sig")
    assert not info.ok
    assert "tuneplug_complete" in info.error and "temperature" in info.error


def test_partial_finetunable_is_a_load_error(make_plugin) -> None:  # type: ignore[no-untyped-def]
    registry = Registry()
    registry.register("half", make_plugin("half", (*COMPLETER, "fine_tune")))
    info = registry.info("half")
    assert not info.ok
    assert "FineTunable" in info.error
    assert "tuneplug_create_adapter" in info.error and "tuneplug_delete_adapter" in info.error
    with pytest.raises(PluginLoadError, match="FineTunable"):
        registry.provider("half")


def test_partial_completer_is_a_load_error(make_plugin) -> None:  # type: ignore[no-untyped-def]
    registry = Registry()
    registry.register("half", make_plugin("half", ("complete",)))
    info = registry.info("half")
    assert not info.ok and "tuneplug_list_models" in info.error


def test_plugin_with_no_hooks_is_a_load_error(make_plugin) -> None:  # type: ignore[no-untyped-def]
    registry = Registry()
    registry.register("empty", make_plugin("empty", ()))
    assert not registry.info("empty").ok


@pytest.mark.parametrize(
    ("hooks", "caps"),
    [
        (COMPLETER, {Capability.COMPLETE}),
        ((*COMPLETER, "stream", "acomplete"), {Capability.COMPLETE}),
        ((*COMPLETER, *FINETUNABLE), {Capability.COMPLETE, Capability.FINE_TUNE, Capability.JOBS}),
        (
            (*COMPLETER, *FINETUNABLE, "afine_tune"),
            {Capability.COMPLETE, Capability.FINE_TUNE, Capability.JOBS},
        ),
    ],
)
def test_capabilities_follow_hooks(make_plugin, hooks, caps) -> None:  # type: ignore[no-untyped-def]
    registry = Registry()
    registry.register("p", make_plugin("p", hooks))
    info = registry.info("p")
    assert info.ok, info.error
    assert info.capabilities == frozenset(caps)
    assert set(info.hooks) == {f"tuneplug_{h}" for h in hooks}


def test_calls_reach_only_their_provider(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    a_calls, b_calls = Calls(), Calls()
    register("a", make_plugin("a", (*COMPLETER, "stream"), calls=a_calls))
    register("b", make_plugin("b", (*COMPLETER, "stream"), calls=b_calls))

    assert tuneplug.get_model("a/base").complete("hi").text == "a: hi"
    assert b_calls == []
    assert tuneplug.get_model("b/base").complete("hi").text == "b: hi"
    assert a_calls.hooks() == ["list_models", "complete"]
    assert b_calls.hooks() == ["list_models", "complete"]
    assert [c.text for c in tuneplug.get_model("a/base").stream("x y")] == ["x ", "y"]
    assert "stream" not in b_calls.hooks()
    assert {m.provider for m in tuneplug.list_models("b")} == {"b"}
    # every call carries its own provider's context
    assert {kw["ctx"].provider for _, kw in a_calls} == {"a"}
    assert {kw["ctx"].provider for _, kw in b_calls} == {"b"}


def test_same_module_as_two_providers_stays_separate(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    # one module registered under two names gets two plugin managers and contexts
    entry_point_plugins.add("one", module="tpfake_shared")
    entry_point_plugins.add("two", module="tpfake_shared")
    assert tuneplug.get_model("one/some-model").complete("a").text == "one says: a"
    assert tuneplug.get_model("two/some-model").complete("a").text == "two says: a"


# -- name clashes ---------------------------------------------------------------------


def test_duplicate_provider_name_names_both_distributions(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("twin", module="tpfake_twin_a", dist="tuneplug-twin-a")
    entry_point_plugins.add("twin", module="tpfake_twin_b", dist="acme-twin")
    info = Registry().info("twin")
    assert not info.ok
    assert "tuneplug-twin-a" in info.error and "acme-twin" in info.error
    with pytest.raises(PluginLoadError) as err:
        tuneplug.get_model("twin/some-model")
    assert "tuneplug-twin-a" in str(err.value) and "acme-twin" in str(err.value)
    # neither module is imported: which one would win is undefined
    assert "tpfake_twin_a" not in sys.modules and "tpfake_twin_b" not in sys.modules
    with pytest.raises(PluginLoadError, match="acme-twin"):
        Registry(strict=True).infos()


def test_same_distribution_seen_twice_is_not_a_clash(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    # e.g. one distribution visible through two sys.path entries
    entry_point_plugins.add("dup", dist="tuneplug-dup")
    entry_point_plugins.add("dup", dist="tuneplug-dup")
    info = Registry().info("dup")
    assert info.ok, info.error


# -- thread safety --------------------------------------------------------------------


def test_registering_during_discovery_is_not_lost(monkeypatch, make_plugin) -> None:  # type: ignore[no-untyped-def]
    # Discovery fills the registry's table; a registration racing with it must survive.
    registry = Registry()
    racing: list[threading.Thread] = []

    def entry_points(**params):  # type: ignore[no-untyped-def]
        if not racing:
            racing.append(
                threading.Thread(target=registry.register, args=("late", make_plugin("late")))
            )
            racing[0].start()
            racing[0].join(0.2)  # with the lock held it waits; without, it is done by now
        return []

    monkeypatch.setattr(tuneplug.plugin_discovery, "entry_points", entry_points)
    registry.names()
    racing[0].join()
    assert registry.names() == ["late"]
