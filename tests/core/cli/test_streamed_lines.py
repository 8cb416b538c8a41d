"""A stream cut short (a timeout, Ctrl-C) ends its partial line before the error line,
where stdout and stderr share a destination (a terminal, ``2>&1``), and only there:
stdout never gets a newline the reply did not have.

Each case runs the real ``tuneplug`` entry point in a process of its own, on the
scripted provider registered in that process, with stdout and stderr wired as a
user's shell would: one pipe for both, two pipes, or one pseudo-terminal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

TIMEOUT = 60

SCRIPT = """
import json, sys
from tuneplug.errors import TimeoutError
from tuneplug.testing import ScriptedProvider

chunks, failure, argv = json.loads(sys.argv[1])
errors = {"timeout": TimeoutError("slow: no chunk within 2 s", provider="scripted"),
          "interrupt": KeyboardInterrupt()}
provider = ScriptedProvider().install()
provider.model("default").respond_stream(*chunks, *([errors[failure]] if failure else []))
sys.argv = ["tuneplug", *argv]
from tuneplug.cli import main
main()
"""


def _command(chunks: list[str], failure: str | None, argv: list[str]) -> list[str]:
    return [sys.executable, "-c", SCRIPT, json.dumps([chunks, failure, argv])]


def _env() -> dict[str, str]:
    return {**os.environ, "TUNEPLUG_MODEL": "scripted/default"}


def run_joined(chunks: list[str], failure: str | None, *argv: str, stdin: str = "") -> Any:
    """stdout and stderr into one pipe, as ``2>&1``."""
    return subprocess.run(
        _command(chunks, failure, list(argv)), input=stdin, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT, env=_env(),
    )  # fmt: skip


def run_apart(chunks: list[str], failure: str | None, *argv: str) -> Any:
    return subprocess.run(
        _command(chunks, failure, list(argv)), stdin=subprocess.DEVNULL, capture_output=True,
        text=True, timeout=TIMEOUT, env=_env(),
    )  # fmt: skip


COMPLETE = ("complete", "--stream", "hi")
CHAT = ("chat",)
CUT = "error: scripted: slow: no chunk within 2 s"


@pytest.mark.parametrize(("argv", "stdin"), [(COMPLETE, ""), (CHAT, "hi\n")])
def test_a_cut_stream_ends_its_line_before_the_error_in_a_shared_output(
    argv: tuple[str, ...], stdin: str
) -> None:
    done = run_joined(["Hel", "lo"], "timeout", *argv, stdin=stdin)
    assert done.returncode == 1
    assert done.stdout.startswith("Hello\nerror: ") and CUT in done.stdout


def test_ctrl_c_mid_stream_ends_the_line_too() -> None:
    done = run_joined(["Hel", "lo"], "interrupt", *COMPLETE)
    assert (done.returncode, done.stdout) == (130, "Hello\nerror: interrupted\n")


def test_stdout_apart_gets_exactly_the_text_that_arrived() -> None:
    done = run_apart(["Hel", "lo"], "timeout", *COMPLETE)
    assert done.returncode == 1
    assert done.stdout == "Hello"  # no newline the reply did not have
    assert done.stderr.startswith("error: ") and CUT in done.stderr  # no blank line first


@pytest.mark.parametrize("chunks", [[], ["Hello\n"]])
def test_no_line_to_end_no_newline_added(chunks: list[str]) -> None:
    done = run_joined(chunks, "timeout", *COMPLETE)
    assert done.returncode == 1
    assert done.stdout.startswith("".join(chunks) + "error: ")  # no blank line between


def test_a_whole_stream_is_unchanged() -> None:
    done = run_joined(["Hel", "lo"], None, *COMPLETE)
    assert (done.returncode, done.stdout) == (0, "Hello\n")
    as_json = run_joined(["Hel", "lo"], "timeout", *COMPLETE, "--json")
    lines = as_json.stdout.splitlines()
    assert [json.loads(line)["text"] for line in lines[:2]] == ["Hel", "lo"]
    assert lines[2].startswith("error: ") and len(lines) == 3  # JSON lines end themselves


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX")
def test_on_a_terminal_the_error_starts_its_own_line() -> None:
    import pty

    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            _command(["Hel", "lo"], "timeout", list(COMPLETE)), stdin=subprocess.DEVNULL,
            stdout=follower, stderr=follower, env=_env(),
        )  # fmt: skip
        os.close(follower)
        follower = -1
        seen = b""
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # EIO: the terminal's last writer has gone
                break
            if not data:
                break
            seen += data
        assert process.wait(TIMEOUT) == 1
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    assert seen.startswith(b"Hello\r\nerror: "), seen
