"""The adapter store: one SQLite file shared by every process using the mock provider.

Adapters are rows of ``adapters``; what they learned is ``deltas``, additive
n-gram pseudo-counts. A training step runs inside ``BEGIN IMMEDIATE``, so steps
on one adapter serialize across processes, and it adds its deltas with UPSERTs
(``weight = weight + excluded.weight``): two processes training the same
adapter at once both count. Every step bumps the adapter's ``version``, which
lets a process keep weights in memory and reload only when they changed.

A step sent with an idempotency key records the key and its result in
``applied_steps`` inside the same transaction as its deltas: the key is there
exactly when the update is, so a replayed key is answered from the table and
applies nothing (the job runner's exactly-once resume).

WAL mode lets completions read while another process trains. Two connections
are kept so that a reader never waits behind this process's own writer.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tuneplug.errors import ConfigError, NotFoundError, ServerError, TimeoutError

__all__ = ["AdapterRecord", "AdapterStore", "Row", "Training"]

PROVIDER = "mock"
BUSY_TIMEOUT_MS = 30_000
"""How long a step waits for another process's step on the same file."""

_SEP = "\x1f"  # tokens never hold it: the tokenizer treats it as whitespace

_SCHEMA = """
CREATE TABLE IF NOT EXISTS adapters (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    base_model_id TEXT NOT NULL,
    rank INTEGER NOT NULL,
    learning_rate REAL NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    steps INTEGER NOT NULL DEFAULT 0,
    trained_tokens INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deltas (
    adapter_id TEXT NOT NULL REFERENCES adapters(id) ON DELETE CASCADE,
    context TEXT NOT NULL,
    token TEXT NOT NULL,
    weight REAL NOT NULL,
    PRIMARY KEY (adapter_id, context, token)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS applied_steps (
    key TEXT PRIMARY KEY,
    adapter_id TEXT NOT NULL REFERENCES adapters(id) ON DELETE CASCADE,
    trainable_tokens INTEGER NOT NULL,
    sum_loss REAL NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = 1;
"""

_COLUMNS = (
    "id, name, base_model_id, rank, learning_rate, version, steps, trained_tokens, "
    "created_at, updated_at"
)

Row = tuple[tuple[str, ...], str, float]
"""One learned delta: ``(context tokens, next token, weight)``."""


@dataclass(frozen=True)
class AdapterRecord:
    """An adapter as the store keeps it."""

    id: str
    name: str
    base_model_id: str
    rank: int
    learning_rate: float
    version: int
    """Bumped by every training step."""
    steps: int
    """Training steps taken, by every process."""
    trained_tokens: int
    """Trainable tokens seen over all steps."""
    created_at: str
    updated_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _record(row: tuple[object, ...] | None) -> AdapterRecord | None:
    return None if row is None else AdapterRecord(*row)  # type: ignore[arg-type]


def _decode(context: str) -> tuple[str, ...]:
    return tuple(context.split(_SEP)) if context else ()


def _unusable(path: Path, exc: Exception) -> ConfigError:
    return ConfigError(
        f"cannot use the adapter store {path}: {exc} "
        "(set TUNEPLUG_HOME or TUNEPLUG_MOCK_STORE to a writable place)",
        provider=PROVIDER,
    )


@contextmanager
def _translated(path: Path) -> Iterator[None]:
    """Let no ``sqlite3`` or OS exception escape: tuneplug errors only."""
    try:
        yield
    except OSError as exc:
        raise _unusable(path, exc) from exc
    except sqlite3.OperationalError as exc:
        if "unable to open" in str(exc) or "readonly" in str(exc):
            raise _unusable(path, exc) from exc
        if "locked" in str(exc) or "busy" in str(exc):
            raise TimeoutError(
                f"adapter store {path} stayed locked by another process: {exc}", provider=PROVIDER
            ) from exc
        raise ServerError(f"adapter store {path}: {exc}", provider=PROVIDER) from exc
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):  # the setting points at some other file
            raise _unusable(path, exc) from exc
        raise ServerError(
            f"adapter store {path}: {exc}", provider=PROVIDER, retryable=False
        ) from exc
    except sqlite3.Error as exc:
        raise ServerError(
            f"adapter store {path}: {exc}", provider=PROVIDER, retryable=False
        ) from exc


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction: ``BEGIN IMMEDIATE``, committed if the block succeeds."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("COMMIT")
    except BaseException:
        # A Ctrl-C is delivered between statements, so it can land after COMMIT (or
        # before the block ran): roll back only an open transaction, or SQLite's
        # "no transaction is active" would replace the interrupt.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


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
        return [(_decode(c), t, w) for c, t, w in cursor]

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
            ((adapter_id, _SEP.join(c), t, w) for (c, t), w in delta.items()),
        )
        self.new_version = self.record.version + 1
        self._conn.execute(
            "UPDATE adapters SET version = ?, steps = steps + 1, "
            "trained_tokens = trained_tokens + ?, updated_at = ? WHERE id = ?",
            (self.new_version, tokens, _now(), adapter_id),
        )
        return self.new_version


class AdapterStore:
    """The SQLite adapter store at ``path`` (created with its parent directories)."""

    def __init__(self, path: Path) -> None:
        """Open (and if needed create) the store."""
        self.path = path
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()
        with _translated(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = self._connect()
            try:
                self._writer.execute("PRAGMA journal_mode = WAL")
                with _immediate(self._writer):
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            self._writer.execute(statement)
                self._reader = self._connect()
            except BaseException:
                self._writer.close()  # the store is unusable: nothing may stay open
                raise

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are exactly the BEGINs written here.
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            # With WAL, NORMAL never corrupts; a power cut may only lose the last steps.
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()  # e.g. the file is not a database
            raise
        return conn

    def close(self) -> None:
        """Close both connections."""
        with self._write_lock, self._read_lock:
            self._writer.close()
            self._reader.close()

    # -- reads -------------------------------------------------------------------

    def get(self, adapter_id: str) -> AdapterRecord | None:
        """The adapter ``adapter_id``, or ``None``."""
        with self._read_lock, _translated(self.path):
            row = self._reader.execute(
                f"SELECT {_COLUMNS} FROM adapters WHERE id = ?", (adapter_id,)
            ).fetchone()
        return _record(row)

    def version(self, adapter_id: str) -> int | None:
        """The adapter's version (one indexed lookup), or ``None`` if it does not exist."""
        with self._read_lock, _translated(self.path):
            row = self._reader.execute(
                "SELECT version FROM adapters WHERE id = ?", (adapter_id,)
            ).fetchone()
        return None if row is None else int(row[0])

    def adapters(self, name: str | None = None) -> list[AdapterRecord]:
        """Every adapter (or those named ``name``), oldest first."""
        query = f"SELECT {_COLUMNS} FROM adapters"
        args: tuple[str, ...] = ()
        if name is not None:
            query, args = query + " WHERE name = ?", (name,)
        with self._read_lock, _translated(self.path):
            rows = self._reader.execute(query + " ORDER BY created_at, id", args).fetchall()
        return [AdapterRecord(*row) for row in rows]

    def load(self, adapter_id: str) -> tuple[AdapterRecord, list[Row]] | None:
        """The adapter and all its deltas from one consistent snapshot, or ``None``."""
        with self._read_lock, _translated(self.path):
            try:
                self._reader.execute("BEGIN")
                record = _record(
                    self._reader.execute(
                        f"SELECT {_COLUMNS} FROM adapters WHERE id = ?", (adapter_id,)
                    ).fetchone()
                )
                if record is None:
                    return None
                cursor = self._reader.execute(
                    "SELECT context, token, weight FROM deltas WHERE adapter_id = ?",
                    (adapter_id,),
                )
                return record, [(_decode(c), t, w) for c, t, w in cursor]
            finally:
                if self._reader.in_transaction:  # not when an interrupt hit BEGIN itself
                    self._reader.execute("COMMIT")

    # -- writes ------------------------------------------------------------------

    def create(
        self, *, base_model_id: str, name: str, rank: int, learning_rate: float
    ) -> AdapterRecord:
        """Create an adapter with a fresh id ``<base>-adapter-<12 hex>``."""
        now = _now()
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
        with self._write_lock, _translated(self.path):
            self._writer.execute(
                f"INSERT INTO adapters ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        with self._write_lock, _translated(self.path), _immediate(self._writer):
            source = _record(
                self._writer.execute(
                    f"SELECT {_COLUMNS} FROM adapters WHERE id = ?", (adapter_id,)
                ).fetchone()
            )
            if source is None:
                raise NotFoundError(f"no adapter {adapter_id!r} in {self.path}", provider=PROVIDER)
            now = _now()
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
                f"INSERT INTO adapters ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        with self._write_lock, _translated(self.path), _immediate(self._writer):
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
        with self._write_lock, _translated(self.path), _immediate(self._writer):
            record = _record(
                self._writer.execute(
                    f"SELECT {_COLUMNS} FROM adapters WHERE id = ?", (adapter_id,)
                ).fetchone()
            )
            if record is None:
                raise NotFoundError(f"no adapter {adapter_id!r} in {self.path}", provider=PROVIDER)
            yield Training(self._writer, record)
