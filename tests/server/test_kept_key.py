"""``tuneplug serve`` without a key: the generated one is kept in the state directory.

Tenants are named after their key, so a key generated anew on each start would
leave every job, file and ``ft:`` model of the last run to a key nobody has (user7 #2).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tuneplug.server.keys import KEY_FILE

from tests.openai.gateway import fine_tune
from tests.server.served_cli import serve

NO_ENV_KEY: dict[str, str | None] = {"TUNEPLUG_SERVE_TOKEN": None}
KEY_A = "sk-tenantA-111111"


def _key(output: str) -> str:
    found = re.search(r"export TUNEPLUG_SERVE_TOKEN=(\S+)", output)
    assert found, output
    return found.group(1)


def test_a_restart_serves_the_kept_key_and_its_tenants_objects(
    made: list[Any], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    with serve(made, state, env=NO_ENV_KEY) as first:
        key = _key(first.output)
        job, _ = fine_tune(first.sdk(key), tmp_path)
        [file] = first.sdk(key).files.list().data
    assert job.status == "succeeded", job.error
    path = state / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == key + "\n"
    assert len(key) >= 40  # token_urlsafe(32)
    with serve(made, state, env=NO_ENV_KEY) as second:
        assert _key(second.output) == key
        client = second.sdk(key)
        assert [f.id for f in client.files.list().data] == [file.id]
        again = client.fine_tuning.jobs.retrieve(job.id)
        assert (again.status, again.organization_id) == ("succeeded", job.organization_id)
        assert job.fine_tuned_model in [m.id for m in client.models.list()]
        answer = client.chat.completions.create(
            model=job.fine_tuned_model, messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.choices[0].message.content is not None


def test_the_banner_says_where_the_key_is_kept_and_how_to_rotate_it(
    made: list[Any], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    with serve(made, state, env=NO_ENV_KEY) as first:
        key = _key(first.output)
    [line] = [line for line in first.output.splitlines() if "kept in" in line]
    assert f"kept in {state / KEY_FILE} " in line
    assert "delete that file" in line and "--token" in line
    assert first.output.count(key) == 1  # the one export line
    (state / KEY_FILE).unlink()  # rotation: a new key, a new tenant
    with serve(made, state, env=NO_ENV_KEY) as rotated:
        new = _key(rotated.output)
        assert new != key and rotated.app.state.gateway.tenants.authenticate(key) is None
        assert (state / KEY_FILE).read_text() == new + "\n"


@pytest.mark.parametrize("source", ["--token", "$TUNEPLUG_SERVE_TOKEN", "--tenants"])
def test_a_key_given_overrides_the_kept_one_and_leaves_it_alone(
    made: list[Any], tmp_path: Path, source: str
) -> None:
    state = tmp_path / "state"
    with serve(made, state, env=NO_ENV_KEY) as first:
        kept = _key(first.output)
    spec = tmp_path / "tenants.toml"
    spec.write_text(f'[tenants.alice]\nkey = "{KEY_A}"\n')
    args = {"--token": ["--token", KEY_A], "--tenants": ["--tenants", str(spec)]}
    env = {"TUNEPLUG_SERVE_TOKEN": KEY_A} if source.startswith("$") else NO_ENV_KEY
    with serve(made, state, *args.get(source, []), env=env) as second:
        assert second.tenant(KEY_A)
        assert second.app.state.gateway.tenants.authenticate(kept) is None
        assert "kept in" not in second.output and "TUNEPLUG_SERVE_TOKEN=" not in second.output
        assert kept not in second.output and KEY_A not in second.output
    assert (state / KEY_FILE).read_text() == kept + "\n"
    # On a fresh state directory a given key writes no key file either.
    with serve(made, tmp_path / "fresh", *args.get(source, []), env=env):
        assert not (tmp_path / "fresh" / KEY_FILE).exists()


@pytest.mark.parametrize(
    "content",
    ["", "\n", "two words\n", "line-one\nline-two\n", "k\u00e9y\n", "x" * 5000, "\x00\x01"],
    ids=["empty", "newline", "space", "two lines", "non-ascii", "huge", "binary"],
)
def test_a_damaged_key_file_is_refused_in_one_line_without_its_content(
    made: list[Any], tmp_path: Path, content: str
) -> None:
    from tuneplug.cli import cli as group

    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    path = state / KEY_FILE
    path.write_text(content)
    os.chmod(path, 0o600)
    args = ["serve", "--port", "0", "--state-dir", str(state)]
    result = CliRunner().invoke(group, args, env=NO_ENV_KEY)
    assert result.exit_code == 1 and made == []
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {path} is damaged (expected the one API key")
    assert "delete it to generate a new one" in line and "--token" in line
    for part in content.split():
        assert part not in line.removeprefix(f"error: {path}")
    assert path.read_text() == content  # refused, not replaced: the old key's tenant stays


def test_a_key_file_open_to_others_is_refused(made: list[Any], tmp_path: Path) -> None:
    from tuneplug.cli import cli as group

    state = tmp_path / "state"
    with serve(made, state, env=NO_ENV_KEY) as first:
        key = _key(first.output)
    path = state / KEY_FILE
    os.chmod(path, 0o644)
    result = CliRunner().invoke(
        group, ["serve", "--port", "0", "--state-dir", str(state)], env=NO_ENV_KEY
    )
    assert result.exit_code == 1 and len(made) == 1
    assert result.stderr.strip() == f"error: {path} is open to group or others: chmod 600 {path}"
    assert key not in result.output
