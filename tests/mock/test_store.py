"""The SQLite store behind the mock's adapters: where it lives, unusable stores, closing,
training seen across processes without a lost update, cached reads, and Ctrl-C between
statements."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from tuneplug.errors import ConfigError
from tuneplug.hookspecs import ProviderContext
from tuneplug.types import CompletionOptions
from tuneplug_mock import lm, plugin
from tuneplug_mock.settings import MockSettings
from tuneplug_mock.store import AdapterStore

from tests.interrupting import Interrupting
from tests.mock.hooks import BASE_ANSWER, PROMPT, SEED, adapter, answer, new_ctx, tiny


def run_python(
    code: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -c code args...`` in a fresh process; raises if it fails (60 s at most)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, **(env or {})},
    )


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
    out = run_python(code, str(store_path))
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
    # a different string-hash salt
    out = run_python(code, str(store_path), env={"PYTHONHASHSEED": "12345"})
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
