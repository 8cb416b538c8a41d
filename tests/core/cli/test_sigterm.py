"""SIGTERM stops every command as Ctrl-C does (``timeout``, ``kill``, a service manager).

Real subprocesses (``python -m tuneplug``), each wait bounded: a command is signalled
once it catches SIGTERM (``/proc/PID/status``: from its entry point on, whenever the
signal lands the outcome is the same, see test_interrupts.py) and, for a job, once it
follows the job (its journal is open) and a step is done.
Same message, same state left behind (a job resumable after its last finished step),
exit 130. ``serve`` shuts down through uvicorn, then exits 0 as after Ctrl-C, also when
signalled while it starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest
import tuneplug

WAIT = 120.0  # seconds: a bound on every wait, never a duration the test relies on
TUNEPLUG = [sys.executable, "-m", "tuneplug"]

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads /proc/PID/status (Linux)"
)


class Command:
    """A ``tuneplug`` subprocess whose stderr is read as it comes."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, stdin: str = "") -> None:
        self.proc = subprocess.Popen(
            [*TUNEPLUG, *args],
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(stdin)
        self.proc.stdin.close()
        self.stderr: list[str] = []
        self._chunks: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc.stderr,), daemon=True).start()

    def _pump(self, stream: IO[str] | None) -> None:
        assert stream is not None
        while chunk := stream.read(1):
            self._chunks.put(chunk)
        self._chunks.put("")  # end of stream

    def wait_for_handler(self) -> None:
        """Until the command catches SIGTERM: its entry point has started."""
        deadline = time.monotonic() + WAIT
        bit = 1 << (signal.SIGTERM - 1)
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the command ended before it was signalled"
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
            caught = re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.M)
            if caught and int(caught.group(1), 16) & bit:
                return
            time.sleep(0.02)
        raise AssertionError("the command never caught SIGTERM")

    def wait_for_open(self, name: str) -> None:
        """Until the command has a file called ``name`` open (``/proc/PID/fd``)."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the command ended before it opened {name}"
            for fd in Path(f"/proc/{self.proc.pid}/fd").iterdir():
                with contextlib.suppress(OSError):  # closed meanwhile
                    if Path(os.readlink(fd)).name == name:
                        return
            time.sleep(0.02)
        raise AssertionError(f"the command never opened {name}")

    def terminate(self) -> tuple[int, str, str]:
        """SIGTERM; the exit status, stdout and the last line of stderr (blank if one ends it)."""
        self.proc.send_signal(signal.SIGTERM)
        out = self.proc.stdout.read() if self.proc.stdout else ""
        code = self.proc.wait(timeout=WAIT)
        while (chunk := self._chunks.get(timeout=WAIT)) != "":
            self.stderr.append(chunk)
        # Not stripped: a blank line after the error line would be the last line.
        lines = "".join(self.stderr).splitlines()
        return code, out, lines[-1] if lines else ""


def _wait_for_a_step() -> str:
    """Until the one local job has journalled a step; its id."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for job in tuneplug.list_jobs():
            if any(event.step for event in job.events(limit=100)):
                return job.id
        time.sleep(0.05)
    raise AssertionError("no job finished a step")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TUNEPLUG, *args], capture_output=True, text=True, timeout=WAIT, stdin=subprocess.DEVNULL
    )


SLOW = {"TUNEPLUG_MOCK_LATENCY_MS": "300"}  # every step waits 0.3 s: 6 s to signal a job


@pytest.fixture
def samples(tmp_path: Path) -> str:
    path = tmp_path / "samples.jsonl"
    rows = [{"prompt": f"question {i}", "completion": f"answer {i}"} for i in range(20)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "args",
    [
        ["complete", "hi", "-m", "mock/tiny", "--stream"],
        ["complete", "hi", "-m", "mock/tiny"],
        ["chat", "-m", "mock/tiny"],
        ["models"],
    ],
    ids=["complete --stream", "complete", "chat", "models"],
)
def test_sigterm_while_waiting_is_ctrl_c(args: list[str]) -> None:
    # A minute of latency: the command is waiting when it is signalled, or starting.
    command = Command(*args, env={"TUNEPLUG_MOCK_LATENCY_MS": "60000"}, stdin="hi\n")
    command.wait_for_handler()
    code, out, last = command.terminate()
    # Nothing half-printed.
    assert (code, last, out) == (130, "error: interrupted", ""), "".join(command.stderr)
    assert "Traceback" not in "".join(command.stderr)


def test_sigterm_stops_fine_tune_resumably(samples: str) -> None:
    adapter = tuneplug.get_model("mock/tiny").create_adapter("sigterm").ref
    args = ("fine-tune", adapter, samples, "--batch-size", "1")
    command = Command(*args, env=SLOW)
    _wait_for_a_step()
    code, _, last = command.terminate()
    assert code == 130
    assert last == "error: interrupted; run the same command again to resume where it stopped"
    again = subprocess.run(
        [*TUNEPLUG, *args], capture_output=True, text=True, timeout=WAIT, env=os.environ
    )
    assert again.returncode == 0, again.stderr
    assert re.search(r"resuming job ftjob-\w+ after step [1-9]", again.stderr)
    assert "epoch 1: 40 trainable tokens" in again.stdout  # every sample once, as uninterrupted


def test_sigterm_stops_an_attached_local_job_resumably(samples: str) -> None:
    command = Command("jobs", "create", "mock/tiny", samples, "--batch-size", "1", env=SLOW)
    _wait_for_a_step()
    code, _, last = command.terminate()
    assert code == 130
    found = re.fullmatch(
        r"error: interrupted; the job stopped after its last finished step; "
        r"continue it with `tuneplug jobs resume (\S+)`",
        last,
    )
    assert found, last
    job = tuneplug.get_job(found.group(1))
    assert job.status.value == "paused"  # nothing runs it now; `jobs resume` continues
    resumed = _run("jobs", "resume", found.group(1), "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "succeeded"


def test_sigterm_stops_following_not_the_job(tmp_path: Path) -> None:
    # Long enough (60 steps, 18 s) to be signalled while it is followed, not as it ends.
    path = tmp_path / "long.jsonl"
    rows = [{"prompt": f"question {i}", "completion": f"answer {i}"} for i in range(60)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    created = subprocess.run(
        [*TUNEPLUG, "jobs", "create", "mock/tiny", str(path), "--batch-size", "1", "--detach"],
        capture_output=True, text=True, timeout=WAIT, env={**os.environ, **SLOW},
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    ref = created.stdout.strip()
    command = Command("jobs", "wait", ref)
    command.wait_for_open("jobs.sqlite3")  # it looked the job up: it follows it
    _wait_for_a_step()
    code, _, last = command.terminate()
    assert code == 130, "".join(command.stderr)
    assert last == (
        f"error: interrupted; the job keeps running; follow it again with "
        f"`tuneplug jobs wait {ref}` or stop it with `tuneplug jobs cancel {ref}`"
    )
    done = _run("jobs", "wait", ref, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "succeeded"


def test_sigterm_shuts_serve_down_gracefully_and_exits_0(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNEPLUG_SERVE_")}
    proc = subprocess.Popen(
        [*TUNEPLUG, "serve", "--port", "0", "--state-dir", str(tmp_path / "state")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    banner = proc.stdout.readline()  # printed once it listens
    assert banner.startswith("tuneplug serve: "), banner
    url = re.search(r"(http://\S+?)[/,\s]", banner)
    assert url, banner
    import httpx

    # Answering: uvicorn serves, with its own SIGINT/SIGTERM handlers in place.
    assert httpx.get(url.group(1), timeout=WAIT).status_code in (401, 404)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 0, err  # was 143: uvicorn re-raised SIGTERM after stopping
    assert "Traceback" not in err and "error:" not in err
    with pytest.raises(httpx.ConnectError):
        httpx.get(url.group(1), timeout=5)


# The process signals itself at the named moment (a real SIGTERM, through the real
# handlers), so the window is hit every time instead of by luck of timing.
_SELF_SIGNAL = """
import os, signal, sys
import click, uvicorn
from tuneplug.cli import main

def term():
    os.kill(os.getpid(), signal.SIGTERM)

window = sys.argv.pop(1)
if window == "banner":  # while the banner prints, before uvicorn runs
    echo = click.echo
    def echoing(message=None, *args, **kwargs):
        echo(message, *args, **kwargs)
        if message == "Use it with:":
            term()
    click.echo = echoing
else:  # uvicorn runs, its own handlers not yet installed
    capture = uvicorn.Server.capture_signals
    def capturing(self):
        term()
        return capture(self)
    uvicorn.Server.capture_signals = capturing
main()
"""


@pytest.mark.parametrize("window", ["banner", "before uvicorn's handlers"])
def test_sigterm_while_serve_starts_is_graceful_too(tmp_path: Path, window: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUNEPLUG_SERVE_")}
    args = ["serve", "--port", "0", "--state-dir", str(tmp_path / "state")]
    done = subprocess.run(
        [sys.executable, "-c", _SELF_SIGNAL, window.split()[0], *args],
        env=env, capture_output=True, text=True, timeout=WAIT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.stdout.startswith("tuneplug serve: "), (done.stdout, done.stderr)
    assert done.returncode == 0, done.stderr  # the banner window was 130, "error: interrupted"
    assert "Traceback" not in done.stderr and "error:" not in done.stderr


# A real signal, sent by the process to itself at the named moment (outside the work,
# where it was `Aborted!`, a traceback or a death by the signal); test_interrupts.py
# has every window in-process.
_STOP_AT = """
import atexit, os, signal, sys
import click
from tuneplug.cli import main
from tuneplug.cli.app import RootGroup

signum = getattr(signal, sys.argv.pop(1))
window = sys.argv.pop(1)

def stop():
    os.kill(os.getpid(), signum)

if window == "parsing":
    parse = RootGroup.parse_args
    def parsing(self, ctx, args):
        stop()
        return parse(self, ctx, args)
    RootGroup.parse_args = parsing
elif window == "error line":
    echo = click.echo
    def echoing(message=None, *args, **kwargs):
        echo(message, *args, **kwargs)
        if str(message).startswith("error:"):
            stop()
    click.echo = echoing
else:  # the interpreter exits, the status decided
    atexit.register(stop)
main()
"""


@pytest.mark.parametrize(
    ("signum", "window", "model", "expected"),
    [
        ("SIGTERM", "parsing", "mock/tiny", (130, "", "error: interrupted\n")),
        ("SIGINT", "parsing", "mock/tiny", (130, "", "error: interrupted\n")),
        ("SIGTERM", "error line", "nosuch/model", (1, "", "error: ")),
        ("SIGINT", "exiting", "mock/tiny", (0, "as unstopped", "")),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_stop_outside_the_work_is_the_outcome_it_says(
    signum: str, window: str, model: str, expected: tuple[int, str, str]
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _STOP_AT, signum, window, "complete", "hi", "-m", model],
        capture_output=True, text=True, timeout=WAIT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    code, out, err = expected
    if out == "as unstopped":
        out = _run("complete", "hi", "-m", model).stdout
        assert out
    assert (done.returncode, done.stdout) == (code, out), done.stderr
    assert done.stderr.startswith(err) and done.stderr.count("\n") == (1 if err else 0)
    assert "interrupted" not in done.stderr or code == 130, done.stderr


# `python -m tuneplug` whose work is stopped while it runs source text through exec()
# (as namedtuple and dataclasses do during imports): CPython notes the stop as unhandled
# there and then killed the interpreter with SIGINT once the CLI had exited 130 (-2).
_STOPPED_IN_EXEC = """
import tuneplug
from tuneplug.cli import main

def complete(self, *args, **kwargs):
    exec("import os, signal\\nos.kill(os.getpid(), signal.SIGTERM)\\nfor _ in range(10**7): pass")
    raise AssertionError("not stopped")

tuneplug.Model.complete = complete
main()
"""


def test_a_stop_in_source_run_by_exec_is_130_not_a_death_by_sigint(tmp_path: Path) -> None:
    (tmp_path / "stopped_in_exec.py").write_text(_STOPPED_IN_EXEC, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "stopped_in_exec", "complete", "hi", "-m", "mock/tiny"],
        capture_output=True, text=True, timeout=WAIT, stdin=subprocess.DEVNULL, cwd=tmp_path,
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "error: interrupted\n")
