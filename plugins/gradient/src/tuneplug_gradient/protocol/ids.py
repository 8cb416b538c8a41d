"""The persisted mapping between backend model references and Gradient-shaped ids.

Gradient clients insist on 50-character ids (``<uuid>_base_ml_model``,
``<uuid>_model_adapter``) and on a ``latestUpdateTime`` per adapter, while a
tuneplug backend has ids of its own (``tiny``, ``a1b2...``). This store keeps
the two apart and survives restarts, so an adapter id a client saved yesterday
still works today.

* A base model's id is a uuid5 of its backend reference: the same backend gives
  the same id on every machine, with or without the store.
* An adapter's id is a fresh uuid4, assigned when the server creates the
  adapter or first sees it in the backend's listing, then persisted.

The store is one SQLite file (atomic commits, safe across threads and
processes); the server calls it from worker threads, never from the event loop.
Which tenant may use an id is not kept here but in the gateway's ownership
records: an id is only a name.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tuneplug.server.state import open_database

from tuneplug_gradient.wire import ADAPTER_SUFFIX, BASE_SUFFIX

__all__ = ["IdStore", "MappedId", "base_id", "now_iso"]

# Fixed forever: changing it would change every base model id clients have saved.
_NAMESPACE = uuid.UUID("5f0c7a52-0b7e-4d1e-9a4b-8b1f0c2d9e31")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ids (
    gradient_id TEXT PRIMARY KEY,
    backend_ref TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('base', 'adapter')),
    updated_at TEXT NOT NULL
)
"""


def now_iso() -> str:
    """The current UTC time as Gradient writes it (``2024-01-09T12:00:00.000Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def base_id(backend_ref: str) -> str:
    """The Gradient id of the base model ``backend_ref`` (``provider/id``)."""
    return f"{uuid.uuid5(_NAMESPACE, backend_ref)}{BASE_SUFFIX}"


@dataclass(frozen=True)
class MappedId:
    """One row of the store."""

    gradient_id: str
    backend_ref: str
    kind: str
    updated_at: str


class IdStore:
    """Gradient id ⇄ backend reference, in ``state_dir / "ids.sqlite3"``."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "ids.sqlite3"
        # One connection shared by the worker threads, serialised by a lock:
        # the writes are tiny and this avoids "database is locked" between threads.
        self._lock = threading.Lock()
        # A damaged file is a ConfigError naming it, at start.
        self._db = open_database(self.path, _SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def _row(self, column: str, value: str) -> MappedId | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT gradient_id, backend_ref, kind, updated_at FROM ids WHERE {column} = ?",
                (value,),
            ).fetchone()
        return MappedId(*row) if row else None

    def by_gradient_id(self, gradient_id: str) -> MappedId | None:
        """The row for a Gradient id, if the server ever issued it."""
        return self._row("gradient_id", gradient_id)

    def by_backend_ref(self, backend_ref: str) -> MappedId | None:
        """The row for a backend reference, if it has an id yet."""
        return self._row("backend_ref", backend_ref)

    def ensure(self, backend_ref: str, kind: str) -> MappedId:
        """The row for ``backend_ref``, created (base: uuid5, adapter: uuid4) if missing."""
        existing = self.by_backend_ref(backend_ref)
        if existing is not None:
            return existing
        new_id = base_id(backend_ref) if kind == "base" else f"{uuid.uuid4()}{ADAPTER_SUFFIX}"
        with self._lock:
            # OR IGNORE: another thread or process may have mapped it meanwhile.
            self._db.execute(
                "INSERT OR IGNORE INTO ids VALUES (?, ?, ?, ?)",
                (new_id, backend_ref, kind, now_iso()),
            )
        found = self.by_backend_ref(backend_ref)
        assert found is not None  # just inserted, or inserted by the winner of a race
        return found

    def touch(self, gradient_id: str) -> None:
        """Record that the model changed now (an adapter was fine-tuned)."""
        with self._lock:
            self._db.execute(
                "UPDATE ids SET updated_at = ? WHERE gradient_id = ?", (now_iso(), gradient_id)
            )

    def forget(self, gradient_id: str) -> None:
        """Drop the row of a deleted adapter."""
        with self._lock:
            self._db.execute("DELETE FROM ids WHERE gradient_id = ?", (gradient_id,))
