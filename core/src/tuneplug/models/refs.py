"""Model references: ``provider/model`` or an alias, resolved to a :class:`Model`.

``get_model`` checks the reference and the options (an alias's naming its
config file) before the provider is asked for the model; ``list_models`` lists
them.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from tuneplug.arguments import check_bool, check_name
from tuneplug.config import MOCK_DEFAULT_MODEL, Config, load_config
from tuneplug.config_names import registry_for
from tuneplug.errors import (
    InvalidRequestError,
    NotFoundError,
    UnknownModelError,
    UnknownProviderError,
)
from tuneplug.models.model import Model
from tuneplug.options import (
    UNDECLARED,
    DeclaredOptions,
    OptionError,
    alias_error,
    build_options,
    declared_options,
)
from tuneplug.provider import Provider
from tuneplug.text import check_text
from tuneplug.types import ModelInfo

__all__ = ["get_model", "list_models", "resolve"]


MODEL_REFERENCE = "a model reference, 'provider/model' or an alias"


def _registry(config: Config) -> Any:
    return registry_for(config)


def _split(ref: str, config: Config, alias: str | None = None) -> tuple[str, str]:
    """``ref`` as (provider, model); ``alias`` is the alias whose ``model`` it is, which
    must be ``provider/model``: aliases do not chain (one lookup, no cycles to catch)."""
    provider, sep, name = ref.partition("/")
    if sep and provider and name:
        return provider, name
    if alias is None:
        raise UnknownModelError(
            f"bad model reference {ref!r}: expected 'provider/model' or a configured alias"
        )
    chained = config.resolve_alias(ref) if not sep else None
    if chained is not None:
        raise UnknownModelError(
            f"{ref!r} is an alias, and an alias cannot name another alias: "
            f"name its target instead (model = {chained.model!r})"
        )
    raise UnknownModelError(
        f"bad model reference {ref!r}: an alias's model must be 'provider/model' "
        "(it cannot name another alias)"
    )


@contextlib.contextmanager
def _from(origin: str | None) -> Iterator[None]:
    """Errors resolving a reference the config gave say where it came from
    (``tuneplug.toml:3: [models.qa] model: unknown model ...``), not the provider,
    which did nothing wrong."""
    try:
        yield
    except (UnknownModelError, UnknownProviderError, NotFoundError) as exc:
        if origin is None:
            raise
        raise type(exc)(f"{origin}: {exc}") from None


def get_model(
    ref: str | None = None,
    *,
    settings: Mapping[str, Any] | None = None,
    **options: Any,
) -> Model:
    """The model ``ref`` names: ``provider/model``, an alias, or ``None`` for the default.

    The default is ``TUNEPLUG_MODEL``, else ``default_model`` from config, else
    ``mock/tiny``. ``settings`` override the provider's configured settings;
    ``options`` become default completion options (after the alias's own).
    A reference the config gives (the default model, an alias's ``model``) is named by
    its variable or file and line in an error saying the model does not exist, at
    resolution or, for a provider that resolves without a request, at the first call
    (:attr:`Model.origin`); a reference given here is the caller's and names no config.

    Raises:
        UnknownModelError: the reference is malformed, or names no alias or model.
        UnknownProviderError: no installed provider has that name.
        PluginLoadError: the provider's plugin failed to load.
        ConfigError: config files or provider settings are invalid.
        InvalidRequestError: an option is out of range or not one the provider
            declares (from an alias: naming the config file and line, and not
            the provider, which did nothing wrong).
    """
    check_name(ref, "ref", MODEL_REFERENCE, optional=True)
    if settings is not None and not isinstance(settings, Mapping):
        raise InvalidRequestError(
            f"settings must be a mapping of setting names to values, got {type(settings).__name__}"
        )
    config = load_config()
    # A reference the config gave is resolved under its origin: an error names it.
    origin: str | None = None
    if ref is not None:
        target = ref
    elif config.settings.model is not None:
        target = config.settings.model
        origin = config.where("model")
    else:
        target = MOCK_DEFAULT_MODEL
    alias_name: str | None = None
    alias_options: dict[str, Any] = {}
    with _from(origin):
        check_text(target, "the model reference", error=UnknownModelError)
        if "/" not in target:
            alias = config.resolve_alias(target)
            if alias is None:
                known = ", ".join(sorted(config.settings.models)) or "none configured"
                raise UnknownModelError(
                    f"unknown model {target!r}: not 'provider/model' and not an alias "
                    f"(aliases: {known})"
                )
            alias_name, target, alias_options = target, alias.model, alias.options
            origin = config.alias_where(alias_name)
    with _from(origin):
        provider_name, name = _split(target, config, alias_name)
        provider = _registry(config).provider(provider_name, settings, config=config)
    merged = {**alias_options, **options}

    def check(declared: DeclaredOptions) -> None:
        if alias_name is not None:
            try:
                build_options(alias_options, provider.name, declared)
            except OptionError as exc:
                raise alias_error(exc, (config.project, config.user), alias_name) from None
        build_options(merged, provider.name, declared)

    # Options declared per provider are checked before the model is looked up
    # (which may be a request); per-model ones right after.
    per_model = provider.accepts("tuneplug_options", "model")
    declared = UNDECLARED if per_model else declared_options(provider, None)
    check(declared)
    with _from(origin):
        info = resolve(provider, name)
    if per_model:
        declared = declared_options(provider, info)
        check(declared)
    return Model(info, provider, merged, declared=declared, origin=origin)


def resolve(provider: Provider, name: str) -> ModelInfo:
    """Ask ``provider`` for the model ``name`` (id, slug or name)."""
    info: ModelInfo | None
    if provider.has("tuneplug_resolve_model"):
        info = provider.call("tuneplug_resolve_model", name=name)
    else:
        models = provider.call("tuneplug_list_models", base_only=False)
        info = next((m for m in models if name in (m.id, m.slug, m.name)), None)
    if info is None:
        raise UnknownModelError(
            f"unknown model {name!r} (see `tuneplug models --provider {provider.name}`)",
            provider=provider.name,
        )
    return provider.model_info(info)


def list_models(provider: str | None = None, *, base_only: bool = False) -> list[ModelInfo]:
    """Models of one provider, or of every loadable provider.

    Across providers, one that is installed but not configured (no credentials)
    is passed by silently; a plugin that failed, a provider that failed to list or
    one whose settings are wrong is skipped with a warning (one per problem; raised
    in strict mode). See
    :func:`tuneplug.listing.model_listing` for the whole report.
    """
    from tuneplug.listing import model_listing

    check_name(provider, "provider", "a provider name", optional=True)
    check_bool(base_only, "base_only")
    listing = model_listing(provider, base_only=base_only)
    errors = listing.errors.items()
    skipped = [f"provider {name!r} skipped: {p}" for name, e in errors for p in e.problems]
    for line in [*listing.warnings, *skipped]:
        warnings.warn(f"tuneplug: {line}", stacklevel=2)
    return listing.models
