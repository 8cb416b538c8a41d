"""The hook specifications: documented, grouped, and matched by the capability rules."""

from __future__ import annotations

import inspect

import pytest
import tuneplug
from tuneplug import hookspecs
from tuneplug.hookspecs import (
    COMPLETER_HOOKS,
    FINETUNABLE_HOOKS,
    SETUP_HOOKS,
    Completer,
    FineTunable,
    Setup,
)

GROUPS = {Completer: COMPLETER_HOOKS, FineTunable: FINETUNABLE_HOOKS, Setup: SETUP_HOOKS}


def hooks_of(group: type) -> dict[str, object]:
    return {name: fn for name, fn in vars(group).items() if name.startswith("tuneplug_")}


@pytest.mark.parametrize("group", list(GROUPS), ids=lambda g: g.__name__)
def test_every_hook_has_a_docstring(group: type) -> None:
    assert inspect.getdoc(group), group
    for name, fn in hooks_of(group).items():
        doc = inspect.getdoc(fn)
        assert doc and len(doc) > 20, f"{group.__name__}.{name} has no docstring"


@pytest.mark.parametrize("group", list(GROUPS), ids=lambda g: g.__name__)
def test_hook_name_sets_match_groups(group: type) -> None:
    assert set(hooks_of(group)) == GROUPS[group]


@pytest.mark.parametrize("group", list(GROUPS), ids=lambda g: g.__name__)
def test_hooks_are_marked_and_typed(group: type) -> None:
    for name, fn in hooks_of(group).items():
        assert hasattr(fn, "tuneplug_spec"), name
        signature = inspect.signature(fn)
        assert signature.return_annotation is not inspect.Signature.empty, name
        for param in list(signature.parameters.values())[1:]:
            assert param.annotation is not inspect.Parameter.empty, f"{name}({param.name})"


def test_operation_hooks_take_ctx_first() -> None:
    for group in (Completer, FineTunable):
        for name, fn in hooks_of(group).items():
            params = list(inspect.signature(fn).parameters)
            assert params[:2] == ["self", "ctx"], name


def test_required_hooks_are_subsets() -> None:
    assert hookspecs.COMPLETER_REQUIRED <= COMPLETER_HOOKS
    assert hookspecs.FINETUNABLE_REQUIRED <= FINETUNABLE_HOOKS


def test_markers_exported() -> None:
    assert tuneplug.hookimpl is hookspecs.hookimpl
    assert tuneplug.hookspec is hookspecs.hookspec
    assert hookspecs.hookimpl.project_name == "tuneplug"
    assert hookspecs.PROJECT_NAME == "tuneplug"


def test_every_public_name_imports_from_the_package() -> None:
    # The groups moved into modules of their own: `tuneplug.hookspecs.X` must keep working.
    for name in hookspecs.__all__:
        obj = getattr(hookspecs, name)
        module = getattr(obj, "__module__", None)
        if isinstance(obj, type):
            assert module is not None and module.startswith("tuneplug.hookspecs."), name
    assert {"ProviderContext", "COMPLETER_REQUIRED", "FINETUNABLE_REQUIRED"} <= set(
        hookspecs.__all__
    )
