"""One loaded provider: its private plugin manager, its context and its capabilities."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pluggy

from tuneplug.errors import CapabilityError, PluginLoadError
from tuneplug.hookspecs import (
    COMPLETER_REQUIRED,
    FINETUNABLE_REQUIRED,
    PROJECT_NAME,
    Completer,
    FineTunable,
    ProviderContext,
    Setup,
)
from tuneplug.types import Capability

__all__ = ["PluginInfo", "Provider", "new_plugin_manager"]

_CAPABILITY_HOOKS = {
    Capability.COMPLETE: COMPLETER_REQUIRED,
    Capability.FINE_TUNE: FINETUNABLE_REQUIRED,
}
_GROUP_NAMES = {Capability.COMPLETE: "Completer", Capability.FINE_TUNE: "FineTunable"}


@dataclass(frozen=True)
class PluginInfo:
    """What ``tuneplug plugins`` shows about one provider."""

    name: str
    value: str
    distribution: str | None = None
    version: str | None = None
    capabilities: frozenset[Capability] = frozenset()
    hooks: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the plugin loaded."""
        return self.error is None


def new_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager that knows every tuneplug hookspec."""
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(Setup)
    pm.add_hookspecs(Completer)
    pm.add_hookspecs(FineTunable)
    return pm


def implemented_hooks(pm: pluggy.PluginManager) -> tuple[str, ...]:
    """The names of the hooks ``pm``'s plugins implement."""
    return tuple(
        sorted(
            name
            for name in dir(pm.hook)
            if name.startswith("tuneplug_") and getattr(pm.hook, name).get_hookimpls()
        )
    )


def capabilities_of(name: str, hooks: tuple[str, ...]) -> frozenset[Capability]:
    """The capabilities the implemented ``hooks`` give; partial groups are a load error."""
    found = set()
    present = set(hooks)
    for capability, required in _CAPABILITY_HOOKS.items():
        have = required & present
        if have == required:
            found.add(capability)
        elif have:
            missing = ", ".join(sorted(required - have))
            raise PluginLoadError(
                f"plugin {name!r} implements part of {_GROUP_NAMES[capability]} but not {missing}",
                provider=name,
            )
    if not found:
        raise PluginLoadError(
            f"plugin {name!r} implements neither Completer "
            f"({', '.join(sorted(COMPLETER_REQUIRED))}) nor FineTunable",
            provider=name,
        )
    return frozenset(found)


def check_plugin_object(name: str, plugin: object, registered: tuple[str, ...]) -> None:
    """Reject ``tuneplug_*`` callables that pluggy did not register as hooks.

    pluggy's ``check_pending`` catches a misspelled name only when it carries the
    ``@hookimpl`` marker; a misspelled or unmarked function would silently do nothing.
    """
    known = {n for group in (Setup, Completer, FineTunable) for n in vars(group)}
    for attr in dir(plugin):
        if not attr.startswith("tuneplug_") or not callable(getattr(plugin, attr)):
            continue
        if attr not in known:
            raise PluginLoadError(
                f"plugin {name!r} defines {attr!r}, which is not a tuneplug hook "
                f"(misspelled? known hooks: see tuneplug.hookspecs)",
                provider=name,
            )
        if attr not in registered:
            raise PluginLoadError(
                f"plugin {name!r} defines {attr!r} without the @tuneplug.hookimpl marker",
                provider=name,
            )


class Provider:
    """A loaded provider plugin bound to its settings.

    Calls go through the provider's own plugin manager, so they reach only this
    plugin's implementations.
    """

    def __init__(self, info: PluginInfo, pm: pluggy.PluginManager, settings: Any = None) -> None:
        self.info = info
        self.name = info.name
        self.pm = pm
        self.ctx = ProviderContext(provider=info.name, settings=settings)
        self.capabilities = info.capabilities
        self._fast: dict[str, Callable[..., Any] | None] = {}

    def __repr__(self) -> str:
        caps = ",".join(sorted(c.value for c in self.capabilities))
        return f"<Provider {self.name} [{caps}]>"

    def has(self, hook: str) -> bool:
        """Whether the plugin implements ``hook``."""
        return hook in self.info.hooks

    def impl(self, hook: str) -> Callable[..., Any] | None:
        """The callable for ``hook`` with ``ctx`` bound by keyword, or ``None``.

        A single plain implementation is called directly: per-call overhead is
        budgeted in microseconds and pluggy's multicall costs a few on every call.
        With wrappers or several implementations the hook caller is used.
        """
        try:
            return self._fast[hook]
        except KeyError:
            pass
        caller = getattr(self.pm.hook, hook)
        impls = caller.get_hookimpls()
        fn: Callable[..., Any] | None
        if not impls:
            fn = None
        elif len(impls) == 1 and not (impls[0].hookwrapper or impls[0].wrapper):
            fn = impls[0].function
        else:
            fn = caller
        self._fast[hook] = fn
        return fn

    def call(self, hook: str, **kwargs: Any) -> Any:
        """Call ``hook`` with this provider's ``ctx``."""
        fn = self.impl(hook)
        if fn is None:
            raise CapabilityError(
                f"provider {self.name!r} does not implement {hook}", provider=self.name
            )
        return fn(ctx=self.ctx, **kwargs)

    def require(self, capability: Capability, operation: str) -> None:
        """Raise ``CapabilityError`` (before any I/O) if the provider lacks ``capability``."""
        if capability not in self.capabilities:
            group = _GROUP_NAMES[capability]
            raise CapabilityError(
                f"provider {self.name!r} cannot {operation}: it does not implement {group}",
                provider=self.name,
            )

    def close(self) -> None:
        """Let the plugin release what it opened."""
        self.pm.hook.tuneplug_close(ctx=self.ctx)
