"""``tuneplug batch``: input formats, output lines, resume, repair, bad input, exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from click.testing import CliRunner, Result
from filelock import FileLock
from tuneplug.batching.ids import IdSet
from tuneplug.batching.journal import Journal, repair_tail, scan_done
from tuneplug.cli import cli
from tuneplug.errors import ServerError


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def write_lines(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def rec(make_plugin, register):  # type: ignore[no-untyped-def]
    """``rec/base``: async completions, recorded; the prompt ``fail`` is a server error."""
    plugin = make_plugin("rec", ("list_models", "complete", "acomplete"))
    original = plugin.tuneplug_acomplete

    async def tuneplug_acomplete(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        if prompt == "fail":
            raise ServerError("upstream broke", provider="rec", status=502)
        return await original(ctx=ctx, model=model, prompt=prompt, options=options)

    plugin.tuneplug_acomplete = tuneplug.hookimpl(tuneplug_acomplete)
    return register("rec", plugin)


def sent(plugin: Any) -> list[str]:
    return [c["prompt"] for c in plugin.calls.of("acomplete")]


def test_every_line_kind_gets_one_output_line(rec: Any, tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [
        "a bare prompt", {"prompt": "with id", "custom_id": "x1"}, {"prompt": "no id"}, "fail",
    ])  # fmt: skip
    out = tmp_path / "out.jsonl"
    result = invoke("batch", "rec/base", str(inp), "-o", str(out), "--max-tokens", "4", "-q")
    assert result.exit_code == 0, result.output
    by_id = {r["custom_id"]: r for r in records(out)}
    assert set(by_id) == {"1", "x1", "3", "4"}  # line numbers for missing ids
    assert by_id["1"] == {
        "custom_id": "1",
        "completion": {"text": "rec (async): a bare prompt", "finish_reason": "stop",
                       "model": "base", "provider": "rec"},
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        "error": None,
    }  # fmt: skip
    assert by_id["4"]["completion"] is None and by_id["4"]["usage"] is None
    assert by_id["4"]["error"] == {
        "type": "ServerError", "message": "upstream broke", "provider": "rec",
        "status": 502, "retryable": True,
    }  # fmt: skip
    assert all(c["options"].max_tokens == 4 for c in rec.calls.of("acomplete"))


def test_a_rerun_sends_only_what_is_missing(rec: Any, tmp_path: Path) -> None:
    lines = [{"prompt": f"p{i}", "custom_id": f"id{i}"} for i in range(30)]
    full = write_lines(tmp_path / "in.jsonl", lines[:12])
    out = tmp_path / "out.jsonl"
    assert invoke("batch", "rec/base", str(full), "-o", str(out), "-q").exit_code == 0
    assert len(sent(rec)) == 12
    write_lines(full, lines)  # the input grew: the same file, more ids
    result = invoke("batch", "rec/base", str(full), "-o", str(out), "--json", "-c", "3")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert (summary["total"], summary["skipped"], summary["succeeded"]) == (30, 12, 18)
    assert sorted(sent(rec)) == sorted(f"p{i}" for i in range(30))  # each exactly once
    assert sorted(r["custom_id"] for r in records(out)) == sorted(f"id{i}" for i in range(30))
    again = invoke("batch", "rec/base", str(full), "-o", str(out), "--json")
    assert json.loads(again.stdout)["succeeded"] == 0 and len(sent(rec)) == 30


def test_a_torn_last_line_is_repaired_and_its_input_sent_again(rec: Any, tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [{"prompt": f"p{i}", "custom_id": f"{i}"}
                                              for i in range(5)])  # fmt: skip
    out = tmp_path / "out.jsonl"
    whole = json.dumps({"custom_id": "0", "completion": None, "usage": None, "error": None})
    out.write_text(whole + "\n" + '{"custom_id": "1", "compl', encoding="utf-8")
    result = invoke("batch", "rec/base", str(inp), "-o", str(out), "-q")
    assert result.exit_code == 0
    assert result.stderr == (
        f"notice: {out}: dropped a torn last line (25 bytes); its input runs again\n"
        f"notice: {out}: no record of the settings its lines were made with "  # written by hand
        "(out.jsonl.settings.json); recorded this run's, and later runs are checked against them\n"
    )
    assert sorted(sent(rec)) == ["p1", "p2", "p3", "p4"]
    assert sorted(r["custom_id"] for r in records(out)) == ["0", "1", "2", "3", "4"]


def test_bad_lines_and_duplicates_are_reported_before_anything_is_sent(
    rec: Any, tmp_path: Path
) -> None:
    inp = tmp_path / "in.jsonl"
    inp.write_bytes(
        b'"ok"\n{"prompt": ""}\nnot json\n[1, 2]\n\n{"prompt": "a", "custom_id": "d"}\n'
        b'{"messages": [{"role": "robot", "content": "x"}]}\n\xff\xfe\n'
        b'{"prompt": "b", "custom_id": "d"}\n{"prompt": "c", "model": "x"}\n'
    )
    offset = inp.read_bytes().index(b"\xff")
    result = invoke("batch", "rec/base", str(inp), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {inp}:2: prompt must be a non-empty string, got ''",
        f"error: {inp}:3: invalid JSON: Expecting value (column 1)",
        f"error: {inp}:4: a line is a JSON string or object, not list",
        f"error: {inp}:7: messages[0].role: Input should be 'system', 'user' or 'assistant'",
        f"error: {inp}:8: not UTF-8 text: invalid byte (0xff) at byte offset {offset}",
        f"error: {inp}:9: duplicate custom_id 'd' (first on line 6)",
        f"error: {inp}:10: unknown key(s) 'model': expected 'prompt' or 'messages', "
        "and optionally 'custom_id'",
    ]
    assert sent(rec) == [] and not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'"ok"\n"caf\xc3"\n', "2: not UTF-8 text: invalid byte (0xc3) at byte offset 9"),
        (b'"ok"\n{"prompt": "a\\ud800"}\n', "2: not valid text: \\ud800 (half of a UTF-16"),
        (
            b'"\\udfff"\n',
            "1: not valid text: \\udfff (half of a UTF-16 surrogate pair, alone) at byte offset 1",
        ),
    ],
)
def test_input_that_is_not_text_names_line_and_byte_offset(
    rec: Any, tmp_path: Path, content: bytes, message: str
) -> None:
    inp = tmp_path / "in.jsonl"
    inp.write_bytes(content)
    result = invoke("batch", "rec/base", str(inp), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {inp}:{message}")
    assert sent(rec) == []


def test_usage_errors_exit_2_and_runtime_errors_exit_1(rec: Any, tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", ["a"])
    out = str(tmp_path / "out.jsonl")
    assert invoke("batch", "rec/base", str(inp)).exit_code == 2  # no -o
    assert invoke("batch", "rec/base", str(inp), "-o", out, "-c", "0").exit_code == 2
    assert invoke("batch", "rec/base", str(inp), "-o", out, "--rpm", "0").exit_code == 2
    missing = invoke("batch", "rec/base", str(tmp_path / "nope.jsonl"), "-o", out)
    assert missing.exit_code == 1
    assert missing.stderr.endswith(": cannot read the inputs: No such file or directory\n")
    bad_option = invoke("batch", "rec/base", str(inp), "-o", out, "--temperature", "7")
    assert bad_option.exit_code == 2 and "temperature" in bad_option.stderr  # docs/cli.md
    assert not (tmp_path / "out.jsonl.lock").exists()  # refused before the output was locked
    same = invoke("batch", "rec/base", str(inp), "-o", str(inp))
    assert same.exit_code == 1 and "is the input file" in same.stderr
    unknown = invoke("batch", "nope/base", str(inp), "-o", out)
    assert unknown.exit_code == 1 and unknown.stderr.startswith("error: ")
    assert sent(rec) == []


def test_a_foreign_output_line_is_refused(rec: Any, tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", ["a"])
    out = tmp_path / "out.jsonl"
    out.write_text('{"custom_id": "1"}\n{"something": "else"}\n{"custom_id": "2"}\n')
    result = invoke("batch", "rec/base", str(inp), "-o", str(out))
    assert result.exit_code == 1
    assert f"{out}:2: not a `tuneplug batch` output line" in result.stderr
    assert sent(rec) == []


def test_a_second_run_on_the_same_output_is_refused(rec: Any, tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", ["a"])
    out = tmp_path / "out.jsonl"
    with FileLock(str(out) + ".lock"):
        result = invoke("batch", "rec/base", str(inp), "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr == f"error: another `tuneplug batch` is writing {out}\n"


def test_provider_options_and_limits_pass_through(rec: Any, tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", ["a", "b"])
    result = invoke(
        "batch", "rec/base", str(inp), "-o", str(tmp_path / "o.jsonl"), "-O", "guidance=3",
        "--stop", "x", "--rpm", "6000", "--tpm", "1000000", "-q",
    )  # fmt: skip
    assert result.exit_code == 0
    for call in rec.calls.of("acomplete"):
        assert call["options"].extra == {"guidance": 3} and call["options"].stop == ("x",)


def test_the_progress_summary_goes_to_stderr(rec: Any, tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", ["a", "fail"])
    result = invoke("batch", "rec/base", str(inp), "-o", str(tmp_path / "o.jsonl"))
    assert result.stdout == ""
    assert "2 done (1 failed), 0 already in" in result.stderr


def test_repair_tail_and_scan_done_directly(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    assert repair_tail(out) == 0  # missing: nothing to do
    out.write_bytes(b"x" * 70_000)  # no newline at all: everything is torn
    assert repair_tail(out) == 70_000 and out.read_bytes() == b""
    journal = Journal(out, fsync_interval=0.0)
    journal.write({"custom_id": "é"})
    journal.close()
    journal.close()
    done, count = scan_done(out)
    assert count == 1 and "é" in done and "e" not in done


def test_id_set_finds_repeats_and_members() -> None:
    ids = IdSet()
    for i in range(5000):
        ids.add(f"id{i}")
    ids.add("id42")
    repeated = ids.freeze()
    assert len(repeated) == 1 and len(ids) == 5001
    assert all(f"id{i}" in ids for i in range(0, 5000, 7))
    assert "id5000" not in ids and 3 not in ids
    with pytest.raises(RuntimeError):
        ids.add("late")


def test_chat_lines_complete_like_model_chat(tmp_path: Path) -> None:
    conversation = [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "What NFL team won the Super Bowl in 1994?"},
    ]
    inp = write_lines(tmp_path / "in.jsonl", [
        {"custom_id": "chat", "messages": conversation},
        {"custom_id": "plain", "prompt": "Question: What is the capital of France?"},
    ])  # fmt: skip
    out = tmp_path / "out.jsonl"
    result = invoke("batch", "mock/tiny", str(inp), "-o", str(out), "--max-tokens", "8", "-q")
    assert result.exit_code == 0, result.output
    by_id = {r["custom_id"]: r for r in records(out)}
    model = tuneplug.get_model("mock/tiny")
    assert by_id["chat"]["completion"]["text"] == model.chat(conversation, max_tokens=8).text
    assert (
        by_id["plain"]["completion"]["text"]
        == model.complete("Question: What is the capital of France?", max_tokens=8).text
    )


def test_retry_failed_sends_only_the_failed_inputs_again(rec: Any, tmp_path: Path) -> None:
    inp = write_lines(tmp_path / "in.jsonl", [{"prompt": "ok", "custom_id": "a"},
                                              {"prompt": "fail", "custom_id": "b"}])  # fmt: skip
    out = tmp_path / "out.jsonl"
    assert invoke("batch", "rec/base", str(inp), "-o", str(out), "-q").exit_code == 0
    assert invoke("batch", "rec/base", str(inp), "-o", str(out), "-q").exit_code == 0
    assert sent(rec) == ["ok"]  # the fixture records successes only; "fail" raised
    assert [r["custom_id"] for r in records(out) if r["error"]] == ["b"]
    result = invoke("batch", "rec/base", str(inp), "-o", str(out), "--retry-failed", "--json")
    assert result.exit_code == 0
    assert "removed 1 failed line(s); their inputs run again" in result.stderr
    summary = json.loads(result.stdout)
    assert (summary["skipped"], summary["requests"], summary["failed"]) == (1, 1, 1)
    assert sent(rec) == ["ok"]  # the successful input was not sent again
    assert sorted(r["custom_id"] for r in records(out)) == ["a", "b"]  # still one line each
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_progress_bar_shows_done_failed_rate_and_tokens() -> None:
    from rich.console import Console
    from tuneplug.batching.types import BatchStats
    from tuneplug.cli.batch import _Bar

    output = io.StringIO()
    bar = _Bar(quiet=False, console=Console(file=output, width=200))
    with bar:
        stats = BatchStats(succeeded=7, failed=2, prompt_tokens=1200, completion_tokens=34)
        bar.update(stats, total=20, skipped=5, paused=True)
        task = bar.progress.tasks[0]
        assert (task.completed, task.total, task.fields["failed"]) == (14, 20, 2)
        assert task.fields["tokens"] == "1,234" and "paused (429)" in task.description
    rendered = output.getvalue()
    assert "14/20" in rendered and "2 failed" in rendered and "1,234 tokens" in rendered


def test_an_output_write_that_fails_stops_the_batch(
    rec: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lines of a burst are written from an event-loop callback: its error must stop
    # the run like a failed write always did, not be logged by the loop and lost.
    from tuneplug.batching.filerun import run_batch_file

    def disk_full(self: Journal) -> None:
        if self._pending:  # as the real flush: the queued lines are taken, then the write fails
            self._pending.clear()
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(Journal, "flush", disk_full)
    inp = write_lines(tmp_path / "in.jsonl", ["a", "b", "c"])
    with pytest.raises(OSError, match="No space left on device"):
        run_batch_file("rec/base", inp, tmp_path / "o.jsonl", concurrency=1)
    assert (tmp_path / "o.jsonl").read_bytes() == b""
