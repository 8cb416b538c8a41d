"""The jobs facade and the local job runner, on the mock and on in-process plugins."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import tuneplug
from tuneplug.errors import (
    CapabilityError,
    InvalidRequestError,
    NotFoundError,
    SampleFileError,
    ServerError,
    TimeoutError,
)
from tuneplug.jobs.data import SampleFile, permuted, write_samples
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.types import FineTuneResult, Sample

from tests.core.plugin_kit import COMPLETER, FINETUNABLE

QUESTION = "Question: What is the name of the Dallas NFL team?\n\nAnswer: "
ANSWER = "The Dallas Cowboys!"
SEED = [{"inputs": QUESTION + ANSWER}]


def local(provider: str) -> LocalJobs:
    backend = tuneplug.get_model(f"{provider}/base" if provider != "mock" else "mock/tiny")
    return LocalJobs(backend.provider)


def test_seed_flow_as_a_job_on_the_mock() -> None:
    base = tuneplug.get_model("mock/tiny")
    assert base.complete(QUESTION, max_tokens=8).text != ANSWER
    job = base.start_fine_tune(SEED * 4, n_epochs=3, batch_size=2, seed=7)
    events: list[tuneplug.JobEvent] = []
    done = job.wait(on_event=events.append, timeout=60)
    assert done.status is tuneplug.JobStatus.SUCCEEDED and done.progress == 1.0
    steps = [e for e in events if e.step is not None]
    assert [e.step for e in steps] == [1, 2, 3, 4, 5, 6]
    losses = [e.metrics["loss"] for e in steps]
    assert all(math.isfinite(x) for x in losses) and losses[-1] < losses[0]
    assert done.trained_tokens == sum(int(e.metrics["tokens"]) for e in steps)
    assert len({e.id for e in events}) == len(events)  # each event once
    trained = tuneplug.get_model(done.fine_tuned_model)
    assert trained.complete(QUESTION, max_tokens=8).text == ANSWER
    assert trained.info.name == done.id  # named from the job id without a suffix
    assert tuneplug.get_job(done.ref) == done
    assert tuneplug.get_job(done.id).id == done.id  # a bare id of a local job


def test_a_job_from_a_file_with_validation_reports_valid_loss(tmp_path: Path) -> None:
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(s) + "\n" for s in SEED * 3))
    job = tuneplug.get_model("mock/tiny").start_fine_tune(
        str(train), n_epochs=2, validation_data=SEED, suffix="cowboys"
    )
    done = job.wait(timeout=60)
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    valid = [e.metrics for e in done.events(limit=100) if "valid_loss" in e.metrics]
    assert [m["epoch"] for m in valid] == [1.0, 2.0]
    assert valid[1]["valid_loss"] < valid[0]["valid_loss"]
    assert tuneplug.get_model(done.fine_tuned_model).info.name == "cowboys"
    train.unlink()  # the job keeps its own copy: nothing depends on the user's file
    assert tuneplug.get_job(done.ref).status is tuneplug.JobStatus.SUCCEEDED


def test_training_an_adapter_in_place() -> None:
    adapter = tuneplug.get_model("mock/tiny").create_adapter("mine", rank=8)
    done = adapter.start_fine_tune(SEED, n_epochs=2).wait(timeout=60)
    assert done.fine_tuned_model == adapter.ref
    with pytest.raises(InvalidRequestError, match="trained in place"):
        adapter.start_fine_tune(SEED, rank=4)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"n_epochs": 0}, "n_epochs"),
        ({"learning_rate": 0.1, "learning_rate_multiplier": 2.0}, "not both"),
        ({"epochs": 2}, "epochs"),
        ({"learning_rate_multiplier": 2.0}, "learning_rate_multiplier"),
        ({"method": "dpo"}, "dpo"),
        ({"validation_data": 42}, "validation_data"),
        ({"lora_alpha": 16.0}, "lora_alpha"),
        ({"extra": {"warmup": 3}}, "warmup"),
    ],
)
def test_bad_specs_fail_before_any_io(spec: dict[str, object], match: str) -> None:
    model = tuneplug.get_model("mock/tiny")
    with pytest.raises(InvalidRequestError, match=match):
        model.start_fine_tune(SEED, **spec)
    assert not list(job_store().path.parent.glob("ftjob-*"))


def test_bad_samples_leave_no_job(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('"fine"\n{"inputs": ""}\n')
    model = tuneplug.get_model("mock/tiny")
    with pytest.raises(SampleFileError, match=":2"):
        model.start_fine_tune(str(path))
    with pytest.raises(InvalidRequestError, match="training_data"):
        model.start_fine_tune(b"bytes")
    assert tuneplug.list_jobs("mock").data == []
    assert [m.id for m in tuneplug.list_models("mock")] == ["tiny", "echo"]  # no adapter made


def test_a_provider_without_fine_tuning_has_no_jobs(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    register("plain", make_plugin("plain", COMPLETER))
    with pytest.raises(CapabilityError, match="jobs"):
        tuneplug.get_model("plain/base").start_fine_tune(SEED)


def test_list_get_cancel_and_pages() -> None:
    jobs = local("mock")
    spec = tuneplug.JobSpec(model="tiny", training_data=SEED)
    made = [jobs.create(spec, start="none") for _ in range(3)]
    page = tuneplug.list_jobs("mock", limit=2)
    assert [j.id for j in page] == [made[2].id, made[1].id] and page.has_more
    rest = tuneplug.list_jobs("mock", after=page[-1].id, limit=2)
    assert [j.id for j in rest] == [made[0].id] and not rest.has_more
    assert [j.id for j in tuneplug.list_jobs()] == [j.id for j in reversed(made)]

    cancelled = made[0].cancel()  # nothing runs it: cancelled at once
    assert cancelled.status is tuneplug.JobStatus.CANCELLED and cancelled.finished_at
    with pytest.raises(InvalidRequestError, match="nothing to resume"):
        jobs.resume(made[0].id)
    done = jobs.run(made[1].id)
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    with pytest.raises(InvalidRequestError, match="already succeeded"):
        done.cancel()
    with pytest.raises(NotFoundError):
        tuneplug.get_job("mock/ftjob-missing")
    with pytest.raises(tuneplug.InvalidRequestError, match=r"^bad job reference .mock/."):
        tuneplug.get_job("mock/")


def test_cancel_while_running_stops_before_the_next_step() -> None:
    jobs = local("mock")
    spec = tuneplug.JobSpec(model="tiny", training_data=SEED * 6, batch_size=1)
    job = jobs.create(spec, start="none")
    seen: list[int] = []

    def on_event(event: tuneplug.JobEvent) -> None:
        if event.step is not None:
            seen.append(event.step)
            if event.step == 2:
                assert jobs.cancel(job.id).status is tuneplug.JobStatus.CANCELLING

    final = jobs.run(job.id, on_event)
    assert final.status is tuneplug.JobStatus.CANCELLED and seen == [1, 2]
    assert final.trained_tokens and final.progress == pytest.approx(2 / 6)


def test_wait_times_out_and_names_an_interrupted_job() -> None:
    jobs = local("mock")
    job = jobs.create(tuneplug.JobSpec(model="tiny", training_data=SEED), start="none")
    with pytest.raises(TimeoutError, match="queued"):
        job.wait(timeout=0)
    job_store().set_status(job.id, "running")  # as a killed runner leaves it
    current = job.refresh()
    assert current.status is tuneplug.JobStatus.PAUSED and current.raw_status == "interrupted"
    with pytest.raises(tuneplug.TuneplugError, match=r"resume it with job\.resume\(\)\)$"):
        job.wait(timeout=5)  # Python's words; the CLI's say `tuneplug jobs resume ...`


def _flaky(make_plugin, register, error: Exception, name: str = "flaky"):  # type: ignore[no-untyped-def]
    sent: list[list[str]] = []
    state = {"failed": False}

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        if len(sent) == 1 and not state["failed"]:
            state["failed"] = True
            raise error
        sent.append([s.text for s in samples])
        return FineTuneResult(trainable_tokens=len(samples), sum_loss=1.0)

    register(name, make_plugin(name, (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    return sent


def test_a_refused_step_is_sent_again_on_resume(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    sent = _flaky(make_plugin, register, ServerError("busy", provider="flaky", status=503))
    jobs = local("flaky")
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b", "c"], batch_size=1, seed=1)
    job = jobs.create(spec, start="none")
    with pytest.raises(ServerError, match="busy"):
        jobs.run(job.id)
    failed = job.refresh()
    assert failed.status is tuneplug.JobStatus.FAILED and "busy" in (failed.error or "")
    done = jobs.run(job.id)  # resume: the refused step 2 goes again, once
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    assert sorted(s[0] for s in sent) == ["a", "b", "c"]


def test_an_uncertain_step_stops_a_provider_without_keys(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    sent = _flaky(make_plugin, register, TimeoutError("read timed out", provider="flaky"))
    jobs = local("flaky")
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b", "c"], batch_size=1)
    job = jobs.create(spec, start="none")
    with pytest.raises(TimeoutError):
        jobs.run(job.id)
    with pytest.raises(InvalidRequestError, match=f"job {job.id} cannot be continued: step 2 "):
        jobs.run(job.id)
    stopped = jobs.get(job.id)
    assert stopped.status is tuneplug.JobStatus.FAILED
    assert f"step 2 of job {job.id} may or may not have been applied" in (stopped.error or "")
    assert len(sent) == 1  # nothing was sent again


def test_validation_without_an_evaluate_hook_is_said_in_an_event(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    register("noeval", make_plugin("noeval", (*COMPLETER, *FINETUNABLE)))
    job = tuneplug.get_model("noeval/base").start_fine_tune(["a b"], validation_data=["c"])
    done = job.wait(timeout=60)
    assert done.status is tuneplug.JobStatus.SUCCEEDED
    (warning,) = [e for e in done.events() if e.level == "warn"]
    assert "tuneplug_evaluate" in warning.message and "valid_loss" not in warning.metrics


def test_capability_jobs_follows_from_the_step_hooks(make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    register("ft", make_plugin("ft", (*COMPLETER, *FINETUNABLE)))
    register("plain", make_plugin("plain", COMPLETER))
    assert tuneplug.Capability.JOBS in tuneplug.get_model("ft/base").provider.capabilities
    assert tuneplug.Capability.JOBS not in tuneplug.get_model("plain/base").provider.capabilities


# -- the job's data ----------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 5, 16, 17, 1000])
def test_permuted_is_a_seeded_permutation(n: int) -> None:
    first = [permuted(n, 42, 0)[i] for i in range(n)]
    assert sorted(first) == list(range(n))
    assert first == [permuted(n, 42, 0)[i] for i in range(n)]  # deterministic
    if n >= 16:
        assert first != [permuted(n, 42, 1)[i] for i in range(n)]  # another epoch, another order
        assert first != [permuted(n, 43, 0)[i] for i in range(n)]
    with pytest.raises(IndexError):
        permuted(n, 42, 0)[n]


def test_sample_copy_reads_back_by_position(tmp_path: Path) -> None:
    samples = [Sample(inputs=f"sample {i} ü", multiplier=1.0 + i % 2) for i in range(6)]
    assert write_samples(samples, tmp_path / "d.jsonl") == 6
    with SampleFile(tmp_path / "d.jsonl") as copy:
        assert len(copy) == 6
        assert copy.batch([5, 0]) == [samples[5], samples[0]]
        assert list(copy.in_order()) == samples
