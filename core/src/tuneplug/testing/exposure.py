"""Installing in-process providers as if a distribution had: through the entry-point group.

``tuneplug.plugins`` looks entry points up through its module attribute
``entry_points``. While any provider is installed here that attribute is wrapped
to append one entry point per provider, whose ``load()`` returns the provider's
plugin object. Every registry then finds it the way it finds installed plugins:
after ``tuneplug.plugins.reset()``, under any ``TUNEPLUG_PLUGINS`` filter (which
may exclude it), in ``tuneplug plugins``. Registries cache discovery, so each
change resets them.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

__all__ = ["DISTRIBUTION", "InProcessPlugin", "expose", "withdraw"]

DISTRIBUTION = "tuneplug.testing"
"""The distribution name ``tuneplug plugins`` shows for in-process providers."""


class InProcessPlugin(Protocol):
    """What can be exposed: a provider name and the plugin object with its hooks."""

    @property
    def name(self) -> str: ...

    @property
    def plugin(self) -> object: ...


_ATTRIBUTE = "entry_points"  # the name tuneplug.plugins looks entry points up by


def _plugins_module() -> Any:
    return importlib.import_module("tuneplug.plugins")


class _Dist:
    """What the registry reads from an entry point's distribution."""

    metadata: ClassVar[dict[str, str]] = {"Name": DISTRIBUTION}
    version: ClassVar[str] = "testing"


@dataclass(frozen=True)
class _EntryPoint:
    """A ``tuneplug`` entry point whose ``load()`` returns an in-process plugin."""

    provider: InProcessPlugin
    group: ClassVar[str] = "tuneplug"
    dist: ClassVar[_Dist] = _Dist()

    @property
    def name(self) -> str:
        return self.provider.name

    @property
    def value(self) -> str:
        return f"{__name__}:{self.provider.name}"

    def load(self) -> object:
        return self.provider.plugin


class _Exposed:
    """The exposed providers, appended to what ``entry_points`` returns."""

    def __init__(self) -> None:
        self.providers: list[InProcessPlugin] = []
        self.original: Callable[..., Any] | None = None
        self.lock = threading.Lock()

    def entry_points(self, **params: Any) -> Any:
        assert self.original is not None
        found = self.original(**params)
        if params.get("group") != "tuneplug":
            return found
        return [*found, *(_EntryPoint(p) for p in self.providers)]

    def add(self, provider: InProcessPlugin) -> None:
        plugins = _plugins_module()
        with self.lock:
            if provider in self.providers:
                return
            if self.original is None:
                self.original = vars(plugins)[_ATTRIBUTE]
                setattr(plugins, _ATTRIBUTE, self.entry_points)
            self.providers.append(provider)
        plugins.reset()

    def remove(self, provider: InProcessPlugin) -> None:
        plugins = _plugins_module()
        with self.lock:
            if provider not in self.providers:
                return
            self.providers.remove(provider)
            if not self.providers and self.original is not None:
                # Leave a later patch (e.g. a test's monkeypatch) in place.
                if vars(plugins)[_ATTRIBUTE] == self.entry_points:
                    setattr(plugins, _ATTRIBUTE, self.original)
                self.original = None
        plugins.reset()


_exposed = _Exposed()


def expose(provider: InProcessPlugin) -> None:
    """Make ``provider`` discoverable by every registry (until :func:`withdraw`)."""
    _exposed.add(provider)


def withdraw(provider: InProcessPlugin) -> None:
    """Undo :func:`expose`."""
    _exposed.remove(provider)
