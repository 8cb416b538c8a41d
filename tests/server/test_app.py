"""The Gradient-compatible server in-process: models, ids, auth, limits, logging."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pytest
import tuneplug
from tuneplug.errors import ConfigError, UnknownModelError, UnknownProviderError
from tuneplug.server.app import create_app
from tuneplug_gradient.protocol.ids import base_id
from tuneplug_gradient.wire import ListModelsResponse, ModelAdapterEntry

from tests.server.gradient_server import (
    TOKEN,
    WORKSPACE,
    api,
    base_model_id,
    create_adapter,
    running_server,
    sdk_create_body,
)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


# -- listing ----------------------------------------------------------------------------


def test_lists_the_pinned_base_model_in_the_sdk_shape(state: Path) -> None:
    with api("mock/tiny", state) as client:
        response = client.get("/api/models?capability=any&onlyBase=True")
    assert response.status_code == 200
    [entry] = response.json()["models"]
    assert entry == {
        "type": "baseModel",
        "id": base_id("mock/tiny"),
        "name": "Mock Tiny",
        "slug": "tiny",
        "capabilities": ["complete", "fineTune"],
    }
    assert len(entry["id"]) == 50 and entry["id"].endswith("_base_ml_model")


def test_base_ids_are_the_same_for_every_state_dir(tmp_path: Path) -> None:
    ids = []
    for name in ("a", "b"):
        with api("mock/tiny", tmp_path / name) as client:
            ids.append(base_model_id(client))
    assert ids[0] == ids[1] == base_id("mock/tiny")


def test_a_provider_backend_serves_all_its_base_models_filtered_by_capability(
    state: Path,
) -> None:
    with api("mock", state) as client:

        def slugs(capability: str) -> list[str]:
            query = {"capability": capability, "onlyBase": "true"}  # Node SDK spelling
            response = client.get("/api/models", params=query)
            assert response.status_code == 200
            return [m["slug"] for m in response.json()["models"]]

        assert slugs("any") == ["tiny", "echo"]
        assert slugs("complete") == ["tiny", "echo"]
        assert slugs("fineTune") == ["tiny"]
        # No capability at all lists everything (older SDKs send only onlyBase).
        assert len(client.get("/api/models").json()["models"]) == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [("capability=everything", "capability"), ("onlyBase=yes", "onlyBase")],
)
def test_bad_query_values_are_query_parsing_errors(state: Path, query: str, field: str) -> None:
    with api("mock/tiny", state) as client:
        response = client.get(f"/api/models?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "queryOrPathParsingError"
    assert field in body["message"]
    assert set(body["payload"]) == {"formattedValidationError", "validationError"}


def test_adapters_are_listed_and_described_with_gradient_ids(state: Path) -> None:
    with api("mock/tiny", state) as client:
        adapter_id = create_adapter(client)
        listed = client.get("/api/models?capability=any&onlyBase=False").json()
        described = client.get(f"/api/models/{adapter_id}")
        only_base = client.get("/api/models?capability=any&onlyBase=True").json()
    models = ListModelsResponse.model_validate(listed).models
    assert [m.type for m in models] == ["baseModel", "modelAdapter"]
    assert len(adapter_id) == 50 and adapter_id.endswith("_model_adapter")
    assert described.status_code == 200
    entry = ModelAdapterEntry.model_validate(described.json())
    assert entry == models[1]
    assert (entry.id, entry.name, entry.base_model_id) == (
        adapter_id,
        "my_model_adapter",
        base_id("mock/tiny"),
    )
    datetime.fromisoformat(entry.latest_update_time.replace("Z", "+00:00"))
    assert len(only_base["models"]) == 1


def test_describing_a_base_model_id_gives_the_base_entry(state: Path) -> None:
    with api("mock/tiny", state) as client:
        response = client.get(f"/api/models/{base_model_id(client)}")
    assert response.status_code == 200
    assert response.json()["type"] == "baseModel"


def test_unknown_ids_are_404_with_a_message(state: Path) -> None:
    with api("mock/tiny", state) as client:
        for model_id in ("nope", "0" * 36 + "_model_adapter", "0" * 36 + "_base_ml_model"):
            response = client.get(f"/api/models/{model_id}")
            assert response.status_code == 404
            assert response.json()["message"]


# -- ids persist ------------------------------------------------------------------------


def test_adapter_ids_survive_a_restart(state: Path) -> None:
    with api("mock/tiny", state) as client:
        adapter_id = create_adapter(client)
    with api("mock/tiny", state) as client:
        assert client.get(f"/api/models/{adapter_id}").status_code == 200
        listed = client.get("/api/models?onlyBase=False").json()["models"]
    assert [m["id"] for m in listed if m["type"] == "modelAdapter"] == [adapter_id]


def test_adapters_made_outside_the_server_belong_to_no_tenant(state: Path) -> None:
    # Another server sharing TUNEPLUG_HOME, or the CLI, made it: no key of this server
    # created it, so none may list, use or delete it (issue 10, "many clients, separated").
    tuneplug.get_model("mock/tiny").create_adapter("made_by_the_cli")
    with api("mock/tiny", state) as client:
        models = client.get("/api/models?onlyBase=False").json()["models"]
        mine = create_adapter(client)
        listed = client.get("/api/models?onlyBase=False").json()["models"]
    assert [m["type"] for m in models] == ["baseModel"]
    assert [m["id"] for m in listed if m["type"] == "modelAdapter"] == [mine]


# -- auth -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status", "kind"),
    [
        ({}, 401, "missingAccessToken"),
        ({"x-gradient-workspace-id": WORKSPACE}, 401, "missingAccessToken"),
        (
            {
                "Authorization": "Bearer wrong-token-9876543210",
                "x-gradient-workspace-id": WORKSPACE,
            },
            401,
            "invalidAccessToken",
        ),
        (
            {"Authorization": f"Basic {TOKEN}", "x-gradient-workspace-id": WORKSPACE},
            401,
            "missingAccessToken",
        ),
        # A valid token for another (or no) workspace: authenticated, not allowed.
        ({"Authorization": f"Bearer {TOKEN}"}, 403, "missingWorkspace"),
        (
            {"Authorization": f"Bearer {TOKEN}", "x-gradient-workspace-id": "other_workspace"},
            403,
            "unknownWorkspace",
        ),
    ],
    ids=["nothing", "no-token", "wrong-token", "not-bearer", "no-workspace", "wrong-workspace"],
)
def test_requests_without_the_right_credentials_are_refused(
    state: Path, headers: dict[str, str], status: int, kind: str
) -> None:
    with api("mock/tiny", state, headers=headers) as client:
        for method, path in [("GET", "/api/models"), ("POST", "/api/models/x/complete")]:
            response = client.request(method, path, json={"query": "hi"})
            assert response.status_code == status
            if status == 401:
                assert response.headers["www-authenticate"] == "Bearer"
            # Typed as every Gradient error is: the case without parsing the words.
            assert list(response.json()) == ["message", "type"]
            assert response.json()["type"] == kind
            # Nothing the client sent is echoed back.
            for value in headers.values():
                assert value.split()[-1] not in response.text


def test_header_names_and_the_bearer_scheme_are_case_insensitive(state: Path) -> None:
    headers = {"AUTHORIZATION": f"bearer {TOKEN}", "X-Gradient-Workspace-Id": WORKSPACE}
    with api("mock/tiny", state, headers=headers) as client:
        assert client.get("/api/models").status_code == 200


def test_unknown_routes_and_methods_answer_json(state: Path) -> None:
    with api("mock/tiny", state) as client:
        missing = client.get("/api/nothing-here")
        wrong_method = client.put("/api/models")
    assert missing.status_code == 404 and missing.json()["message"]
    assert wrong_method.status_code == 405 and wrong_method.json()["message"]


# -- request bodies ---------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_by_its_declared_length(state: Path) -> None:
    with api("mock/tiny", state, max_body_bytes=64) as client:
        response = client.post(
            f"/api/models/{base_id('mock/tiny')}/complete", json={"query": "x" * 100}
        )
    assert response.status_code == 413
    assert "64 bytes" in response.json()["message"]


def test_a_chunked_body_over_the_limit_is_413_while_streaming(tmp_path: Path) -> None:
    import httpx

    def chunks() -> object:
        for _ in range(10):
            yield b'{"query": "' + b"x" * 20

    with running_server("mock/tiny", tmp_path, max_body_bytes=64) as server:
        response = httpx.post(
            f"{server.url}/models/{base_id('mock/tiny')}/complete",
            content=chunks(),  # type: ignore[arg-type]
            headers=server.headers,
        )
        assert "content-length" not in response.request.headers  # really chunked
    assert response.status_code == 413


def test_a_body_that_is_not_json_is_a_body_parsing_error(state: Path) -> None:
    with api("mock/tiny", state) as client:
        response = client.post(f"/api/models/{base_id('mock/tiny')}/complete", content=b"{")
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "bodyParsingError"
    assert body["payload"]["validationError"][0]["type"] == "json_invalid"


def test_create_adapter_body_errors(state: Path) -> None:
    with api("mock/tiny", state) as client:
        base = base_model_id(client)
        too_big = client.post("/api/models", json=sdk_create_body(base, rank=33))
        extra = client.post("/api/models", json={**sdk_create_body(base), "surprise": 1})
        snake = client.post("/api/models", json={"model": {"base_model_id": base, "name": "a"}})
        unknown = client.post("/api/models", json=sdk_create_body("0" * 36 + "_base_ml_model"))
    assert too_big.status_code == extra.status_code == 400
    assert too_big.json()["type"] == "bodyParsingError"
    assert "rank" in too_big.json()["payload"]["formattedValidationError"]
    assert "surprise" in extra.json()["payload"]["formattedValidationError"]
    assert snake.status_code == 400 and "base_model_id" in snake.json()["message"]
    assert unknown.status_code == 404 and unknown.json()["type"] == "notFound"


# -- logging ----------------------------------------------------------------------------


def test_one_log_line_per_request_without_credentials(
    state: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tuneplug.server")
    with api("mock/tiny", state) as client:
        client.get("/api/models?onlyBase=True")
        client.get("/api/models", headers={"Authorization": "Bearer wrong-but-secret-123"})
        client.post("/api/models/nope/complete", json={"query": "hi"})
    lines = [r.getMessage() for r in caplog.records if r.name == "tuneplug.server"]
    assert len(lines) == 3
    assert lines[0].startswith("GET /api/models 200 ") and lines[0].endswith("ms")
    assert lines[1].startswith("GET /api/models 401 ")
    assert lines[2].startswith("POST /api/models/nope/complete 404 ")
    for text in [*lines, caplog.text]:
        for secret in (TOKEN, WORKSPACE, "wrong-but-secret-123"):
            assert secret not in text


# -- construction -----------------------------------------------------------------------


def test_create_app_rejects_bad_backends_and_empty_credentials(state: Path) -> None:
    adapter = tuneplug.get_model("mock/tiny").create_adapter("a")
    with pytest.raises(ConfigError, match="adapter"):
        create_app(adapter.ref, token=TOKEN, workspace=WORKSPACE, state_dir=state)
    with pytest.raises(UnknownModelError):
        create_app("nonesuch", token=TOKEN, workspace=WORKSPACE, state_dir=state)
    with pytest.raises(UnknownProviderError):
        create_app("nonesuch/model", token=TOKEN, workspace=WORKSPACE, state_dir=state)
    with pytest.raises(ValueError, match="empty"):
        create_app("mock/tiny", token="", workspace=WORKSPACE, state_dir=state)
