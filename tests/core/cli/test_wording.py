"""One phrasing per condition, whichever command meets it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from click.testing import CliRunner, Result
from tuneplug.cli import cli
from tuneplug.jobs.local import LocalJobs


def invoke(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin)


def error_line(result: Result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    (line,) = result.stderr.splitlines()
    return line


@pytest.mark.parametrize("command", ["complete", "chat"])
@pytest.mark.parametrize("stdin", ["", " \n\n"], ids=["nothing", "blanks"])
def test_empty_stdin_reads_the_same_for_every_command(command: str, stdin: str) -> None:
    line = error_line(invoke(command, "-m", "mock/tiny", stdin=stdin))
    assert line == "error: stdin is empty: give the prompt on stdin or as an argument"


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["batch", "mock/tiny", "nofile.jsonl", "-o", "out.jsonl"], "the inputs"),
        (["jobs", "create", "mock/tiny", "nofile.jsonl"], "samples"),
        (["fine-tune", "ADAPTER", "nofile.jsonl"], "samples"),
    ],
    ids=["batch", "jobs create", "fine-tune"],
)
def test_a_missing_file_reads_the_same_for_every_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], what: str
) -> None:
    monkeypatch.chdir(tmp_path)
    if "ADAPTER" in args:  # fine-tune trains an adapter: a base model is refused first
        adapter = tuneplug.get_model("mock/tiny").create_adapter("a").ref
        args = [adapter if a == "ADAPTER" else a for a in args]
    line = error_line(invoke(*args))
    assert line == f"error: nofile.jsonl: cannot read {what}: No such file or directory"


def test_an_excluded_provider_is_named_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEPLUG_PLUGINS", "-mock")
    line = error_line(invoke("complete", "hi", "-m", "mock/tiny"))
    assert line.startswith("error: unknown provider 'mock' (excluded by TUNEPLUG_PLUGINS); ")
    assert line.count("mock") == 1


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_non_finite_setting_says_so_from_the_environment_and_files_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    problem = "must be a finite number"
    monkeypatch.setenv("TUNEPLUG_MOCK_LATENCY_MS", value)
    line = error_line(invoke("complete", "hi", "-m", "mock/tiny"))
    assert line == f"error: TUNEPLUG_MOCK_LATENCY_MS: {problem}"
    monkeypatch.delenv("TUNEPLUG_MOCK_LATENCY_MS")
    (tmp_path / "tuneplug.toml").write_text(
        f"[providers.mock]\nlatency_ms = {value}\n", encoding="utf-8"
    )
    line = error_line(invoke("complete", "hi", "-m", "mock/tiny"))
    assert line == f"error: {tmp_path / 'tuneplug.toml'}:2: [providers.mock] latency_ms: {problem}"


def test_an_out_of_range_setting_reads_the_same_from_both_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tuneplug.toml").write_text("[providers.mock]\nlatency_ms = -1\n")
    line = error_line(invoke("complete", "hi", "-m", "mock/tiny"))
    where = f"{tmp_path / 'tuneplug.toml'}:2: [providers.mock] latency_ms"
    assert line == f"error: {where}: must be a number >= 0 and <= 60000, got -1"


def test_the_plot_hint_names_the_distribution_and_the_clone_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    line = error_line(invoke("jobs", "wait", "mock/ftjob-x", "--plot", "loss.png"), code=2)
    assert "pip install 'tuneplug[plot]'" in line  # core/pyproject.toml's name
    assert "pip install -e './core[plot]'" in line  # what README's clone install runs


def test_jobs_wait_on_a_paused_job_gives_only_the_cli_command() -> None:
    model = tuneplug.get_model("mock/tiny")
    jobs = LocalJobs(model.provider)
    job = jobs.create(tuneplug.JobSpec(model="tiny", training_data=["a"]), start="none")
    jobs.pause(job.id)
    result = invoke("jobs", "wait", job.ref)
    assert result.exit_code == 1
    assert "status:            paused" in result.stdout  # the summary first
    line = result.stderr.splitlines()[-1]
    assert line == (
        f"error: mock: job {job.id} is not running: it was paused "
        f"(resume it with `tuneplug jobs resume {job.ref}`)"
    )
    # Following it otherwise says the same line.
    assert invoke("jobs", "events", job.ref, "-f").stderr.splitlines()[-1] == line
    assert "job.resume()" not in result.stderr


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["adapters", "create", "jobsonly/base", "--name", "mine"], True),
        (["adapters", "delete", "jobsonly/base"], False),  # a job deletes nothing
    ],
    ids=["create", "delete"],
)
def test_a_jobs_only_provider_points_to_jobs_only_for_training(
    make_plugin: Any, register: Any, args: list[str], hint: bool
) -> None:
    register("jobsonly", make_plugin("jobsonly", jobs=lambda ctx: object()))
    line = error_line(invoke(*args))
    assert line.startswith("error: jobsonly: cannot ")
    assert "the provider does not implement FineTunable" in line
    assert ("`tuneplug jobs create MODEL DATA`" in line) is hint
    # Deleting: its job service could delete what its jobs made, but this one cannot.
    assert (
        line.endswith("deletes no fine-tuned models (its job backend has no delete_model)")
        is not hint
    )
