"""Every command's --help shows real ranges; a closed stdout is a quiet exit 141."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.cli.base import EXIT_BROKEN_PIPE
from tuneplug.cli.options import Finite


def _command_paths(
    group: click.Group, ctx: click.Context, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    paths = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None:
            continue
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths.extend(_command_paths(command, ctx, (*prefix, name)))
    return paths


COMMANDS = _command_paths(cli, click.Context(cli))


def test_every_command_is_walked() -> None:
    assert {("complete",), ("chat",), ("batch",), ("jobs", "create"), ("serve",)} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_no_help_shows_a_missing_bound(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "None" not in result.output


@pytest.mark.parametrize("command", ["complete", "chat"])
def test_sampling_flags_state_their_bounds(command: str) -> None:
    text = CliRunner().invoke(cli, [command, "--help"], terminal_width=200).output
    assert "Temperature, 0 to 2 (0 = greedy)." in text
    assert "Nucleus sampling mass (0 < p <= 1)." in text
    assert "[x<=" not in text


@pytest.mark.parametrize(
    ("finite", "shown"),
    [
        (Finite(), "finite"),
        (Finite(min=0), "x>=0"),
        (Finite(max=1), "x<=1"),
        (Finite(0, 1, min_open=True), "0<x<=1"),
    ],
)
def test_finite_describes_only_the_bounds_it_has(finite: Finite, shown: str) -> None:
    assert finite._describe_range() == shown


@pytest.mark.parametrize(
    "args",
    [
        ["complete", "a long question", "-m", "mock/tiny", "--stream", "--max-tokens", "64"],
        ["complete", "a long question", "-m", "mock/tiny", "--max-tokens", "64"],
        ["models", "--json"],
        ["plugins"],
        ["config"],
        # Printed while the command line is parsed (eager options), before any command runs.
        ["--help"],
        ["-h"],
        ["--version"],
        ["jobs", "--help"],
        ["jobs", "create", "--help"],
        ["adapters", "create", "--help"],
    ],
    ids=" ".join,
)
def test_a_closed_stdout_is_a_quiet_exit_141(args: list[str]) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tuneplug", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first write (`| head -c 0`)
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == EXIT_BROKEN_PIPE == 141
    assert stderr == b""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        [],  # the group's help, on stderr (click's "no command" usage error)
        ["jobs"],
        ["bogus"],  # click's usage error
        ["complete", "--bogus"],
        ["complete", "hi", "-m", "mock/tiny", "-o", "volume=3"],  # tuneplug's usage error
        ["complete", "hi", "-m", "nonesuch/x"],  # a runtime error
        ["complete", "hi", "-m", "mock/tiny"],
    ],
    ids=lambda a: " ".join(a) or "(none)",
)
def test_a_closed_stdout_and_stderr_is_a_quiet_exit_141(args: list[str]) -> None:
    # `tuneplug ... 2>&1 | head -c 0`: even the error line has nobody to read it.
    process = subprocess.Popen(
        [sys.executable, "-m", "tuneplug", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    process.stdout.close()
    assert process.wait(timeout=120) == EXIT_BROKEN_PIPE


@pytest.mark.parametrize("argv", [["--version"], ["no-such-command"]], ids=["ok", "usage"])
def test_the_entry_point_skips_the_last_collection_whatever_the_exit(
    monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    import gc

    from tuneplug.cli import interrupts, main

    frozen: list[bool] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))  # never this process's heap
    monkeypatch.setattr(interrupts, "install", lambda: None)  # nor its signal handlers
    monkeypatch.setattr(sys, "argv", ["tuneplug", *argv])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == (0 if argv == ["--version"] else 2)
    assert frozen == [True]
