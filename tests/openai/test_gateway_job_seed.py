"""A gateway job's ``seed`` is the one the run uses: the client's, else the one the backend
drew (docs/jobs.md: recorded so the run can be repeated), never a made-up 0; and the
``openai`` provider's ``Job`` carries it, judged by the ``openai`` SDK on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
import tuneplug
from tuneplug.jobs.facade import backend_for
from tuneplug.jobs.local import job_store

from tests.openai.gateway import ALICE, chat_file, ended, sdk, upload
from tests.server.gradient_server import RunningServer


def _backend_seed() -> int:
    (row,) = job_store().page("mock", None, 100)[0]
    seed = row.settings["seed"]
    assert isinstance(seed, int)
    return seed


def test_the_job_object_reports_the_seed_the_run_uses(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    file_id = upload(client, chat_file(tmp_path))
    drawn = client.fine_tuning.jobs.create(model="tiny", training_file=file_id)
    assert drawn.seed == _backend_seed() and drawn.seed != 0  # the one the backend drew
    done = ended(client, drawn.id)
    assert done.status == "succeeded" and done.seed == drawn.seed
    assert [j.seed for j in client.fine_tuning.jobs.list().data] == [drawn.seed]
    given = client.fine_tuning.jobs.create(model="tiny", training_file=file_id, seed=7)
    assert given.seed == 7 and client.fine_tuning.jobs.retrieve(given.id).seed == 7
    ended(client, given.id)


def test_the_openai_provider_job_carries_the_gateways_seed(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sdk(server)
    created = client.fine_tuning.jobs.create(
        model="tiny", training_file=upload(client, chat_file(tmp_path))
    )
    ended(client, created.id)
    Path("tuneplug.toml").write_text(
        f'[providers.local]\nplugin = "openai"\nbase_url = "{server.root}/v1"\n'
        'api_key_env = "LOCAL_KEY"\n'
    )
    monkeypatch.setenv("LOCAL_KEY", ALICE.key.get_secret_value())
    jobs = backend_for(tuneplug.get_provider("local"))
    assert jobs.get(created.id).hyperparameters["seed"] == _backend_seed() != 0
    (listed,) = jobs.list()
    assert listed.hyperparameters["seed"] == _backend_seed()
