"""Option keywords: common ones by range, provider-specific ones against their declaration.

A call's keywords (``model.complete(prompt, max_tokens=3, guidance=[...])``)
split into the common :class:`~tuneplug.types.CompletionOptions` fields and the
provider-specific rest, ``options.extra``. A provider declares its
provider-specific options as a pydantic model through ``tuneplug_options``
(per provider, or per model when its implementation names ``model``); the
core validates the rest against it before any I/O:

* an unknown or mistyped name is an ``InvalidRequestError`` that lists every
  valid name (and suggests the closest);
* a bad value is an ``InvalidRequestError`` naming the option and the problem;
* a provider that implements the hook and returns ``None`` accepts none;
* a provider that does not implement the hook gets them unvalidated (stage 1),
  so plugins written before the hook existed keep working unchanged.

Validated values reach the hooks as the declared model's field values (a nested
model stays a model), for the names the call gave only: defaults are the
provider's business, not injected here.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from tuneplug.errors import InvalidRequestError, TuneplugError
from tuneplug.types import CompletionOptions

if TYPE_CHECKING:
    from tuneplug.provider import Provider
    from tuneplug.types import ModelInfo

__all__ = [
    "COMMON_OPTIONS",
    "UNDECLARED",
    "DeclaredOptions",
    "OptionError",
    "build_options",
    "check_extra",
    "declared_options",
]

COMMON_OPTIONS: tuple[str, ...] = tuple(f for f in CompletionOptions.model_fields if f != "extra")
"""The options every provider takes (``CompletionOptions`` without ``extra``)."""
_COMMON = frozenset(COMMON_OPTIONS)


class OptionError(InvalidRequestError):
    """An invalid option keyword; ``option`` is its name (so callers can say where it came from)."""

    option: str | None = None


@dataclass(frozen=True)
class DeclaredOptions:
    """What a provider declares for one model and purpose.

    ``model`` is the pydantic class, or ``None`` when the provider accepts no
    provider-specific options; ``declared`` is false for a provider without
    ``tuneplug_options`` (its options pass unvalidated).
    """

    model: type[BaseModel] | None
    declared: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        """The provider-specific option names (field names, then aliases)."""
        if self.model is None:
            return ()
        fields = self.model.model_fields
        aliases = [f.alias for f in fields.values() if f.alias and f.alias not in fields]
        return (*fields, *aliases)


UNDECLARED = DeclaredOptions(model=None, declared=False)
"""A provider without ``tuneplug_options``: extras pass through unvalidated."""


def declared_options(
    provider: Provider, model: ModelInfo | None, purpose: str = "complete"
) -> DeclaredOptions:
    """Ask ``provider`` what ``model`` declares for ``purpose`` (no I/O; hooks must not do any).

    ``purpose="create_adapter"`` is asked only of implementations that name
    ``purpose``: one that does not declares completion options alone, so its
    adapters take no provider-specific keywords. ``model`` may be ``None`` when
    the implementation does not name it (options per provider).
    """
    hook = "tuneplug_options"
    if not provider.has(hook):
        return UNDECLARED
    if purpose != "complete" and not provider.accepts(hook, "purpose"):
        return DeclaredOptions(model=None)
    found = provider.call(hook, model=model, purpose=purpose)
    if found is not None and not (isinstance(found, type) and issubclass(found, BaseModel)):
        raise TuneplugError(
            f"tuneplug_options returned {found!r}, not a pydantic model class",
            provider=provider.name,
        )
    return DeclaredOptions(model=found)


def _unknown(
    name: str, declared: DeclaredOptions, common: tuple[str, ...], provider: str | None
) -> OptionError:
    valid = (*common, *declared.names)
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listed = ", ".join(valid) if valid else "none"
    where = f" for {provider}" if provider else ""
    exc = OptionError(f"unknown option {name!r}{where}{hint}; valid options: {listed}")
    exc.provider = provider
    exc.option = name
    return exc


def check_extra(
    extra: Mapping[str, Any],
    declared: DeclaredOptions,
    provider: str | None,
    common: tuple[str, ...] = COMMON_OPTIONS,
) -> dict[str, Any]:
    """Validate provider-specific ``extra`` against ``declared``; the values to pass on.

    ``common`` are the other valid names, listed in an unknown-name error.

    Raises:
        OptionError: an unknown name (listing the valid ones) or an invalid value.
    """
    if not extra or not declared.declared:
        return dict(extra)
    names = declared.names
    for name in extra:
        if name not in names:
            raise _unknown(name, declared, common, provider)
    assert declared.model is not None  # names is empty without a model
    try:
        validated = declared.model.model_validate(dict(extra))
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"]) or "value"
        top = str(err["loc"][0]) if err["loc"] else None
        shown = f"{field}={extra[top]!r}" if top is not None and top in extra else field
        error = OptionError(f"invalid option {shown}: {err['msg']}", provider=provider)
        error.option = top
        raise error from None
    return {name: getattr(validated, name) for name in validated.model_fields_set}


def build_options(
    values: Mapping[str, Any],
    provider: str | None = None,
    declared: DeclaredOptions = UNDECLARED,
) -> CompletionOptions:
    """Validate option keywords: common ones by range, the rest against ``declared``.

    Raises:
        OptionError: a common option out of range, or a provider option the
            provider does not declare or whose value it refuses.
    """
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in values.items():
        (known if key in _COMMON else extra)[key] = value
    if extra:
        extra = check_extra(extra, declared, provider)
    try:
        return CompletionOptions(**known, extra=extra)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"])
        error = OptionError(
            f"invalid option {field}={err.get('input')!r}: {err['msg']}", provider=provider
        )
        error.option = str(err["loc"][0]) if err["loc"] else None
        raise error from None
