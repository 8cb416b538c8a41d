"""User and provider values print as typed on every rich output path: a table cell, a
console line, a progress bar's description is never read as markup (``[bold]``, ``\\[``)
or an emoji code (``:x:``, ``:smile:``). docs/cli.md: "Tables print values as text"."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import tuneplug
from click.testing import CliRunner, Result
from tuneplug.cli import cli
from tuneplug.cli.output import console, stderr_console, table
from tuneplug.jobs.backend import JobPage
from tuneplug.jobs.types import Job, JobCheckpoint, JobEvent, JobStatus

VALUE = r"a:x:b :smile: [bold]c[/bold] \[d] [red]r[/red]"
"""Each kind at once: emoji codes, markup, an escaped bracket, a closed tag."""
EMOJI = ("\u274c", "\U0001f604")  # what rich makes of :x: and :smile:


def invoke(*args: str, **env: str) -> Result:
    result = CliRunner(env={"COLUMNS": "300", **env}).invoke(cli, list(args))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def _shown(text: str, value: str = VALUE) -> None:
    assert value in text, text
    assert not any(e in text for e in EMOJI), text


def test_models_shows_an_adapter_name_as_typed() -> None:
    tuneplug.get_model("mock/tiny").create_adapter(VALUE)
    _shown(invoke("models", "--provider", "mock").stdout)


def test_config_shows_a_setting_as_typed() -> None:
    # Shown as JSON (the backslash doubled): what matters is that nothing is taken away.
    _shown(invoke("config", TUNEPLUG_MODEL=f"mock/{VALUE}").stdout, json.dumps(f"mock/{VALUE}"))


class _Native:
    """A provider's own jobs whose ids and models carry every kind of value."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    def _job(self) -> Job:
        return Job(
            id="ftjob-1", provider=self.provider, model=f"{self.provider}/ft:tiny:key1:x:{VALUE}",
            status=JobStatus.SUCCEEDED, created_at=1.0,
            fine_tuned_model=f"{self.provider}/ft:tiny:key1:x:ftjob-1 {VALUE}",
        ).bind(self)  # fmt: skip

    def list(self, *, after: str | None = None, limit: int = 20) -> JobPage[Job]:
        return JobPage([self._job()], False)

    def get(self, job_id: str) -> Job:
        return self._job()

    def checkpoints(
        self, job_id: str, *, after: str | None = None, limit: int = 10
    ) -> JobPage[JobCheckpoint]:
        point = JobCheckpoint(
            id="ftckpt-1", job_id=job_id, created_at=1.0, step_number=3,
            fine_tuned_model_checkpoint=f"ft:tiny:key1:x:ckpt-step-3 {VALUE}",
        )  # fmt: skip
        return JobPage([point], False)


@pytest.fixture
def native(make_plugin: Callable[..., Any], register: Callable[..., Any]) -> None:
    backend = _Native("native")
    register("native", make_plugin("native", jobs=lambda ctx: backend))


def test_jobs_list_shows_models_as_typed(native: None) -> None:
    out = invoke("jobs", "list", "--provider", "native").stdout
    _shown(out, f"ft:tiny:key1:x:{VALUE}")
    _shown(out, f"ft:tiny:key1:x:ftjob-1 {VALUE}")
    _shown(invoke("jobs", "list").stdout, f"ft:tiny:key1:x:{VALUE}")  # with the local jobs


def test_jobs_checkpoints_shows_models_as_typed(native: None) -> None:
    _shown(invoke("jobs", "checkpoints", "native/ftjob-1").stdout, f"ckpt-step-3 {VALUE}")


def test_jobs_get_and_json_stay_as_typed(native: None) -> None:
    _shown(invoke("jobs", "get", "native/ftjob-1").stdout)
    rows = json.loads(invoke("jobs", "list", "--provider", "native", "--json").stdout)
    assert rows["data"][0]["model"] == f"native/ft:tiny:key1:x:{VALUE}"


@pytest.mark.parametrize("make", [console, stderr_console])
def test_consoles_never_make_emoji(make: Callable[[], Any], capsys: Any) -> None:
    out = make()
    out.print(":x: :smile:")  # the CLI's own text keeps markup, never emoji codes
    shown = table("value")
    shown.add_row(VALUE)
    out.print(shown)
    captured = capsys.readouterr()
    _shown(captured.out + captured.err, ":x: :smile:")
    _shown(captured.out + captured.err)


def test_a_job_progress_bar_and_its_event_lines_show_values_as_typed(
    native: None, capsys: Any
) -> None:
    """What ``jobs create``/``wait`` print on stderr: the bar's description (the job's
    id, the provider's) and its warning and info events (the provider's text)."""
    from tuneplug.cli.jobs_watch import _Watch

    job = tuneplug.get_job("native/ftjob-1").model_copy(update={"id": f"ftjob-{VALUE}"})
    with _Watch(job, quiet=False) as watch:
        for level in ("warn", "info"):
            watch(JobEvent(id=f"e-{level}", created_at=1.0, level=level, message=VALUE))
    err = capsys.readouterr().err
    _shown(err, f"warning: {VALUE}")
    _shown(err, f"ftjob-{VALUE}")
    assert err.count(VALUE) >= 3, err
