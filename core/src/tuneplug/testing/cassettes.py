"""Cassettes (vcrpy) that replay offline and hold no credentials.

:func:`vcr_config` is what the ``vcr_config`` fixture returns, in the shape
pytest-recording and pytest-vcr expect (keyword arguments of ``vcr.VCR``):

* record mode ``none`` unless the run asks to record (``TUNEPLUG_RECORD_CASSETTES=1``
  re-records everything; a vcrpy mode name such as ``once`` is taken as is);
* credential headers replaced by ``<REDACTED>``: common ones (``authorization``,
  ``x-api-key``, ...), the ``SECRET_HEADERS`` every installed provider plugin
  declares, and the names of secret mapping entries (``headers = {"X-Token" = ...}``);
* every secret value of every provider's effective settings — what ``tuneplug
  config`` masks, from the environment, the config files, provider instances and
  ``get_model(settings=...)``, nested values included — replaced wherever it
  appears: URL, headers and bodies, both ways, in every form a request carries it
  in (percent- and form-encoded, JSON-escaped, Basic auth:
  :mod:`tuneplug.secret_forms`). They are read again for each
  interaction (:mod:`tuneplug.testing.known_secrets`), so a key set inside a test
  counts;
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
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tuneplug.plugin_faults import pass_through
from tuneplug.secret_forms import MIN_SECRET_LENGTH, scrub
from tuneplug.testing import masked_output
from tuneplug.testing.cassette_miss import explain_miss
from tuneplug.testing.known_secrets import known_secrets, provider_secrets

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

SECRET_QUERY_PARAMETERS = (
    # API keys and OAuth tokens
    "api_key", "apikey", "apiKey", "api-key", "key", "access_token", "token",
    "refresh_token", "id_token", "client_secret", "password", "secret",
    # signed URLs: Azure SAS, AWS SigV4 presigned, Google Cloud signed URLs
    "sig", "signature", "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token",
    "X-Goog-Signature", "X-Goog-Credential",
)  # fmt: skip
"""Query parameters that carry a credential: scrubbed from recorded URLs (names as
servers spell them) and flagged by :func:`~tuneplug.testing.assert_no_secrets` in any
letter case, whatever value they hold (docs/testing.md)."""

DEFAULT_MATCH_ON = ("method", "scheme", "host", "port", "path", "query", "body")

_RECORD_MODES = ("none", "once", "new_episodes", "all")


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


# -- scrubbing -------------------------------------------------------------------------


def _replace_all(data: Any, secrets: Iterable[str]) -> Any:
    # Every form, not only the raw one: httpx percent-encodes a query value (`+` as
    # `%2B`), JSON escapes `/`; a raw-only replace left those whole in the cassette.
    return scrub(data, secrets, PLACEHOLDER)


def _scrubbers(
    secrets: tuple[str, ...], providers: bool
) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    drop = frozenset({"set-cookie"})

    def current() -> tuple[frozenset[str], tuple[str, ...]]:
        # Read at every interaction, not when the config was built: a key a test sets
        # (monkeypatch.setenv) after the fixture ran is as secret as any other.
        if not providers:
            return frozenset(), secrets
        found = known_secrets()
        values = [*secrets, *(v for v in found.values if len(v) >= MIN_SECRET_LENGTH)]
        # Longest first: a secret containing another is replaced whole.
        return frozenset(found.headers), tuple(sorted(set(values), key=len, reverse=True))

    def before_record_request(request: Any) -> Any:
        # vcrpy also runs this on live requests before matching them at replay,
        # so a scrubbed recording still matches a request carrying the real secret.
        names, values = current()
        request.uri = _replace_all(request.uri, values)
        request.body = _replace_all(request.body, values)
        for key in list(request.headers):
            if str(key).lower() in names:
                request.headers[key] = PLACEHOLDER
            else:
                request.headers[key] = _replace_all(request.headers[key], values)
        return request

    def before_record_response(response: Any) -> Any:
        names, values = current()
        headers = response.get("headers") or {}
        for key in [k for k in headers if str(k).lower() in drop]:
            headers.pop(key)
        body = response.get("body") or {}
        if "string" in body:
            body["string"] = _replace_all(body["string"], values)
        for key, value in list(headers.items()):
            if str(key).lower() in names:
                headers[key] = [PLACEHOLDER]
            else:
                headers[key] = [_replace_all(v, values) for v in value]
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
    _unanswered_passes_through()
    headers: list[str] = [*COMMON_SECRET_HEADERS, *(h.lower() for h in extra_headers)]
    if providers:
        headers.extend(known_secrets().headers)
    scrub_values = tuple(v for v in dict.fromkeys(secrets) if len(v) >= MIN_SECRET_LENGTH)
    # What the recorder keeps out of the cassette stays out of the test's output too:
    # vcrpy's error for a request no cassette answers, and its log lines, quote it.
    masked_output.register_secrets(scrub_values)
    masked_output.install_log_filter()
    before_request, before_response = _scrubbers(scrub_values, providers)
    return {
        "record_mode": record_mode(record),
        "filter_headers": [(h, PLACEHOLDER) for h in dict.fromkeys(headers)],
        "filter_query_parameters": [(q, PLACEHOLDER) for q in SECRET_QUERY_PARAMETERS],
        "match_on": list(match_on),
        "decode_compressed_response": True,
        "before_record_request": before_request,
        "before_record_response": before_response,
    }


def _unanswered_passes_through() -> None:
    # A request the cassette cannot answer is the test's verdict, raised inside a
    # plugin's HTTP call: it must reach the test as vcrpy's own error, not as a
    # PluginError blaming the plugin (tuneplug.plugin_faults).
    try:
        errors = importlib.import_module("vcr.errors")
    except ImportError:
        return  # no vcrpy: no cassette can raise it
    pass_through(errors.CannotOverwriteExistingCassetteException)


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
        try:
            yield cassette
        except Exception as exc:
            explain_miss(exc)  # how to record it here, not in vcrpy's terms
            raise
