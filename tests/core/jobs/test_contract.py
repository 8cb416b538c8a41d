"""The mock passes the fine-tuning jobs contract suite in-process (the local job runner)."""

from __future__ import annotations

from tuneplug.testing.contract import FineTuneJobsContract


class TestMockJobsContract(FineTuneJobsContract):
    """mock/tiny through the local job runner: learns the seed answer."""

    provider = "mock"
    base_model = "tiny"
    learned_answer = "The Dallas Cowboys!"
