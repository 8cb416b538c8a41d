"""CLI errors speak in flags, Python errors in arguments, for the same condition.

Kind: a preference-pairs file used without DPO said ``method='dpo'`` on the command
line; a base model given to ``fine-tune`` named both ``tuneplug adapters create`` and
``create_adapter(name)``; a stopped job followed by ``jobs events -f`` named
``job.resume()``. And ``extra={"beta": 0.1}`` without DPO was an "unknown option".
Right: ``--method dpo`` and the command on the command line, ``method="dpo"`` and the
call in Python, and ``beta`` (an option of DPO only) refused as such by every provider.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner, Result
from tuneplug.cli import cli
from tuneplug.errors import CapabilityError, TuneplugError
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.options import OptionError
from tuneplug.speech import setting, speaking_flags, speaking_python

PAIR = {
    "input": {"messages": [{"role": "user", "content": "hi"}]},
    "preferred_output": [{"role": "assistant", "content": "a"}],
    "non_preferred_output": [{"role": "assistant", "content": "b"}],
}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def pairs(tmp_path: Path) -> str:
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(PAIR) + "\n", encoding="utf-8")
    return str(path)


def test_a_preference_pair_without_dpo(pairs: str) -> None:
    result = invoke("jobs", "create", "mock/tiny", pairs)
    assert result.exit_code == 1
    assert "trains with --method dpo only" in result.stderr and "method=" not in result.stderr
    with pytest.raises(TuneplugError) as info:
        tuneplug.get_model("mock/tiny").start_fine_tune(pairs)
    assert 'trains with method="dpo" only' in str(info.value)
    assert "--method" not in str(info.value)


def test_a_base_model_given_to_fine_tune(pairs: str) -> None:
    result = invoke("fine-tune", "mock/tiny", pairs)
    assert result.exit_code == 1
    assert "(`tuneplug adapters create mock/tiny --name NAME`)" in result.stderr
    assert "create_adapter" not in result.stderr
    with pytest.raises(CapabilityError) as info:
        tuneplug.get_model("mock/tiny").fine_tune(["a sample"])
    assert "(create_adapter(name))" in str(info.value) and "tuneplug " not in str(info.value)


def test_following_a_job_nothing_runs() -> None:
    jobs = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    job = jobs.create(tuneplug.JobSpec(model="tiny", training_data=["a sample"]), start="none")
    job_store().set_status(job.id, "running")  # as a killed runner leaves it
    result = invoke("jobs", "events", job.ref, "--follow")
    assert result.exit_code == 1
    assert result.stderr.strip().endswith(f"(resume it with `tuneplug jobs resume {job.ref}`)")
    with pytest.raises(TuneplugError) as info:
        job.wait(timeout=5)
    assert str(info.value).endswith("(resume it with job.resume())")


@pytest.mark.parametrize("method", [None, "sft"])
def test_beta_applies_only_to_dpo_whatever_the_provider(data_file: str, method: str | None) -> None:
    given = {} if method is None else {"method": method}
    with pytest.raises(OptionError) as info:
        tuneplug.get_model("mock/tiny").start_fine_tune(data_file, extra={"beta": 0.1}, **given)
    assert str(info.value) == 'beta applies only to method="dpo"'
    assert info.value.option == "beta"  # not "unknown option 'beta'"
    flags = ["--method", method] if method else []
    result = invoke("jobs", "create", "mock/tiny", data_file, "-o", "beta=0.1", *flags)
    assert (result.exit_code, result.stderr) == (
        2,
        "error: -o beta: applies only to --method dpo\n",
    )
    assert tuneplug.list_jobs().data == []


@pytest.fixture
def data_file(tmp_path: Path) -> str:
    path = tmp_path / "data.jsonl"
    path.write_text('"a sample"\n', encoding="utf-8")
    return str(path)


def test_setting_speaks_the_callers_words() -> None:
    assert setting("method", "dpo") == 'method="dpo"'
    assert setting("n_epochs", 3) == "n_epochs=3"
    with speaking_flags():
        assert setting("method", "dpo") == "--method dpo"
        assert setting("n_epochs") == "--epochs"
        assert setting("volume", 3) == "volume=3"  # no flag sets it: its Python name
        with speaking_python():  # serve's requests answer HTTP clients
            assert setting("method", "dpo") == 'method="dpo"'
        assert setting("method") == "--method"
    assert setting("method") == "method"
