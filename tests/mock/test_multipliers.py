"""A sample's ``multiplier`` scales the mock's update exactly, whatever its value.

``tests/mock/test_adapters.py`` shows a bigger multiplier trains more; these pin the
amount: one step adds ``strength(learning_rate) * multiplier`` to every n-gram of a
trainable token, for multipliers below, at and above 1, and per sample in a batch.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from tuneplug.hookspecs import ProviderContext
from tuneplug.types import Sample
from tuneplug_mock import lm, plugin

TEXT = "the Cowboys won"


def _stored(store: Path, adapter_id: str, token: str) -> float:
    with sqlite3.connect(store) as db:
        (weight,) = db.execute(
            "SELECT weight FROM deltas WHERE adapter_id = ? AND context = '' AND token = ?",
            (adapter_id, token),
        ).fetchone()
    return float(weight)


@pytest.mark.parametrize("multiplier", [None, 0.25, 1.0, 3.0])
def test_delta_is_per_token_times_multiplier(multiplier: float | None) -> None:
    prepared = lm.prepare(Sample(inputs=TEXT, multiplier=multiplier))
    delta = lm.delta_for([prepared], per_token=2.0, max_context=7)
    expected = 2.0 * (1.0 if multiplier is None else multiplier)
    assert delta and set(delta.values()) == {expected}
    # Every trainable token (3 words and end-of-text) with contexts of 0..7 tokens.
    assert len(delta) == 4 * 8


def test_samples_in_one_batch_keep_their_own_multiplier() -> None:
    light = lm.prepare(Sample(inputs="alpha", multiplier=0.5))
    heavy = lm.prepare(Sample(inputs="beta", multiplier=4.0))
    delta = lm.delta_for([light, heavy], per_token=1.0, max_context=0)
    assert delta[((), "alpha")] == 0.5 and delta[((), "beta")] == 4.0
    assert delta[((), lm.EOS)] == 4.5  # both end their text


@pytest.mark.parametrize("multiplier", [0.5, 2.0])
def test_one_step_stores_the_scaled_update(
    ctx: ProviderContext, store_path: Path, multiplier: float
) -> None:
    tiny = plugin.tuneplug_resolve_model(ctx, "tiny")
    assert tiny is not None
    one = plugin.tuneplug_create_adapter(ctx, tiny, "one", None, 1e-4)
    scaled = plugin.tuneplug_create_adapter(ctx, tiny, "scaled", None, 1e-4)
    plugin.tuneplug_fine_tune(ctx, one, [Sample(inputs=TEXT)], None)
    plugin.tuneplug_fine_tune(ctx, scaled, [Sample(inputs=TEXT, multiplier=multiplier)], None)
    assert _stored(store_path, one.id, "Cowboys") == lm.strength(1e-4)
    assert _stored(store_path, scaled.id, "Cowboys") == pytest.approx(
        multiplier * lm.strength(1e-4)
    )
