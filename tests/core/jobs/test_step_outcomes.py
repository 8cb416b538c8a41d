"""What a job says about a step whose outcome is unknown: how it was lost, what the
adapter holds, and the provider named once (``tuneplug.jobs.outcomes``).

A plugin's step that raises, or returns the wrong type, *answered*: the job must not
say "the run stopped before it answered", nor "steps 1..0".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import (
    InvalidRequestError,
    PluginError,
    ServerError,
    TimeoutError,
    UnknownModelError,
)
from tuneplug.jobs.local import LocalJobs
from tuneplug.jobs.outcomes import uncertain_message
from tuneplug.types import FineTuneResult

from tests.core.cli_runner import invoke
from tests.core.plugin_kit import local_jobs


@pytest.mark.parametrize(
    ("step", "holds"),
    [
        (1, "none of its steps, perhaps step 1"),
        (2, "step 1, perhaps step 2"),
        (3, "steps 1..2, perhaps step 3"),
        (40, "steps 1..39, perhaps step 40"),
    ],
)
def test_what_the_adapter_holds_reads_right_for_every_step(step: int, holds: str) -> None:
    said = uncertain_message("ftjob-1", step, "zap", "ad")
    assert f"(the adapter holds {holds}); to go on, start a new job on the adapter" in said
    assert "stopped before 'zap' answered" in said  # no cause given: the run stopped


FAULTS = {
    "raises": (lambda: (_ for _ in ()).throw(ValueError("boom")), "raised ValueError: boom"),
    "wrong type": (lambda: 7, "returned int"),
    "times out": (
        lambda: (_ for _ in ()).throw(TimeoutError("read timed out", provider="zap")),
        "read timed out",
    ),
    "500": (
        lambda: (_ for _ in ()).throw(ServerError("broke", provider="zap", status=500)),
        "broke (HTTP 500)",
    ),
}


def _zap(make_plugin: Any, register: Any, fault: Any, at: int) -> LocalJobs:
    sent: list[int] = []

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        sent.append(1)
        if len(sent) == at:
            return fault()
        return FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    return local_jobs(make_plugin, register, "zap", fine_tune=fine_tune)  # type: ignore[no-any-return]


@pytest.mark.parametrize("at", [1, 3])
@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_a_failed_step_says_it_failed_not_that_the_run_stopped(
    make_plugin: Any, register: Any, fault: str, at: int
) -> None:
    make, words = FAULTS[fault]
    jobs = _zap(make_plugin, register, make, at)
    spec = tuneplug.JobSpec(model="base", training_data=["a", "b", "c", "d"], batch_size=1)
    job = jobs.create(spec, start="none")
    with pytest.raises((PluginError, TimeoutError, ServerError)) as info:
        jobs.run(job.id)
    error = jobs.get(job.id).error or ""
    assert words in error and not error.startswith("zap:")  # the job is zap's: not said again
    assert error == str(info.value).removeprefix("zap: ")
    with pytest.raises(InvalidRequestError) as refused:  # no keys: it cannot go on
        jobs.run(job.id)
    again = jobs.get(job.id)  # and the job now says why, once
    target = jobs.store.get(job.id).target
    holds = "none of its steps" if at == 1 else "steps 1..2"
    assert again.error == (
        f"step {at} of job {job.id} may or may not have been applied: sending it failed with "
        f"an error that does not prove it was not ({error}), and 'zap' does not take "
        "idempotency keys, so sending it again could train on that batch twice; the job "
        f"stops here instead of guessing (the adapter holds {holds}, perhaps step {at}); to go "
        f"on, start a new job on the adapter as it is now (`tuneplug jobs create zap/{target} "
        "DATA`)"
    )
    assert str(refused.value).startswith(f"zap: job {job.id} cannot be continued: step {at} ")
    events = jobs.store.events_newest(job.id, None, 1000)[0]
    for resume in (jobs.run, jobs.resume):  # later tries say the same, journal nothing
        with pytest.raises(InvalidRequestError) as later:
            resume(job.id)
        assert str(later.value) == str(refused.value)
    assert jobs.get(job.id).error == again.error
    assert jobs.store.events_newest(job.id, None, 1000)[0] == events


def test_the_cli_names_the_provider_once(make_plugin: Any, register: Any, tmp_path: Path) -> None:
    _zap(make_plugin, register, FAULTS["raises"][0], 1)
    data = tmp_path / "seed.jsonl"
    data.write_text('"a"\n"b"\n', encoding="utf-8")
    created = invoke("jobs", "create", "zap/base", str(data), "--epochs", "2")
    assert created.exit_code == 1, (created.stderr, created.exception)
    (job,) = tuneplug.list_jobs(provider="zap")
    last = created.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: zap: job {job.id} failed: plugin 'zap'")
    assert last.count("zap") == 2  # the provider, then the plugin that failed
    resumed = invoke("jobs", "resume", f"zap/{job.id}")
    assert resumed.exit_code == 1, (resumed.stderr, resumed.exception)
    (last,) = resumed.stderr.strip().splitlines()  # refused up front: no bar, no summary
    assert last.startswith(f"error: zap: job {job.id} cannot be continued: step 1 may or")
    assert last.count(f"job {job.id}") == 1  # named once (its adapter is named after it)
    assert "sending it failed with an error that does not prove it was not (plugin 'zap'" in last
    assert "1..0" not in last and "stopped before" not in last


def test_an_error_before_any_step_names_the_provider_once(make_plugin: Any, register: Any) -> None:
    # User 5 (#11): "zap: job ftjob-… failed: zap: unknown model …" (the model is resolved
    # before the first step, and that error was journalled with its prefix).
    gone: list[bool] = []
    base = tuneplug.ModelInfo(
        id="base", name="base", provider="zap", capabilities=frozenset({"complete", "fine_tune"})
    )

    def resolve_model(ctx, name):  # type: ignore[no-untyped-def]
        return None if gone else base

    jobs = local_jobs(make_plugin, register, "zap", resolve_model=resolve_model)
    job = jobs.create(tuneplug.JobSpec(model="base", training_data=["a"]), start="none")
    gone.append(True)
    with pytest.raises(UnknownModelError) as info:
        jobs.run(job.id)
    assert str(info.value).startswith("zap: ")
    error = jobs.get(job.id).error or ""
    assert error == str(info.value).removeprefix("zap: ")
    assert "zap:" not in error
