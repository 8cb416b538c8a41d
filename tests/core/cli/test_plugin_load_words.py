"""A plugin that fails to load is said in one form everywhere (user 6 #10), docs/plugins.md's
``plugin 'boom' (tuneplug-boom): ...``: the plugin named once, its distribution in
parentheses, no module path, a hook typo with the hook it meant; strict mode names every
plugin that failed, not the first."""

from __future__ import annotations

import pytest

from tests.core.cli.test_cli import error_line, invoke, ok

COMPLETER = """\
from tuneplug import hookimpl
from tuneplug.types import ModelInfo

@hookimpl
def tuneplug_list_models(ctx, base_only):
    return [ModelInfo(id="m", provider=ctx.provider, name="M")]

"""

PARTIAL = (
    COMPLETER
    + """\
@hookimpl
def tuneplug_complete(ctx, model, prompt, options):
    return None

@hookimpl
def tuneplug_create_adapter(ctx, base, name, rank, learning_rate):
    return None
"""
)

TYPO_MARKED = (
    COMPLETER
    + """\
@hookimpl
def tuneplug_compelte(ctx, model, prompt, options):
    return None
"""
)

TYPO_UNMARKED = (
    COMPLETER
    + """\
@hookimpl
def tuneplug_complete(ctx, model, prompt, options):
    return None

def tuneplug_delte_adapter(ctx, model):
    return None
"""
)


def _lines(name: str) -> tuple[str, str]:
    warning = ok(invoke("models")).stderr.splitlines()
    error = error_line(invoke("complete", "-m", f"{name}/m", "hi"))
    assert len(warning) == 1, warning
    return warning[0], error


def test_a_partial_group_names_the_plugin_once(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("omega", PARTIAL, module="tpfake_zeta2", dist="tuneplug-zeta2")
    entry_point_plugins.add("other")
    warning, error = _lines("omega")
    said = "implements part of FineTunable but not tuneplug_delete_adapter, tuneplug_fine_tune"
    assert warning == f"warning: plugin 'omega' (tuneplug-zeta2) skipped: {said}"
    assert error == f"error: plugin 'omega' (tuneplug-zeta2) failed to load: {said}"


@pytest.mark.parametrize(
    ("source", "typo", "meant"),
    [
        (TYPO_MARKED, "tuneplug_compelte", "tuneplug_complete"),
        (TYPO_UNMARKED, "tuneplug_delte_adapter", "tuneplug_delete_adapter"),
    ],
    ids=["with @hookimpl", "without"],
)
def test_a_hook_typo_says_the_hook_it_meant_and_no_path(  # type: ignore[no-untyped-def]
    entry_point_plugins, source: str, typo: str, meant: str
) -> None:
    entry_point_plugins.add("omega", source, module="tpfake_zeta2", dist="tuneplug-zeta2")
    entry_point_plugins.add("other")
    warning, error = _lines("omega")
    said = f"defines {typo!r}, which is not a tuneplug hook (did you mean {meant!r}?)"
    assert warning == f"warning: plugin 'omega' (tuneplug-zeta2) skipped: {said}"
    assert error == f"error: plugin 'omega' (tuneplug-zeta2) failed to load: {said}"
    assert "<module" not in warning + error and "/" not in said


def test_a_name_clash_is_said_in_the_same_form(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("zeta", module="tpfake_zeta_a", dist="tuneplug-zeta")
    entry_point_plugins.add("zeta", module="tpfake_zeta_b", dist="acme-zeta")
    entry_point_plugins.add("other")
    warning, error = _lines("zeta")
    said = "its name is claimed by both distributions 'tuneplug-zeta' and 'acme-zeta'"
    assert warning == f"warning: plugin 'zeta' skipped: {said}"
    assert error == f"error: plugin 'zeta' failed to load: {said}"


def test_strict_mode_names_every_plugin_that_failed(  # type: ignore[no-untyped-def]
    entry_point_plugins, monkeypatch
) -> None:
    entry_point_plugins.add("omega", PARTIAL, module="tpfake_zeta2", dist="tuneplug-zeta2")
    entry_point_plugins.add("sigma", TYPO_MARKED, dist="tuneplug-sigma")
    entry_point_plugins.add("other")
    monkeypatch.setenv("TUNEPLUG_STRICT", "1")
    line = error_line(invoke("models"))
    assert line.startswith("error: 2 plugins failed to load: plugin 'omega' (tuneplug-zeta2) ")
    assert "; plugin 'sigma' (tuneplug-sigma) failed to load: defines 'tuneplug_compelte'" in line


def test_strict_mode_with_one_failure_is_that_plugins_error(  # type: ignore[no-untyped-def]
    entry_point_plugins, monkeypatch
) -> None:
    # Not "1 plugins failed to load: ...": one failure is said as docs/plugins.md words it.
    entry_point_plugins.add("omega", PARTIAL, module="tpfake_zeta2", dist="tuneplug-zeta2")
    entry_point_plugins.add("other")
    monkeypatch.setenv("TUNEPLUG_STRICT", "1")
    said = "implements part of FineTunable but not tuneplug_delete_adapter, tuneplug_fine_tune"
    line = error_line(invoke("models"))
    assert line == f"error: plugin 'omega' (tuneplug-zeta2) failed to load: {said}"
