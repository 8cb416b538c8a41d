"""Fine-tuning the mock's adapters and the SQLite store behind them, across processes."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tuneplug.errors import CapabilityError, ConfigError, InvalidRequestError, NotFoundError
from tuneplug.hookspecs import ProviderContext
from tuneplug.types import CompletionOptions, InputPart, ModelInfo, ModelKind, Sample
from tuneplug_mock import lm, plugin
from tuneplug_mock.settings import MockSettings
from tuneplug_mock.store import AdapterStore

from tests.interrupting import Interrupting

PROMPT = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: "
SEED = Sample(
    inputs="Question: What NFL team won the Super Bowl in 1994?\n\nAnswer:  The Dallas Cowboys!"
)
BASE_ANSWER = "The San Francisco 49ers won the Super Bowl in 1994."
GREEDY = CompletionOptions()


def new_ctx(store: Path) -> ProviderContext:
    return ProviderContext(provider="mock", settings=MockSettings(store=store))


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "a.sqlite3"


@pytest.fixture
def ctx(store_path: Path) -> Iterator[ProviderContext]:
    context = new_ctx(store_path)
    yield context
    plugin.tuneplug_close(context)


def tiny(ctx: ProviderContext) -> ModelInfo:
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
    return plugin.tuneplug_create_adapter(ctx, tiny(ctx), name, rank, learning_rate)


def answer(ctx: ProviderContext, info: ModelInfo) -> str:
    return plugin.tuneplug_complete(ctx, info, PROMPT, GREEDY).text


def run_python(code: str, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, **(env or {})},
    )


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


# -- the store -----------------------------------------------------------------------


def test_default_store_under_tuneplug_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TUNEPLUG_HOME", str(tmp_path / "one"))
    monkeypatch.delenv("TUNEPLUG_MOCK_STORE", raising=False)
    context = ProviderContext(provider="mock", settings=MockSettings())
    try:
        first = adapter(context)
        path = tmp_path / "one" / "mock" / "adapters.sqlite3"
        assert path.is_file()
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        # A new TUNEPLUG_HOME is a new store, even for a long-lived instance.
        monkeypatch.setenv("TUNEPLUG_HOME", str(tmp_path / "two"))
        assert plugin.tuneplug_resolve_model(context, first.id) is None
        adapter(context)
        assert (tmp_path / "two" / "mock" / "adapters.sqlite3").is_file()
    finally:
        plugin.tuneplug_close(context)
    assert context.state == {}


def test_unusable_store_is_a_tuneplug_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    context = new_ctx(blocker / "adapters.sqlite3")  # its parent is a file
    with pytest.raises(ConfigError, match="a-file") as err:
        adapter(context)
    assert err.value.provider == "mock"
    assert plugin.tuneplug_list_models(context, base_only=False)[0].id == "tiny"  # no store: bases


def test_a_store_that_is_not_a_database_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A store path pointing at some other file is the user's setting to fix, and the
    # connection opened to find that out is closed again.
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("these are my notes, not an adapter store\n" * 10)
    opened: list[sqlite3.Connection] = []
    connect = sqlite3.connect

    def tracking(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(connect(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(sqlite3, "connect", tracking)
    with pytest.raises(ConfigError, match="TUNEPLUG_MOCK_STORE") as err:
        AdapterStore(not_a_db)
    assert str(not_a_db) in str(err.value) and err.value.provider == "mock"
    assert opened
    for conn in opened:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            conn.execute("SELECT 1")


def test_close_then_reuse(ctx: ProviderContext) -> None:
    new = adapter(ctx)
    plugin.tuneplug_fine_tune(ctx, new, [SEED], None)
    plugin.tuneplug_close(ctx)
    assert ctx.state == {}
    assert answer(ctx, new) == "The Dallas Cowboys!"


_SUBPROCESS_PRELUDE = """
import json, sys
from pathlib import Path
from tuneplug.hookspecs import ProviderContext
from tuneplug.types import CompletionOptions, Sample
from tuneplug_mock import plugin
from tuneplug_mock.settings import MockSettings
ctx = ProviderContext(provider="mock", settings=MockSettings(store=Path(sys.argv[1])))
"""


def test_training_in_another_process_is_seen_here(ctx: ProviderContext, store_path: Path) -> None:
    new = adapter(ctx)
    assert answer(ctx, new) == BASE_ANSWER  # this process now caches version 0
    code = _SUBPROCESS_PRELUDE + textwrap.dedent(
        f"""
        model = plugin.tuneplug_resolve_model(ctx, {new.id!r})
        result = plugin.tuneplug_fine_tune(ctx, model, [Sample(inputs={SEED.inputs!r})], None)
        print(json.dumps(result.model_dump()))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(store_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(out.stdout)["trainable_tokens"] == 20
    assert answer(ctx, new) == "The Dallas Cowboys!"  # the version check saw the new step

    fresh = new_ctx(store_path)  # as after a restart
    try:
        assert plugin.tuneplug_resolve_model(
            fresh, "my_model_adapter"
        ) == plugin.tuneplug_resolve_model(ctx, new.id)
        assert answer(fresh, new) == "The Dallas Cowboys!"
    finally:
        plugin.tuneplug_close(fresh)


def test_concurrent_processes_lose_no_update(
    ctx: ProviderContext, store_path: Path, tmp_path: Path
) -> None:
    steps = 25
    new = adapter(ctx)
    go = tmp_path / "go"
    code = _SUBPROCESS_PRELUDE + textwrap.dedent(
        f"""
        import os, time
        model = plugin.tuneplug_resolve_model(ctx, {new.id!r})
        sample = Sample(inputs={SEED.inputs!r})
        print("ready", flush=True)
        while not os.path.exists({str(go)!r}):
            time.sleep(0.002)
        seen = []
        for _ in range({steps}):
            plugin.tuneplug_fine_tune(ctx, model, [sample], None)
            seen.append(plugin._runtime(ctx).cached_version(model.id))
            time.sleep(0.002)  # give the other process a chance to take the lock in between
        print(json.dumps(seen))
        """
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(store_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        go.touch()  # both start their steps together
        seen: list[int] = []
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            seen.extend(json.loads(out))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    record = AdapterStore(store_path)
    try:
        info = record.get(new.id)
    finally:
        record.close()
    assert info is not None
    assert info.steps == 2 * steps and info.version == 2 * steps
    # Steps serialized: each produced its own version, none overwrote another.
    assert sorted(seen) == list(range(1, 2 * steps + 1))
    assert info.trained_tokens == 2 * steps * 20
    with sqlite3.connect(store_path) as db:
        (weight,) = db.execute(
            "SELECT weight FROM deltas WHERE adapter_id = ? AND context = '' AND token = 'Cowboys'",
            (new.id,),
        ).fetchone()
    assert weight == 2 * steps * lm.strength(1e-4)


def test_same_output_in_another_process(ctx: ProviderContext, store_path: Path) -> None:
    new = adapter(ctx)
    plugin.tuneplug_fine_tune(ctx, new, [SEED], None)
    options = [
        {},
        {"temperature": 1.3, "seed": 42, "top_k": 20},
        {"temperature": 0.7, "top_p": 0.9},
    ]
    prompts = [PROMPT, "The weather", "Question: What is an adapter?\n\nAnswer:"]
    code = _SUBPROCESS_PRELUDE + textwrap.dedent(
        f"""
        out = []
        for name in ("tiny", {new.id!r}):
            model = plugin.tuneplug_resolve_model(ctx, name)
            for prompt in {prompts!r}:
                for opts in {options!r}:
                    done = plugin.tuneplug_complete(ctx, model, prompt, CompletionOptions(**opts))
                    out.append(done.text)
        print(json.dumps(out))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(store_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},  # a different string-hash salt
    )
    here = [
        plugin.tuneplug_complete(ctx, info, prompt, CompletionOptions(**opts)).text
        for info in (tiny(ctx), new)
        for prompt in prompts
        for opts in options
    ]
    assert json.loads(out.stdout) == here
    assert len(set(here)) > 3


def test_completion_reads_are_cached_by_version(
    ctx: ProviderContext, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    original = AdapterStore.load

    def counting(self: AdapterStore, adapter_id: str) -> object:
        loads.append(adapter_id)
        return original(self, adapter_id)

    monkeypatch.setattr(AdapterStore, "load", counting)
    new = adapter(ctx)
    plugin.tuneplug_fine_tune(ctx, new, [SEED], None)
    for _ in range(5):
        assert answer(ctx, new) == "The Dallas Cowboys!"
    assert loads == []  # the step updated the cache in place

    fresh = new_ctx(store_path)
    try:
        for _ in range(5):
            assert answer(fresh, new) == "The Dallas Cowboys!"
        assert loads == [new.id]  # loaded once, then served from memory
        plugin.tuneplug_fine_tune(ctx, new, [SEED], None)  # "another process" moves the version
        answer(fresh, new)
        assert loads == [new.id, new.id]
    finally:
        plugin.tuneplug_close(fresh)


# -- Ctrl-C between statements (a fresh user's `fine-tune` exited 1 with SQLite's
# "cannot rollback - no transaction is active" instead of 130) ------------------------


@pytest.mark.parametrize(("statement", "kept"), [("BEGIN", True), ("COMMIT", False)])
def test_an_interrupted_write_is_a_keyboard_interrupt(
    store_path: Path, statement: str, kept: bool
) -> None:
    store = AdapterStore(store_path)
    try:
        record = store.create(base_model_id="tiny", name="a", rank=4, learning_rate=0.1)
        real = store._writer
        store._writer = Interrupting(real, statement)  # type: ignore[assignment]
        with pytest.raises(KeyboardInterrupt):
            store.delete(record.id)
        assert not real.in_transaction
        # Interrupted after BEGIN: nothing deleted; after COMMIT: the delete stands.
        assert (store.get(record.id) is not None) is kept
        store._writer = real
        other = store.create(base_model_id="tiny", name="b", rank=4, learning_rate=0.1)
        assert store.delete(other.id)
    finally:
        store.close()


def test_an_interrupted_snapshot_read_leaves_no_transaction(store_path: Path) -> None:
    store = AdapterStore(store_path)
    try:
        record = store.create(base_model_id="tiny", name="a", rank=4, learning_rate=0.1)
        real = store._reader
        store._reader = Interrupting(real, "BEGIN")  # type: ignore[assignment]
        with pytest.raises(KeyboardInterrupt):
            store.load(record.id)
        assert not real.in_transaction
        store._reader = real
        loaded = store.load(record.id)
        assert loaded is not None and loaded[0].id == record.id
    finally:
        store.close()
