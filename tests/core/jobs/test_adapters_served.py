"""``tuneplug adapters delete`` refuses an adapter a gateway (``tuneplug serve`` on the same
``TUNEPLUG_HOME``) serves to a client, as ``jobs delete`` refuses a served job, unless
``--force`` (user report 7 #12: it deleted a tenant's fine-tuned model silently, which then
answered 404): a served job's model, its checkpoint copies, and an adapter the gateway's
state says a tenant owns. Other adapters delete as before."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner, Result
from tuneplug.cli import cli
from tuneplug.errors import UnknownModelError
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.server.state import StateStore


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A gateway's state directory, with a succeeded 3-epoch job of that gateway's."""
    state = tmp_path / "state"
    state.mkdir()
    StateStore(state)  # the gateway's own file, as a server makes it
    jobs = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    spec = tuneplug.JobSpec(model="tiny", training_data=["a"], n_epochs=3)
    job = jobs.create(spec, start="none", origin=f"serve:{state.resolve()}")
    assert jobs.run(job.id).status.value == "succeeded"
    return state


def _refused(ref: str, state: Path) -> None:
    result = _invoke("adapters", "delete", ref)
    assert result.exit_code == 1, result.output
    said = result.stderr.strip()
    assert said.startswith("error: ") and len(said.splitlines()) == 1
    assert f"adapter {ref} is served by the gateway" in said
    assert str(state.resolve()) in said and "--force" in said
    assert tuneplug.get_model(ref).ref == ref  # still there


def _served_models() -> tuple[str, list[str]]:
    row = job_store().page("mock", None, 10)[0][0]
    copies = [model for _, _, model, _ in job_store().checkpoint_copies(row.id) if model]
    return f"mock/{row.target}", copies  # a copy is journalled by its reference


def test_a_served_jobs_model_and_its_checkpoint_copies_need_force(state: Path) -> None:
    model, copies = _served_models()
    assert copies, "the job keeps checkpoint copies"
    for ref in (model, *copies):
        _refused(ref, state)
    for ref in (model, *copies):
        result = _invoke("adapters", "delete", ref, "--force")
        assert result.exit_code == 0 and result.stdout == f"deleted {ref}\n", result.output
        with pytest.raises(UnknownModelError):
            tuneplug.get_model(ref)


def test_an_adapter_a_tenant_owns_needs_force(state: Path) -> None:
    adapter = tuneplug.get_model("mock/tiny").create_adapter("made-by-a-client")
    StateStore(state).own("org-1", adapter.ref, "adapter")
    _refused(adapter.ref, state)
    assert _invoke("adapters", "delete", adapter.ref, "--force").exit_code == 0


def test_other_adapters_delete_as_before(state: Path) -> None:
    mine = tuneplug.get_model("mock/tiny").create_adapter("mine")
    result = _invoke("adapters", "delete", mine.ref)
    assert result.exit_code == 0 and result.stdout == f"deleted {mine.ref}\n"
    # Once the gateway's state is gone, its job's model is an ordinary adapter.
    model, _ = _served_models()
    shutil.rmtree(state)
    assert _invoke("adapters", "delete", model).exit_code == 0


@pytest.mark.parametrize("command", ["jobs create", "fine-tune"])
def test_training_a_served_adapter_in_place_needs_force(
    state: Path, tmp_path: Path, command: str
) -> None:
    # user report 8 N2: the CLI retrained a tenant's ft: model silently (its answers changed).
    model, copies = _served_models()
    data = tmp_path / "more.jsonl"
    data.write_text('{"prompt": "a", "completion": "b"}\n')
    before = len(job_store().page("mock", None, 100)[0])
    for ref in (model, *copies):
        result = _invoke(*command.split(), ref, str(data), "--epochs", "1")
        assert result.exit_code == 1, result.output
        said = result.stderr.strip()
        assert said.startswith("error: ") and len(said.splitlines()) == 1
        assert f"adapter {ref} is served by the gateway" in said
        assert "would answer differently once trained; train it anyway with --force" in said
        assert str(state.resolve()) in said
    assert len(job_store().page("mock", None, 100)[0]) == before  # no job was made
    result = _invoke(*command.split(), model, str(data), "--epochs", "1", "--force")
    assert result.exit_code == 0, result.output
    assert len(job_store().page("mock", None, 100)[0]) == before + 1


@pytest.mark.parametrize("command", ["jobs create", "fine-tune"])
def test_training_a_base_or_an_unserved_adapter_runs_as_before(
    state: Path, tmp_path: Path, command: str
) -> None:
    data = tmp_path / "more.jsonl"
    data.write_text('{"prompt": "a", "completion": "b"}\n')
    mine = tuneplug.get_model("mock/tiny").create_adapter("mine")
    # fine-tune refuses a base model in its own words; jobs create makes a new adapter.
    for ref in ("mock/tiny", mine.ref) if command == "jobs create" else (mine.ref,):
        result = _invoke(*command.split(), ref, str(data), "--epochs", "1")
        assert result.exit_code == 0, result.output
