"""The transformers provider passes the contract suites on a tiny real model, offline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from tuneplug.testing.contract import FineTunableContract

from tests.transformers.kit import configure

pytest.importorskip("torch")


class TestTransformersContract(FineTunableContract):
    """transformers/tiny: completes, streams, chats, and trains LoRA adapters."""

    provider = "transformers"
    base_model = "tiny"
    capabilities: ClassVar[frozenset[str]] = frozenset({"complete", "fine_tune", "chat"})
    max_tokens = 8
    # The random tiny base model answers without spaces, so the suite's stop test (which
    # picks a word of the answer) skips here; test_transformers_provider.py tests stop
    # sequences on a trained adapter whose answer has words.
    provider_options: ClassVar[dict[str, Any]] = {"repetition_penalty": 1.1}

    @pytest.fixture
    def provider_env(self, tuneplug_home: Any) -> Iterator[None]:
        configure(tuneplug_home)
        yield
