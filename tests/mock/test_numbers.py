"""Numbers that poison state (issue 12): bounded inputs, a mock that stays finite.

Kind: a value that makes a provider's stored state non-finite. Siblings: an
unbounded multiplier (refused before any work), a step whose sum would leave
the bound (refused, nothing changed), an adapter an unbounded version already
poisoned (repaired: its corrupt weights are ignored and removed).
"""

from __future__ import annotations

import math
import sqlite3

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError
from tuneplug.types import MAX_MULTIPLIER
from tuneplug_mock import lm
from tuneplug_mock.plugin import _runtime

PROMPT = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: "


def _version(adapter: tuneplug.Model) -> int:
    store = _runtime(adapter.provider.ctx).store()
    assert store is not None
    version = store.version(adapter.info.id)
    assert version is not None
    return version


@pytest.fixture
def adapter() -> tuneplug.Model:
    return tuneplug.get_model("mock/tiny").create_adapter(name="numbers", learning_rate=0.5)


@pytest.mark.parametrize("multiplier", [1e308, math.inf, math.nan, MAX_MULTIPLIER * 2])
def test_an_unbounded_multiplier_is_refused_before_any_work(
    adapter: tuneplug.Model, multiplier: float
) -> None:
    before = _version(adapter)
    with pytest.raises(InvalidRequestError, match="multiplier"):
        adapter.fine_tune([{"inputs": "hello world", "multiplier": multiplier}])
    assert _version(adapter) == before


def test_the_largest_multiplier_trains_and_stays_finite(adapter: tuneplug.Model) -> None:
    result = adapter.fine_tune([{"inputs": "hello world", "multiplier": MAX_MULTIPLIER}])
    again = adapter.fine_tune([{"inputs": "hello world", "multiplier": MAX_MULTIPLIER}])
    assert math.isfinite(result.sum_loss) and math.isfinite(again.sum_loss)
    assert again.sum_loss < result.sum_loss
    assert adapter.complete("hello", max_tokens=3, temperature=0.7, seed=1).text


def test_a_step_past_the_bound_is_refused_and_changes_nothing(
    adapter: tuneplug.Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter.fine_tune([PROMPT + "The Dallas Cowboys!"])
    before = (_version(adapter), adapter.complete(PROMPT, max_tokens=6).text)
    # The real bound takes ~50,000 maximal steps to reach; a low one shows the same rule.
    monkeypatch.setattr(lm, "MAX_WEIGHT", 1e4)
    with pytest.raises(InvalidRequestError, match="nothing was changed") as info:
        adapter.fine_tune([{"inputs": PROMPT + "The Buffalo Bills!", "multiplier": 1000}])
    assert info.value.provider == "mock"
    assert (_version(adapter), adapter.complete(PROMPT, max_tokens=6).text) == before


def test_an_adapter_poisoned_by_an_older_version_is_repaired(adapter: tuneplug.Model) -> None:
    adapter.fine_tune([PROMPT + "The Dallas Cowboys!"])
    runtime = _runtime(adapter.provider.ctx)
    path = runtime.path
    runtime.close()
    # What an unbounded multiplier used to write: infinite weights.
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE deltas SET weight = ? WHERE adapter_id = ? AND token = ?",
            (math.inf, adapter.info.id, "Dallas"),
        )
        conn.execute("UPDATE adapters SET version = version + 1 WHERE id = ?", (adapter.info.id,))
    text = adapter.complete(PROMPT, max_tokens=6, temperature=0.8, seed=3).text
    assert isinstance(text, str)
    result = adapter.fine_tune([PROMPT + "The Dallas Cowboys!"])
    assert math.isfinite(result.sum_loss) and result.trainable_tokens > 0
    with sqlite3.connect(path) as conn:
        (bad,) = conn.execute(
            "SELECT COUNT(*) FROM deltas WHERE adapter_id = ? AND NOT (weight BETWEEN ? AND ?)",
            (adapter.info.id, -lm.MAX_WEIGHT, lm.MAX_WEIGHT),
        ).fetchone()
    assert bad == 0
    assert "Dallas" in adapter.complete(PROMPT, max_tokens=6).text
