"""The mock provider passes the contract suites in-process."""

from __future__ import annotations

from tuneplug.testing.contract import FineTunableContract


class TestMockContract(FineTunableContract):
    """mock/tiny: completes, fine-tunes, and really learns the seed answer."""

    provider = "mock"
    base_model = "tiny"
    learned_answer = "The Dallas Cowboys!"
