"""A small secret kept in the state directory: created once, readable by its owner only.

The tenant secret (:mod:`tuneplug.server.identity`) and the generated API key
(:mod:`tuneplug.server.keys`) are both kept this way, so a restart on the same
state directory finds the same value, and a file open to group or others is
refused rather than trusted.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from tuneplug.errors import ConfigError

__all__ = ["load_or_create", "read_private"]


def load_or_create(path: Path, make: Callable[[], str], max_bytes: int) -> str:
    """The text of ``path``; written first as ``make()`` and a newline (mode 0600) if absent.

    Two processes starting at once agree on one value: it is written whole under
    a temporary name, then linked into place, and the loser reads the winner's.

    Raises:
        ConfigError: the file is open to group or others (names the chmod to run).
        OSError: the directory cannot be created or the file written.
    """
    try:
        return read_private(path, max_bytes)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # private, as open_database
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(make() + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race: use its value
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return read_private(path, max_bytes)


def read_private(path: Path, max_bytes: int) -> str:
    """The first ``max_bytes`` of ``path`` as text (undecodable bytes as U+FFFD).

    Raises:
        FileNotFoundError: no such file.
        ConfigError: the file is open to group or others.
    """
    fd = os.open(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        data = file.read(max_bytes)
    if stat.S_IMODE(mode) & 0o077:
        raise ConfigError(f"{path} is open to group or others: chmod 600 {path}")
    return data.decode("utf-8", errors="replace")
