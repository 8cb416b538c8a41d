"""The server's persistent state: who owns what, and the protocols' own records.

One SQLite file, ``<state dir>/gateway.sqlite3``:

* ``owners``: backend model references (adapters, fine-tuned models) and the
  tenant that created each. A tenant sees base models and what it owns; an
  adapter nobody created through this server (another server's, or one made
  with the CLI) belongs to no tenant and is served to none.
* ``records``: JSON documents a protocol keeps per tenant (uploaded files,
  jobs, id mappings), in namespaces the protocol names (``openai.file``).

Calls are blocking and thread-safe (one connection behind a lock; the writes
are tiny); the server makes them from worker threads. A state file that is not
a database is a :class:`~tuneplug.errors.ConfigError` when the server starts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from tuneplug.errors import ConfigError

__all__ = ["StateStore", "open_database"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS owners (
    ref TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    namespace TEXT NOT NULL,
    id TEXT NOT NULL,
    tenant TEXT NOT NULL,
    created_at REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (namespace, id)
);
CREATE INDEX IF NOT EXISTS records_by_tenant ON records (namespace, tenant, created_at);
"""


def open_database(path: Path, schema: str) -> sqlite3.Connection:
    """Open (creating) the SQLite file ``path`` with ``schema`` applied, checked for damage.

    Raises:
        ConfigError: the file exists but is not a usable SQLite database (one line
            naming the file: it is the operator's, shown at start only).
        OSError: the directory cannot be created.
    """
    # 0700: the state dir holds tenants' uploads, ids and ownership; other local users
    # must not read it (mode applies only when created; an existing dir is the operator's).
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    db: sqlite3.Connection | None = None
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA busy_timeout=5000")
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(schema)
        # quick_check reads every page: a truncated or overwritten file fails here,
        # at start, rather than in the middle of some request later.
        (verdict,) = db.execute("PRAGMA quick_check").fetchone()
        if verdict != "ok":
            raise sqlite3.DatabaseError(str(verdict))
    except sqlite3.DatabaseError as exc:
        if db is not None:
            db.close()
        raise ConfigError(
            f"server state {path} is damaged ({exc}); move it away to start with empty state"
        ) from None
    return db


class StateStore:
    """Ownership and per-tenant records in ``state_dir / "gateway.sqlite3"``."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.path = state_dir / "gateway.sqlite3"
        self._lock = threading.Lock()
        self._db = open_database(self.path, _SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- ownership of backend models ----------------------------------------------------

    def own(self, tenant: str, ref: str, kind: str) -> None:
        """Record ``tenant`` as the owner of the backend model ``ref`` (kept if already set)."""
        self._run(
            "INSERT OR IGNORE INTO owners VALUES (?, ?, ?, ?)", (ref, tenant, kind, time.time())
        )

    def owner(self, ref: str) -> str | None:
        """The tenant that owns ``ref``, or ``None`` (a base model, or not this server's)."""
        rows = self._run("SELECT tenant FROM owners WHERE ref = ?", (ref,))
        return rows[0][0] if rows else None

    def owned(self, tenant: str, kind: str | None = None) -> list[str]:
        """The references ``tenant`` owns (of one ``kind``), oldest first."""
        if kind is None:
            rows = self._run(
                "SELECT ref FROM owners WHERE tenant = ? ORDER BY created_at", (tenant,)
            )
        else:
            rows = self._run(
                "SELECT ref FROM owners WHERE tenant = ? AND kind = ? ORDER BY created_at",
                (tenant, kind),
            )
        return [r[0] for r in rows]

    def disown(self, ref: str) -> None:
        """Forget the owner of a deleted model."""
        self._run("DELETE FROM owners WHERE ref = ?", (ref,))

    # -- protocol records ---------------------------------------------------------------

    def put(self, namespace: str, id: str, tenant: str, data: dict[str, Any]) -> None:
        """Create or replace record ``id`` of ``tenant`` (the owner of an id never changes)."""
        text = json.dumps(data, separators=(",", ":"))
        with self._lock:
            self._db.execute(
                "INSERT INTO records VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace, id) "
                "DO UPDATE SET data = excluded.data WHERE tenant = excluded.tenant",
                (namespace, id, tenant, time.time(), text),
            )

    def get(self, namespace: str, id: str, tenant: str) -> dict[str, Any] | None:
        """Record ``id`` if ``tenant`` owns it; another tenant's is as absent as none."""
        rows = self._run(
            "SELECT data FROM records WHERE namespace = ? AND id = ? AND tenant = ?",
            (namespace, id, tenant),
        )
        return json.loads(rows[0][0]) if rows else None

    def find(self, namespace: str, id: str) -> tuple[str, dict[str, Any]] | None:
        """Record ``id`` and its tenant, whoever owns it (for server-side bookkeeping)."""
        rows = self._run(
            "SELECT tenant, data FROM records WHERE namespace = ? AND id = ?", (namespace, id)
        )
        return (rows[0][0], json.loads(rows[0][1])) if rows else None

    def list(self, namespace: str, tenant: str) -> list[tuple[str, dict[str, Any]]]:
        """``tenant``'s records of ``namespace`` as ``(id, data)``, oldest first."""
        rows = self._run(
            "SELECT id, data FROM records WHERE namespace = ? AND tenant = ? "
            "ORDER BY created_at, rowid",
            (namespace, tenant),
        )
        return [(r[0], json.loads(r[1])) for r in rows]

    def delete(self, namespace: str, id: str, tenant: str) -> bool:
        """Delete ``tenant``'s record ``id``; whether there was one."""
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM records WHERE namespace = ? AND id = ? AND tenant = ?",
                (namespace, id, tenant),
            )
            return cursor.rowcount > 0
