"""A ``--tenants`` file's problems: all at once, each at its ``FILE:LINE`` (user7 #14),
as config files report theirs (docs/config.md); and which key is which tenant in the banner."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tuneplug.errors import ConfigError
from tuneplug.server.tenants import load_tenants_file

from tests.server.served_cli import serve

KEY_A = "sk-tenantA-111111"
KEY_B = "sk-tenantB-222222"


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_tenants_file(path)
    return list(caught.value.problems)


def test_every_problem_of_every_tenant_at_once_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "tenants.toml"
    path.write_text(
        "[tenants.alice]\n"  # 1
        'key = "has space"\n'  # 2
        "rate_limit = 0\n"  # 3
        "[tenants.bob]\n"  # 4
        'key_env = "UNSET_BOB_KEY_1"\n'  # 5
        "keys = 1\n"  # 6
        "[tenants.carol]\n"  # 7
        'key = ""\n'  # 8
        'workspace = ""\n'  # 9
    )
    assert _problems(path) == [
        f"{path}:2: [tenants.alice] key: an API key must be 1 or more of A-Z a-z 0-9 - . _ ~ + "
        "/ (then = padding), the characters a Bearer token may hold (RFC 6750); this one is not",
        f"{path}:3: [tenants.alice] rate_limit: must be a positive number (requests per "
        "minute), got 0",
        f"{path}:6: [tenants.bob] keys: unknown setting (settings: key, key_env, rate_limit, "
        "workspace)",
        f"{path}:5: [tenants.bob] key_env: environment variable UNSET_BOB_KEY_1 is not set",
        f"{path}:8: [tenants.carol] key: an API key must be 1 or more of A-Z a-z 0-9 - . _ ~ + "
        "/ (then = padding), the characters a Bearer token may hold (RFC 6750); this one is "
        "empty",
        f"{path}:9: [tenants.carol] workspace: expected a non-empty string, found an empty string",
    ]
    with pytest.raises(ConfigError) as caught:
        load_tenants_file(path)
    assert str(caught.value).startswith("6 problems in the tenants file:\n")
    assert "has space" not in str(caught.value)


def test_a_bad_key_from_the_environment_is_at_the_key_env_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BAD_BOB_KEY", "bob's key")
    path = tmp_path / "tenants.toml"
    path.write_text(f'[tenants.alice]\nkey = "{KEY_A}"\n[tenants.bob]\nkey_env = "BAD_BOB_KEY"\n')
    [problem] = _problems(path)
    assert problem.startswith(f"{path}:4: [tenants.bob] key_env: BAD_BOB_KEY: an API key must be")
    assert "bob's key" not in problem


def test_a_key_or_workspace_of_two_tenants_is_at_the_second_ones_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAME_KEY", KEY_A)
    path = tmp_path / "tenants.toml"
    path.write_text(
        f'[tenants.alice]\nkey = "{KEY_A}"\nworkspace = "ws"\n'
        f'[tenants.bob]\nkey = "{KEY_A}"\n'
        '[tenants.carol]\nkey_env = "SAME_KEY"\nworkspace = "ws"\n'
    )
    assert _problems(path) == [
        f"{path}:5: [tenants.bob] key: the API key of tenant 'alice' too (each key is one tenant)",
        f"{path}:7: [tenants.carol] key_env: the API key of tenant 'alice' too (each key is one "
        "tenant)",
        f"{path}:8: [tenants.carol] workspace: 'ws' is the workspace of tenant 'alice' too",
    ]


def test_the_command_reports_them_as_one_error(made: list[Any], tmp_path: Path) -> None:
    from tuneplug.cli import cli as group

    path = tmp_path / "tenants.toml"
    path.write_text('[tenants.a]\nkey = "a b"\n[tenants.b]\nkey = 5\n')
    args = ["serve", "--port", "0", "--state-dir", str(tmp_path / "s"), "--tenants", str(path)]
    result = CliRunner().invoke(group, args)
    assert result.exit_code == 1 and made == []
    lines = result.stderr.splitlines()
    assert lines[0] == "error: 2 problems in the tenants file:"
    assert lines[1].startswith(f"error: {path}:2: [tenants.a] key: an API key must be")
    assert lines[2] == f"error: {path}:4: [tenants.b] key: expected a string, found an integer"


def test_each_tokens_block_says_which_token_it_is(made: list[Any], tmp_path: Path) -> None:
    args = ["--token", KEY_A, "--token", KEY_B, "--protocol", "openai,gradient"]
    with serve(made, tmp_path / "state", *args) as served:
        a, b = served.tenant(KEY_A).name, served.tenant(KEY_B).name
        output = served.output
    blocks = re.split(r"\n  # tenant ", output)[1:]
    assert [block.splitlines()[0] for block in blocks] == [
        f"{a}: your --token #1",
        f"{b}: your --token #2",
    ]
    assert "export OPENAI_API_KEY='<your --token #1>'" in blocks[0]
    assert "export GRADIENT_ACCESS_TOKEN='<your --token #2>'" in blocks[1]
    assert KEY_A not in output and KEY_B not in output
    with serve(made, tmp_path / "state", "--token", KEY_A) as single:
        assert "# tenant" not in single.output
        assert "export OPENAI_API_KEY='<your --token>'" in single.output
