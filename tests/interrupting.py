"""A SQLite connection that is interrupted (Ctrl-C) right after a chosen statement.

Python delivers ``KeyboardInterrupt`` between statements, so a real Ctrl-C can land just
after ``BEGIN`` or ``COMMIT`` has run; this proxy puts it exactly there, once. Used by the
job journal's and the mock store's tests (two distributions, hence here at the root).
"""

from __future__ import annotations

import sqlite3
from typing import Any


class Interrupting:
    """Wraps ``conn``; raises ``KeyboardInterrupt`` once, after running a statement that
    starts with ``after`` (case-insensitive), as a Ctrl-C arriving then would."""

    def __init__(self, conn: sqlite3.Connection, after: str) -> None:
        self._conn = conn
        self._after = after.upper()
        self.fired = False

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        cursor = self._conn.execute(sql, *args)
        if not self.fired and sql.lstrip().upper().startswith(self._after):
            self.fired = True
            raise KeyboardInterrupt
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)
