"""What in a settings object is secret: the one answer every part of tuneplug uses.

``tuneplug config`` hides what :func:`masked` hides, and the cassette kit
(:mod:`tuneplug.testing.cassettes`, :mod:`tuneplug.testing.scan`) scrubs and looks
for what :func:`secret_values` returns; both walk a value with the same rule, so a
setting shown masked is never recorded in clear. A value is secret when it is:

* a pydantic ``SecretStr`` or ``SecretBytes``, wherever it sits: a field, the
  value of a mapping (``headers = {"X-Token" = ...}`` declared
  ``dict[str, SecretStr]``), an item of a list or tuple, a field of a nested model;
* the ``user:password`` part of a URL (``https://user:TOKEN@host``);
* the value of the environment variable a field marked :data:`SECRET_VARIABLE`
  names (``api_key_env = "TOGETHER_API_KEY"``: the name is shown, the key it
  names is secret).

Plugins mark secrets by type (``SecretStr``) and, for a field naming a variable,
with ``Annotated[str | None, SECRET_VARIABLE]`` (or ``secret_variable(fills="api_key")``
when the variable stands in for a secret field); nothing else needs declaring.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, GetCoreSchemaHandler, SecretBytes, SecretStr
from pydantic_core import core_schema

from tuneplug.settings_rules import URL_CREDENTIALS, mask_url

__all__ = [
    "MASK",
    "SECRET_VARIABLE",
    "SecretVariable",
    "is_secret",
    "masked",
    "secret_names",
    "secret_values",
    "secret_variable",
    "variable_fields",
    "variable_secret",
]

MASK = "**********"
"""What a secret setting looks like when shown."""


# POSIX's portable name (IEEE Std 1003.1, 8.1): what every shell can `export`.
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SecretVariable:
    """``Annotated`` metadata: the field's value names an environment variable holding
    a secret. ``fills`` names the secret field the variable stands in for when that
    field is unset (``api_key_env`` fills ``api_key``), so ``tuneplug config`` can show
    that field masked, with the variable as its origin.

    The field is validated too: ``None`` or a portable variable name (letters, digits
    and ``_``, not starting with a digit), else ``must be an environment variable
    name ...`` (a ``ValueError``, so a config file's error names its line)."""

    def __init__(self, fills: str | None = None) -> None:
        self.fills = fills

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        # pydantic's hook for Annotated metadata: the type's own schema, then the name check.
        return core_schema.no_info_after_validator_function(_check_name, handler(source))

    def __repr__(self) -> str:
        return "SECRET_VARIABLE" if self.fills is None else f"secret_variable(fills={self.fills!r})"


SECRET_VARIABLE = SecretVariable()
"""``Annotated`` metadata: this field names the environment variable a secret is read from."""


def _check_name(value: Any) -> Any:
    if isinstance(value, str) and not _VARIABLE_NAME.fullmatch(value):
        raise ValueError(
            "must be an environment variable name (letters, digits and '_', not starting "
            f"with a digit), got {value!r}"
        )
    return value


def secret_variable(fills: str) -> SecretVariable:
    """:data:`SECRET_VARIABLE` for a variable that stands in for the field ``fills``:
    ``api_key_env: Annotated[str | None, secret_variable(fills="api_key")]``."""
    return SecretVariable(fills)


def variable_secret(name: str) -> str:
    """The secret the environment variable ``name`` holds, stripped (a key pasted
    with a trailing newline still works); ``""`` when it is unset or blank. The one
    reading of a :data:`SECRET_VARIABLE` field's variable: the provider sending the
    key, ``tuneplug config`` showing it and the cassette kit scrubbing it agree."""
    return os.environ.get(name, "").strip()


def variable_fields(model: type[BaseModel]) -> dict[str, SecretVariable]:
    """The fields of ``model`` marked as naming a secret's variable, with their marks."""
    found = {}
    for name, info in model.model_fields.items():
        marks = [m for m in info.metadata if isinstance(m, SecretVariable)]
        if marks:
            found[name] = marks[0]
    return found


def is_secret(value: Any) -> bool:
    """Whether ``value`` itself is a secret (``SecretStr`` / ``SecretBytes``)."""
    return isinstance(value, SecretStr | SecretBytes)


def _reveal(value: SecretStr | SecretBytes) -> str:
    raw = value.get_secret_value()
    # Cassettes and logs are text: bytes that are not UTF-8 cannot appear in them as such.
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def masked(value: Any) -> Any:
    """``value`` fit for display: secrets become ``'**********'`` (empty ones ``''``),
    URL credentials ``***``; models and mappings become dicts, lists and tuples lists,
    paths strings."""
    if is_secret(value):
        return MASK if _reveal(value) else ""
    if isinstance(value, BaseModel):
        return {k: masked(v) for k, v in value}
    if isinstance(value, Mapping):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str):
        return mask_url(value)
    return value


def _leaves(value: Any, key: str | None = None) -> Iterator[tuple[str | None, Any]]:
    """``(mapping key or None, leaf)`` for every leaf of ``value``, as :func:`masked` walks it."""
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        for name, inner in value:
            info = fields.get(name)
            marked = info is not None and any(isinstance(m, SecretVariable) for m in info.metadata)
            if marked and isinstance(inner, str):
                # The variable is read when the secret is needed: so is its value here.
                found = variable_secret(inner)
                if found:
                    yield None, SecretStr(found)
            yield from _leaves(inner)
    elif isinstance(value, Mapping):
        for name, inner in value.items():
            yield from _leaves(inner, str(name))
    elif isinstance(value, list | tuple | set | frozenset):
        for inner in value:
            yield from _leaves(inner)
    else:
        yield key, value


def secret_values(value: Any) -> tuple[str, ...]:
    """Every secret text in ``value`` (a settings model, mapping, list or leaf), in
    order, without repeats or empty ones: what :func:`masked` hides, revealed."""
    found: list[str] = []
    for _, leaf in _leaves(value):
        if is_secret(leaf):
            found.append(_reveal(leaf))
        elif isinstance(leaf, str):
            match = URL_CREDENTIALS.match(leaf.strip())
            if match:
                userinfo = match.group("userinfo")
                found.extend([userinfo, userinfo.partition(":")[2]])
    return tuple(v for v in dict.fromkeys(found) if v)


def secret_names(value: Any) -> tuple[str, ...]:
    """The keys whose values are secret, lower-cased (``headers = {"X-Token" = ...}``
    gives ``"x-token"``): header or parameter names that carry credentials."""
    names = (k.lower() for k, leaf in _leaves(value) if k is not None and is_secret(leaf))
    return tuple(dict.fromkeys(names))
