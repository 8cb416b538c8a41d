"""One training step in progress: the adapter as of the step, and its write."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from tuneplug_mock.store.schema import SEP, AdapterRecord, Row, decode, utc_now

__all__ = ["Training"]


class Training:
    """One training step in progress: the adapter as of the step, and its write."""

    def __init__(self, conn: sqlite3.Connection, record: AdapterRecord) -> None:
        """Wrap an open ``BEGIN IMMEDIATE`` transaction on ``record``'s adapter."""
        self._conn = conn
        self.record = record
        self.new_version: int | None = None

    def rows(self) -> list[Row]:
        """Every delta of the adapter, as of this step."""
        cursor = self._conn.execute(
            "SELECT context, token, weight FROM deltas WHERE adapter_id = ?", (self.record.id,)
        )
        return [(decode(c), t, w) for c, t, w in cursor]

    def recorded(self, key: str) -> tuple[int, float] | None:
        """The ``(trainable tokens, summed loss)`` recorded for ``key`` on this adapter."""
        row = self._conn.execute(
            "SELECT trainable_tokens, sum_loss FROM applied_steps WHERE key = ? AND adapter_id = ?",
            (key, self.record.id),
        ).fetchone()
        return None if row is None else (int(row[0]), float(row[1]))

    def record_key(self, key: str, tokens: int, sum_loss: float) -> None:
        """Record ``key`` with the step's result, in this step's transaction."""
        self._conn.execute(
            "INSERT INTO applied_steps (key, adapter_id, trainable_tokens, sum_loss) "
            "VALUES (?, ?, ?, ?)",
            (key, self.record.id, tokens, sum_loss),
        )

    def drop_unsound(self, bound: float) -> int:
        """Delete weights outside ``[-bound, bound]`` (infinities included); how many went."""
        gone = self._conn.execute(
            "DELETE FROM deltas WHERE adapter_id = ? AND NOT (weight BETWEEN ? AND ?)",
            (self.record.id, -bound, bound),
        )
        return gone.rowcount

    def add(self, delta: Mapping[tuple[tuple[str, ...], str], float], tokens: int) -> int:
        """Add ``delta`` to the adapter's weights; return the adapter's new version."""
        adapter_id = self.record.id
        self._conn.executemany(
            "INSERT INTO deltas (adapter_id, context, token, weight) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (adapter_id, context, token) DO UPDATE "
            "SET weight = weight + excluded.weight",
            ((adapter_id, SEP.join(c), t, w) for (c, t), w in delta.items()),
        )
        self.new_version = self.record.version + 1
        self._conn.execute(
            "UPDATE adapters SET version = ?, steps = steps + 1, "
            "trained_tokens = trained_tokens + ?, updated_at = ? WHERE id = ?",
            (self.new_version, tokens, utc_now(), adapter_id),
        )
        return self.new_version
