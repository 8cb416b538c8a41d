"""The adapter store: reads, and writes each in one transaction."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tuneplug.errors import ModelNotFoundError

from tuneplug_mock.store.schema import (
    COLUMNS,
    SCHEMA,
    AdapterRecord,
    Row,
    decode,
    to_record,
    utc_now,
)
from tuneplug_mock.store.sqlite import PROVIDER, connect, immediate, translated
from tuneplug_mock.store.training import Training

__all__ = ["AdapterStore"]


class AdapterStore:
    """The SQLite adapter store at ``path`` (created with its parent directories)."""

    def __init__(self, path: Path) -> None:
        """Open (and if needed create) the store."""
        self.path = path
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()
        with translated(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = connect(self.path)
            try:
                self._writer.execute("PRAGMA journal_mode = WAL")
                with immediate(self._writer):
                    for statement in SCHEMA.split(";"):
                        if statement.strip():
                            self._writer.execute(statement)
                self._reader = connect(self.path)
            except BaseException:
                self._writer.close()  # the store is unusable: nothing may stay open
                raise

    def close(self) -> None:
        """Close both connections."""
        with self._write_lock, self._read_lock:
            self._writer.close()
            self._reader.close()

    # -- reads -------------------------------------------------------------------

    def get(self, adapter_id: str) -> AdapterRecord | None:
        """The adapter ``adapter_id``, or ``None``."""
        with self._read_lock, translated(self.path):
            row = self._reader.execute(
                f"SELECT {COLUMNS} FROM adapters WHERE id = ?", (adapter_id,)
            ).fetchone()
        return to_record(row)

    def version(self, adapter_id: str) -> int | None:
        """The adapter's version (one indexed lookup), or ``None`` if it does not exist."""
        with self._read_lock, translated(self.path):
            row = self._reader.execute(
                "SELECT version FROM adapters WHERE id = ?", (adapter_id,)
            ).fetchone()
        return None if row is None else int(row[0])

    def adapters(self, name: str | None = None) -> list[AdapterRecord]:
        """Every adapter (or those named ``name``), oldest first."""
        query = f"SELECT {COLUMNS} FROM adapters"
        args: tuple[str, ...] = ()
        if name is not None:
            query, args = query + " WHERE name = ?", (name,)
        with self._read_lock, translated(self.path):
            rows = self._reader.execute(query + " ORDER BY created_at, id", args).fetchall()
        return [AdapterRecord(*row) for row in rows]

    def load(self, adapter_id: str) -> tuple[AdapterRecord, list[Row]] | None:
        """The adapter and all its deltas from one consistent snapshot, or ``None``."""
        with self._read_lock, translated(self.path):
            try:
                self._reader.execute("BEGIN")
                record = to_record(
                    self._reader.execute(
                        f"SELECT {COLUMNS} FROM adapters WHERE id = ?", (adapter_id,)
                    ).fetchone()
                )
                if record is None:
                    return None
                cursor = self._reader.execute(
                    "SELECT context, token, weight FROM deltas WHERE adapter_id = ?",
                    (adapter_id,),
                )
                return record, [(decode(c), t, w) for c, t, w in cursor]
            finally:
                if self._reader.in_transaction:  # not when an interrupt hit BEGIN itself
                    self._reader.execute("COMMIT")

    # -- writes ------------------------------------------------------------------

    def create(
        self, *, base_model_id: str, name: str, rank: int, learning_rate: float
    ) -> AdapterRecord:
        """Create an adapter with a fresh id ``<base>-adapter-<12 hex>``."""
        now = utc_now()
        record = AdapterRecord(
            id=f"{base_model_id}-adapter-{secrets.token_hex(6)}",
            name=name,
            base_model_id=base_model_id,
            rank=rank,
            learning_rate=learning_rate,
            version=0,
            steps=0,
            trained_tokens=0,
            created_at=now,
            updated_at=now,
        )
        with self._write_lock, translated(self.path):
            self._writer.execute(
                f"INSERT INTO adapters ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.name,
                    record.base_model_id,
                    record.rank,
                    record.learning_rate,
                    record.version,
                    record.steps,
                    record.trained_tokens,
                    record.created_at,
                    record.updated_at,
                ),
            )
        return record

    def copy(self, adapter_id: str, name: str) -> AdapterRecord:
        """A new adapter named ``name`` with ``adapter_id``'s settings, counters and
        weights, copied in one transaction (never between two steps' writes).

        Raises:
            NotFoundError: no such adapter.
        """
        with self._write_lock, translated(self.path), immediate(self._writer):
            source = to_record(
                self._writer.execute(
                    f"SELECT {COLUMNS} FROM adapters WHERE id = ?", (adapter_id,)
                ).fetchone()
            )
            if source is None:
                raise ModelNotFoundError(
                    f"no adapter {adapter_id!r} in {self.path}", provider=PROVIDER
                )
            now = utc_now()
            record = AdapterRecord(
                id=f"{source.base_model_id}-adapter-{secrets.token_hex(6)}",
                name=name,
                base_model_id=source.base_model_id,
                rank=source.rank,
                learning_rate=source.learning_rate,
                version=source.version,
                steps=source.steps,
                trained_tokens=source.trained_tokens,
                created_at=now,
                updated_at=now,
            )
            self._writer.execute(
                f"INSERT INTO adapters ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id, record.name, record.base_model_id, record.rank,
                    record.learning_rate, record.version, record.steps, record.trained_tokens,
                    record.created_at, record.updated_at,
                ),
            )  # fmt: skip
            # The idempotency keys stay with the source: they name its steps, not the copy's.
            self._writer.execute(
                "INSERT INTO deltas (adapter_id, context, token, weight) "
                "SELECT ?, context, token, weight FROM deltas WHERE adapter_id = ?",
                (record.id, adapter_id),
            )
        return record

    def delete(self, adapter_id: str) -> bool:
        """Delete the adapter and its deltas; ``False`` if it did not exist."""
        with self._write_lock, translated(self.path), immediate(self._writer):
            self._writer.execute("DELETE FROM deltas WHERE adapter_id = ?", (adapter_id,))
            self._writer.execute("DELETE FROM applied_steps WHERE adapter_id = ?", (adapter_id,))
            gone = self._writer.execute("DELETE FROM adapters WHERE id = ?", (adapter_id,))
        return gone.rowcount > 0

    @contextmanager
    def training(self, adapter_id: str) -> Iterator[Training]:
        """A training step on ``adapter_id``, committed when the block exits cleanly.

        Holds the database's write lock throughout, so the weights read in the
        block are exactly the ones the step's deltas are added to.

        Raises:
            NotFoundError: no such adapter.
        """
        with self._write_lock, translated(self.path), immediate(self._writer):
            record = to_record(
                self._writer.execute(
                    f"SELECT {COLUMNS} FROM adapters WHERE id = ?", (adapter_id,)
                ).fetchone()
            )
            if record is None:
                raise ModelNotFoundError(
                    f"no adapter {adapter_id!r} in {self.path}", provider=PROVIDER
                )
            yield Training(self._writer, record)
