"""Stable, non-revealing identities for API keys given without a tenant name.

A key from ``--token``, ``$TUNEPLUG_SERVE_TOKEN``, a generated token or
``create_app(token=...)`` has no name, yet the name is what owns everything the
tenant creates, and it shows in ``organization_id`` and ``ft:`` model names. So
the name is derived from the key itself: the first 12 hex digits of
HMAC-SHA256(secret, key), prefixed ``org-``. The 32-byte secret is generated on
the first start and kept in ``<state dir>/tenant-secret`` (mode 0600): the same
key on the same state dir is the same tenant after a restart, a different key is
another tenant whatever its position on the command line, and without the secret
the name cannot be checked against guessed keys. Gradient workspace ids of such
tenants are derived the same way (under another label), unless one is given.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from pathlib import Path

from tuneplug.errors import ConfigError
from tuneplug.server.private_file import load_or_create

__all__ = ["SECRET_FILE", "KeyIdentity"]

SECRET_FILE = "tenant-secret"
_SECRET_BYTES = 32
_NAME_HEX = 12  # 48 bits: a collision between one server's keys is refused, not merged


class KeyIdentity:
    """Names and workspace ids derived from keys under one state dir's secret.

    Raises (from the constructor):
        ConfigError: the secret file is damaged, or open to group or others.
        OSError: the state dir cannot be created or the file written.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / SECRET_FILE
        self._secret = _load_or_create(self.path)

    def _digest(self, label: bytes, value: str) -> bytes:
        # Labels keep the name and the workspace id independent of each other.
        return hmac.new(self._secret, label + b"\0" + value.encode(), hashlib.sha256).digest()

    def name(self, key: str) -> str:
        """The tenant name of ``key``: ``org-`` and 12 hex digits, never any part of the key."""
        return "org-" + self._digest(b"tenant-name", key).hex()[:_NAME_HEX]

    def workspace(self, key: str) -> str:
        """The Gradient workspace id of ``key``: ``<uuid>_workspace``, stable across restarts."""
        return _as_workspace(self._digest(b"workspace-of-key", key))

    def named_workspace(self, name: str) -> str:
        """The workspace id of a named tenant (``--tenants``) that does not give one."""
        return _as_workspace(self._digest(b"workspace-of-name", name))


def _as_workspace(digest: bytes) -> str:
    return f"{uuid.UUID(bytes=digest[:16], version=4)}_workspace"


def _load_or_create(path: Path) -> bytes:
    text = load_or_create(path, lambda: secrets.token_hex(_SECRET_BYTES), 4 * _SECRET_BYTES)
    try:
        secret = bytes.fromhex(text.strip())
    except ValueError:
        secret = b""
    if len(secret) != _SECRET_BYTES:
        # Never its content: it is the secret.
        raise ConfigError(
            f"{path} is damaged (expected {2 * _SECRET_BYTES} hex digits); restoring it "
            "keeps key-named tenants' objects, removing it gives every key a new tenant"
        )
    return secret
