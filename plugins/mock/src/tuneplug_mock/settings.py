"""Settings of the mock provider, read from ``TUNEPLUG_MOCK_*`` and ``[providers.mock]``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.paths import home

__all__ = ["MAX_LATENCY_MS", "MockSettings"]

MAX_LATENCY_MS = 60_000.0
"""The largest artificial latency: one minute (enough for any timeout test)."""


class MockSettings(BaseSettings):
    """How the mock provider behaves.

    Attributes:
        store: the SQLite file holding adapters; ``None`` means
            ``tuneplug.paths.home() / "mock" / "adapters.sqlite3"``, resolved when
            the store is first opened (so a ``TUNEPLUG_HOME`` set later still counts).
        latency_ms: an artificial delay added once to every completion, stream
            and fine-tuning call, to exercise timeouts and concurrency
            (0 to :data:`MAX_LATENCY_MS`).
    """

    model_config = SettingsConfigDict(env_prefix="TUNEPLUG_MOCK_", extra="forbid")

    store: Path | None = None
    latency_ms: float = Field(default=0.0, ge=0.0, le=MAX_LATENCY_MS)

    def store_path(self) -> Path:
        """The adapter store file this configuration points at."""
        if self.store is not None:
            return self.store.expanduser()
        return home() / "mock" / "adapters.sqlite3"

    @property
    def latency(self) -> float:
        """The artificial delay in seconds."""
        return self.latency_ms / 1000.0
