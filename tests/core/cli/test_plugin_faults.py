"""A faulty or unloadable plugin on the command line: one ``error:`` line, or one ``warning:``
line per skipped provider while the others are listed; instances named as instances."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.cli.test_cli import error_line, invoke, ok

BOOM = """\
import os
from tuneplug import hookimpl
from tuneplug.types import Completion, ModelInfo

@hookimpl
def tuneplug_list_models(ctx, base_only):
    if os.environ.get("BOOM") == "list":
        raise RuntimeError("boom: listing failed")
    return [ModelInfo(id="m", provider=ctx.provider, name="M")]

@hookimpl
def tuneplug_complete(ctx, model, prompt, options):
    if os.environ.get("BOOM") == "complete":
        raise RuntimeError("boom: backend exploded")
    if os.environ.get("BOOM") == "type":
        return {"text": "not a Completion"}
    return Completion(text="ok", finish_reason="stop", model=model.id, provider=ctx.provider)
"""

BADSIG = """\
from tuneplug import hookimpl

@hookimpl
def tuneplug_list_models(ctx, base_only, extra):
    return []

@hookimpl
def tuneplug_complete(ctx, model, prompt, options):
    return None
"""


@pytest.fixture
def boom(entry_point_plugins):  # type: ignore[no-untyped-def]
    entry_point_plugins.add("boom", BOOM)
    entry_point_plugins.add("other")
    return entry_point_plugins


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("complete", "tuneplug_complete raised RuntimeError: boom: backend exploded"),
        ("type", "tuneplug_complete returned dict, expected Completion"),
        ("list", "tuneplug_list_models raised RuntimeError: boom: listing failed"),
    ],
)
def test_a_faulty_hook_is_one_error_line(boom, monkeypatch, mode: str, said: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BOOM", mode)
    line = error_line(invoke("complete", "-m", "boom/m", "hi"))
    # docs/plugins.md's form: the plugin is named once, not "boom: plugin 'boom'".
    assert line == f"error: plugin 'boom' (tuneplug-boom): {said} (a bug in the plugin)"


def test_models_skips_a_provider_whose_listing_raises(boom, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BOOM", "list")
    result = ok(invoke("models"))
    assert "other/some-model" in result.stdout and "boom/" not in result.stdout
    assert result.stderr.splitlines() == [
        "warning: provider 'boom' skipped: plugin 'boom' (tuneplug-boom): tuneplug_list_models "
        "raised RuntimeError: boom: listing failed (a bug in the plugin)"
    ]


def test_a_load_error_is_one_line_everywhere(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("badsig", BADSIG)
    entry_point_plugins.add("other")
    line = error_line(invoke("complete", "-m", "badsig/m", "hi"))
    assert line.startswith(
        "error: plugin 'badsig' (tuneplug-badsig) failed to load: "
        "PluginValidationError: Plugin 'badsig' for hook 'tuneplug_list_models'; "
        "hookimpl definition: tuneplug_list_models(ctx, base_only, extra); "
    )
    result = ok(invoke("models"))
    [warning] = result.stderr.splitlines()
    assert warning.startswith("warning: plugin 'badsig' (tuneplug-badsig) skipped: ")
    assert "other/some-model" in result.stdout


def test_a_name_clash_names_both_distributions_and_no_none(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("twin", module="tpfake_twin_a", dist="tuneplug-twin-a")
    entry_point_plugins.add("twin", module="tpfake_twin_b", dist="acme-twin")
    result = ok(invoke("models"))
    assert result.stderr.splitlines() == [
        "warning: plugin 'twin' skipped: its name is claimed by both distributions "
        "'tuneplug-twin-a' and 'acme-twin'"
    ]


@pytest.fixture
def instance(entry_point_plugins, tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    """``[providers.local] plugin = "other"`` on line 4, an alias ``qa`` on ``local``."""
    entry_point_plugins.add("other")
    entry_point_plugins.add("boom", BOOM)
    config = tmp_path / "project" / "tuneplug.toml"
    config.parent.mkdir()
    config.write_text(
        'default_model = "qa"\n\n[providers.local]\nplugin = "other"\n\n'
        '[models.qa]\nmodel = "local/some-model"\n'
    )
    monkeypatch.chdir(config.parent)
    monkeypatch.setenv("TUNEPLUG_PLUGINS", "-other")
    return config


def test_an_instance_of_an_excluded_plugin_is_named_as_an_instance(instance) -> None:  # type: ignore[no-untyped-def]
    result = ok(invoke("models"))
    assert result.stderr.splitlines() == [
        f"warning: provider instance 'local' skipped: {instance}:4: [providers.local] plugin: "
        "provider instance 'local' needs plugin 'other', which TUNEPLUG_PLUGINS excludes"
    ]


def test_an_alias_on_such_an_instance_blames_the_instance(instance) -> None:  # type: ignore[no-untyped-def]
    line = error_line(invoke("complete", "hi"))
    assert line == (
        f"error: {instance}:4: [providers.local] plugin: provider instance 'local' needs "
        "plugin 'other', which TUNEPLUG_PLUGINS excludes"
    )


def test_an_instance_of_a_plugin_not_installed_says_so(instance, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    instance.write_text('[providers.local]\nplugin = "gone"\n')
    monkeypatch.delenv("TUNEPLUG_PLUGINS")
    line = error_line(invoke("complete", "-m", "local/x", "hi"))
    # Found by the config's name check, before any provider is asked for.
    assert line == (
        f"error: {instance}:2: [providers.local] plugin: 'gone' names no installed provider "
        "plugin (installed: boom, other)"
    )
