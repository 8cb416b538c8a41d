"""``tuneplug jobs`` as a newcomer meets it (issue 12).

Kinds and siblings: ``jobs list`` leaving out native jobs (and a provider that is
unconfigured or fails not ending the list); the model column differing between
providers (``jobs list``, ``get``, the summary, ``--json``); what Ctrl-C says about
the job (``wait``: it keeps running; attached ``create``: it resumes); articles in
messages built from names; ``jobs create`` flags JobSpec has (``-o``, ``--lora-alpha``,
``--lora-dropout``, ``--method``). ``batch``'s lock file and Ctrl-C: tests/core/batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import tuneplug
from tuneplug.jobs.types import Job, JobStatus

from tests.core.cli_runner import invoke
from tests.core.jobs.native_kit import NativeJobs


def test_jobs_list_without_provider_has_local_and_native_jobs(
    natives: dict[str, Any], data: str
) -> None:
    done = invoke("jobs", "create", "mock/tiny", data, "--json")
    assert done.exit_code == 0, done.stderr
    local_ref = json.loads(done.stdout)["ref"]
    result = invoke("jobs", "list", "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["data"]
    assert [r["ref"] for r in rows] == [local_ref, "native/ftjob-native1"]  # newest first
    # Each source asked for one page, no more than the limit.
    assert natives["native"].listed == [20] and natives["broken"].listed == [20]
    # One line each on stderr for what was passed by; the list still printed.
    assert "warning: provider 'broken' skipped: upstream is down" in result.stderr
    assert "note: provider 'unset' not configured: set UNSET_API_KEY" in result.stderr


def test_the_model_column_is_a_reference_for_every_provider(
    natives: dict[str, Any], data: str
) -> None:
    assert invoke("jobs", "create", "mock/tiny", data).exit_code == 0
    table = invoke("jobs", "list").stdout.splitlines()
    models = {line.split()[0]: line.split()[2] for line in table[1:]}
    assert set(models.values()) == {"mock/tiny", "native/base"}
    rows = json.loads(invoke("jobs", "list", "--json").stdout)["data"]
    assert {r["model_ref"] for r in rows} == {"mock/tiny", "native/base"}
    local = next(r["ref"] for r in rows if r["provider"] == "mock")
    assert "model:             mock/tiny" in invoke("jobs", "get", local).stdout


def test_the_more_line_pages_the_whole_listing_on(natives: dict[str, Any], data: str) -> None:
    for _ in range(3):
        assert invoke("jobs", "create", "mock/tiny", data).exit_code == 0
    first = invoke("jobs", "list", "--limit", "2")
    assert first.exit_code == 0
    # The older native job did not fit either: one command pages both on.
    (hint,) = [line for line in first.stderr.splitlines() if line.startswith("more")]
    assert hint.startswith("more (mock, native): tuneplug jobs list --after mock:ftjob-")
    assert hint.endswith(",native: --limit 2")
    assert json.loads(invoke("jobs", "list", "--limit", "2", "--json").stdout)["has_more"]
    rest = invoke("jobs", "list", *hint.split(": ", 1)[1].split()[3:])
    assert rest.exit_code == 0 and "more" not in rest.stderr
    assert rest.stdout.count("mock/ftjob-") == 1 and rest.stdout.count("native/ftjob-") == 1


def test_interrupting_jobs_wait_says_the_job_keeps_running(
    data: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = invoke("jobs", "create", "mock/tiny", data, "--json")
    ref = json.loads(created.stdout)["ref"]

    def interrupted(self: Job, **kwargs: Any) -> Job:
        raise KeyboardInterrupt

    monkeypatch.setattr(Job, "wait", interrupted)
    result = invoke("jobs", "wait", ref)
    assert result.exit_code == 130
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error: ")]
    assert "the job keeps running" in line
    assert f"tuneplug jobs wait {ref}" in line and f"tuneplug jobs cancel {ref}" in line
    assert "it goes on" not in line


def test_resuming_a_native_job_names_the_provider_with_no_article(natives: dict[str, Any]) -> None:
    result = invoke("jobs", "resume", "native/ftjob-native1", "--detach")
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert (
        line
        == "error: native: this provider's jobs cannot be resumed: its job service offers no resume"
    )


def test_lora_flags_a_provider_does_not_take_are_a_usage_error(data: str) -> None:
    result = invoke("jobs", "create", "mock/tiny", data, "--lora-alpha", "16", "--rank", "4")
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line == (
        "error: --lora-alpha: not taken by this provider's adapters "
        "(they declare no lora_alpha option)"
    )
    assert list(tuneplug.list_jobs()) == []


def test_jobs_create_sends_o_options_as_the_spec_extra(
    make_plugin: Callable[..., Any], register: Callable[..., Any], data: str
) -> None:
    seen: list[Any] = []

    class Recording(NativeJobs):
        def create(self, spec: Any) -> Job:
            seen.append(spec)
            return self._job().model_copy(update={"status": JobStatus.SUCCEEDED})

    register("native", make_plugin("native", jobs=lambda ctx: Recording("native")))
    result = invoke(
        "jobs", "create", "native/base", data, "-o", 'metadata={"team": "a"}', "-o", "tier=2",
        "--lora-alpha", "8", "--lora-dropout", "0.05", "--method", "dpo", "--detach", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    (spec,) = seen
    assert spec.extra == {"metadata": {"team": "a"}, "tier": 2}
    assert (spec.lora_alpha, spec.lora_dropout, spec.method) == (8.0, 0.05, "dpo")
    assert json.loads(result.stdout)["model_ref"] == "native/base"


def test_interrupting_jobs_events_follow_says_the_job_keeps_running(
    data: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = json.loads(invoke("jobs", "create", "mock/tiny", data, "--json").stdout)["ref"]

    def interrupted(self: Job, **kwargs: Any) -> Job:
        raise KeyboardInterrupt

    monkeypatch.setattr(Job, "wait", interrupted)
    result = invoke("jobs", "events", ref, "--follow")
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == (
        f"error: interrupted; the job keeps running; follow it again with "
        f"`tuneplug jobs events {ref} -f`"
    )


@pytest.mark.parametrize("command", ["create", "wait"])
def test_following_a_providers_job_that_drops_out_says_the_job_goes_on(
    make_plugin: Callable[..., Any], register: Callable[..., Any], data: str, command: str
) -> None:
    class Restarting(NativeJobs):
        """Its service restarts while the job is followed: every read fails after it
        was created (or, for `jobs wait`, found)."""

        def create(self, spec: Any) -> Job:
            return self._job()

        reads = 0

        def get(self, job_id: str) -> Job:
            self.reads += 1
            if command == "wait" and self.reads == 1:
                return self._job()  # `jobs wait` found it: it drops out while followed
            raise tuneplug.errors.ConnectionError(
                "cannot connect to http://127.0.0.1:1 (gave up after 3 attempts)",
                provider="native",
            )

    backend = Restarting("native")
    register("native", make_plugin("native", jobs=lambda ctx: backend))
    args = ["jobs", "create", "native/base", data] if command == "create" else []
    ref = "native/ftjob-native1"
    result = invoke(*args) if args else invoke("jobs", "wait", ref)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "error: native: cannot connect to http://127.0.0.1:1 (gave up after 3 attempts); "
        "only following it stopped: the job goes on at 'native'; follow it again with "
        f"`tuneplug jobs wait {ref}` or stop it with `tuneplug jobs cancel {ref}`"
    )
