"""The settings tests every contract suite runs (see :mod:`tuneplug.settings_rules`).

The core applies the value rules itself (empty variable = unset, finite numbers,
valid text, no credentials in URLs); what only the plugin can supply are bounds,
so the suite fails a provider whose numeric setting declares no upper bound.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pydantic_settings import BaseSettings

from tuneplug.config import build_settings, env_name
from tuneplug.plugins import default_registry
from tuneplug.settings_rules import unbounded_numbers

__all__ = ["SettingsTests"]


class SettingsTests:
    """Tests of the provider's declared settings model (skipped when it declares none).

    A mixin of the contract suites: ``provider`` and the isolation come from
    :class:`~tuneplug.testing.contract_complete.ProviderContract`. No test here does I/O.
    """

    provider: ClassVar[str]

    def _settings_class(self) -> Any:
        cls = default_registry().provider_settings_class(self.provider)
        if cls is None:
            pytest.skip(f"provider {self.provider!r} declares no settings")
        return cls

    def test_numeric_settings_declare_an_upper_bound(self) -> None:
        # latency_ms = 1e9 or timeout = 1e12 must be an error, not a call that sleeps for days
        cls = self._settings_class()
        unbounded = unbounded_numbers(cls)
        assert not unbounded, (
            f"{cls.__name__} declares no upper bound for {unbounded}: add Field(le=...)"
        )

    def test_an_empty_environment_variable_counts_as_unset(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        cls = self._settings_class()
        if not issubclass(cls, BaseSettings):
            pytest.skip("the settings model reads no environment")
        names = [env_name(cls, field) for field in cls.model_fields]
        for name in names:
            monkeypatch.delenv(name, raising=False)
        unset = build_settings(cls).model_dump()
        for name in names:
            monkeypatch.setenv(name, "")
        assert build_settings(cls).model_dump() == unset
