"""Every 4xx the gateway answers tells its case by a field, not only by words.

Kind: some error bodies named their case (OpenAI's ``code``, Gradient's ``type``) and
others did not: ``GET /v1/fine_tuning/jobs?limit=0`` had ``code`` ``null`` while a bad
``after`` had ``invalid_request``; Gradient's missing-workspace 403 had no ``type``; a
backend's refusal (the prompt beyond the model's context) had no code and began with the
backend's provider name. Right: every OpenAI 4xx has a ``code`` (its own, else its
status's), every Gradient error a ``type``, and no message names the backend provider.
Each route of both protocols is asked something it refuses (the bodies' fields are
fuzzed by ``test_body_fuzz.py``, which checks the same).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from tuneplug.errors import InvalidRequestError
from tuneplug.server.errors import public_message
from tuneplug_gradient.protocol import GradientProtocol
from tuneplug_gradient.protocol.errors import ApiError, type_of
from tuneplug_openai.protocol import OpenAIProtocol
from tuneplug_openai.protocol.errors import OpenAIError

from tests.server.gradient_server import AUTH, TOKEN, WORKSPACE, api, unknown_adapter_id

OPENAI = {"Authorization": f"Bearer {TOKEN}"}
JOB = "ftjob-000000000000000000000000"

# (method, path, query or JSON body, headers): each refused with a 4xx.
OPENAI_REFUSALS: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = [
    ("GET", "/v1/models", None, {}),
    ("GET", "/v1/models", None, {"Authorization": "Bearer wrong-key-0123456789"}),
    ("GET", "/v1/models/nonesuch", None, OPENAI),
    ("DELETE", "/v1/models/nonesuch", None, OPENAI),
    ("DELETE", "/v1/models/tiny", None, OPENAI),
    ("POST", "/v1/completions", {"model": "nonesuch", "prompt": "Q"}, OPENAI),
    ("POST", "/v1/completions", {"model": "tiny", "prompt": ["a", "b"], "stream": True}, OPENAI),
    ("POST", "/v1/completions", {"model": "tiny"}, OPENAI),
    ("POST", "/v1/chat/completions", {"model": "tiny", "messages": []}, OPENAI),
    ("POST", "/v1/chat/completions", {"model": "nonesuch", "messages": [{"role": "user"}]}, OPENAI),
    ("GET", "/v1/files", {"limit": "0"}, OPENAI),
    ("GET", "/v1/files", {"order": "sideways"}, OPENAI),
    ("GET", "/v1/files/file-nonesuch", None, OPENAI),
    ("GET", "/v1/files/file-nonesuch/content", None, OPENAI),
    ("DELETE", "/v1/files/file-nonesuch", None, OPENAI),
    ("POST", "/v1/files", None, OPENAI),
    ("GET", "/v1/fine_tuning/jobs", {"limit": "0"}, OPENAI),
    ("GET", "/v1/fine_tuning/jobs", {"limit": "101"}, OPENAI),
    ("GET", "/v1/fine_tuning/jobs", {"after": "nonsense"}, OPENAI),
    ("GET", "/v1/fine_tuning/jobs", {"metadata": "x"}, OPENAI),
    ("POST", "/v1/fine_tuning/jobs", {"model": "tiny", "training_file": "file-x"}, OPENAI),
    ("GET", f"/v1/fine_tuning/jobs/{JOB}", None, OPENAI),
    ("GET", f"/v1/fine_tuning/jobs/{JOB}/events", {"limit": "0"}, OPENAI),
    ("GET", f"/v1/fine_tuning/jobs/{JOB}/events", None, OPENAI),
    ("GET", f"/v1/fine_tuning/jobs/{JOB}/checkpoints", {"limit": "0"}, OPENAI),
    ("GET", f"/v1/fine_tuning/jobs/{JOB}/checkpoints", None, OPENAI),
    ("POST", f"/v1/fine_tuning/jobs/{JOB}/cancel", None, OPENAI),
    ("POST", f"/v1/fine_tuning/jobs/{JOB}/pause", None, OPENAI),
    ("POST", f"/v1/fine_tuning/jobs/{JOB}/resume", None, OPENAI),
    ("POST", "/v1/batches", None, OPENAI),
    ("DELETE", "/v1/files", None, OPENAI),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    state = tmp_path_factory.mktemp("errors") / "state"
    # No default headers: each request sends the ones it is about.
    protocols = [GradientProtocol(), OpenAIProtocol()]
    with api("mock/tiny", state, headers={}, protocols=protocols) as c:
        yield c


def _send(
    client: TestClient, method: str, path: str, data: dict[str, Any] | None, headers: Any
) -> Any:
    if method == "GET" or data is None:
        return client.request(method, path, params=data, headers=headers)
    return client.request(method, path, json=data, headers=headers)


@pytest.mark.parametrize(
    ("method", "path", "data", "headers"),
    [
        pytest.param(*case, id=f"{case[0]} {case[1]} {case[2] or ''}"[:80])
        for case in OPENAI_REFUSALS
    ],
)
def test_every_openai_4xx_has_a_code(
    client: TestClient, method: str, path: str, data: Any, headers: Any
) -> None:
    response = _send(client, method, path, data, headers)
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["code"], str) and error["code"], error


def test_a_refused_page_size_and_a_refused_cursor_are_one_kind(client: TestClient) -> None:
    codes = {
        _send(client, "GET", "/v1/fine_tuning/jobs", query, OPENAI).json()["error"]["code"]
        for query in ({"limit": "0"}, {"after": "nonsense"}, {"limit": "x"})
    }
    assert codes == {"invalid_request"}


GRADIENT = "/api/models"


def _gradient_refusals(client: TestClient) -> list[tuple[str, str, Any, dict[str, str]]]:
    unknown = unknown_adapter_id()
    return [
        ("GET", GRADIENT, None, {}),
        ("GET", GRADIENT, None, {"Authorization": "Bearer wrong-token-0123456789"}),
        ("GET", GRADIENT, None, {"Authorization": f"Bearer {TOKEN}"}),
        ("GET", GRADIENT, None, {**AUTH, "x-gradient-workspace-id": WORKSPACE + "x"}),
        ("GET", GRADIENT, {"capability": "nonesuch"}, AUTH),
        ("GET", f"{GRADIENT}/{unknown}", None, AUTH),
        ("DELETE", f"{GRADIENT}/{unknown}", None, AUTH),
        ("POST", GRADIENT, {"nonesuch": 1}, AUTH),
        ("POST", f"{GRADIENT}/{unknown}/complete", {"query": "Q"}, AUTH),
        ("POST", f"{GRADIENT}/{unknown}/fine-tune", {"samples": [{"inputs": "x"}]}, AUTH),
        ("GET", "/api/nonesuch", None, AUTH),
        ("PUT", GRADIENT, None, AUTH),
        ("POST", "/nonesuch", None, AUTH),
    ]


def test_every_gradient_error_has_a_type(client: TestClient) -> None:
    for method, path, data, headers in _gradient_refusals(client):
        response = _send(client, method, path, data, headers)
        where = f"{method} {path} {data}"
        assert 400 <= response.status_code < 500, (where, response.text)
        body = response.json()
        assert isinstance(body["message"], str) and body["message"], where
        assert isinstance(body.get("type"), str) and body["type"], (where, body)


def test_the_missing_workspace_is_typed(client: TestClient) -> None:
    response = client.get(GRADIENT, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 403
    assert response.json()["type"] == "missingWorkspace"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 408, 409, 413, 418, 422, 429])
def test_an_error_made_without_a_code_or_type_gets_its_statuss(status: int) -> None:
    assert OpenAIError(status, "refused").code
    assert ApiError(status, "refused").body.type == type_of(status)
    assert OpenAIError(500, "failed").code is None  # a server error's code is OpenAI's null


def test_a_backend_error_does_not_name_the_backend(tmp_path: Path) -> None:
    refused = InvalidRequestError(
        "the prompt is 15000 tokens; the model's context is 256", provider="transformers"
    )
    assert public_message(refused) == "the prompt is 15000 tokens; the model's context is 256"
