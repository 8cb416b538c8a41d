"""``import tuneplug`` is cheap: no provider, HTTP client, LangChain or pydantic."""

from __future__ import annotations

import pytest
import tuneplug

from tests.fresh_env import modules_after

HEAVY = ["httpx", "langchain_core", "pydantic", "tuneplug_mock", "tuneplug_gradient", "rich"]


def test_import_tuneplug_pulls_in_nothing_heavy() -> None:
    modules = modules_after("import tuneplug")
    loaded = [m for m in HEAVY if m in modules or any(k.startswith(m + ".") for k in modules)]
    assert loaded == []
    # nor any of tuneplug's own heavier modules
    assert not {"tuneplug.models", "tuneplug.config", "tuneplug.plugins", "tuneplug.types"} & set(
        modules
    )


def test_errors_module_is_light() -> None:
    modules = modules_after("import tuneplug.errors")
    assert "pydantic" not in modules and "pluggy" not in modules


def test_cli_help_imports_no_provider_or_pydantic() -> None:
    modules = modules_after(
        "from click.testing import CliRunner\n"
        "from tuneplug.cli import cli\n"
        "assert CliRunner().invoke(cli, ['--help']).exit_code == 0"
    )
    assert "pydantic" not in modules and "tuneplug_mock" not in modules
    assert "rich" not in modules
    # Plugin commands are found without importlib.metadata (email, zipfile, socket...).
    assert "importlib.metadata" not in modules and "email" not in modules
    # A command's module is imported when it runs: --help imports none of them (only the
    # exit-code rules, and the stop handling every command has from its start: stdlib only).
    ours = {m for m in modules if m.startswith("tuneplug.")}
    assert ours <= {"tuneplug._lazy", "tuneplug.cli", "tuneplug.cli.app", "tuneplug.cli.base",
                    "tuneplug.cli.interrupts", "tuneplug.errors", "tuneplug.text"}  # fmt: skip


def test_lazy_exports_resolve() -> None:
    for name in tuneplug.__all__:
        assert getattr(tuneplug, name) is not None, name
    assert set(tuneplug.__all__) <= set(dir(tuneplug))
    with pytest.raises(AttributeError):
        tuneplug.no_such_name  # noqa: B018


def test_submodules_resolve_after_a_bare_import() -> None:
    # The docs write `import tuneplug` then `tuneplug.plugins.register(...)`.
    modules = modules_after(
        "import tuneplug\n"
        "assert callable(tuneplug.plugins.register)\n"
        "assert tuneplug.stops.cut('ab', ('b',)) == ('a', True)\n"
        "assert not hasattr(tuneplug, 'no_such_module') and not hasattr(tuneplug, '__wrapped__')"
    )
    assert "tuneplug.plugins" in modules and "tuneplug.no_such_module" not in modules
