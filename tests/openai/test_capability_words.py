"""What a command says when a provider cannot do it: the provider named once (the
error's prefix), no internal class name, and the way that works when there is one.

A fresh user met ``error: local: provider 'local' cannot fine-tune: it does not
implement FineTunable`` (no word of ``jobs create``, which works for it) and
``... jobs of provider 'local' cannot be deleted: its job backend (OpenAIJobs) does
not implement delete()``; ``jobs pause`` printed ``paused (paused)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.cli_runner import invoke
from tests.openai.fake import OpenAIFake, serve

SAMPLE = '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]}'


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[OpenAIFake]:
    with serve(monkeypatch) as server:
        (tmp_path / "data.jsonl").write_text(SAMPLE + "\n" + SAMPLE + "\n")
        monkeypatch.chdir(tmp_path)
        yield server


def test_fine_tune_on_a_job_service_points_at_jobs_create(fake: OpenAIFake) -> None:
    result = invoke("fine-tune", "openai/gpt-4o-mini", "data.jsonl")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: openai: cannot fine-tune: the provider does not implement FineTunable; it "
        "runs fine-tuning jobs: `tuneplug jobs create MODEL DATA` "
        "(model.start_fine_tune(data) in Python)\n"
    )
    assert fake.server.requests == []  # refused before anything is sent


def test_an_optional_job_method_the_service_lacks_names_no_class(fake: OpenAIFake) -> None:
    created = invoke("jobs", "create", "openai/gpt-4o-mini", "data.jsonl", "--detach")
    assert created.exit_code == 0, created.stderr
    ref = created.stdout.split()[0]
    result = invoke("jobs", "delete", ref)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: openai: this provider's jobs cannot be deleted: its job service offers no delete\n"
    )
