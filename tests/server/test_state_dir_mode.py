"""The server's state dir holds tenants' uploads and ownership: other local users
cannot read it (created 0700; a directory the operator made keeps its own mode)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from tuneplug.server.identity import KeyIdentity
from tuneplug.server.state import StateStore


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("first", ["state store", "tenant identity"])
def test_a_new_state_dir_is_private_whichever_part_creates_it(tmp_path: Path, first: str) -> None:
    state_dir = tmp_path / "deep" / "state"
    if first == "state store":
        StateStore(state_dir).close()
    else:
        KeyIdentity(state_dir).name("sk-a-key")
    assert _mode(state_dir) == 0o700


def test_an_existing_state_dir_keeps_the_operators_mode(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o750)
    state_dir.chmod(0o750)
    StateStore(state_dir).close()
    assert _mode(state_dir) == 0o750
