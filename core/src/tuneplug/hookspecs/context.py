"""The context every operation hook takes first: one provider instance and its resources."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

__all__ = ["ProviderContext"]

T = TypeVar("T")


@dataclass
class ProviderContext:
    """One provider instance, passed as ``ctx`` to every operation hook.

    Attributes:
        provider: the provider name (the entry-point name, e.g. ``"mock"``).
        settings: the provider's settings, an instance of the model returned by
            ``tuneplug_settings`` built from args, env and config files; ``None``
            when the provider declares none.
        state: free-form per-instance storage, kept for stage-1 plugins; new
            code uses :meth:`resource`, which is typed, locked and closed by
            the core. The core never reads ``state``.
        origins: where each setting a layer gave a value came from, for error hints
            (``check {origins["api_key"]}``): ``{"base_url": "base_url in
            [providers.local] (/path/tuneplug.toml:3)", "api_key": "OPENAI_API_KEY",
            "timeout": "timeout in the settings= argument of get_model"}``; a setting
            left at its default has no entry (:mod:`tuneplug.settings_origins`).
    """

    provider: str
    settings: Any = None
    state: dict[str, Any] = field(default_factory=dict)
    origins: Mapping[str, str] = field(default_factory=dict)
    _resources: dict[Callable[..., Any], Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def resource(self, factory: Callable[[ProviderContext], T]) -> T:
        """The object ``factory(ctx)`` builds, created once per provider instance.

        This is the home of per-provider state (a pooled HTTP client, an open
        store): the first caller builds it under a lock, every later caller, on
        any thread, gets the same object. When the provider is closed, each
        resource that has a ``close()`` method is closed, newest first, and
        forgotten. ``factory`` is the key: pass the same function (not a new
        lambda) every time.
        """
        try:
            return cast(T, self._resources[factory])
        except KeyError:
            pass
        with self._lock:
            if factory not in self._resources:
                self._resources[factory] = factory(self)
            return cast(T, self._resources[factory])

    def close_resources(self) -> None:
        """Close and forget every resource (the core calls it after ``tuneplug_close``)."""
        with self._lock:
            made, self._resources = list(self._resources.values()), {}
        for obj in reversed(made):
            close = getattr(obj, "close", None)
            if callable(close):
                close()
