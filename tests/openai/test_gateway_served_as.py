"""A gateway on the same ``TUNEPLUG_HOME`` as the CLI: its clients' job is listed twice,
as the local job that runs it (``mock/ftjob-<16 hex>``) and as the gateway's own
(``local/ftjob-<24 hex>`` through a provider pointed at it). ``jobs list`` links the two:
the local row says what the gateway serves it as (fresh user 5, #14)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.jobs.local import LocalJobs
from tuneplug.jobs.served import served_as

from tests.openai.gateway import ALICE, backend_id, fine_tune, sdk, serve


def test_jobs_list_says_which_gateway_job_a_local_job_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(tmp_path, tenants=[ALICE]) as server:
        job, _ = fine_tune(sdk(server), tmp_path)
        local_ref = f"mock/{backend_id(server, job.id)}"
        Path("tuneplug.toml").write_text(
            f'[providers.local]\nplugin = "openai"\nbase_url = "{server.root}/v1"\n'
            'api_key_env = "LOCAL_KEY"\n'
        )
        monkeypatch.setenv("LOCAL_KEY", ALICE.key.get_secret_value())
        listed = CliRunner().invoke(cli, ["jobs", "list", "--json"])
        assert listed.exit_code == 0, listed.output
        rows = {row["ref"]: row for row in json.loads(listed.stdout)["data"]}
        assert rows[local_ref]["served_as"] == job.id
        assert rows[f"local/{job.id}"]["served_as"] is None  # the gateway's row itself
        table = CliRunner().invoke(cli, ["jobs", "list"]).stdout
        header, *lines = table.splitlines()
        assert header.split()[-2:] == ["served", "as"]
        (cells,) = [line.split() for line in lines if line.split()[0] == local_ref]
        assert cells[-1] == job.id
    # Its state gone, no gateway serves the job: nothing to link.
    shutil.rmtree(server.app.state.gateway.state_dir)  # type: ignore[attr-defined]
    assert served_as(tuneplug.get_job(local_ref)) is None


def test_a_job_no_gateway_serves_has_nothing_to_link(tmp_path: Path) -> None:
    jobs = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    spec = tuneplug.JobSpec(model="tiny", training_data=["a b"])
    job = jobs.get(jobs.create(spec, start="none").id)
    assert served_as(job) is None
    table = CliRunner().invoke(cli, ["jobs", "list"]).stdout
    assert "served" not in table.splitlines()[0]  # no column when nothing is served
