"""The ``tuneplug`` command line: help and usage errors, ``models``, ``plugins`` and the real
console script (a subprocess). The other commands have files of their own
(``test_complete.py``, ``test_fine_tune.py``, ``test_config_command.py``, ``test_chat.py``).

Most tests drive ``tuneplug.cli:cli`` in-process with click's CliRunner against
in-process providers (fast, no dependency on the mock's behaviour); the ``rec`` provider
is ``tests/core/cli/conftest.py``'s.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tuneplug

from tests.core.cli_runner import error_line, invoke, ok
from tests.core.plugin_kit import COMPLETER, FINETUNABLE

BROKEN_IMPORT = 'raise ImportError("needs libbroken")\n'


# -- basics ---------------------------------------------------------------------------


def test_help_and_version() -> None:
    result = ok(invoke("--help"))
    for command in ("models", "complete", "adapters", "fine-tune", "plugins", "config"):
        assert command in result.stdout
    assert tuneplug.__version__ in ok(invoke("--version")).stdout
    assert "create" in ok(invoke("adapters", "--help")).stdout


@pytest.mark.parametrize(
    "args",
    [
        ["no-such-command"],
        ["complete", "hi", "--max-tokens", "many"],
        ["complete", "hi", "--no-such-option"],
        ["complete", "hi", "-o", "novalue"],
        ["adapters", "create", "rec/base"],
        ["adapters", "frobnicate"],
        ["fine-tune", "rec/x"],
        ["fine-tune", "rec/x", "f.jsonl", "--batch-size", "0"],
        ["models", "--base", "extra-arg"],
    ],
    ids=lambda a: " ".join(a),
)
def test_usage_errors_exit_2(rec, args) -> None:  # type: ignore[no-untyped-def]
    result = invoke(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert rec.calls == []


# -- models ---------------------------------------------------------------------------


def test_models_json(entry_point_plugins, make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("other")
    register("rec", make_plugin("rec", (*COMPLETER, *FINETUNABLE)))
    tuneplug.get_model("rec/base").create_adapter("mine")
    rows = json.loads(ok(invoke("models", "--json")).stdout)
    assert {r["ref"] for r in rows} == {"other/some-model", "rec/base", "rec/mine_adapter"}
    adapter = next(r for r in rows if r["ref"] == "rec/mine_adapter")
    assert adapter["kind"] == "adapter" and adapter["base_model_id"] == "base"
    assert sorted(adapter["capabilities"]) == ["complete", "fine_tune", "jobs"]

    rows = json.loads(ok(invoke("models", "--provider", "rec", "--base", "--json")).stdout)
    assert [r["ref"] for r in rows] == ["rec/base"]


def test_models_table(rec) -> None:  # type: ignore[no-untyped-def]
    out = ok(invoke("models", "--provider", "rec")).stdout
    assert "rec/base" in out and "Base Model" in out


def test_models_unknown_provider(rec) -> None:  # type: ignore[no-untyped-def]
    assert "nosuch" in error_line(invoke("models", "--provider", "nosuch"))


# -- plugins --------------------------------------------------------------------------


def test_plugins_lists_broken_plugin(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("other", dist="tuneplug-other", version="2.0")
    entry_point_plugins.add("broken", BROKEN_IMPORT, dist="tuneplug-broken")
    rows = json.loads(ok(invoke("plugins", "--json")).stdout)
    assert rows == [
        {
            "name": "broken",
            "distribution": "tuneplug-broken",
            "version": "1.0",
            "capabilities": [],
            "error": "ImportError: needs libbroken",
        },
        {
            "name": "other",
            "distribution": "tuneplug-other",
            "version": "2.0",
            "capabilities": ["complete"],
            "error": None,
        },
    ]
    table = ok(invoke("plugins")).stdout
    assert "broken" in table and "needs libbroken" in table and "tuneplug-other" in table


def test_plugins_strict_is_one_error_line(entry_point_plugins, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("other")
    entry_point_plugins.add("broken", BROKEN_IMPORT, dist="tuneplug-broken")
    monkeypatch.setenv("TUNEPLUG_STRICT", "1")
    line = error_line(invoke("plugins"))
    assert "broken" in line and "tuneplug-broken" in line and "needs libbroken" in line


def test_plugins_respects_filter(entry_point_plugins, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("a")
    entry_point_plugins.add("b")
    monkeypatch.setenv("TUNEPLUG_PLUGINS", "-a")
    assert [r["name"] for r in json.loads(ok(invoke("plugins", "--json")).stdout)] == ["b"]


# -- the real console script ----------------------------------------------------------


def console_script() -> list[str]:
    script = Path(sys.executable).parent / "tuneplug"
    if script.exists():
        return [str(script)]
    found = shutil.which("tuneplug")
    return [found] if found else [sys.executable, "-m", "tuneplug"]


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_console_script_help() -> None:
    result = run([*console_script(), "--help"])
    assert result.returncode == 0, result.stderr
    assert "complete" in result.stdout and "fine-tune" in result.stdout


def test_python_dash_m() -> None:
    result = run([sys.executable, "-m", "tuneplug", "--version"])
    assert result.returncode == 0, result.stderr
    assert tuneplug.__version__ in result.stdout


def test_console_script_runtime_error_is_one_line() -> None:
    result = run([*console_script(), "complete", "-m", "nosuchprovider/x", "hi"])
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "nosuchprovider" in lines[0]


def test_console_script_usage_error_exits_2() -> None:
    result = run([*console_script(), "complete", "hi", "--max-tokens", "lots"])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
