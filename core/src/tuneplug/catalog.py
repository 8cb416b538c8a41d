"""Providers by name: the public way to reach one provider without a model reference.

    provider = tuneplug.get_provider("mock")
    provider.capabilities           # frozenset[Capability]
    tuneplug.list_models("mock", base_only=True)

For code that serves or inspects providers as a whole (``tuneplug serve``,
tools listing what a provider can do); completing and training go through
:func:`tuneplug.get_model` and :class:`tuneplug.Model`.
"""

from __future__ import annotations

from tuneplug.config import load_config
from tuneplug.config_names import registry_for
from tuneplug.provider import Provider

__all__ = ["get_provider", "is_provider", "provider_names"]


def get_provider(name: str) -> Provider:
    """The loaded provider ``name`` with its configured settings (cached per process).

    Raises:
        UnknownProviderError: no installed (or allowed) provider has that name.
        PluginLoadError: its plugin failed to load.
        ConfigError: its settings are invalid.
    """
    from tuneplug.arguments import check_name

    check_name(name, "name", "a provider name")
    config = load_config()
    registry = registry_for(config)
    return registry.provider(name, config=config)


def provider_names() -> list[str]:
    """Every name :func:`get_provider` opens, sorted: the installed, allowed plugins'
    and the config's provider instances (``[providers.NAME]`` with ``plugin = ...``)
    whose plugin is one of them. No plugin is loaded.

    Raises:
        ConfigError: a config instance's ``plugin`` is not a provider name.
    """
    config = load_config()
    plugins = registry_for(config).names()
    usable = [name for name, plugin in config.instances().items() if plugin in plugins]
    return sorted({*plugins, *usable})


def is_provider(name: str) -> bool:
    """Whether :func:`get_provider` opens ``name`` (:func:`provider_names`; no plugin is loaded)."""
    return name in provider_names()
