"""The mock provider called hook by hook, as its tests do: the seed sample, a context on a
store of its own (the ``ctx`` and ``store_path`` fixtures of ``tests/mock/conftest.py``), and
the calls that create, ask and resolve."""

from __future__ import annotations

from pathlib import Path

from tuneplug.hookspecs import ProviderContext
from tuneplug.types import CompletionOptions, ModelInfo, Sample
from tuneplug_mock import plugin
from tuneplug_mock.settings import MockSettings

__all__ = ["BASE_ANSWER", "GREEDY", "PROMPT", "SEED", "adapter", "answer", "new_ctx", "tiny"]

PROMPT = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: "
SEED = Sample(
    inputs="Question: What NFL team won the Super Bowl in 1994?\n\nAnswer:  The Dallas Cowboys!"
)
BASE_ANSWER = "The San Francisco 49ers won the Super Bowl in 1994."
GREEDY = CompletionOptions()


def new_ctx(store: Path) -> ProviderContext:
    """A mock provider instance keeping its adapters in ``store`` (a SQLite file)."""
    return ProviderContext(provider="mock", settings=MockSettings(store=store))


def tiny(ctx: ProviderContext) -> ModelInfo:
    """The base model ``tiny``, resolved through the hook."""
    info = plugin.tuneplug_resolve_model(ctx, "tiny")
    assert info is not None
    return info


def adapter(
    ctx: ProviderContext,
    name: str = "my_model_adapter",
    *,
    rank: int | None = None,
    learning_rate: float | None = None,
) -> ModelInfo:
    """A new adapter on ``tiny`` (``None``: the provider's default rank, learning rate)."""
    return plugin.tuneplug_create_adapter(ctx, tiny(ctx), name, rank, learning_rate)


def answer(ctx: ProviderContext, info: ModelInfo) -> str:
    """``info``'s greedy completion of ``PROMPT``."""
    return plugin.tuneplug_complete(ctx, info, PROMPT, GREEDY).text
