"""Commands a plugin adds through the ``tuneplug.commands`` entry-point group, and the
built-in ones, which are loaded the same lazy way.

``tuneplug --help`` names them (and a plugin's distribution) without importing them;
running one imports it then. They follow the same exit-code table.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from tuneplug.cli import app, cli

COMMAND = '''
import click

from tuneplug.cli import UsageLine


@click.command()
@click.argument("who")
def hello(who: str) -> None:
    """Say hello."""
    if who == "nobody":
        raise UsageLine("WHO: give somebody")
    click.echo(f"hello {who}")
'''


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "hello_cmd_plugin.py").write_text(COMMAND, encoding="utf-8")
    info = tmp_path / "hello_cmd-1.0.dist-info"
    info.mkdir()
    (info / "entry_points.txt").write_text(
        "[console_scripts]\nhello = nothing:here\n\n"
        "[tuneplug.commands]\nhello = hello_cmd_plugin:hello\n# a comment\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    app._plugin_commands.cache_clear()
    yield tmp_path
    app._plugin_commands.cache_clear()


def test_help_lists_a_plugin_command_without_importing_it(plugin_dir: Path) -> None:
    import sys

    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    (row,) = [line for line in result.stdout.splitlines() if line.strip().startswith("hello")]
    assert "(from hello_cmd)" in row
    assert "hello_cmd_plugin" not in sys.modules


def test_a_plugin_command_runs_and_follows_the_exit_codes(plugin_dir: Path) -> None:
    ok = CliRunner().invoke(cli, ["hello", "world"])
    assert (ok.exit_code, ok.stdout) == (0, "hello world\n")
    bad = CliRunner().invoke(cli, ["hello", "nobody"])
    assert bad.exit_code == 2 and bad.stderr == "error: WHO: give somebody\n"


def test_a_plugin_command_that_fails_to_load_is_one_error(
    plugin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib
    import sys

    (plugin_dir / "hello_cmd_plugin.py").write_text("raise ImportError('no greeting')\n")
    monkeypatch.delitem(sys.modules, "hello_cmd_plugin", raising=False)
    importlib.invalidate_caches()
    result = CliRunner().invoke(cli, ["hello", "world"])
    assert result.exit_code == 1
    assert result.stderr == "error: command 'hello' failed to load: no greeting\n"


@pytest.mark.parametrize("name", sorted(app.BUILTIN))
def test_the_help_line_of_a_builtin_command_is_its_own(name: str) -> None:
    # --help shows BUILTIN's line without importing the command: it must not drift.
    command = cli.get_command(None, name)  # type: ignore[arg-type]
    assert command is not None and command.name == name
    assert command.help is not None
    assert command.help.split("\n\n")[0].replace("\n", " ").strip() == app.BUILTIN[name][2]
