"""``GET /v1/fine_tuning/jobs`` filtered by ``metadata``, as the ``openai`` SDK asks for it.

Kind: a listing filter the server did not read (``jobs.list(metadata={"run": "7"})`` sends
``metadata[run]=7``) answered with every job, so a client acting on "its" jobs acted on
others. Right: only the jobs whose metadata holds every pair; ``metadata=null`` the jobs
without metadata; a malformed filter a 400 naming ``metadata``.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

from tests.openai.gateway import ALICE, BOB, chat_file, ended, sdk, upload
from tests.server.gradient_server import RunningServer


def test_jobs_are_listed_by_their_metadata(server: RunningServer, tmp_path: Path) -> None:
    client = sdk(server)
    file_id = upload(client, chat_file(tmp_path))
    made = {}
    for name, metadata in [("a", {"run": "7", "team": "x"}), ("b", {"run": "8"}), ("c", None)]:
        job = client.fine_tuning.jobs.create(model="tiny", training_file=file_id, metadata=metadata)
        made[name] = ended(client, job.id).id
    bob = sdk(server, BOB)
    bob.fine_tuning.jobs.create(
        model="tiny", training_file=upload(bob, chat_file(tmp_path)), metadata={"run": "7"}
    )

    def listed(**query: object) -> list[str]:
        return [job.id for job in client.fine_tuning.jobs.list(**query)]  # type: ignore[arg-type]

    assert listed(metadata={"run": "7"}) == [made["a"]]  # not bob's
    assert listed(metadata={"run": "7", "team": "x"}) == [made["a"]]
    assert listed(metadata={"run": "7", "team": "y"}) == []
    assert listed() == [made["c"], made["b"], made["a"]]
    assert listed(limit=1, metadata={"run": "8"}) == [made["b"]]  # filtered, then paged
    without = client.fine_tuning.jobs.list(extra_query={"metadata": "null"})
    assert [job.id for job in without] == [made["c"]]


@pytest.mark.parametrize("query", ["metadata=7", "metadata[]=7"])
def test_a_malformed_metadata_filter_is_refused(server: RunningServer, query: str) -> None:
    response = httpx.get(
        f"{server.root}/v1/fine_tuning/jobs?{query}",
        headers={"Authorization": f"Bearer {ALICE.key.get_secret_value()}"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("metadata", "invalid_request")
    assert error["message"].startswith("metadata filters as metadata[key]=value")
    with pytest.raises(openai.BadRequestError):
        sdk(server).fine_tuning.jobs.list(extra_query={"metadata": "7"})
