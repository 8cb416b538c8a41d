"""Cassettes (vcrpy) that replay offline and hold no credentials.

:func:`vcr_config` is what the ``vcr_config`` fixture returns, in the shape
pytest-recording and pytest-vcr expect (keyword arguments of ``vcr.VCR``):

* record mode ``none`` unless the run asks to record (``TUNEPLUG_RECORD_CASSETTES=1``
  re-records everything; a vcrpy mode name such as ``once`` is taken as is);
* credential headers replaced by ``<REDACTED>``: common ones (``authorization``,
  ``x-api-key``, ...) plus the ``SECRET_HEADERS`` every installed provider
  plugin declares;
* the values of every installed provider's secret settings (its ``SecretStr``
  fields, read from the environment) replaced wherever they appear: URL, headers
  and bodies, both ways;
* requests matched on method, URL and body (JSON bodies compared parsed, as
  vcrpy's ``body`` matcher does for ``application/json``);
* compressed response bodies stored decoded, so cassettes stay readable and
  scannable.

:mod:`tuneplug.testing.scan` checks a cassette directory for anything that
looks like a credential.

vcrpy is imported only by :func:`use_cassette`; nothing here needs it otherwise.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

__all__ = [
    "COMMON_SECRET_HEADERS",
    "PLACEHOLDER",
    "RECORD_ENV",
    "is_recording",
    "provider_secrets",
    "record_mode",
    "set_run_record_mode",
    "use_cassette",
    "vcr_config",
]

RECORD_ENV = "TUNEPLUG_RECORD_CASSETTES"
"""Set to ``1`` (or a vcrpy record mode) to record cassettes instead of replaying them."""

PLACEHOLDER = "<REDACTED>"
"""What a scrubbed credential becomes in a cassette."""

COMMON_SECRET_HEADERS = (
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "x-access-token",
    "x-goog-api-key",
    "cookie",
    "set-cookie",
)
"""Credential headers scrubbed whatever the provider."""

SECRET_QUERY_PARAMETERS = ("api_key", "apikey", "api-key", "access_token", "token", "key")
"""Query parameters scrubbed from recorded URLs."""

DEFAULT_MATCH_ON = ("method", "scheme", "host", "port", "path", "query", "body")

_RECORD_MODES = ("none", "once", "new_episodes", "all")
_MIN_SECRET_LENGTH = 6  # shorter values would scrub ordinary words


_run_default: str | None = None


def set_run_record_mode(value: str | None) -> None:
    """Remember what the test run asked for when it started.

    The pytest plugin calls this with ``$TUNEPLUG_RECORD_CASSETTES`` as it was at
    startup, so the answer survives test isolation that clears ``TUNEPLUG_*``
    variables for each test.
    """
    global _run_default
    _run_default = value


def run_record_mode() -> str | None:
    """What :func:`set_run_record_mode` last remembered."""
    return _run_default


def record_mode(value: str | None = None) -> str:
    """The vcrpy record mode for ``value``; by default ``$TUNEPLUG_RECORD_CASSETTES``
    (or its value when the test run started).

    Unset, empty or ``0`` mean ``none`` (replay only); ``1`` means ``all``
    (re-record every cassette that is used); a vcrpy mode name is taken as is.
    """
    if value is None:
        value = os.environ.get(RECORD_ENV) or _run_default or ""
    raw = value.strip().lower()
    if raw in ("", "0", "false", "no"):
        return "none"
    if raw in ("1", "true", "yes"):
        return "all"
    if raw in _RECORD_MODES:
        return raw
    raise ValueError(
        f"{RECORD_ENV}={raw!r}: expected 1, 0 or a vcrpy record mode ({', '.join(_RECORD_MODES)})"
    )


def is_recording() -> bool:
    """Whether this run asks to record cassettes."""
    return record_mode() != "none"


# -- what each installed provider considers secret ------------------------------------


def _secret_annotation(annotation: Any, seen: frozenset[type] = frozenset()) -> bool:
    """Whether a field of this type holds a secret: a ``SecretStr``/``SecretBytes``,
    alone or inside an ``Optional``, a container or a nested model."""
    from typing import get_args

    from pydantic import BaseModel, SecretBytes, SecretStr

    if annotation in (SecretStr, SecretBytes):
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:  # a model that contains itself
            return False
        inner = seen | {annotation}
        return any(
            _secret_annotation(f.annotation, inner) for f in annotation.model_fields.values()
        )
    return any(_secret_annotation(arg, seen) for arg in get_args(annotation))


def _env_names(settings_cls: Any) -> dict[str, list[str]]:
    """The environment variables each secret field of a pydantic-settings class reads."""
    config = getattr(settings_cls, "model_config", {}) or {}
    prefix = str(config.get("env_prefix", "") or "")
    names: dict[str, list[str]] = {}
    for field_name, info in getattr(settings_cls, "model_fields", {}).items():
        if not _secret_annotation(info.annotation):
            continue
        candidates = [f"{prefix}{field_name}"]
        alias = info.validation_alias
        if isinstance(alias, str):
            candidates.append(alias)
        for choice in getattr(alias, "choices", ()) or ():
            if isinstance(choice, str):
                candidates.append(choice)
        names[field_name] = candidates
    return names


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _secret_values(raw: str) -> list[str]:
    """The secrets one variable holds, as requests carry them.

    Settings strip what they read (a key pasted with its newline still works), so the
    value is stripped too; a JSON object or array (a ``dict[str, SecretStr]`` such as
    extra headers, a nested model) holds its secrets as its strings, which are what
    requests carry, never the JSON text itself.
    """
    text = raw.strip()
    if text.startswith(("{", "[")):
        try:
            return list(_strings(json.loads(text)))
        except ValueError:
            pass  # not JSON after all: the text is the value
    return [text]


def provider_secrets(
    environ: Mapping[str, str] | None = None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(headers, values)``: the secret headers installed providers declare and the
    current values of their secret settings.

    Each provider plugin of the ``tuneplug`` entry-point group is imported (not
    configured): its ``SECRET_HEADERS`` attribute, if any, names headers that
    carry credentials, and the secret fields (``SecretStr``, also inside a dict, a
    list or a nested model) of the settings model its ``tuneplug_settings`` hook
    returns name the variables holding them: ``env_prefix`` plus the field name, its
    alias or ``AliasChoices``, and with ``env_nested_delimiter`` the variables below
    them. Values are stripped; a JSON value gives its strings. A plugin that fails to
    import (or declares no usable settings) is skipped: ``tuneplug plugins`` reports it.
    """
    env = {k.upper(): v for k, v in (os.environ if environ is None else environ).items()}
    headers: list[str] = []
    values: list[str] = []
    for ep in entry_points(group="tuneplug"):
        try:
            plugin = ep.load()
            headers.extend(str(h).lower() for h in getattr(plugin, "SECRET_HEADERS", ()) or ())
            declare = getattr(plugin, "tuneplug_settings", None)
            settings_cls = declare() if callable(declare) else None
        except Exception:  # a broken plugin must not break every cassette test
            continue
        if settings_cls is None:
            continue
        config = getattr(settings_cls, "model_config", {}) or {}
        nested = str(config.get("env_nested_delimiter") or "").upper()
        for candidates in _env_names(settings_cls).values():
            for name in (n.upper() for n in candidates):
                found = [name] if name in env else []
                if nested:
                    found += [k for k in env if k.startswith(name + nested)]
                for key in found:
                    values.extend(v for v in _secret_values(env[key]) if v)
    return tuple(dict.fromkeys(headers)), tuple(dict.fromkeys(values))


# -- scrubbing -------------------------------------------------------------------------


def _replace_all(data: Any, secrets: Iterable[str]) -> Any:
    # Longest first: a secret that contains a shorter one would otherwise keep its
    # remainder (``abcdef123456`` with ``abcdef`` also secret: ``<REDACTED>123456``).
    secrets = sorted(secrets, key=len, reverse=True)
    if isinstance(data, bytes):
        for secret in secrets:
            data = data.replace(secret.encode(), PLACEHOLDER.encode())
        return data
    if isinstance(data, str):
        for secret in secrets:
            data = data.replace(secret, PLACEHOLDER)
        return data
    return data


def _scrubbers(secrets: tuple[str, ...]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    drop = frozenset({"set-cookie"})

    def before_record_request(request: Any) -> Any:
        # vcrpy also runs this on live requests before matching them at replay,
        # so a scrubbed recording still matches a request carrying the real secret.
        if secrets:
            request.uri = _replace_all(request.uri, secrets)
            request.body = _replace_all(request.body, secrets)
            for key in list(request.headers):
                request.headers[key] = _replace_all(request.headers[key], secrets)
        return request

    def before_record_response(response: Any) -> Any:
        headers = response.get("headers") or {}
        for key in [k for k in headers if str(k).lower() in drop]:
            headers.pop(key)
        body = response.get("body") or {}
        if secrets and "string" in body:
            body["string"] = _replace_all(body["string"], secrets)
        if secrets:
            for key, value in list(headers.items()):
                headers[key] = [_replace_all(v, secrets) for v in value]
        return response

    return before_record_request, before_record_response


def vcr_config(
    *,
    record: str | None = None,
    extra_headers: Iterable[str] = (),
    secrets: Iterable[str] = (),
    match_on: Iterable[str] = DEFAULT_MATCH_ON,
    providers: bool = True,
) -> dict[str, Any]:
    """Keyword arguments for ``vcr.VCR`` (and pytest-recording's ``vcr_config``).

    Args:
        record: the record mode; default from ``TUNEPLUG_RECORD_CASSETTES`` (``none``).
        extra_headers: more header names to scrub.
        secrets: more literal values to scrub wherever they appear.
        match_on: vcrpy matcher names. Drop ``host``/``port`` for a server on a
            random loopback port.
        providers: ask installed provider plugins for their secret headers and values.
    """
    headers: list[str] = [*COMMON_SECRET_HEADERS, *(h.lower() for h in extra_headers)]
    values: list[str] = [s for s in secrets if s]
    if providers:
        declared, current = provider_secrets()
        headers.extend(declared)
        values.extend(current)
    scrub_values = tuple(v for v in dict.fromkeys(values) if len(v) >= _MIN_SECRET_LENGTH)
    before_request, before_response = _scrubbers(scrub_values)
    return {
        "record_mode": record_mode(record),
        "filter_headers": [(h, PLACEHOLDER) for h in dict.fromkeys(headers)],
        "filter_query_parameters": [(q, PLACEHOLDER) for q in SECRET_QUERY_PARAMETERS],
        "match_on": list(match_on),
        "decode_compressed_response": True,
        "before_record_request": before_request,
        "before_record_response": before_response,
    }


@contextmanager
def use_cassette(
    path: str | os.PathLike[str],
    *,
    extra_headers: Iterable[str] = (),
    secrets: Iterable[str] = (),
    **overrides: Any,
) -> Iterator[Any]:
    """Run the block inside the cassette at ``path`` with :func:`vcr_config` settings.

    ``extra_headers`` and ``secrets`` are scrubbed on top of what
    :func:`vcr_config` scrubs; ``overrides`` replace keys of the config
    (``record_mode``, ``match_on``, ``allow_playback_repeats``, ...). In record
    mode ``all`` the cassette is recorded afresh (the old file is removed first).
    Yields the vcrpy cassette.
    """
    vcr = importlib.import_module("vcr")  # optional: needed only here (and untyped)
    config = vcr_config(extra_headers=extra_headers, secrets=secrets)
    config.update(overrides)
    if config["record_mode"] == "all":
        # vcrpy's `all` loads what the cassette held and appends to it: a re-recording
        # would keep stale exchanges forever. Re-recording starts from nothing.
        Path(path).unlink(missing_ok=True)
    # Options of one cassette rather than of the VCR (repeats: identical requests
    # answered by one recording however often they come).
    per_cassette = {k: config.pop(k) for k in ("allow_playback_repeats",) if k in config}
    with vcr.VCR(**config).use_cassette(os.fspath(path), **per_cassette) as cassette:
        yield cassette
