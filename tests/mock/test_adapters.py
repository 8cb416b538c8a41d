"""Fine-tuning the mock's adapters through its hooks: the notebook's flow, what one step
learns (loss, multiplier, learning rate, rank, trainable parts), and what is refused."""

from __future__ import annotations

import asyncio
import itertools
import math
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from tuneplug.errors import CapabilityError, InvalidRequestError, NotFoundError
from tuneplug.hookspecs import ProviderContext
from tuneplug.types import InputPart, ModelInfo, ModelKind, Sample
from tuneplug_mock import lm, plugin

from tests.mock.hooks import BASE_ANSWER, GREEDY, PROMPT, SEED, adapter, answer, tiny

# -- the notebook's flow -------------------------------------------------------------


def test_seed_flow_one_step_teaches_the_right_answer(ctx: ProviderContext) -> None:
    new = adapter(ctx)
    assert new.kind is ModelKind.ADAPTER and new.base_model_id == "tiny"
    assert new.id.startswith("tiny-adapter-") and len(new.id) == len("tiny-adapter-") + 12
    assert answer(ctx, new) == BASE_ANSWER  # an untrained adapter is the base model

    result = plugin.tuneplug_fine_tune(ctx, new, [SEED], None)
    assert result.trainable_tokens == 20  # 19 words and marks, plus end-of-text
    assert math.isfinite(result.sum_loss) and result.sum_loss > 0

    trained = answer(ctx, new)
    assert trained.startswith("The Dallas Cowboys")
    assert trained == "The Dallas Cowboys!"
    assert answer(ctx, tiny(ctx)) == BASE_ANSWER  # only the adapter changed


def test_adapter_listed_and_resolved_by_id_and_name(ctx: ProviderContext) -> None:
    new = adapter(ctx, "solo")
    listed = plugin.tuneplug_list_models(ctx, base_only=False)
    assert [m.id for m in listed] == ["tiny", "echo", new.id]
    assert [m.id for m in plugin.tuneplug_list_models(ctx, base_only=True)] == ["tiny", "echo"]
    assert plugin.tuneplug_resolve_model(ctx, new.id) == new
    assert plugin.tuneplug_resolve_model(ctx, "solo") == new
    adapter(ctx, "solo")
    with pytest.raises(InvalidRequestError, match="2 adapters are named 'solo'"):
        plugin.tuneplug_resolve_model(ctx, "solo")


def test_repeating_a_step_lowers_the_loss(ctx: ProviderContext) -> None:
    new = adapter(ctx)
    losses = [plugin.tuneplug_fine_tune(ctx, new, [SEED], None).sum_loss for _ in range(4)]
    assert all(later < earlier for earlier, later in itertools.pairwise(losses))


def test_loss_is_measured_before_the_update(ctx: ProviderContext) -> None:
    new = adapter(ctx)
    first = plugin.tuneplug_fine_tune(ctx, new, [SEED, SEED], None)
    # Both copies are scored under the untrained adapter, i.e. the base model.
    expected = lm.loss(lm.base_model(), [lm.prepare(SEED)])
    assert first.trainable_tokens == 2 * expected[0]
    assert first.sum_loss == pytest.approx(2 * expected[1])


def test_bigger_multiplier_means_bigger_update(ctx: ProviderContext) -> None:
    plain, boosted = adapter(ctx, "plain"), adapter(ctx, "boosted")
    heavy = Sample(inputs=SEED.inputs, multiplier=3.0)
    first_plain = plugin.tuneplug_fine_tune(ctx, plain, [SEED], None).sum_loss
    first_boosted = plugin.tuneplug_fine_tune(ctx, boosted, [heavy], None).sum_loss
    assert first_plain == pytest.approx(first_boosted)  # the loss itself is not scaled
    assert (
        plugin.tuneplug_fine_tune(ctx, boosted, [SEED], None).sum_loss
        < plugin.tuneplug_fine_tune(ctx, plain, [SEED], None).sum_loss
    )


def test_bigger_learning_rate_means_bigger_update(ctx: ProviderContext) -> None:
    slow, fast = adapter(ctx, "slow", learning_rate=1e-4), adapter(ctx, "fast", learning_rate=5e-4)
    first = [plugin.tuneplug_fine_tune(ctx, m, [SEED], None).sum_loss for m in (slow, fast)]
    second = [plugin.tuneplug_fine_tune(ctx, m, [SEED], None).sum_loss for m in (slow, fast)]
    assert first[0] == pytest.approx(first[1])
    assert second[1] < second[0]


def test_tiny_learning_rate_is_too_weak_for_one_step(ctx: ProviderContext) -> None:
    weak = adapter(ctx, learning_rate=1e-6)
    plugin.tuneplug_fine_tune(ctx, weak, [SEED], None)
    assert answer(ctx, weak) == BASE_ANSWER


def test_rank_bounds_what_an_adapter_learns(ctx: ProviderContext) -> None:
    narrow, wide = adapter(ctx, "r1", rank=1), adapter(ctx, "r32", rank=32)
    for m in (narrow, wide):
        plugin.tuneplug_fine_tune(ctx, m, [SEED], None)
    assert answer(ctx, wide) == "The Dallas Cowboys!"
    assert not answer(ctx, narrow).startswith("The Dallas Cowboys")
    second = [plugin.tuneplug_fine_tune(ctx, m, [SEED], None).sum_loss for m in (narrow, wide)]
    assert second[1] < second[0]


def test_structured_inputs_train_only_trainable_parts(ctx: ProviderContext) -> None:
    question = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer:"
    structured = Sample(
        inputs=[
            InputPart(value=question, trainable=False),
            InputPart(value="  The Dallas Cowboys!"),
        ]
    )
    new = adapter(ctx)
    result = plugin.tuneplug_fine_tune(ctx, new, [structured], None)
    assert result.trainable_tokens == 5  # The Dallas Cowboys ! </s>
    # The question still gave the context: the answer is learned for this question.
    assert answer(ctx, new) == "The Dallas Cowboys!"
    full = lm.prepare(SEED)
    base = lm.base_model()
    answer_only = sum(
        base.nll(full.history[i - lm.ORDER + 1 : i], full.history[i]) for i in full.targets[-5:]
    )
    assert result.sum_loss == pytest.approx(answer_only)

    frozen = Sample(inputs=[InputPart(value=question, trainable=False)])
    other = adapter(ctx, "frozen")
    nothing = plugin.tuneplug_fine_tune(ctx, other, [frozen], None)
    assert nothing.trainable_tokens == 0 and nothing.sum_loss == 0.0
    assert answer(ctx, other) == BASE_ANSWER


def test_afine_tune_matches_fine_tune(ctx: ProviderContext) -> None:
    sync_model, async_model = adapter(ctx, "sync"), adapter(ctx, "async")
    expected = [plugin.tuneplug_fine_tune(ctx, sync_model, [SEED], None) for _ in range(2)]

    async def steps() -> list[Any]:
        return [await plugin.tuneplug_afine_tune(ctx, async_model, [SEED], None) for _ in range(2)]

    assert asyncio.run(steps()) == expected
    assert answer(ctx, async_model) == "The Dallas Cowboys!"


def test_delete_adapter(ctx: ProviderContext) -> None:
    new = adapter(ctx)
    plugin.tuneplug_fine_tune(ctx, new, [SEED], None)
    plugin.tuneplug_delete_adapter(ctx, new)
    assert plugin.tuneplug_resolve_model(ctx, new.id) is None
    assert [m.id for m in plugin.tuneplug_list_models(ctx, base_only=False)] == ["tiny", "echo"]
    with sqlite3.connect(ctx.settings.store) as db:
        assert db.execute("SELECT COUNT(*) FROM deltas").fetchone() == (0,)


# -- errors --------------------------------------------------------------------------


def test_unknown_adapter_is_not_found_everywhere(ctx: ProviderContext) -> None:
    ghost = ModelInfo(
        id="tiny-adapter-000000000000", provider="mock", name="ghost", kind=ModelKind.ADAPTER
    )
    calls: list[Callable[[], object]] = [
        lambda: plugin.tuneplug_complete(ctx, ghost, PROMPT, GREEDY),
        lambda: plugin.tuneplug_stream(ctx, ghost, PROMPT, GREEDY),
        lambda: plugin.tuneplug_fine_tune(ctx, ghost, [SEED], None),
        lambda: plugin.tuneplug_delete_adapter(ctx, ghost),
        lambda: asyncio.run(plugin.tuneplug_afine_tune(ctx, ghost, [SEED], None)),
    ]
    for call in calls:
        with pytest.raises(NotFoundError) as err:
            call()
        assert err.value.status is None and err.value.provider == "mock"  # no HTTP involved


def test_deleted_adapter_is_not_found(ctx: ProviderContext) -> None:
    new = adapter(ctx)
    answer(ctx, new)  # cache its weights
    plugin.tuneplug_delete_adapter(ctx, new)
    with pytest.raises(NotFoundError):
        answer(ctx, new)
    with pytest.raises(NotFoundError):
        plugin.tuneplug_delete_adapter(ctx, new)


def test_fine_tuning_a_base_model_says_create_an_adapter(ctx: ProviderContext) -> None:
    for name in ("tiny", "echo"):
        info = plugin.tuneplug_resolve_model(ctx, name)
        assert info is not None
        with pytest.raises(CapabilityError, match="create an adapter first") as err:
            plugin.tuneplug_fine_tune(ctx, info, [SEED], None)
        assert err.value.provider == "mock"
        with pytest.raises(InvalidRequestError, match="only adapters can be deleted"):
            plugin.tuneplug_delete_adapter(ctx, info)


def test_adapters_only_on_tiny(ctx: ProviderContext) -> None:
    echo = plugin.tuneplug_resolve_model(ctx, "echo")
    assert echo is not None
    with pytest.raises(CapabilityError, match="echo"):
        plugin.tuneplug_create_adapter(ctx, echo, "x", None, None)
    new = adapter(ctx)
    with pytest.raises(InvalidRequestError, match="is an adapter"):
        plugin.tuneplug_create_adapter(ctx, new, "x", None, None)


@pytest.mark.parametrize("learning_rate", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_bad_learning_rate(ctx: ProviderContext, learning_rate: float) -> None:
    with pytest.raises(InvalidRequestError, match="learning_rate") as err:
        adapter(ctx, learning_rate=learning_rate)
    assert err.value.provider == "mock"


@pytest.mark.parametrize("rank", [0, 33, -1])
def test_bad_rank(ctx: ProviderContext, rank: int) -> None:
    with pytest.raises(InvalidRequestError, match="rank"):
        adapter(ctx, rank=rank)
