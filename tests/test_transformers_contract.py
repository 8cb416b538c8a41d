"""The transformers provider passes the contract suites on a tiny real model, offline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from transformers_kit import configure
from tuneplug.testing.contract import FineTunableContract

pytest.importorskip("torch")


class TestTransformersContract(FineTunableContract):
    """transformers/tiny: completes, streams, chats, and trains LoRA adapters."""

    provider = "transformers"
    base_model = "tiny"
    max_tokens = 8
    provider_options: ClassVar[dict[str, Any]] = {"repetition_penalty": 1.1}

    @pytest.fixture
    def provider_env(self, tuneplug_home: Any) -> Iterator[None]:
        configure(tuneplug_home)
        yield
