"""``tuneplug_copy_adapter`` on the mock: a copy holds the source's settings, counters and
weights as of one transaction, and nothing later; it trains on its own; a base model, an
empty name or a missing adapter is refused, nothing written."""

from __future__ import annotations

import sqlite3

import pytest
from tuneplug.errors import CapabilityError, InvalidRequestError, NotFoundError
from tuneplug.hookspecs import ProviderContext
from tuneplug_mock import plugin
from tuneplug_mock.store import AdapterStore

from tests.mock.hooks import SEED, adapter, answer, tiny


def _weights(path: str, adapter_id: str) -> list[tuple[str, str, float]]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT context, token, weight FROM deltas WHERE adapter_id = ? ORDER BY 1, 2",
            (adapter_id,),
        ).fetchall()
    return [(c, t, w) for c, t, w in rows]


def test_a_copy_is_the_source_as_it_was_and_stays_so(ctx: ProviderContext) -> None:
    source = adapter(ctx, rank=4, learning_rate=0.02)
    plugin.tuneplug_fine_tune(ctx, source, [SEED], "job:1")
    copy = plugin.tuneplug_copy_adapter(ctx, source, "ckpt")
    assert (copy.name, copy.base_model_id, copy.kind) == ("ckpt", "tiny", source.kind)
    assert copy.id != source.id and plugin.tuneplug_resolve_model(ctx, "ckpt") == copy
    path = str(ctx.settings.store)
    before = _weights(path, source.id)
    assert before and _weights(path, copy.id) == before
    store = AdapterStore(ctx.settings.store)
    try:
        made, was = store.get(copy.id), store.get(source.id)
        assert made is not None and was is not None
        assert (made.rank, made.learning_rate, made.steps, made.trained_tokens) == (
            was.rank, was.learning_rate, was.steps, was.trained_tokens,
        )  # fmt: skip
    finally:
        store.close()
    assert answer(ctx, copy) == answer(ctx, source)

    plugin.tuneplug_fine_tune(ctx, source, [SEED], "job:2")
    assert _weights(path, source.id) != before and _weights(path, copy.id) == before
    # Trainable on its own: the same step on the copy leads where it led the source.
    plugin.tuneplug_fine_tune(ctx, copy, [SEED], "job:copy:2")
    assert _weights(path, copy.id) == _weights(path, source.id) != before
    plugin.tuneplug_delete_adapter(ctx, copy)
    assert (plugin.tuneplug_resolve_model(ctx, source.id) or copy).id == source.id


def test_a_base_model_an_empty_name_or_a_missing_adapter_is_refused(
    ctx: ProviderContext,
) -> None:
    source = adapter(ctx)
    with pytest.raises(CapabilityError):
        plugin.tuneplug_copy_adapter(ctx, tiny(ctx), "x")
    with pytest.raises(InvalidRequestError, match="name"):
        plugin.tuneplug_copy_adapter(ctx, source, " ")
    plugin.tuneplug_delete_adapter(ctx, source)
    with pytest.raises(NotFoundError, match=source.id):
        plugin.tuneplug_copy_adapter(ctx, source, "x")
    assert [m.id for m in plugin.tuneplug_list_models(ctx, base_only=False)] == ["tiny", "echo"]
