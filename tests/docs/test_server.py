"""docs/server.md's protocol plugin works as written, mounted beside Gradient's."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

from pydantic import SecretStr
from starlette.testclient import TestClient
from tuneplug.server.app import create_app
from tuneplug.server.protocol import ServerProtocol
from tuneplug.server.tenants import Tenant
from tuneplug_gradient.protocol import GradientProtocol

GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "server.md").read_text()
ALICE = Tenant("alice", SecretStr("alice-key-0123456789"), "alice_ws")
SLOW = Tenant("slow", SecretStr("slow-key-0123456789"), "slow_ws", rate_limit=60)


def _example() -> type[ServerProtocol]:
    [source] = re.findall(r"```python\n(.*?)```", GUIDE, flags=re.S)
    module = ModuleType("tuneplug_hello")
    exec(compile(source, "docs/server.md", "exec"), module.__dict__)
    protocol: type[ServerProtocol] = module.HelloProtocol
    return protocol


def test_the_documented_protocol_serves_models_and_completions(tmp_path: Path) -> None:
    hello = _example()()
    app = create_app(
        "mock/tiny",
        tenants=[ALICE, SLOW],
        state_dir=tmp_path,
        protocols=[GradientProtocol(), hello],
    )
    auth = {"Authorization": "Bearer alice-key-0123456789"}
    with TestClient(app) as client:
        models = client.get("/hello/models", headers=auth)
        done = client.post(
            "/hello/complete", json={"model": "mock/tiny", "prompt": "Hi", "max_tokens": 4},
            headers=auth,
        )  # fmt: skip
        missing = client.post(
            "/hello/complete", json={"model": "mock/nonesuch", "prompt": "Hi"}, headers=auth
        )
        stranger = client.get("/hello/models", headers={"Authorization": "Bearer nope"})
        slow = {"Authorization": "Bearer slow-key-0123456789"}
        client.get("/hello/models", headers=slow)
        limited = client.get("/hello/models", headers=slow)  # 60/min: one a second
    assert models.json() == {"models": ["mock/tiny"]}
    assert done.status_code == 200 and isinstance(done.json()["text"], str)
    assert missing.status_code == 404 and stranger.status_code == 401
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"


def test_the_entry_point_group_in_the_guide_is_the_one_the_server_reads() -> None:
    from tuneplug.server.protocol import PROTOCOLS_GROUP

    assert f'[project.entry-points."{PROTOCOLS_GROUP}"]' in GUIDE
