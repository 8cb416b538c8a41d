"""The store's SQLite plumbing: connections, write transactions, and errors that
leave as tuneplug errors only."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tuneplug.errors import ConfigError, ServerError, TimeoutError

__all__ = ["BUSY_TIMEOUT_MS", "PROVIDER", "connect", "immediate", "translated"]

PROVIDER = "mock"
BUSY_TIMEOUT_MS = 30_000
"""How long a step waits for another process's step on the same file."""


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the store at ``path`` with the store's pragmas set."""
    # isolation_level=None: transactions are exactly the BEGINs written here.
    conn = sqlite3.connect(
        path,
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


def _unusable(path: Path, exc: Exception) -> ConfigError:
    return ConfigError(
        f"cannot use the adapter store {path}: {exc} "
        "(set TUNEPLUG_HOME or TUNEPLUG_MOCK_STORE to a writable place)",
        provider=PROVIDER,
    )


@contextmanager
def translated(path: Path) -> Iterator[None]:
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
def immediate(conn: sqlite3.Connection) -> Iterator[None]:
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
