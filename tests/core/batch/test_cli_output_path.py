"""`tuneplug batch -o`: where the output may go, what a lock left behind does, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.core.batch.test_cli import invoke, rec, sent, write_lines

__all__ = ["rec"]  # the fixture, shared with test_cli


def test_a_missing_output_directory_is_refused_not_created(rec: Any, tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", ["a"])
    result = invoke("batch", "rec/base", str(inp), "-o", str(tmp_path / "sub" / "dir" / "x.jsonl"))
    assert result.exit_code == 1
    where = tmp_path / "sub" / "dir"
    assert result.stderr == f"error: {where}: no such directory for the output\n"
    assert not (tmp_path / "sub").exists()
    assert sent(rec) == []


def test_an_output_in_a_file_s_place_is_refused(rec: Any, tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", ["a"])
    (tmp_path / "file").write_text("")
    result = invoke("batch", "rec/base", str(inp), "-o", str(tmp_path / "file" / "x.jsonl"))
    assert result.exit_code == 1
    assert result.stderr.endswith(": no such directory for the output\n")
    assert sent(rec) == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_unwritable_place_names_the_os_error_not_another_run(rec: Any, tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", ["a"])
    result = invoke("batch", "rec/base", str(inp), "-o", "/proc/x.jsonl")
    assert result.exit_code == 1
    assert "another" not in result.stderr
    assert result.stderr == "error: /proc/x.jsonl.lock: No such file or directory\n"
    assert sent(rec) == []


def test_a_lock_file_left_by_a_dead_run_is_harmless_and_removed(rec: Any, tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", ["a", "b"])
    out = tmp_path / "out.jsonl"
    Path(str(out) + ".lock").write_text("")  # what `kill -9` leaves: a file nobody holds
    result = invoke("batch", "rec/base", str(inp), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert sorted(sent(rec)) == ["a", "b"]
    assert not Path(str(out) + ".lock").exists()


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.endswith("}")]


def test_sigterm_stops_like_ctrl_c_removes_the_lock_and_a_rerun_resumes(tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [f"prompt {i}" for i in range(20)])
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "tuneplug", "batch", "mock/tiny", str(inp), "-o", str(out)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    slow = subprocess.Popen([*command, "-q", "--rpm", "60"], stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 120
    while not _lines(out) and time.monotonic() < deadline:  # started: the lock is held
        time.sleep(0.1)
    slow.send_signal(signal.SIGTERM)
    _, stderr = slow.communicate(timeout=120)
    assert slow.returncode == 130
    assert stderr.decode().startswith("error: interrupted; run the same command again")
    assert not Path(str(out) + ".lock").exists()
    done = len(_lines(out))
    assert 1 <= done < 20
    rerun = subprocess.run([*command, "-q"], capture_output=True, env=env, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    ids = [line["custom_id"] for line in _lines(out)]
    assert sorted(ids, key=int) == [str(i) for i in range(1, 21)]  # each exactly once
