"""API keys of ``tuneplug serve``: which a client can send, and the one it generates.

A server started without ``--token``, ``$TUNEPLUG_SERVE_TOKEN`` or ``--tenants``
generates a key on its first start and keeps it in ``<state dir>/serve-key``
(mode 0600), so the next start on the same state directory serves the same key:
tenants are named after their key (:mod:`tuneplug.server.identity`), and a new key
on each start would leave every job, file and ``ft:`` model of the last run
unreachable. Deleting the file rotates the key (the new key is a new tenant).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from tuneplug.errors import ConfigError
from tuneplug.server.private_file import load_or_create

__all__ = ["KEY_FILE", "check_token", "kept_key"]

KEY_FILE = "serve-key"

_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
"""RFC 6750 section 2.1 ``b64token``: what a client can send after ``Bearer``."""

_MAX_KEY_BYTES = 4096  # far beyond a generated key (43 characters); a larger file is not one


def check_token(key: str, where: str) -> None:
    """Refuse an API key no client could send as ``Authorization: Bearer <key>``.

    ``where`` names its source (``--token``, ``$TUNEPLUG_SERVE_TOKEN``, a tenant);
    the key itself is never shown.

    Raises:
        ConfigError: the key is empty or not an RFC 6750 ``b64token`` (spaces,
            control characters, quotes, non-ASCII).
    """
    if not _B64TOKEN.fullmatch(key):
        raise ConfigError(
            f"{where}: an API key must be 1 or more of A-Z a-z 0-9 - . _ ~ + / (then = "
            "padding), the characters a Bearer token may hold (RFC 6750); this one is "
            f"{'empty' if not key else 'not'}"
        )


def kept_key(state_dir: Path) -> tuple[str, Path]:
    """The server's generated key and the file keeping it: ``<state_dir>/serve-key``,
    written on the first call (``secrets.token_urlsafe(32)``, 43 characters, mode 0600)
    and read back on every later one.

    A damaged file is refused, not replaced: a silently new key would be a new,
    empty tenant, which is what keeping the key prevents.

    Raises:
        ConfigError: the file is open to group or others, or does not hold one key
            (empty, several lines, characters no client can send); never shows its content.
        OSError: the state dir cannot be created or the file written.
    """
    path = state_dir / KEY_FILE
    text = load_or_create(path, lambda: secrets.token_urlsafe(32), _MAX_KEY_BYTES + 1)
    key = text.removesuffix("\n")
    if len(text) > _MAX_KEY_BYTES or not _B64TOKEN.fullmatch(key):
        raise ConfigError(
            f"{path} is damaged (expected the one API key it was generated with, on one line): "
            "put that key back in it, or delete it to generate a new one (a new key is a new, "
            "empty tenant), or pass the key with --token"
        )
    return key, path
