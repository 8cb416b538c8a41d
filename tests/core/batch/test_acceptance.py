"""Issue 13's acceptance, against a loopback server through the gradient provider.

1. ``kill -9`` a running ``tuneplug batch`` at a deterministic point (every worker
   waiting on the server after exactly N answers were written) and rerun: the
   output has every id exactly once, and the server saw each id at most once more
   than the lines written for it (``tests/core/batch/kill_random.py`` does the same at
   random points, on demand).
2. A provider answering 429 with ``Retry-After`` for a while: the batch slows down
   (one probe per pause), finishes, and the server's request count stays bounded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from tuneplug.cli import cli

from tests.core.batch.server import MODEL_ID, serving

MODEL = f"gradient/{MODEL_ID}"
WAIT_LIMIT = 30.0


def write_inputs(path: Path, n: int) -> list[str]:
    ids = [f"q{i}" for i in range(n)]
    path.write_text("".join(json.dumps({"custom_id": i, "prompt": f"prompt {i}"}) + "\n"
                            for i in ids))  # fmt: skip
    return ids


def out_ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["custom_id"] for line in path.read_text().splitlines()]


def wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def batch_process(inp: Path, out: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tuneplug", "batch", MODEL, str(inp), "-o", str(out), "-q", *extra],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_kill_9_then_rerun_sends_nothing_twice_and_loses_nothing(tmp_path: Path) -> None:
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_inputs(inp, 300)
    with serving(hang_after=120) as server:
        proc = batch_process(inp, out, server.env(), "-c", "16")
        try:
            # The deterministic point: 120 answered and written, 16 requests held.
            wait_for(lambda: server.held == 16 and len(out_ids(out)) == 120, "120 lines")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        written = out_ids(out)
        assert len(written) == 120 and len(set(written)) == 120
        held = {q.removeprefix("prompt ") for q, n in server.counts.items()} - set(written)
        assert len(held) == 16
        server.release()
        rerun = batch_process(inp, out, server.env(), "-c", "16")
        _, stderr = rerun.communicate(timeout=60)
        assert rerun.returncode == 0, stderr
    final = out_ids(out)
    assert sorted(final) == sorted(ids)  # every id exactly once
    for custom_id in ids:
        seen = server.counts[f"prompt {custom_id}"]
        assert seen <= 1 + (custom_id not in written), (custom_id, seen)
        assert seen == (2 if custom_id in held else 1), (custom_id, seen)
    assert all(json.loads(line)["error"] is None for line in out.read_text().splitlines())


def test_429_with_retry_after_slows_the_batch_and_bounds_the_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_inputs(inp, 200)
    with serving(limit_for=1.0, retry_after=0.2) as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        result = CliRunner().invoke(
            cli, ["batch", MODEL, str(inp), "-o", str(out), "-c", "16", "--json"],
            catch_exceptions=False,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        total = sum(server.counts.values())
    assert sorted(out_ids(out)) == sorted(ids)
    assert summary["failed"] == 0 and summary["succeeded"] == 200
    # Only the first wave (16 in flight) and about one probe per 0.2 s pause during
    # the 1 s of 429s: with 16 independent retriers it would be ~16 per pause.
    assert 1 <= server.rejected <= 16 + 1.0 / 0.2 + 3
    assert total == 200 + server.rejected == summary["requests"]
    assert summary["rate_limited"] == server.rejected


@pytest.mark.parametrize("provider", ["gradient", "openai"])
def test_the_shared_pause_governs_the_providers_own_retries_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    # The provider's HTTP client keeps its default max_retries (2). Were it to retry 429s
    # itself, each of the 16 in flight would retry behind the batch's back, 2 more each
    # per 0.2 s pause, and the summary would count neither those requests nor their 429s.
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_inputs(inp, 100)
    with serving(limit_for=1.0, retry_after=0.2) as server:
        env = server.env() if provider == "gradient" else server.openai_env()
        env.pop("GRADIENT_MAX_RETRIES", None)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("GRADIENT_MAX_RETRIES", raising=False)
        monkeypatch.delenv("OPENAI_MAX_RETRIES", raising=False)
        model = MODEL if provider == "gradient" else "openai/tiny"
        result = CliRunner().invoke(
            cli, ["batch", model, str(inp), "-o", str(out), "-c", "16", "--json", "-q"],
            catch_exceptions=False,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        total = sum(server.counts.values())
    assert sorted(out_ids(out)) == sorted(ids) and summary["succeeded"] == 100
    assert 1 <= server.rejected <= 16 + 1.0 / 0.2 + 3
    assert summary["requests"] == total == 100 + server.rejected
    assert summary["rate_limited"] == server.rejected


def test_ctrl_c_stops_cleanly_and_the_rerun_continues(tmp_path: Path) -> None:
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_inputs(inp, 100)
    with serving(hang_after=40) as server:
        proc = batch_process(inp, out, server.env(), "-c", "8")
        wait_for(lambda: server.held == 8 and len(out_ids(out)) == 40, "40 lines")
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 130
        assert stderr.strip().endswith(  # rerunning continues (docs/cli.md)
            f"error: interrupted; run the same command again to continue: "
            f"the inputs already in {out} are skipped"
        )
        assert not Path(f"{out}.lock").exists()  # removed, though interrupted
        assert len(out_ids(out)) == 40 and out.read_text().endswith("\n")
        server.release()
        rerun = batch_process(inp, out, server.env(), "-c", "8")  # the lock was released
        _, stderr = rerun.communicate(timeout=60)
        assert rerun.returncode == 0, stderr
    assert sorted(out_ids(out)) == sorted(ids)
    assert max(server.counts.values()) <= 2 and sum(server.counts.values()) == 100 + 8
