"""``tuneplug batch`` reruns: the output's lines were made by one model, options and input.

A rerun with another model (or an alias resolving elsewhere), other options, or
another input file is refused before the output is touched or anything is sent
(``OUT.settings.json`` records what made the lines); ``--allow-mixed`` continues.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from tuneplug.batching.filerun import run_batch_file
from tuneplug.batching.provenance import SettingsMismatchError, record_path

from tests.core.batch.test_cli import invoke, records, sent, write_lines


@pytest.fixture
def two(make_plugin, register) -> tuple[Any, Any]:  # type: ignore[no-untyped-def]
    """``one/base`` and ``two/base``: two providers, so a rerun can name another model."""
    hooks = ("list_models", "complete", "acomplete")
    return register("one", make_plugin("one", hooks)), register("two", make_plugin("two", hooks))


def _inputs(path: Path, n: int = 4) -> Path:
    return write_lines(path, [{"prompt": f"p{i}", "custom_id": f"id{i}"} for i in range(n)])


def _run(inp: Path, out: Path, *args: str, model: str = "one/base") -> Result:
    return invoke("batch", model, str(inp), "-o", str(out), "-q", *args)


def _first_run(tmp_path: Path, *args: str, model: str = "one/base") -> tuple[Path, Path, bytes]:
    """Half the inputs done, as a run interrupted halfway would leave them."""
    inp, out = _inputs(tmp_path / "in.jsonl", 2), tmp_path / "out.jsonl"
    assert _run(inp, out, *args, model=model).exit_code == 0
    _inputs(inp)  # two more inputs for the rerun
    return inp, out, out.read_bytes()


@pytest.mark.parametrize(
    ("first", "rerun", "named"),
    [
        (["--max-tokens", "8"], ["--max-tokens", "16"], "max_tokens: 8 before, 16 now"),
        ([], ["--temperature", "0.5"], "temperature: unset before, 0.5 now"),
        (["--stop", "x"], ["--stop", "y"], 'stop: ["x"] before, ["y"] now'),
        (["--seed", "1"], [], "seed: 1 before, unset now"),
        (["-O", "volume=3"], ["-O", "volume=4"], "volume: 3 before, 4 now"),
    ],
)
def test_a_rerun_with_other_options_is_refused_and_changes_nothing(
    two: Any, tmp_path: Path, first: list[str], rerun: list[str], named: str
) -> None:
    inp, out, before = _first_run(tmp_path, *first)
    result = _run(inp, out, *rerun)
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {out}: its lines were made with other settings ({named});")
    assert "another -o" in line and "--allow-mixed" in line
    assert out.read_bytes() == before and len(sent(two[0])) == 2  # nothing sent, nothing lost


def test_a_rerun_with_another_model_names_both(two: Any, tmp_path: Path) -> None:
    inp, out, before = _first_run(tmp_path)
    result = _run(inp, out, model="two/base")
    assert result.exit_code == 1
    assert "(model: one/base before, two/base now)" in result.stderr
    assert out.read_bytes() == before and sent(two[1]) == []


def test_an_alias_that_now_resolves_elsewhere_is_refused(two: Any, tmp_path: Path) -> None:
    config = Path("tuneplug.toml")  # the working directory is the test's project
    config.write_text('[models.fast]\nmodel = "one/base"\nmax_tokens = 4\n')
    inp, out, _ = _first_run(tmp_path, model="fast")
    assert _run(inp, out, "--max-tokens", "4").exit_code == 0  # the same run, typed directly
    before = out.read_bytes()
    config.write_text('[models.fast]\nmodel = "two/base"\nmax_tokens = 4\n')
    result = _run(inp, out, model="fast")
    assert result.exit_code == 1
    assert "(model: one/base before, fast = two/base now)" in result.stderr
    config.write_text('[models.fast]\nmodel = "one/base"\nmax_tokens = 5\n')  # its options
    assert "(max_tokens: 4 before, 5 now)" in _run(inp, out, model="fast").stderr
    assert sent(two[1]) == [] and out.read_bytes() == before


def test_another_input_file_is_refused(two: Any, tmp_path: Path) -> None:
    inp, out, before = _first_run(tmp_path)
    other = _inputs(tmp_path / "other.jsonl")
    result = _run(other, out)
    assert result.exit_code == 1
    assert f"(input: {inp.resolve()} before, {other.resolve()} now)" in result.stderr
    assert out.read_bytes() == before


def test_every_difference_is_named_at_once(two: Any, tmp_path: Path) -> None:
    inp, out, _ = _first_run(tmp_path, "--max-tokens", "8")
    other = _inputs(tmp_path / "other.jsonl")
    result = _run(other, out, "--temperature", "1", model="two/base")
    assert f"(model: one/base before, two/base now; max_tokens: 8 before, unset now; " \
        f"temperature: unset before, 1.0 now; input: {inp.resolve()} before, " \
        f"{other.resolve()} now)" in result.stderr  # fmt: skip


def test_what_does_not_change_a_line_is_not_compared(two: Any, tmp_path: Path) -> None:
    inp, out, _ = _first_run(tmp_path, "--max-tokens", "8")
    result = _run(inp, out, "--max-tokens", "8", "-c", "1", "--rpm", "6000", "--retry-failed")
    assert result.exit_code == 0 and len(records(out)) == 4


def test_retry_failed_keeps_the_failed_lines_when_refused(two: Any, tmp_path: Path) -> None:
    inp, out = _inputs(tmp_path / "in.jsonl"), tmp_path / "out.jsonl"
    failed = {"custom_id": "id0", "completion": None, "usage": None, "error": {"type": "X"}}
    assert _run(inp, out).exit_code == 0
    out.write_text(json.dumps(failed) + "\n", encoding="utf-8")
    assert _run(inp, out, "--retry-failed", model="two/base").exit_code == 1
    assert records(out) == [failed]


def test_allow_mixed_continues_and_the_record_lists_both(two: Any, tmp_path: Path) -> None:
    inp, out, _ = _first_run(tmp_path, "--max-tokens", "8")
    result = _run(inp, out, "--allow-mixed", model="two/base")
    assert result.exit_code == 0
    assert result.stderr == (
        f"notice: {out}: continuing with other settings (model, max_tokens); "
        "out.jsonl.settings.json lists every run's\n"
    )
    assert sorted(r["completion"]["provider"] for r in records(out)) == ["one", "one", "two", "two"]
    runs = json.loads(record_path(out).read_text())["runs"]
    assert [(r["model"], r["options"]) for r in runs] == [
        ("one/base", {"max_tokens": 8}), ("two/base", {}),
    ]  # fmt: skip
    assert _run(inp, out, model="two/base").exit_code == 0  # the latest settings go on
    assert _run(inp, out, "--max-tokens", "8").exit_code == 1  # back to the first: mixed again


def test_an_output_without_a_record_is_adopted_with_a_notice(two: Any, tmp_path: Path) -> None:
    inp, out, _ = _first_run(tmp_path)
    record_path(out).unlink()
    result = _run(inp, out, model="two/base")
    assert result.exit_code == 0
    assert result.stderr == (
        f"notice: {out}: no record of the settings its lines were made with "
        "(out.jsonl.settings.json); recorded this run's, and later runs are checked against them\n"
    )
    assert _run(inp, out).exit_code == 1  # checked from now on


def test_an_empty_output_takes_any_settings(two: Any, tmp_path: Path) -> None:
    inp, out, _ = _first_run(tmp_path)
    out.write_bytes(b"")  # nothing was made by the recorded settings
    result = _run(inp, out, model="two/base")
    assert result.exit_code == 0 and result.stderr == ""
    assert json.loads(record_path(out).read_text())["runs"][0]["model"] == "two/base"


def test_a_record_that_is_not_ours_is_named(two: Any, tmp_path: Path) -> None:
    inp, out, before = _first_run(tmp_path)
    record_path(out).write_text("{not json", encoding="utf-8")
    result = _run(inp, out)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {record_path(out)}: not a settings record")
    assert out.read_bytes() == before


def test_the_record_never_holds_a_secret(demo: Any, tmp_path: Path, monkeypatch: Any) -> None:
    secret = "tp-secret-value-0042"
    monkeypatch.setenv("TPDEMO_TOKEN", secret)
    inp, out = _inputs(tmp_path / "in.jsonl"), tmp_path / "out.jsonl"
    assert _run(inp, out, "-O", f"note={secret}", model="demo/base").exit_code == 0
    text = record_path(out).read_text(encoding="utf-8")
    assert secret not in text and '"note": "**********"' in text


def test_the_library_raises_with_every_difference(two: Any, tmp_path: Path) -> None:
    inp, out, before = _first_run(tmp_path)
    with pytest.raises(SettingsMismatchError) as info:
        run_batch_file("two/base", inp, out, options={"max_tokens": 3})
    assert info.value.differences == [
        ("model", "one/base", "two/base"), ("max_tokens", "unset", "3"),
    ]  # fmt: skip
    assert out.read_bytes() == before
    summary = run_batch_file("two/base", inp, out, options={"max_tokens": 3}, allow_mixed=True)
    assert (summary.skipped, summary.succeeded) == (2, 2)
