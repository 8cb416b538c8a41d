"""``tuneplug jobs pause|resume|checkpoints|delete|prune``: output streams and exit codes."""

from __future__ import annotations

import json

import tuneplug
from tuneplug.jobs.local import LocalJobs, job_store
from tuneplug.types import FineTuneResult

from tests.core.jobs.test_cli import error_lines, invoke, ok
from tests.core.plugin_kit import COMPLETER, FINETUNABLE

SEED = [{"inputs": "Question: hi?\n\nAnswer: hello."}] * 4


def _queued() -> tuneplug.Job:
    jobs = LocalJobs(tuneplug.get_model("mock/tiny").provider)
    spec = tuneplug.JobSpec(model="tiny", training_data=SEED, n_epochs=2, batch_size=2, seed=1)
    return jobs.create(spec, start="none")


def test_pause_then_resume_in_the_foreground_to_the_end() -> None:
    job = _queued()
    paused = ok(invoke("jobs", "pause", job.ref))
    assert paused.stdout == f"{job.ref} paused\n"
    shown = json.loads(ok(invoke("jobs", "get", job.ref, "--json")).stdout)
    assert shown["status"] == "paused"
    resumed = ok(invoke("jobs", "resume", job.ref))
    assert "succeeded" in resumed.stdout and "4/4" in resumed.stderr
    assert job_store().get(job.id).steps_done == 4


def test_checkpoints_table_and_json() -> None:
    job = _queued()
    ok(invoke("jobs", "resume", job.ref))
    table = ok(invoke("jobs", "checkpoints", job.ref)).stdout
    lines = [line for line in table.splitlines() if "ftckpt-" in line]
    assert len(lines) == 2 and " 4 " in lines[0] and " 2 " in lines[1]
    assert job.refresh().fine_tuned_model in lines[0]
    page = json.loads(ok(invoke("jobs", "checkpoints", job.ref, "--json", "--limit", "1")).stdout)
    assert page["has_more"] is True and page["data"][0]["step_number"] == 4
    assert page["data"][0]["metrics"]["train_loss"] > 0


def test_delete_refuses_a_job_not_ended_then_deletes_it() -> None:
    job = _queued()
    (line,) = error_lines(invoke("jobs", "delete", job.ref))
    assert "is queued, not ended: cancel it first" in line
    ok(invoke("jobs", "cancel", job.ref))
    assert ok(invoke("jobs", "delete", job.ref)).stdout == f"deleted {job.ref}\n"
    (line,) = error_lines(invoke("jobs", "get", job.ref))
    assert "no job" in line


def test_prune_lists_deletes_and_says_how_many() -> None:
    done, waiting = _queued(), _queued()
    ok(invoke("jobs", "resume", done.ref))
    dry = ok(invoke("jobs", "prune", "--older-than", "0s", "--dry-run"))
    assert dry.stdout == f"{done.ref}\n" and "would delete 1 job(s)" in dry.stderr
    assert job_store().get(done.id)
    pruned = json.loads(ok(invoke("jobs", "prune", "--older-than", "0s", "--json")).stdout)
    assert pruned == {
        "deleted": [done.ref], "would_delete": [],
        "orphans_deleted": [], "orphans_would_delete": [],  # directories with no record
        "skipped_served": [],  # a gateway's jobs (none here)
    }  # fmt: skip
    assert job_store().get(waiting.id).status == "queued"
    kept = ok(invoke("jobs", "prune", "--older-than", "7d"))
    assert kept.stdout == "" and "deleted 0 job(s)" in kept.stderr


def test_prune_needs_a_valid_age_as_a_usage_error() -> None:
    missing = invoke("jobs", "prune")
    assert missing.exit_code == 2 and "--older-than" in missing.stderr
    bad = invoke("jobs", "prune", "--older-than", "7 days")
    assert bad.exit_code == 2 and "expected a number and a unit" in bad.stderr


def test_a_job_paused_while_attached_ends_the_command_with_how_to_resume(
    make_plugin,
    register,  # type: ignore[no-untyped-def]
) -> None:
    def fine_tune(ctx, model, samples, idempotency_key):  # type: ignore[no-untyped-def]
        if idempotency_key.endswith(":1"):  # another terminal pauses it during step 1
            tuneplug.get_job(idempotency_key.split(":")[0]).pause()
        return FineTuneResult(trainable_tokens=len(samples), sum_loss=1.0)

    register("p", make_plugin("p", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    path = job_store().path.parent.parent / "two.jsonl"
    path.write_text('"a"\n"b"\n')
    result = invoke("jobs", "create", "p/base", str(path), "--batch-size", "1")
    (line,) = error_lines(result)
    assert "is not running: it was paused (resume it with `tuneplug jobs resume p/ftjob-" in line
    assert "status:            paused" in result.stdout
