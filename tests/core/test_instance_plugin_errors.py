"""A provider instance's ``plugin`` refused: named like an installed plugin, or naming
one that is not installed, said at the ``[providers.NAME]`` line of whichever file
declares it (the project file's wins), or without a place when no config is given.

Written from the config target's 5th mutation run (``_shadowing``, ``declaring_layer``,
``shadowing_instance`` survivors; ``instance_where`` and ``unavailable_plugin`` reached
by no test of the target).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tuneplug.config import load_config
from tuneplug.errors import ConfigError
from tuneplug.plugins import Registry, default_registry


def _refusal(name: str, plugin: str, *, config: Any = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        default_registry().instance_info(name, plugin, config=config)
    return info.value


def test_a_shadowing_instance_without_a_config_is_said_without_a_place() -> None:
    error = _refusal("mock", "openai")
    assert error.message == (
        "[providers.mock]: sets plugin = 'openai', but 'mock' is an installed provider "
        "plugin's name: give the instance another name"
    )
    assert error.provider == "mock"


def test_a_shadowing_instance_is_said_at_its_own_table_after_another(work: Path) -> None:
    project = work / "tuneplug.toml"
    project.write_text(
        '[providers.openai]\napi_key_env = "K"\n\n[providers.mock]\nplugin = "openai"\n'
    )
    error = _refusal("mock", "openai", config=load_config())
    assert error.message.startswith(f"{project}:4: [providers.mock]: sets plugin = 'openai'")
    assert error.provider == "mock"


def test_a_shadowing_instance_in_a_pyproject_names_the_table_as_written(work: Path) -> None:
    pyproject = work / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\n\n[tool.tuneplug.providers.mock]\nplugin = "openai"\n'
    )
    error = _refusal("mock", "openai", config=load_config())
    assert error.message.startswith(
        f"{pyproject}:4: [tool.tuneplug.providers.mock]: sets plugin = 'openai', but 'mock'"
    )


@pytest.mark.parametrize("project", [None, 'default_model = "mock/tiny"\n'])
def test_an_instance_the_user_file_declares_is_said_there(
    work: Path, user_file: Path, project: str | None
) -> None:
    # No project file, or one without [providers]: the user file's table is found all the same.
    if project is not None:
        (work / "tuneplug.toml").write_text(project)
    user_file.write_text('default_model = "mock/tiny"\n\n[providers.local]\nplugin = "nosuch"\n')
    error = _refusal("local", "nosuch", config=load_config())
    assert error.message.startswith(
        f"{user_file}:4: [providers.local] plugin: provider instance 'local' needs plugin "
        "'nosuch', which is not installed (installed: gradient, mock, openai"
    )


def test_the_project_files_declaration_wins_over_the_users(work: Path, user_file: Path) -> None:
    project = work / "tuneplug.toml"
    project.write_text(
        '\n\n[providers.local]\nbase_url = "http://127.0.0.1:9"\nplugin = "nosuch"\n'
    )
    user_file.write_text('[providers.local]\nplugin = "other"\n')
    error = _refusal("local", "nosuch", config=load_config())
    assert error.message.startswith(f"{project}:5: [providers.local] plugin: provider instance")


def test_a_plugin_not_installed_without_a_config_is_said_without_a_place() -> None:
    error = _refusal("local", "nosuch")
    assert error.message == (
        "[providers.local] plugin: provider instance 'local' needs plugin 'nosuch', which is "
        "not installed (installed: gradient, mock, openai, transformers)"
    )


def test_no_plugin_installed_at_all_says_none(entry_point_plugins: Any) -> None:
    with pytest.raises(ConfigError) as info:
        Registry().instance_info("local", "nosuch")
    assert info.value.message == (
        "[providers.local] plugin: provider instance 'local' needs plugin 'nosuch', which is "
        "not installed (installed: none)"
    )


def test_a_plugin_the_filter_excludes_is_said_so(work: Path) -> None:
    (work / "tuneplug.toml").write_text('[providers.local]\nplugin = "openai"\n')
    with pytest.raises(ConfigError) as info:
        Registry(plugins="mock").instance_info("local", "openai", config=load_config())
    assert info.value.message == (
        f"{work / 'tuneplug.toml'}:2: [providers.local] plugin: provider instance 'local' "
        "needs plugin 'openai', which TUNEPLUG_PLUGINS excludes"
    )
