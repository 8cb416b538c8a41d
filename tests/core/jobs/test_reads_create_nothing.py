"""Reading jobs creates no state: ``jobs list`` in a fresh ``TUNEPLUG_HOME`` leaves it as it
was (user7 #14), as does every other read of the local journal (get, events, checkpoints,
the adapter-lock check of a delete); the first job then creates the journal as before."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import tuneplug
from tuneplug.errors import NotFoundError
from tuneplug.jobs.store import JobStore, journal_path

from tests.core.cli_runner import invoke


def _home() -> Path:
    return Path(os.environ["TUNEPLUG_HOME"])


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["jobs", "list"], 0),
        (["jobs", "list", "--json"], 0),
        (["jobs", "list", "--provider", "mock", "--json"], 0),
        (["jobs", "get", "mock/ftjob-0123456789abcdef"], 1),
        (["jobs", "events", "ftjob-0123456789abcdef"], 1),
        (["jobs", "checkpoints", "ftjob-0123456789abcdef"], 1),
        (["jobs", "prune", "--older-than", "1d"], 0),
        (["adapters", "delete", "mock/tiny-adapter-000000000000"], 1),
    ],
    ids=lambda arg: " ".join(arg) if isinstance(arg, list) else None,
)
def test_a_read_in_a_fresh_home_creates_nothing(args: list[str], code: int) -> None:
    before = sorted(_home().rglob("*"))
    result = invoke(*args)
    assert result.exit_code == code, result.stderr
    assert sorted(_home().rglob("*")) == before
    assert not journal_path().parent.exists()


def test_python_reads_create_nothing_and_a_relative_home_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TUNEPLUG_HOME", "relhome")
    assert list(tuneplug.list_jobs()) == []
    assert list(tuneplug.list_jobs("mock")) == []
    with pytest.raises(NotFoundError):
        tuneplug.get_job("mock/ftjob-0123456789abcdef")
    assert not (tmp_path / "relhome").exists()


def test_the_store_answers_reads_as_empty_then_the_first_write_creates_it(
    tmp_path: Path, data: str
) -> None:
    store = JobStore(tmp_path / "deep" / "jobs" / "jobs.sqlite3")
    assert store.page(None, None, 20) == ([], False)
    assert store.providers() == []
    assert store.holder("mock", "tiny-adapter-000000000000") is None
    with pytest.raises(NotFoundError, match="no job 'ftjob-x'"):
        store.get("ftjob-x")
    assert not (tmp_path / "deep").exists()
    created = invoke("jobs", "create", "mock/tiny", data, "--json")
    assert created.exit_code == 0, created.stderr
    ref = json.loads(created.stdout)["ref"]
    listed = json.loads(invoke("jobs", "list", "--json").stdout)["data"]
    assert [row["ref"] for row in listed] == [ref] and journal_path().exists()
