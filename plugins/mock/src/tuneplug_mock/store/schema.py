"""The store's tables, and the rows it reads back (an adapter, a learned delta)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["COLUMNS", "SCHEMA", "SEP", "AdapterRecord", "Row", "decode", "to_record", "utc_now"]

SEP = "\x1f"  # tokens never hold it: the tokenizer treats it as whitespace

SCHEMA = """
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

COLUMNS = (
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


def utc_now() -> str:
    """Now, UTC, as ISO 8601 text to the millisecond (``created_at``, ``updated_at``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def to_record(row: tuple[object, ...] | None) -> AdapterRecord | None:
    """The record of a row of ``COLUMNS``, or ``None`` for no row."""
    return None if row is None else AdapterRecord(*row)  # type: ignore[arg-type]


def decode(context: str) -> tuple[str, ...]:
    """A stored ``context`` column back as its tokens (``""`` is the empty context)."""
    return tuple(context.split(SEP)) if context else ()
