"""A tenant is its key, not its position: ``tuneplug serve`` restarted with other keys.

Each server here is what ``tuneplug serve`` builds from its command line (the
command runs with uvicorn's loop replaced, and its app is then served on
loopback), on one state directory across restarts. The official ``openai`` SDK
and the Gradient protocol are the clients.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import openai
import pytest
from click.testing import CliRunner
from pydantic import SecretStr
from tuneplug.errors import ConfigError
from tuneplug.server.app import create_app
from tuneplug.server.identity import SECRET_FILE, KeyIdentity
from tuneplug.server.tenants import Tenant
from tuneplug_gradient.protocol import GradientProtocol
from tuneplug_openai.protocol import OpenAIProtocol

from tests.openai.gateway import fine_tune
from tests.server.gradient_server import base_model_id, sdk_create_body, serving
from tests.server.served_cli import serve as _serve

KEY_A = "sk-tenantA-111111"
KEY_B = "sk-tenantB-222222"
KEY_NEW = "sk-test-SECRET123"


def _tokens(*keys: str) -> list[str]:
    return [arg for key in keys for arg in ("--token", key)]


def _assert_sees_nothing(client: openai.OpenAI, job: Any, file_id: str) -> None:
    assert client.files.list().data == [] and client.fine_tuning.jobs.list().data == []
    assert [m.id for m in client.models.list()] == ["tiny"]
    for call in (
        lambda: client.files.retrieve(file_id),
        lambda: client.files.content(file_id),
        lambda: client.fine_tuning.jobs.retrieve(job.id),
        lambda: client.fine_tuning.jobs.list_events(job.id),
        lambda: client.models.delete(job.fine_tuned_model),
        lambda: client.chat.completions.create(
            model=job.fine_tuned_model, messages=[{"role": "user", "content": "hi"}]
        ),
    ):
        with pytest.raises(openai.NotFoundError):
            call()


def _assert_sees_its_own(client: openai.OpenAI, job: Any, file_id: str) -> None:
    assert [f.id for f in client.files.list().data] == [file_id]
    again = client.fine_tuning.jobs.retrieve(job.id)
    assert (again.status, again.organization_id) == ("succeeded", job.organization_id)
    assert job.fine_tuned_model in [m.id for m in client.models.list()]


def test_a_new_key_in_the_first_position_gets_nothing_of_the_old_one(
    made: list[Any], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    with _serve(made, state, *_tokens(KEY_A, KEY_B)) as first:
        job, _ = fine_tune(first.sdk(KEY_A), tmp_path)
        [file] = first.sdk(KEY_A).files.list().data
    assert job.status == "succeeded", job.error
    with _serve(made, state, *_tokens(KEY_NEW, KEY_B)) as second:
        _assert_sees_nothing(second.sdk(KEY_NEW), job, file.id)
        _assert_sees_nothing(second.sdk(KEY_B), job, file.id)
    # Swapped order, and the old key back: each key keeps exactly its own.
    with _serve(made, state, *_tokens(KEY_B, KEY_A)) as third:
        _assert_sees_its_own(third.sdk(KEY_A), job, file.id)
        _assert_sees_nothing(third.sdk(KEY_B), job, file.id)
        assert third.tenant(KEY_A).name == job.organization_id
        assert job.fine_tuned_model == f"ft:tiny:{job.organization_id}:seed:{job.id}"


@pytest.mark.parametrize("source", ["--token", "$TUNEPLUG_SERVE_TOKEN"])
def test_the_single_key_is_a_tenant_of_its_own_too(
    made: list[Any], tmp_path: Path, source: str
) -> None:
    def serve(key: str) -> Any:
        if source == "--token":
            return _serve(made, tmp_path / "state", "--token", key)
        return _serve(made, tmp_path / "state", env={"TUNEPLUG_SERVE_TOKEN": key})

    with serve(KEY_A) as first:
        job, _ = fine_tune(first.sdk(KEY_A), tmp_path)
        [file] = first.sdk(KEY_A).files.list().data
    with serve(KEY_NEW) as second:
        _assert_sees_nothing(second.sdk(KEY_NEW), job, file.id)
    with serve(KEY_A) as third:
        _assert_sees_its_own(third.sdk(KEY_A), job, file.id)


def test_gradient_adapters_and_workspaces_follow_the_key(made: list[Any], tmp_path: Path) -> None:
    state = tmp_path / "state"
    args = ["--protocol", "gradient"]
    with _serve(made, state, *args, *_tokens(KEY_A, KEY_B)) as first, first.gradient(KEY_A) as a:
        workspace = first.tenant(KEY_A).workspace
        assert f"GRADIENT_WORKSPACE_ID={workspace}" in first.output
        created = a.post("/api/models", json=sdk_create_body(base_model_id(a), "mine"))  # type: ignore[arg-type]
        assert created.status_code == 200, created.text
        adapter_id = created.json()["id"]
    with _serve(made, state, *args, *_tokens(KEY_NEW, KEY_B)) as second:
        assert second.tenant(KEY_NEW).workspace != workspace
        assert second.tenant(KEY_B).workspace == first.tenant(KEY_B).workspace
        with second.gradient(KEY_NEW) as new:
            assert new.get(f"/api/models/{adapter_id}").status_code == 404
            listed = new.get("/api/models", params={"onlyBase": "False"}).json()["models"]
            assert adapter_id not in [m["id"] for m in listed]
    with _serve(made, state, *args, *_tokens(KEY_B, KEY_A)) as third, third.gradient(KEY_A) as a:
        assert third.tenant(KEY_A).workspace == workspace  # stable: clients keep their settings
        assert a.get(f"/api/models/{adapter_id}").status_code == 200


def test_objects_of_the_old_positional_names_belong_to_no_key(
    made: list[Any], tmp_path: Path
) -> None:
    # What a server before key-derived names recorded: tenants "default" and "key1".
    state = tmp_path / "state"
    for name in ("default", "key1"):
        old = create_app(
            "mock/tiny",
            state_dir=state,
            protocols=[OpenAIProtocol()],
            tenants=[Tenant(name, SecretStr(KEY_A), f"{name}_ws")],
        )
        with serving(old) as root:
            client = openai.OpenAI(base_url=f"{root}/v1", api_key=KEY_A, max_retries=0)
            job, _ = fine_tune(client, tmp_path)
            [file] = client.files.list().data
        with _serve(made, state, "--token", KEY_A) as new:
            _assert_sees_nothing(new.sdk(KEY_A), job, file.id)


def test_the_name_reveals_no_part_of_the_key_and_differs_per_state_dir(tmp_path: Path) -> None:
    keys = [KEY_A, KEY_B, "abcdef0123456789", "org-0123456789abcdef", "0" * 40]
    here, there = KeyIdentity(tmp_path / "here"), KeyIdentity(tmp_path / "there")
    for key in keys:
        name = here.name(key)
        assert re.fullmatch(r"org-[0-9a-f]{12}", name)
        assert name == KeyIdentity(tmp_path / "here").name(key)  # read back, same secret
        assert name != there.name(key)  # no correlation across servers
        # Any 12 hex digits may hold a short hex run by chance (4 digits: ~1e-4); 6 and more
        # would be a leak (~3e-7 by chance).
        for size in range(6, len(key) + 1):
            assert key[:size] not in name and key[-size:] not in name
        assert here.workspace(key).endswith("_workspace") and name not in here.workspace(key)
    assert len({here.name(k) for k in keys}) == len(keys)


def test_the_secret_file_is_the_owners_only_and_checked(tmp_path: Path) -> None:
    identity = KeyIdentity(tmp_path / "state")
    path = tmp_path / "state" / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [SECRET_FILE]  # no temporary left
    secret = path.read_text()
    os.chmod(path, 0o640)
    with pytest.raises(ConfigError, match=f"chmod 600 {re.escape(str(path))}"):
        KeyIdentity(tmp_path / "state")
    os.chmod(path, 0o600)
    assert KeyIdentity(tmp_path / "state").name(KEY_A) == identity.name(KEY_A)
    for damaged in ("", "zz" * 32, secret[:40]):
        path.write_text(damaged)
        with pytest.raises(ConfigError, match="is damaged") as refused:
            KeyIdentity(tmp_path / "state")
        assert not damaged or damaged not in refused.value.message


def test_the_python_api_names_a_single_token_after_it(tmp_path: Path) -> None:
    def tenant(key: str) -> Tenant:
        kwargs: dict[str, Any] = {"protocols": [GradientProtocol()], "workspace": "ws"}
        app = create_app("mock/tiny", state_dir=tmp_path, token=key, **kwargs)
        try:
            found = app.state.gateway.tenants.authenticate(key)
        finally:
            app.state.gateway.state.close()
        assert found is not None
        return found  # type: ignore[no-any-return]

    assert tenant(KEY_A).name == tenant(KEY_A).name != tenant(KEY_B).name


def test_a_tenants_file_keeps_names_through_key_rotation_and_derives_workspaces(
    made: list[Any], tmp_path: Path
) -> None:
    state, spec = tmp_path / "state", tmp_path / "tenants.toml"

    def serve(key: str) -> Any:
        spec.write_text(f'[tenants.alice]\nkey = "{key}"\n[tenants.bob]\nkey = "{KEY_B}"\n')
        return _serve(made, state, "--tenants", str(spec))

    with serve(KEY_A) as first:
        job, _ = fine_tune(first.sdk(KEY_A), tmp_path)
        [file] = first.sdk(KEY_A).files.list().data
        workspace = first.tenant(KEY_A).workspace
    assert job.organization_id == "alice"
    with serve(KEY_NEW) as rotated:  # the name is the identity: a new key for alice
        _assert_sees_its_own(rotated.sdk(KEY_NEW), job, file.id)
        _assert_sees_nothing(rotated.sdk(KEY_B), job, file.id)
        assert rotated.tenant(KEY_NEW).workspace == workspace
        assert rotated.tenant(KEY_B).workspace != workspace


def test_a_key_given_twice_is_named_as_such_without_the_key(
    made: list[Any], tmp_path: Path
) -> None:
    from tuneplug.cli import cli as group

    args = ["serve", "--port", "0", "--state-dir", str(tmp_path), *_tokens(KEY_A, KEY_A)]
    result = CliRunner().invoke(group, args)
    assert result.exit_code == 1 and made == []
    assert result.stderr.strip() == "error: two tenants share an API key"
