"""What the Gradient fault tests share (``test_faults.py``, ``test_fault_retries.py``): the
adapter they call, each call sync or async, and the check every error passes."""

from __future__ import annotations

import asyncio
from typing import Any

import tuneplug
from tuneplug import errors

from tests.gradient.fake import ADAPTER_ID, TOKEN

__all__ = ["ADAPTER_REF", "MODES", "adapter", "check", "complete", "fine_tune"]

ADAPTER_REF = f"gradient/{ADAPTER_ID}"
MODES = ["sync", "async"]


def adapter() -> tuneplug.Model:
    """The fake's adapter."""
    return tuneplug.get_model(ADAPTER_REF)


def complete(mode: str) -> Any:
    """``complete("Q")`` on the adapter, ``mode`` ``sync`` or ``async``."""
    model = adapter()
    return model.complete("Q") if mode == "sync" else asyncio.run(model.acomplete("Q"))


def fine_tune(mode: str) -> Any:
    """One fine-tuning step on the adapter, ``mode`` ``sync`` or ``async``."""
    model = adapter()
    if mode == "sync":
        return model.fine_tune(["sample"])
    return asyncio.run(model.afine_tune(["sample"]))


def check(exc: errors.TuneplugError) -> None:
    """The error names the provider and shows no part of the token, however printed."""
    assert exc.provider == "gradient"
    for text in (str(exc), repr(exc), exc.message):
        assert TOKEN not in text
