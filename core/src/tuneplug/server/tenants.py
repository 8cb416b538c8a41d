"""Tenants of ``tuneplug serve``: one API key each, with its own namespace and rate limit.

A tenant is what one API key may see and do. Everything a tenant uploads,
trains or creates is recorded as its own in the server's state
(:class:`~tuneplug.server.state.StateStore`), and every protocol asks the
:class:`~tuneplug.server.gateway.Gateway` with the tenant of the request, so
one key never lists, uses or deletes another key's objects.

Tenants come from ``--token`` flags (repeatable; each named after its key by
:class:`~tuneplug.server.identity.KeyIdentity`) or a TOML file (``--tenants``),
whose table names are the identities (a key may change, the objects stay)::

    [tenants.alice]
    key_env = "ALICE_KEY"          # or key = "..." (the file is then a secret)
    workspace = "alice_workspace"  # the Gradient x-gradient-workspace-id (optional)
    rate_limit = 120               # requests per minute (optional)
"""

from __future__ import annotations

import hmac
import math
import os
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from tuneplug.config_files import location, toml_key, toml_syntax_error, toml_text
from tuneplug.config_shapes import toml_type
from tuneplug.errors import ConfigError
from tuneplug.server.identity import KeyIdentity

__all__ = ["RateLimiter", "Tenant", "Tenants", "load_tenants_file"]

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


@dataclass(frozen=True)
class Tenant:
    """One API key's identity.

    Attributes:
        name: the tenant's name: the owner recorded on everything it creates (not secret).
        key: the bearer token (``Authorization: Bearer <key>``); never shown.
        workspace: the Gradient workspace id this key must send.
        rate_limit: requests per minute, or ``None`` for no limit.
    """

    name: str
    key: SecretStr = field(repr=False)
    workspace: str
    rate_limit: float | None = None

    def __post_init__(self) -> None:
        if not self.name or not set(self.name) <= _NAME_CHARS:
            raise ConfigError(f"tenant name {self.name!r}: use letters, digits, '_', '-', '.'")
        if not self.key.get_secret_value():
            raise ConfigError(f"tenant {self.name!r}: the API key must not be empty")
        if self.rate_limit is not None and not (
            math.isfinite(self.rate_limit) and self.rate_limit > 0
        ):
            raise ConfigError(f"tenant {self.name!r}: rate_limit must be a positive number")


def new_workspace() -> str:
    """A fresh Gradient-style workspace id (``<uuid>_workspace``)."""
    return f"{uuid.uuid4()}_workspace"


class Tenants:
    """The tenants of one server, looked up by bearer key in constant time per key."""

    def __init__(self, tenants: Iterable[Tenant]) -> None:
        self.all = list(tenants)
        if not self.all:
            raise ConfigError("the server needs at least one API key")
        # Keys first: a key given twice also gives one key-derived name twice.
        keys = [t.key.get_secret_value() for t in self.all]
        if len(set(keys)) != len(keys):
            raise ConfigError("two tenants share an API key")  # never name the key
        for attr in ("name", "workspace"):
            values = [getattr(t, attr) for t in self.all]
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ConfigError(f"two tenants share the {attr} {dupes[0]!r}")
        self._keys = [(k.encode(), t) for k, t in zip(keys, self.all, strict=True)]

    def __len__(self) -> int:
        return len(self.all)

    def authenticate(self, key: str) -> Tenant | None:
        """The tenant whose key is ``key``, or ``None``.

        Every key is compared (``hmac.compare_digest``): the answer's timing tells
        nothing about which key, or how much of one, was right.
        """
        given = key.encode()
        found = None
        for expected, tenant in self._keys:
            if hmac.compare_digest(given, expected):
                found = tenant
        return found


def load_tenants_file(
    path: Path,
    *,
    default_rate_limit: float | None = None,
    identity: KeyIdentity | None = None,
) -> list[Tenant]:
    """Tenants from a TOML file (module docstring); errors name the file and tenant.

    The name is the identity: a tenant whose key changes in the file keeps its
    objects (key rotation). A tenant without ``workspace`` gets one derived from
    its name by ``identity`` (stable across restarts), or a random one without it.

    Raises:
        ConfigError: unreadable or malformed file; else every problem of every tenant
            at once, each ``FILE:LINE: [tenants.NAME] KEY: problem`` (unknown keys, a
            missing key variable, a key no client can send, a key or workspace shared
            by two tenants), as config files report theirs. A key is never shown.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read tenants file: {exc.strerror or exc}") from None
    text = toml_text(path, raw)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(toml_syntax_error(path, text, exc)) from None
    table = data.get("tenants")
    others = sorted(set(data) - {"tenants"})
    if not isinstance(table, dict) or not table or others:
        where = location(path, [others[0]] if others else ["tenants"])
        raise ConfigError(f"{where}: expected only [tenants.<name>] tables")
    problems: list[str] = []
    tenants: list[Tenant] = []
    for name, entry in table.items():
        tenant = _tenant(path, name, entry, default_rate_limit, identity, problems)
        if tenant is not None:
            tenants.append(tenant)
    problems.extend(_shared(path, tenants, table))
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        lines = "\n".join(problems)
        raise ConfigError(
            f"{len(problems)} problems in the tenants file:\n{lines}", problems=tuple(problems)
        )
    return tenants


_TENANT_KEYS = ("key", "key_env", "rate_limit", "workspace")


def _at(path: Path, name: str, key: str | None, problem: str) -> str:
    # FILE:LINE: [tenants.NAME] key: problem, at the key's own line when there is one.
    where = location(path, ["tenants", name, *([key] if key else [])])
    return f"{where}: {toml_key(f'tenants.{name}', [key] if key else [])}: {problem}"


def _tenant(
    path: Path,
    name: str,
    entry: Any,
    default_rate: float | None,
    identity: KeyIdentity | None,
    problems: list[str],
) -> Tenant | None:
    """The tenant of ``[tenants.NAME]``, or ``None`` with its problems added to ``problems``."""
    found: list[str] = []

    def at(key: str | None = None, problem: str = "") -> None:
        found.append(_at(path, name, key, problem))

    if not isinstance(entry, dict):
        problems.append(_at(path, name, None, f"expected a table, found {toml_type(entry)}"))
        return None
    for unknown in sorted(set(entry) - set(_TENANT_KEYS)):
        at(unknown, f"unknown setting (settings: {', '.join(_TENANT_KEYS)})")
    key: Any = ""
    if ("key" in entry) == ("key_env" in entry):
        at(problem="give exactly one of key, key_env")
    elif "key_env" in entry:
        key = os.environ.get(str(entry["key_env"]), "")
        if not key:
            at("key_env", f"environment variable {entry['key_env']} is not set")
        else:
            _check_key(key, lambda problem: at("key_env", f"{entry['key_env']}: {problem}"))
    else:
        key = entry["key"]
        if not isinstance(key, str):
            at("key", f"expected a string, found {toml_type(key)}")
        else:
            _check_key(key, lambda problem: at("key", problem))
    if "workspace" in entry:
        workspace = entry["workspace"]
    else:
        workspace = identity.named_workspace(name) if identity else new_workspace()
    rate = entry.get("rate_limit", default_rate)
    if not isinstance(workspace, str) or not workspace:
        shown = "an empty string" if workspace == "" else toml_type(workspace)
        at("workspace", f"expected a non-empty string, found {shown}")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float)):
        at("rate_limit", f"expected a number (requests per minute), found {toml_type(rate)}")
    elif rate is not None and not (math.isfinite(rate) and rate > 0):
        at("rate_limit", f"must be a positive number (requests per minute), got {rate!r}")
    if not name or not set(name) <= _NAME_CHARS:
        at(problem=f"tenant name {name!r}: use letters, digits, '_', '-', '.'")
    problems.extend(found)
    if found:
        return None
    return Tenant(name, SecretStr(key), workspace, float(rate) if rate is not None else None)


def _check_key(key: str, problem: Callable[[str], None]) -> None:
    from tuneplug.server.keys import check_token

    try:
        check_token(key, "")
    except ConfigError as exc:
        problem(exc.message.removeprefix(": "))  # never the key itself


def _shared(path: Path, tenants: list[Tenant], table: dict[str, Any]) -> list[str]:
    """A key or workspace given to two tenants, at the later one's line (keys never shown)."""
    found: list[str] = []
    first_key: dict[str, str] = {}
    first_space: dict[str, str] = {}
    for tenant in tenants:
        key = tenant.key.get_secret_value()
        setting = "key" if "key" in table[tenant.name] else "key_env"
        if key in first_key:
            found.append(
                _at(path, tenant.name, setting,
                    f"the API key of tenant {first_key[key]!r} too (each key is one tenant)")
            )  # fmt: skip
        first_key.setdefault(key, tenant.name)
        if tenant.workspace in first_space:
            found.append(
                _at(path, tenant.name, "workspace",
                    f"{tenant.workspace!r} is the workspace of tenant "
                    f"{first_space[tenant.workspace]!r} too")
            )  # fmt: skip
        first_space.setdefault(tenant.workspace, tenant.name)
    return found


class RateLimiter:
    """A token bucket per tenant: ``rate_limit`` requests per minute, spread evenly
    (bursts of one second's share, at least one request).

    Thread-safe; costs one lock and a little arithmetic per request.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, last time)

    def acquire(self, tenant: Tenant) -> float | None:
        """Take one request from ``tenant``'s bucket: ``None`` if allowed, else the
        seconds until one is (for ``Retry-After``)."""
        if tenant.rate_limit is None:
            return None
        per_second = tenant.rate_limit / 60.0
        capacity = max(1.0, per_second)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(tenant.name, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * per_second)
            if tokens >= 1.0:
                self._buckets[tenant.name] = (tokens - 1.0, now)
                return None
            self._buckets[tenant.name] = (tokens, now)
            return (1.0 - tokens) / per_second
