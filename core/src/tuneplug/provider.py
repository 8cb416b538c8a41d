"""One loaded provider: its private plugin manager, its context and its capabilities."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
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
from tuneplug.plugin_faults import HookSite, blame, call_hook, checked, packages_of
from tuneplug.types import Capability, ModelInfo

__all__ = ["PluginInfo", "Provider", "capabilities_of", "native_chat", "new_plugin_manager"]

_CAPABILITY_HOOKS = {
    Capability.COMPLETE: COMPLETER_REQUIRED,
    Capability.FINE_TUNE: FINETUNABLE_REQUIRED,
}
_GROUP_NAMES = {
    Capability.COMPLETE: "Completer",
    Capability.FINE_TUNE: "FineTunable",
    Capability.JOBS: "tuneplug_jobs or FineTunable",
}
# A capability that refines another follows it: a model that completes can chat
# (natively or through its template) and one that fine-tunes gets jobs.
_FOLLOWS = {Capability.CHAT: Capability.COMPLETE, Capability.JOBS: Capability.FINE_TUNE}


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
    plugin: str | None = None
    """The plugin behind a provider instance (``[providers.NAME] plugin = ...``), else ``None``."""

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


def native_chat(pm: pluggy.PluginManager) -> bool:
    """Whether every implementation of ``tuneplug_complete`` names ``messages`` (opt-in)."""
    impls = pm.hook.tuneplug_complete.get_hookimpls()
    return bool(impls) and all("messages" in i.argnames for i in impls if not i.hookwrapper)


def capabilities_of(
    name: str, hooks: tuple[str, ...], pm: pluggy.PluginManager | None = None
) -> frozenset[Capability]:
    """The capabilities the implemented ``hooks`` give; partial groups are a load error.

    With ``pm``, ``chat`` is added when its ``tuneplug_complete`` takes
    ``messages`` (native chat; every Completer can still chat through its template).
    """
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
    if Capability.FINE_TUNE in found or "tuneplug_jobs" in present:
        # The local job runner's jobs, or native ones (OpenAI's), with or without step hooks.
        found.add(Capability.JOBS)
    if not found:
        raise PluginLoadError(
            f"plugin {name!r} implements neither Completer "
            f"({', '.join(sorted(COMPLETER_REQUIRED))}) nor FineTunable "
            f"({', '.join(sorted(FINETUNABLE_REQUIRED))})",
            provider=name,
        )
    if pm is not None and Capability.COMPLETE in found and native_chat(pm):
        found.add(Capability.CHAT)
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
            # Compared without the prefix every name shares, which would make any close.
            hooks = sorted(n.removeprefix("tuneplug_") for n in known if n.startswith("tuneplug_"))
            close = difflib.get_close_matches(attr.removeprefix("tuneplug_"), hooks, n=1)
            hint = (
                f"did you mean {'tuneplug_' + close[0]!r}?"
                if close
                else "known hooks: see tuneplug.hookspecs"
            )
            raise PluginLoadError(
                f"plugin {name!r} defines {attr!r}, which is not a tuneplug hook ({hint})",
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

    def __init__(
        self,
        info: PluginInfo,
        pm: pluggy.PluginManager,
        settings: Any = None,
        *,
        origins: Mapping[str, str] | None = None,
    ) -> None:
        self.info = info
        self.name = info.name
        self.pm = pm
        self.ctx = ProviderContext(provider=info.name, settings=settings)
        if origins is not None:
            self.ctx.origins = origins
        self.site = HookSite(
            info.name,
            info.plugin or info.name,
            info.distribution,
            settings,
            packages_of(pm.get_plugins()),
        )
        """Who a faulty hook's ``PluginError`` blames (:mod:`tuneplug.plugin_faults`)."""
        self.capabilities = info.capabilities
        self._fast: dict[str, tuple[Callable[..., Any] | None, frozenset[str] | None]] = {}
        self._accepts: dict[tuple[str, str], bool] = {}

    def __repr__(self) -> str:
        caps = ",".join(sorted(c.value for c in self.capabilities))
        return f"<Provider {self.name} [{caps}]>"

    def has(self, hook: str) -> bool:
        """Whether the plugin implements ``hook``."""
        return hook in self.info.hooks

    def impl(self, hook: str) -> Callable[..., Any] | None:
        """The callable for ``hook``, or ``None`` when the plugin does not implement it.

        A single plain implementation is called directly: per-call overhead is
        budgeted in microseconds and pluggy's multicall costs a few on every call.
        With wrappers or several implementations the hook caller is used.
        """
        return self._resolve(hook)[0]

    def _resolve(self, hook: str) -> tuple[Callable[..., Any] | None, frozenset[str] | None]:
        try:
            return self._fast[hook]
        except KeyError:
            pass
        caller = getattr(self.pm.hook, hook)
        impls = caller.get_hookimpls()
        entry: tuple[Callable[..., Any] | None, frozenset[str] | None]
        if not impls:
            entry = (None, None)
        elif len(impls) == 1 and not (impls[0].hookwrapper or impls[0].wrapper):
            # pluggy's opt-in arguments: an implementation receives only the
            # parameters it names, so a spec can grow without breaking it.
            entry = (impls[0].function, frozenset(impls[0].argnames))
        else:
            entry = (caller, None)  # pluggy filters per implementation itself
        self._fast[hook] = entry
        return entry

    def accepts(self, hook: str, argument: str) -> bool:
        """Whether every implementation of ``hook`` names ``argument`` (an opt-in parameter)."""
        key = (hook, argument)
        found = self._accepts.get(key)
        if found is None:
            impls = getattr(self.pm.hook, hook).get_hookimpls()
            found = bool(impls) and all(argument in i.argnames for i in impls if not i.hookwrapper)
            self._accepts[key] = found
        return found

    def call(self, hook: str, **kwargs: Any) -> Any:
        """Call ``hook`` with this provider's ``ctx``; what it returns, checked.

        Pass every argument the hook's spec has: implementations get the ones
        they name.

        Raises:
            CapabilityError: the plugin does not implement ``hook``.
            PluginError: the hook raised an exception that is not a ``TuneplugError``,
                or returned the wrong type (later, for an async hook's result, a stream's
                chunks and a job backend's methods); see :mod:`tuneplug.plugin_faults`.
        """
        fn, names = self._resolve(hook)
        if fn is None:
            raise CapabilityError(
                f"provider {self.name!r} does not implement {hook}", provider=self.name
            )
        kwargs["ctx"] = self.ctx
        if names is not None and len(names) != len(kwargs):
            kwargs = {k: v for k, v in kwargs.items() if k in names}
        try:
            result = fn(**kwargs)
        except BaseException as exc:
            # Not `with Blamed(...)`: a try costs nothing on this path when nothing raises.
            blame(self.site, hook, exc)
            raise
        return checked(self.site, hook, result)

    def model_info(self, info: ModelInfo) -> ModelInfo:
        """``info`` with its effective capabilities: the provider's, narrowed by the model.

        One source: the hooks the provider implements say what it can do
        (:attr:`capabilities`). A model that declares ``capabilities`` can only
        narrow them, saying whether *it* completes and fine-tunes (the mock's
        ``echo`` cannot be tuned); ``chat`` and ``jobs`` follow ``complete`` and
        ``fine_tune``. A model that declares nothing has all of the provider's.
        A capability the provider's hooks do not give is never kept. Applied twice, it
        gives what it gave once.
        """
        if "capabilities" not in info.model_fields_set:
            effective = self.capabilities
        else:
            declared = info.capabilities
            # `c in declared` too: an info that already went through here (a Model built
            # from a resolved info) keeps what it was given, `jobs` included.
            effective = frozenset(
                c for c in self.capabilities if c in declared or _FOLLOWS.get(c, c) in declared
            )
        if effective == info.capabilities:
            return info
        return info.model_copy(update={"capabilities": effective})

    def require(self, capability: Capability, operation: str) -> None:
        """Raise ``CapabilityError`` (before any I/O) if the provider lacks ``capability``."""
        if capability not in self.capabilities:
            group = _GROUP_NAMES[capability]
            hint = ""
            if (
                capability is Capability.FINE_TUNE
                and Capability.JOBS in self.capabilities
                and not operation.startswith("delete")
            ):
                # A native job service (OpenAI's) trains only through jobs; a job is no way
                # to delete anything.
                hint = (
                    "; it runs fine-tuning jobs: `tuneplug jobs create MODEL DATA` "
                    "(model.start_fine_tune(data) in Python)"
                )
            # The error's provider prefix names it: the message does not again.
            raise CapabilityError(
                f"cannot {operation}: the provider does not implement {group}{hint}",
                provider=self.name,
            )

    def close(self) -> None:
        """Let the plugin release what it opened, then close its ``ctx.resource`` objects."""
        try:
            call_hook(self.site, "tuneplug_close", self.pm.hook.tuneplug_close, {"ctx": self.ctx})
        finally:
            self.ctx.close_resources()
