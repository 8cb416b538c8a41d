"""The rules every settings model follows, core and plugins alike, applied by the core.

:func:`tuneplug.config.build_settings` builds every provider's settings, so the
rules hold for a plugin whose author never heard of them:

* an empty environment variable counts as unset (``TUNEPLUG_MOCK_STORE=`` is no
  store path ``.``), whatever the plugin's ``model_config`` says;
* every number is finite (``inf`` / ``nan`` from TOML or the environment are refused);
* every text value is valid Unicode (an environment variable holding bytes
  that are not UTF-8 is refused, naming the variable and the byte offset);
* a URL never carries credentials (``http://user:TOKEN@host``): httpx would send
  them as Basic auth and every display of the URL would show them; the error
  never repeats the value.

Bounds are the plugin's to declare (``Field(le=...)``); the shipped contract suite
(:class:`tuneplug.testing.contract.CompleterContract`) fails a provider whose
numeric setting has no upper bound, so a missing one is caught by its own tests.
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, SecretStr

from tuneplug.errors import InvalidRequestError
from tuneplug.text import check_text

__all__ = ["URL_CREDENTIALS", "credential_field", "mask_url", "problems", "unbounded_numbers"]

URL_CREDENTIALS = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#@]*)@")
"""A URL with a ``user[:password]@`` part."""


def mask_url(text: str) -> str:
    """``text`` with the credentials of a URL replaced by ``***`` (other text unchanged)."""
    return URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}***@", text)


def _holds_one_secret(annotation: Any) -> bool:
    # `SecretStr` or `SecretStr | None`; not `dict[str, SecretStr]` (headers hold no key).
    if annotation is SecretStr:
        return True
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    return union and SecretStr in typing.get_args(annotation)


def credential_field(cls: type[BaseModel]) -> str | None:
    """The settings field of ``cls`` an API key goes in: one named ``api_key`` holding
    a secret (the OpenAI provider's), else the only field holding one (Gradient's
    ``access_token``); ``None`` when there is no such field or more than one."""
    names = [n for n, info in cls.model_fields.items() if _holds_one_secret(info.annotation)]
    if "api_key" in names:
        return "api_key"
    return names[0] if len(names) == 1 else None


def _value_problem(value: Any, credential: str | None, urls: bool) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    secret = isinstance(value, SecretStr)
    text = value.get_secret_value() if secret else value
    if isinstance(text, str):
        try:
            check_text(text, "the value")
        except InvalidRequestError as exc:
            return str(exc).removeprefix("the value is ")
        if urls and URL_CREDENTIALS.match(text.strip()):
            return (
                "must not hold credentials (user:password@ in a URL would be sent as "
                "Basic auth and shown wherever the URL is): put the key in "
                + (f"`{credential}`" if credential else "the provider's key setting")
            )
    return None


def _walk(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if isinstance(value, BaseModel):
        for name, inner in value:
            yield from _walk(inner, (*path, name))
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _walk(inner, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            yield from _walk(inner, (*path, index))
    else:
        yield path, value


def problems(settings: BaseModel) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """``(field path, what is wrong)`` for every value of ``settings`` breaking a rule."""
    credential = credential_field(type(settings))
    for path, value in _walk(settings, ()):
        # A config's raw [providers.NAME] tables: their URLs are judged when the
        # provider's own settings are built, where the error can name its key field.
        raw_table = credential is None and len(path) > 2 and path[0] == "providers"
        problem = _value_problem(value, credential, urls=not raw_table)
        if problem is not None:
            yield path, problem


def unbounded_numbers(cls: type[BaseModel]) -> list[str]:
    """The numeric fields of ``cls`` that declare no upper bound (``le`` / ``lt``)."""
    found = []
    for name, info in cls.model_fields.items():
        annotation = info.annotation
        args = getattr(annotation, "__args__", (annotation,))
        if not any(a in (int, float) for a in args) or any(a is bool for a in args):
            continue
        bounded = any(
            getattr(m, "le", None) is not None or getattr(m, "lt", None) is not None
            for m in info.metadata
        )
        if not bounded:
            found.append(name)
    return found
