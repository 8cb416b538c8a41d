"""The server's persisted Gradient id mapping."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from tuneplug_gradient.protocol.backend import _timestamp
from tuneplug_gradient.protocol.ids import IdStore, base_id

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_base_ids_are_derived_and_adapter_ids_are_fresh(tmp_path: Path) -> None:
    store = IdStore(tmp_path)
    base = store.ensure("mock/tiny", "base")
    first = store.ensure("mock/tiny-adapter-1", "adapter")
    second = store.ensure("mock/tiny-adapter-2", "adapter")
    store.close()
    assert base.gradient_id == base_id("mock/tiny")
    assert re.fullmatch(UUID + "_base_ml_model", base.gradient_id)
    assert re.fullmatch(UUID + "_model_adapter", first.gradient_id)
    assert len(first.gradient_id) == len(base.gradient_id) == 50
    assert first.gradient_id != second.gradient_id


def test_the_mapping_survives_reopening_and_forgets_deleted_adapters(tmp_path: Path) -> None:
    store = IdStore(tmp_path)
    row = store.ensure("mock/a", "adapter")
    gone = store.ensure("mock/b", "adapter")
    store.forget(gone.gradient_id)
    store.close()

    reopened = IdStore(tmp_path)
    assert reopened.ensure("mock/a", "adapter") == row
    assert reopened.by_gradient_id(row.gradient_id) == row
    assert reopened.by_gradient_id(gone.gradient_id) is None
    assert reopened.ensure("mock/b", "adapter").gradient_id != gone.gradient_id
    reopened.close()


def test_touch_moves_the_update_time_forward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tuneplug_gradient.protocol.ids as server_ids

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", server_ids.now_iso())
    # A clock under the test's control: a touch that writes nothing keeps the first time.
    clock = iter(["2024-01-09T12:00:00.000Z"] * 2 + ["2024-01-09T12:05:00.000Z"])
    monkeypatch.setattr(server_ids, "now_iso", lambda: next(clock))
    store = IdStore(tmp_path)
    row = store.ensure("mock/a", "adapter")
    other = store.ensure("mock/b", "adapter")
    assert row.updated_at == "2024-01-09T12:00:00.000Z"
    store.touch(row.gradient_id)
    touched = store.by_gradient_id(row.gradient_id)
    untouched = store.by_gradient_id(other.gradient_id)
    store.close()
    assert touched is not None and touched.updated_at == "2024-01-09T12:05:00.000Z"
    assert untouched == other  # only the row touched


def test_concurrent_ensures_agree_on_one_id(tmp_path: Path) -> None:
    stores = [IdStore(tmp_path) for _ in range(2)]  # two "processes" on one file
    seen: list[str] = []
    barrier = threading.Barrier(8)

    def worker(index: int) -> None:
        barrier.wait()
        seen.append(stores[index % 2].ensure("mock/shared", "adapter").gradient_id)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert len(set(seen)) == 1 and len(seen) == 8


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-28T05:24:16.114+00:00", "2026-11-28T05:24:16.114Z"),
        ("2024-01-09T14:00:00+02:00", "2024-01-09T12:00:00.000Z"),
        ("2024-01-09 12:00:00", "2024-01-09T12:00:00.000Z"),
        ("yesterday", None),
        (None, None),
    ],
)
def test_backend_update_times_are_written_the_gradient_way(
    value: str | None, expected: str | None
) -> None:
    assert _timestamp(value) == expected
