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

__all__ = ["get_provider", "is_provider"]


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


def is_provider(name: str) -> bool:
    """Whether ``name`` is an installed, allowed provider name (no plugin is loaded)."""
    config = load_config()
    registry = registry_for(config)
    return name in registry.names()
