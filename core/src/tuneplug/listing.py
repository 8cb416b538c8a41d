"""Listing every provider's models, and saying which providers were passed by and why.

A provider that is installed but not configured (Gradient without a token) is a
normal state: it is reported as such, never as a warning and never as a failure,
even in strict mode. A plugin that fails to load, or a provider that fails to
list, is a warning (an error in strict mode). A provider whose settings are wrong (a
value in a config file or the environment) is an error the listing carries: the
user's own mistake, which ``tuneplug models`` reports after the list (exit 1), as
docs/cli.md says of every wrong setting. A ``TUNEPLUG_PLUGINS`` name that no
installed plugin provides (``mokc``) is a warning: it matches nothing, silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tuneplug.config import load_config
from tuneplug.config_names import registry_for
from tuneplug.errors import ConfigError, NotConfiguredError, TuneplugError
from tuneplug.plugins import PluginInfo, Registry
from tuneplug.types import Capability, ModelInfo

__all__ = ["ModelListing", "model_listing", "skipped", "unknown_plugin_names"]


@dataclass
class ModelListing:
    """The models found, the providers not configured, and what to warn about."""

    models: list[ModelInfo] = field(default_factory=list)
    unconfigured: dict[str, str] = field(default_factory=dict)
    """Provider name -> what to set (the provider's own message)."""
    warnings: list[str] = field(default_factory=list)
    """One line each: unknown ``TUNEPLUG_PLUGINS`` names, plugins or providers skipped."""
    errors: dict[str, ConfigError] = field(default_factory=dict)
    """Provider name -> why it was skipped: a setting is wrong (the error's ``problems``
    are ``FILE:LINE: ...`` or ``VARIABLE: ...`` lines)."""


def model_listing(provider: str | None = None, *, base_only: bool = False) -> ModelListing:
    """The models of ``provider``, or of every allowed provider.

    Raises:
        TuneplugError: for ``provider`` by name, whatever stops it (unconfigured
            included); across providers, only in strict mode and only for a
            provider that failed (not for one that is merely unconfigured).
    """
    config = load_config()
    registry = registry_for(config)
    listing = ModelListing()
    if provider is not None:
        names = [provider]
    else:
        listing.warnings.extend(unknown_plugin_names(registry))
        infos = registry.infos() + registry.instance_infos(config)
        listing.warnings.extend(skipped(info) for info in infos if info.error is not None)
        names = [i.name for i in infos if i.ok and Capability.COMPLETE in i.capabilities]
    for name in names:
        try:
            prov = registry.provider(name, config=config)
            prov.require(Capability.COMPLETE, "list models")
            listed = prov.call("tuneplug_list_models", base_only=base_only)
            listing.models.extend(prov.model_info(info) for info in listed)
        except NotConfiguredError as exc:
            if provider is not None:
                raise
            listing.unconfigured[name] = exc.message
        except ConfigError as exc:
            if provider is not None or config.settings.strict:
                raise
            listing.errors[name] = exc
        except TuneplugError as exc:
            # Listing everything must not fail because one provider is unreachable;
            # asking for that provider by name still raises.
            if provider is not None or config.settings.strict:
                raise
            reason = exc.said_of(name)  # the provider is named already
            listing.warnings.append(f"provider {name!r} skipped: {reason}")
    return listing


def skipped(info: PluginInfo) -> str:
    """The warning for a provider that failed to load: a plugin (with its distribution,
    when known) or a provider instance (with the plugin behind it)."""
    if info.plugin is not None and info.plugin != info.name:
        error = info.error or ""
        named = f"plugin {info.plugin!r}" in error  # "... needs plugin 'openai', which ..."
        behind = "" if named else f" (plugin {info.plugin!r})"
        return f"provider instance {info.name!r}{behind} skipped: {error}"
    dist = f" ({info.distribution})" if info.distribution else ""
    return f"plugin {info.name!r}{dist} skipped: {info.error}"


def unknown_plugin_names(registry: Registry) -> list[str]:
    """The warning (zero or one line) for ``TUNEPLUG_PLUGINS`` names no plugin provides,
    each with the closest installed name."""
    typos = registry.filter.typos(registry.all_names())
    if not typos:
        return []
    installed = ", ".join(registry.all_names()) or "none"
    return [f"TUNEPLUG_PLUGINS names {typos} (installed: {installed})"]
