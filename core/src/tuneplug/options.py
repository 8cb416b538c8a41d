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
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from tuneplug.config_files import ConfigFile, location, toml_key
from tuneplug.errors import InvalidRequestError, OptionError
from tuneplug.text import check_texts
from tuneplug.types import CompletionOptions
from tuneplug.validation_words import bounds_of, out_of_range, problem

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

    from tuneplug.models import Model
    from tuneplug.provider import Provider
    from tuneplug.types import ModelInfo

__all__ = [
    "COMMON_OPTIONS",
    "UNDECLARED",
    "DeclaredOptions",
    "OptionError",
    "alias_error",
    "build_options",
    "check_extra",
    "check_option_text",
    "declared_options",
    "option_rows",
]

COMMON_OPTIONS: tuple[str, ...] = tuple(f for f in CompletionOptions.model_fields if f != "extra")
"""The options every provider takes (``CompletionOptions`` without ``extra``)."""
_COMMON = frozenset(COMMON_OPTIONS)
_MISSING = object()


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
    found = provider.call(hook, model=model, purpose=purpose)  # a model class or None: checked
    return DeclaredOptions(model=found)


def check_option_text(
    values: Mapping[str, Any], provider: str | None, model: type[BaseModel] | None = None
) -> None:
    """Refuse option values no provider can send, at any depth, before any I/O: text
    with lone surrogates, a number that is not finite (``nan``, ``inf``).

    Raises:
        OptionError: naming the option, the path inside it (and a text's offset); a
            number of a ``model`` field says that field's range.
    """
    for name, value in values.items():
        what = (bounds_of(model, name) if model is not None else None) or "a finite number"
        _check_finite(name, value, name, provider, what)
        try:
            check_texts(value, f"option {name}")
        except InvalidRequestError as exc:
            # The path inside the value stays: `option stop[0] is ...` -> `value[0] is ...`.
            prefix = f"option {name}"
            detail = exc.message
            if detail.startswith(prefix):
                detail = "value" + detail.removeprefix(prefix)
            raise OptionError(exc.message, option=name, detail=detail, provider=provider) from None


def _check_finite(
    name: str, value: Any, path: str, provider: str | None, what: str, depth: int = 0
) -> None:
    # nan and inf are no JSON a provider can be sent, and nan passes an unbounded float
    # field (or fails a bound's comparison, which would blame the bound): refused by name.
    if isinstance(value, float) and not math.isfinite(value):
        inner = path.removeprefix(name)
        why = out_of_range("a finite number" if inner else what, value)
        raise OptionError(
            f"invalid option {path}={value!r}: {why}",
            option=name,
            detail=f"value{inner}: {why}" if inner else f"invalid value {value!r}: {why}",
            provider=provider,
        )
    if depth >= 32:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _check_finite(name, item, f"{path}.{key}", provider, what, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            _check_finite(name, item, f"{path}[{index}]", provider, what, depth + 1)


def _unknown(
    name: str,
    declared: DeclaredOptions,
    common: tuple[str, ...],
    provider: str | None,
    unlisted: frozenset[str] = frozenset(),
) -> OptionError:
    valid = (*common, *(n for n in declared.names if n not in unlisted))
    # Never the refused name itself: "unknown option 'x' (did you mean 'x'?)" helps no one.
    close = difflib.get_close_matches(name, [v for v in valid if v != name], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listed = ", ".join(valid) if valid else "none"
    # The provider is named once, by the error's prefix (or, in `detail`, here).
    where = f" for {provider}" if provider else ""
    return OptionError(
        f"unknown option {name!r}{hint}; valid options: {listed}",
        option=name,
        detail=f"unknown option{where}{hint}; valid options: {listed}",
        provider=provider,
    )


def check_extra(
    extra: Mapping[str, Any],
    declared: DeclaredOptions,
    provider: str | None,
    common: tuple[str, ...] = COMMON_OPTIONS,
    unlisted: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Validate provider-specific ``extra`` against ``declared``; the values to pass on.

    ``common`` are the other valid names, listed in an unknown-name error; ``unlisted``
    declared names are not listed there (a job's spec fields: its caller sets them
    with their own arguments).

    Raises:
        OptionError: an unknown name (listing the valid ones) or an invalid value.
    """
    check_option_text(extra, provider, declared.model)
    if not extra or not declared.declared:
        return dict(extra)
    names = declared.names
    model = declared.model
    # A declared model that allows extra fields accepts any name (and validates its own).
    if model is None or model.model_config.get("extra") != "allow":
        for name in extra:
            if name not in names:
                raise _unknown(name, declared, common, provider, unlisted)
    assert model is not None  # an unknown name was refused above without a model
    try:
        validated = model.model_validate(dict(extra))
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"]) or "value"
        top = str(err["loc"][0]) if err["loc"] else None
        given = extra[top] if top is not None and top in extra else _MISSING
        shown = field if given is _MISSING else f"{field}={given!r}"
        # Inside a nested value, the path below the option: `volume.max` -> `max`.
        inner = field.removeprefix(f"{top}.") if top is not None and field != top else ""
        whole = given is _MISSING or inner
        value = "invalid value" if whole else f"invalid value {given!r}"
        said = problem(err, model)  # a bounded number names its range and the value
        raise OptionError(
            f"invalid option {shown}: {said}",
            option=top,
            detail=f"{inner}: {value}: {said}" if inner else f"{value}: {said}",
            provider=provider,
        ) from None
    values = {name: getattr(validated, name) for name in validated.model_fields_set}
    values.update(validated.model_extra or {})
    return values


def alias_error(
    exc: OptionError, layers: tuple[ConfigFile | None, ...], alias: str
) -> InvalidRequestError:
    """``exc`` told from the alias's point of view: ``FILE:LINE: [models.qa] option:
    problem``, at the option's own line, no provider blamed.

    ``layers`` are the config files the alias may come from, highest precedence first.
    """
    for layer in layers:
        entry = (layer.data.get("models", {}) if layer is not None else {}).get(alias, {})
        if layer is not None and isinstance(entry, dict) and exc.option in entry:
            where = location(layer.path, ["models", alias, str(exc.option)], layer.table)
            table = ".".join(t for t in (layer.table, "models", alias) if t)
            key = toml_key(table, [str(exc.option)])
            return InvalidRequestError(f"{where}: {key}: {exc.detail}")
    return InvalidRequestError(f"[models.{alias}]: {exc.message}")


_INTEGER_OPTIONS = frozenset({"max_tokens", "top_k", "seed"})
_NUMBER_OPTIONS = frozenset({"temperature", "top_p"})


def _check_number_types(values: Mapping[str, Any], provider: str | None) -> None:
    """Refuse a common option whose type is wrong, before pydantic would convert it:
    ``max_tokens="3"`` or ``max_tokens=True`` from Python is a mistake, not 3 or 1."""
    for name, value in values.items():
        if value is None or (name not in _INTEGER_OPTIONS and name not in _NUMBER_OPTIONS):
            continue
        integer = name in _INTEGER_OPTIONS
        kinds: tuple[type, ...] = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            want = "an integer" if integer else "a number"
            raise OptionError(
                f"invalid option {name}={value!r}: must be {want}",
                option=name,
                detail=f"invalid value {value!r}: must be {want}",
                provider=provider,
            )


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
    check_option_text(known, provider, CompletionOptions)  # extras in check_extra
    _check_number_types(known, provider)
    if extra:
        extra = check_extra(extra, declared, provider)
    try:
        return CompletionOptions(**known, extra=extra)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"])
        given = err.get("input")
        said = problem(err, CompletionOptions)  # "must be an integer >= 1, got 0"
        raise OptionError(
            f"invalid option {field}={given!r}: {said}",
            option=str(err["loc"][0]) if err["loc"] else None,
            detail=f"invalid value {given!r}: {said}",
            provider=provider,
        ) from None


# -- describing them (``tuneplug models MODEL --options``) ----------------------------

_ADAPTER_COMMON = {
    # {limits}: the provider's (tuneplug_adapter_limits), filled in by option_rows.
    "rank": ("int | None", "LoRA rank, {limits} (None: the provider's default)."),
    "learning_rate": ("float | None", "Learning rate, 0 < lr < 1 (None: the provider's default)."),
}


def _type_name(annotation: Any) -> str:
    """``annotation`` as a user would write it: ``list[str] | None``, ``bool``."""
    import types
    import typing

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is type(None):
        return "None"
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None:
        inner = ", ".join("..." if a is Ellipsis else _type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _row(name: str, purpose: str, scope: str, info: FieldInfo) -> dict[str, Any]:
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    if isinstance(default, tuple):
        default = list(default)
    return {
        "name": name,
        "purpose": purpose,
        "scope": scope,
        "type": _type_name(info.annotation),
        "required": info.is_required(),
        "default": default,
        "description": info.description or "",
    }


def option_rows(model: Model) -> list[dict[str, Any]]:
    """Every option ``model`` takes: name, purpose (``complete`` / ``create_adapter``),
    scope (``common`` / ``provider``), type, whether required, default and description.

    No I/O: the provider's ``tuneplug_options`` must answer from what it knows.
    """
    rows = [
        _row(name, "complete", "common", CompletionOptions.model_fields[name])
        for name in COMMON_OPTIONS
    ]
    if model.declared.model is not None:
        rows += [
            _row(name, "complete", "provider", info)
            for name, info in model.declared.model.model_fields.items()
        ]
    from tuneplug.types import Capability

    if Capability.FINE_TUNE in model.provider.capabilities:
        from tuneplug.models.limits import adapter_limits

        limits = adapter_limits(model.provider, model.info)
        shown = f"{limits.min_rank}..{limits.max_rank}"
        for name, (kind, text) in _ADAPTER_COMMON.items():
            rows.append({"name": name, "purpose": "create_adapter", "scope": "common",
                         "type": kind, "required": False, "default": None,
                         "description": text.format(limits=shown)})  # fmt: skip
        adapter = declared_options(model.provider, model.info, "create_adapter")
        if adapter.model is not None:
            rows += [
                _row(name, "create_adapter", "provider", info)
                for name, info in adapter.model.model_fields.items()
            ]
    return rows
