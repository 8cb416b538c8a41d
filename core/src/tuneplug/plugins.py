"""Loading the discovered provider plugins and binding them to their settings.

Loading is lazy: discovery (:mod:`tuneplug.plugin_discovery`) reads entry-point
metadata only, and a provider's module is imported the first time a call needs
that provider. A plugin that
fails to load is reported (name, distribution, error) and skipped, unless strict
mode is on. ``TUNEPLUG_PLUGINS`` restricts which providers load.

Plugins can also be registered in-process, for tests and applications that
embed a provider: :func:`register` (or the :func:`registered` context manager)
makes an object with hook implementations a provider of every registry, as if
a distribution had declared it, until :func:`unregister`.
"""

from __future__ import annotations

import difflib
import hashlib
import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, SecretStr

from tuneplug.errors import ConfigError, PluginLoadError, TuneplugError, UnknownProviderError
from tuneplug.in_process import IN_PROCESS, check_provider_name, register, registered, unregister
from tuneplug.in_process import in_process as in_process  # tests read the registrations here
from tuneplug.plugin_discovery import (
    ENTRY_POINT_GROUP,
    Candidate,
    PluginFilter,
    discover,
    distributions_of,
)
from tuneplug.plugin_faults import HookSite, call_hook, packages_of
from tuneplug.provider import (
    PluginInfo,
    Provider,
    capabilities_of,
    check_plugin_object,
    implemented_hooks,
    new_plugin_manager,
)
from tuneplug.settings_origins import Origins, SettingsArgument, setting_origins
from tuneplug.text import one_line

__all__ = [
    "ENTRY_POINT_GROUP",
    "IN_PROCESS",
    "PluginFilter",
    "PluginInfo",
    "Registry",
    "distributions_of",
    "register",
    "registered",
    "unregister",
]


class Registry:
    """The providers one process can use, loaded on first use and cached."""

    def __init__(self, *, plugins: str | None = None, strict: bool = False) -> None:
        self.filter = PluginFilter.parse(plugins)
        self.strict = strict
        self._lock = threading.RLock()
        self._candidates: dict[str, list[Candidate]] | None = None
        self._loaded: dict[str, tuple[PluginInfo, Any]] = {}
        self._providers: dict[tuple[str, str, tuple[object, ...]], Provider] = {}

    # -- discovery -----------------------------------------------------------------

    def _discover(self) -> dict[str, list[Candidate]]:
        if self._candidates is not None:
            return self._candidates
        with self._lock:  # a registration racing the first discovery must not be lost
            if self._candidates is None:
                self._candidates = discover()
            return self._candidates

    def register(self, name: str, plugin: object, *, distribution: str | None = None) -> None:
        """Register ``plugin`` (a module or object with hookimpls) as provider ``name`` of
        this registry only, replacing whatever had the name here (closing its providers).

        For tests and embedding; installed plugins come from entry points, and
        :func:`tuneplug.plugins.register` adds one to every registry, refusing a taken name.

        Raises:
            PluginLoadError: ``name`` is not a provider name users can type.
        """
        check_provider_name(name)
        with self._lock:
            self._discover()[name] = [
                Candidate(name, repr(plugin), distribution, None, plugin=plugin)
            ]
            self._loaded.pop(name, None)
            for key in [k for k in self._providers if k[0] == name]:
                self._providers.pop(key).close()

    def in_process(self, name: str) -> bool:
        """Whether provider ``name`` is an object registered in this process (not importable
        by another process: a detached job runner refuses it)."""
        found = self._discover().get(name) or []
        return any(c.plugin is not None for c in found)

    def names(self) -> list[str]:
        """The provider names that may load (without importing anything)."""
        with self._lock:  # register() may be adding a name from another thread
            return sorted(n for n in self._discover() if self.filter.allows(n))

    def unknown_filter_names(self) -> list[str]:
        """Names ``TUNEPLUG_PLUGINS`` gives that no installed plugin provides (a typo: ``mokc``)."""
        return self.filter.unknown(self.all_names())

    def all_names(self) -> list[str]:
        """Every installed provider name, whether ``TUNEPLUG_PLUGINS`` allows it or not."""
        with self._lock:
            return sorted(self._discover())

    # -- loading -------------------------------------------------------------------

    def _load(self, name: str) -> tuple[PluginInfo, Any]:
        with self._lock:
            if name in self._loaded:
                return self._loaded[name]
            candidates = self._discover().get(name)
            if not candidates or not self.filter.allows(name):
                raise UnknownProviderError(self._unknown_message(name))
            if len(candidates) > 1:
                dists = " and ".join(repr(c.distribution) for c in candidates)
                info = PluginInfo(
                    name,
                    candidates[0].value,
                    error=f"its name is claimed by both distributions {dists}",
                )
                self._loaded[name] = (info, None)
                return self._loaded[name]
            cand = candidates[0]
            base = PluginInfo(name, cand.value, cand.distribution, cand.version)
            try:
                plugin = cand.plugin if cand.plugin is not None else cand.entry_point.load()  # type: ignore[union-attr]
                pm = new_plugin_manager()
                pm.register(plugin, name=name)
                hooks = implemented_hooks(pm)
                # Ours first: pluggy's "unknown hook" for a typo names the module's path.
                check_plugin_object(name, plugin, hooks)
                pm.check_pending()
                info = PluginInfo(
                    name,
                    cand.value,
                    cand.distribution,
                    cand.version,
                    capabilities=capabilities_of(name, hooks, pm),
                    hooks=hooks,
                )
                result: tuple[PluginInfo, Any] = (info, pm)
            except Exception as exc:  # any import-time failure is reported, not raised
                # One line, as every error and warning is: pluggy's PluginValidationError
                # spans three.
                message = one_line(
                    exc.message
                    if isinstance(exc, TuneplugError)
                    else f"{type(exc).__name__}: {exc}"
                ).removeprefix(f"plugin {name!r} ")  # said by every line reporting it
                result = (PluginInfo(**{**base.__dict__, "error": message}), None)
            self._loaded[name] = result
            return result

    def _unknown_message(self, name: str, instances: Mapping[str, str] | None = None) -> str:
        # Every "available providers" list holds the config's instances too: those
        # whose plugin is installed and allowed (the others cannot serve a call).
        usable = {n for n, plugin in (instances or {}).items() if plugin in self.names()}
        known = sorted({*self.names(), *usable})
        available = ", ".join(known) or "none"
        hint = ""
        if name in self._discover() and not self.filter.allows(name):
            hint = f" (excluded by TUNEPLUG_PLUGINS{self.filter_note()})"
        # `-m mokc/tiny`, as config keys say; stricter than their 0.6, which offers
        # 'openai' for 'nope' (a made-up name, not a typo).
        elif close := difflib.get_close_matches(name, known, n=1, cutoff=0.75):
            hint = f" (did you mean {close[0]!r}?)"
        return f"unknown provider {name!r}{hint}; available providers: {available}"

    def filter_note(self) -> str:
        """``; it names 'mokc' (did you mean 'mock'?), which no installed plugin
        provides``, or ``""``: said wherever the filter excludes what a call needs."""
        typos = self.filter.typos(self.all_names())
        return f"; it names {typos}" if typos else ""

    def info(self, name: str) -> PluginInfo:
        """Load ``name`` if needed and describe it (errors are reported in ``error``)."""
        return self._load(name)[0]

    def infos(self) -> list[PluginInfo]:
        """Describe every allowed provider, loading each; strict mode raises on a failure
        (one error naming every plugin that failed)."""
        result = [self.info(n) for n in self.names()]
        failed = [info for info in result if info.error is not None]
        if self.strict and len(failed) > 1:
            said = "; ".join(_failed_to_load(info) for info in failed)
            raise PluginLoadError(f"{len(failed)} plugins failed to load: {said}")
        if self.strict:
            for info in failed:
                self._raise_if_failed(info)
        return result

    def _raise_if_failed(self, info: PluginInfo) -> None:
        if info.error is not None:
            raise PluginLoadError(_failed_to_load(info), provider=info.name)

    def provider_settings_class(self, name: str) -> Any:
        """The settings model provider ``name`` declares, or ``None`` (loads the plugin)."""
        info, pm = self._load(name)
        self._raise_if_failed(info)
        site = HookSite(name, name, info.distribution, packages=packages_of(pm.get_plugins()))
        return call_hook(site, "tuneplug_settings", pm.hook.tuneplug_settings, {})

    def instance_info(self, name: str, plugin: str, *, config: Any = None) -> PluginInfo:
        """Describe the provider instance ``name`` served by the installed ``plugin``.

        Raises:
            ConfigError: ``name`` is itself an installed plugin's name, or ``plugin`` is not
                installed or ``TUNEPLUG_PLUGINS`` excludes it (naming the file and line of
                ``[providers.NAME] plugin`` when ``config`` is given).
        """
        from tuneplug.config_names import shadowing_instance, unavailable_plugin

        found = self._discover()
        if name in found and name != plugin:
            raise shadowing_instance(config, name, plugin)
        if plugin not in found or not self.filter.allows(plugin):
            # The instance is what the config names: blame it, not a provider nobody typed.
            raise unavailable_plugin(config, name, plugin, sorted(found), self.filter_note())
        info = self.info(plugin)
        return replace(info, name=name, plugin=plugin)

    def instance_infos(self, config: Any = None) -> list[PluginInfo]:
        """Describe every provider instance the config declares (loading their plugins)."""
        from tuneplug.config import load_config

        cfg = config if config is not None else load_config()
        found = []
        for name, plugin in sorted(cfg.instances().items()):
            if name == plugin:
                continue  # `plugin = "openai"` in [providers.openai]: the plugin itself
            try:
                found.append(self.instance_info(name, plugin, config=cfg))
            except TuneplugError as exc:
                found.append(PluginInfo(name, plugin, plugin=plugin, error=exc.message))
        return found

    def provider(
        self, name: str, settings: Mapping[str, Any] | None = None, *, config: Any = None
    ) -> Provider:
        """The provider ``name`` bound to its layered settings, created once per settings.

        ``name`` is an installed plugin's, or a provider instance's from the config
        (``[providers.NAME]`` with ``plugin = "..."``): the plugin's hooks with the
        instance's own settings, which never read the plugin's environment variables.
        """
        from tuneplug.config import build_settings, load_config
        from tuneplug.text import check_text

        check_text(name, "the provider name", error=UnknownProviderError)
        cfg = config if config is not None else load_config()
        instances = cfg.instances()
        plugin = instances.get(name, name)
        if plugin == name and (name not in self._discover() or not self.filter.allows(name)):
            from tuneplug.config_names import dormant_note

            note = dormant_note(cfg, name) if name not in self._discover() else ""
            raise UnknownProviderError(self._unknown_message(name, instances) + note)
        if plugin != name:
            info = self.instance_info(name, plugin, config=cfg)
            _, pm = self._load(plugin)
        else:
            info, pm = self._load(name)
        self._raise_if_failed(info)
        settings_cls = self.provider_settings_class(plugin)
        built = None
        origins: dict[str, str] | Origins = {}
        if settings_cls is not None:
            project, user = cfg.provider_table(name)
            label = f"settings for provider {name!r}"
            layers: dict[str, Any] = {
                "explicit": settings,
                "project": project,
                "user": user,
                "files": (cfg.project, cfg.user),
                "section": f"providers.{name}",
                "environment": plugin == name,
            }
            built = build_settings(
                settings_cls,
                label=label if plugin == name else f"{label} (plugin {plugin!r})",
                **layers,
            )
            origins = Origins(lambda: setting_origins(settings_cls, **layers))
        elif settings:
            # Dropping them silently would hide a typo'd provider or a wrong assumption.
            raise ConfigError(
                f"provider {name!r} declares no settings, but got {sorted(settings)}",
                provider=name,
            )
        # Settings given under other words are another provider: its hints say them.
        words = settings.labels() if isinstance(settings, SettingsArgument) else ()
        key = (name, _fingerprint(built), words)
        with self._lock:
            existing = self._providers.get(key)
            if existing is None:
                existing = self._providers[key] = Provider(info, pm, built, origins=origins)
            return existing

    def settings_in_use(self) -> list[Any]:
        """The settings of every provider this registry has created (``None`` omitted)."""
        with self._lock:
            providers = list(self._providers.values())
        return [p.ctx.settings for p in providers if p.ctx.settings is not None]

    def close(self) -> None:
        """Close every provider instance this registry created."""
        with self._lock:
            providers, self._providers = list(self._providers.values()), {}
        for provider in providers:
            provider.close()


def _fingerprint(settings: Any) -> str:
    # Secrets take part (two tokens are two instances) but only as a digest.
    if settings is None:
        return ""
    return hashlib.sha256(repr(_unwrapped(settings)).encode()).hexdigest()


def _unwrapped(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return sorted(((k, _unwrapped(v)) for k, v in value), key=str)
    if isinstance(value, dict):
        return sorted(((k, _unwrapped(v)) for k, v in value.items()), key=str)
    if isinstance(value, list | tuple):
        return [_unwrapped(v) for v in value]
    return value


_registries: dict[tuple[str | None, bool], Registry] = {}
_registries_lock = threading.Lock()


def _failed_to_load(info: PluginInfo) -> str:
    # docs/plugins.md's form, as a hook's fault says it: plugin 'boom' (tuneplug-boom): ...
    where = f" ({info.distribution})" if info.distribution else ""
    plugin = info.plugin or info.name
    instance = f"provider instance {info.name!r}: " if plugin != info.name else ""
    return f"{instance}plugin {plugin!r}{where} failed to load: {info.error}"


def default_registry(*, plugins: str | None = None, strict: bool = False) -> Registry:
    """The process-wide registry for this plugin filter and strictness."""
    key = (plugins, strict)
    with _registries_lock:
        registry = _registries.get(key)
        if registry is None:
            registry = _registries[key] = Registry(plugins=plugins, strict=strict)
        return registry


def settings_in_use() -> list[Any]:
    """The settings of every provider created in this process so far, ``get_model(...,
    settings=...)`` overrides included (the cassette kit scrubs their secrets)."""
    with _registries_lock:
        registries = list(_registries.values())
    return [s for registry in registries for s in registry.settings_in_use()]


def reset() -> None:
    """Forget every loaded provider (closing them); for tests and long-lived hosts."""
    with _registries_lock:
        registries = list(_registries.values())
        _registries.clear()
    for registry in registries:
        registry.close()
