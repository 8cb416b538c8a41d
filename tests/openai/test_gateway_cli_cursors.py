"""A fresh user's ``--after`` through a tuneplug gateway as an OpenAI-compatible provider
(``[providers.local] plugin = "openai"``), as docs/cli.md says for every ``--after``: one
that cannot be an id is a usage error (2) naming ``--after``, sent nowhere; a job id that
names nothing is a runtime error (1), and so is an event or checkpoint id naming none of
the job's (user 6 #14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tuneplug.cli import cli

from tests.openai.gateway import ALICE, fine_tune, sdk
from tests.server.gradient_server import RunningServer


def test_after_on_an_openai_compatible_provider_follows_the_cli_rules(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job, events = fine_tune(sdk(server), tmp_path)
    Path("tuneplug.toml").write_text(
        f'[providers.local]\nplugin = "openai"\nbase_url = "{server.root}/v1"\n'
        'api_key_env = "LOCAL_KEY"\n'
    )
    monkeypatch.setenv("LOCAL_KEY", ALICE.key.get_secret_value())
    ref = f"local/{job.id}"
    for command in (
        ["jobs", "events", ref],
        ["jobs", "checkpoints", ref],
        ["jobs", "list", "--provider", "local"],
    ):
        done = CliRunner().invoke(cli, [*command, "--after", "nonsense"])
        assert done.exit_code == 2, (command, done.output)
        assert "--after" in done.output and "'nonsense'" in done.output, done.output
        assert "HTTP 400" not in done.output  # refused before anything was sent
    gone = CliRunner().invoke(
        cli, ["jobs", "list", "--provider", "local", "--after", "ftjob-000000000000000000000000"]
    )
    assert gone.exit_code == 1 and "no job 'ftjob-000000000000000000000000'" in gone.output
    checkpoints = CliRunner().invoke(cli, ["jobs", "checkpoints", ref, "--json"])
    first = json.loads(checkpoints.stdout)["data"][0]["id"]
    gone_checkpoint = first.rpartition("-")[0] + "-99"  # a step it never had
    for command, after in (
        ("events", "event-250"),
        ("events", "event-99"),
        ("checkpoints", gone_checkpoint),
    ):  # well-formed, naming nothing of the job: a runtime error, as for a job id
        done = CliRunner().invoke(cli, ["jobs", command, ref, "--after", after, "--json"])
        assert done.exit_code == 1, done.output
        assert done.stderr.strip() == (
            f"error: local: no {command[:-1]} {after!r} of job {job.id} to list the "
            f"{command} after"
        )  # fmt: skip
    oldest = events[-1].id  # the events after the job's first one: all the others
    done = CliRunner().invoke(cli, ["jobs", "events", ref, "--after", oldest, "--json"])
    assert done.exit_code == 0 and oldest not in done.stdout and events[0].id in done.stdout
