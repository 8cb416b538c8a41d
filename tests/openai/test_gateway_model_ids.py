"""The OpenAI protocol's edges, judged by the official ``openai`` SDK on loopback:

* one rule for every route that takes a model id (completions, chat, a job's ``model``,
  ``GET`` and ``DELETE /v1/models/{id}``): a model id is what ``GET /v1/models`` lists. A
  backend reference (``mock/tiny``), another provider's model or an adapter made outside
  the server is 404 ``model_not_found`` on each of them alike;
* every unknown route answers in OpenAI's shape naming the method and the path
  (``Invalid URL (POST /v1/batches)``), under ``/v1`` and outside every prefix;
* a file is taken only for a purpose the server can use (``fine-tune``, ``user_data``): a
  ``batch`` upload is refused in OpenAI's words, and a job refuses a file of another
  purpose, naming it, before reading a line of it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import tuneplug

from tests.openai.gateway import ALICE, QUESTION, chat_file, sdk, upload
from tests.server.gradient_server import RunningServer

AUTH = {"Authorization": f"Bearer {ALICE.key.get_secret_value()}"}


def _message(error: openai.APIStatusError) -> str:
    """The error's own message (the SDK's ``message`` starts with ``Error code: 404 - ``)."""
    assert isinstance(error.body, dict)
    return str(error.body["message"])


def _routes(client: openai.OpenAI, file_id: str) -> dict[str, Callable[[str], Any]]:
    """Every route that takes a model id, as the SDK calls it."""
    return {
        "completions": lambda m: client.completions.create(model=m, prompt="Q", max_tokens=2),
        "chat": lambda m: client.chat.completions.create(
            model=m, messages=[{"role": "user", "content": QUESTION}], max_tokens=2
        ),
        "jobs": lambda m: client.fine_tuning.jobs.create(model=m, training_file=file_id),
        "models.retrieve": lambda m: client.models.retrieve(m),
        "models.delete": lambda m: client.models.delete(m),
    }


def test_a_backend_reference_is_no_model_id_on_any_route(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    routes = _routes(client, upload(client, chat_file(tmp_path)))
    listed = [m.id for m in client.models.list()]
    assert "tiny" in listed and "mock/tiny" not in listed
    for name, call in routes.items():
        with pytest.raises(openai.NotFoundError) as refused:
            call("mock/tiny")
        error = refused.value
        assert error.code == "model_not_found", name
        assert "'mock/tiny'" in _message(error) and "served as 'tiny'" in _message(error), name
        assert error.param == ("model" if name in ("completions", "chat", "jobs") else None)
    # The listed id works on the same routes (a base model is not deletable: 403).
    assert client.completions.create(model="tiny", prompt="Q", max_tokens=2).model == "tiny"
    assert client.models.retrieve("tiny").id == "tiny"
    with pytest.raises(openai.PermissionDeniedError):
        client.models.delete("tiny")


@pytest.mark.parametrize(
    "model",
    ["mock/echo", "echo/tiny", "gradient/nous-hermes2", "openai/gpt-4o-mini", "mock/nonesuch"],
)
def test_another_providers_model_or_an_unserved_reference_is_404_on_every_route(
    server: RunningServer, tmp_path: Path, model: str
) -> None:
    client = sdk(server)
    for name, call in _routes(client, upload(client, chat_file(tmp_path))).items():
        with pytest.raises(openai.NotFoundError) as refused:
            call(model)
        assert refused.value.code == "model_not_found", name
        assert "served as" not in refused.value.message  # no served model of that name


def test_an_adapter_made_outside_the_server_is_404_on_every_route(
    server: RunningServer, tmp_path: Path
) -> None:
    outside = tuneplug.get_model("mock/tiny").create_adapter(name="outside")
    client = sdk(server)
    routes = _routes(client, upload(client, chat_file(tmp_path)))
    for model in (outside.id, outside.ref):
        for name, call in routes.items():
            with pytest.raises(openai.NotFoundError) as refused:
                call(model)
            assert refused.value.code == "model_not_found", (name, model)
    assert tuneplug.get_model(outside.ref).ref == outside.ref  # not deleted by the attempts


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v1/batches", 404),
        ("GET", "/v1/batches/batch_abc", 404),
        ("POST", "/v1/responses", 404),
        ("GET", "/v1/nonesuch", 404),
        ("DELETE", "/v1/files", 405),
        ("PUT", "/v1/fine_tuning/jobs", 405),
    ],
)
def test_an_unknown_route_names_the_method_and_the_path(
    server: RunningServer, method: str, path: str, status: int
) -> None:
    response = httpx.request(method, f"{server.root}{path}", headers=AUTH, json={})
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    if status == 404:
        assert error["message"] == f"Invalid URL ({method} {path})"
        assert error["code"] == "unknown_url"
    else:
        assert error["message"].startswith(f"Method not allowed ({method} {path}): this path takes")
        assert error["code"] == "method_not_allowed"
        assert "allow" in response.headers


def test_the_sdks_batch_call_says_invalid_url(server: RunningServer) -> None:
    with pytest.raises(openai.NotFoundError) as refused:
        sdk(server).batches.create(
            completion_window="24h", endpoint="/v1/chat/completions", input_file_id="file-x"
        )
    assert _message(refused.value) == "Invalid URL (POST /v1/batches)"


@pytest.mark.parametrize("path", ["/chat/completions", "/v2/models", "/"])
def test_a_path_outside_every_prefix_names_it_and_where_the_routes_are(
    server: RunningServer, path: str
) -> None:
    response = httpx.post(f"{server.root}{path}", headers=AUTH, json={})
    assert response.status_code == 404
    body = response.json()
    expected = (
        f"Invalid URL (POST {path}): this server's routes are under /api (gradient), /v1 (openai)"
    )
    assert body["error"]["message"] == body["message"] == expected


@pytest.mark.parametrize("purpose", ["batch", "assistants", "vision", "evals", "nonesuch"])
def test_a_purpose_the_server_cannot_use_is_refused_at_upload(
    server: RunningServer, tmp_path: Path, purpose: str
) -> None:
    client = sdk(server)
    with pytest.raises(openai.BadRequestError) as refused, chat_file(tmp_path).open("rb") as handle:
        client.files.create(file=handle, purpose=purpose)  # type: ignore[arg-type]
    assert _message(refused.value).startswith(
        f"'{purpose}' is not one of ['fine-tune', 'user_data'] - 'purpose'"
    )
    assert refused.value.param == "purpose" and refused.value.code == "invalid_value"
    assert client.files.list().data == []  # nothing stored


def test_a_job_refuses_a_file_of_another_purpose_naming_it(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    training = upload(client, chat_file(tmp_path))
    with chat_file(tmp_path).open("rb") as handle:
        stored = client.files.create(file=handle, purpose="user_data").id
    for field in ("training_file", "validation_file"):
        files = {"training_file": training, field: stored}
        with pytest.raises(openai.BadRequestError) as refused:
            client.fine_tuning.jobs.create(model="tiny", **files)
        assert refused.value.param == field and refused.value.code == f"invalid_{field}"
        assert _message(refused.value) == (
            f"{stored}: its purpose is 'user_data', not 'fine-tune': a fine-tuning job's "
            "files are uploaded with purpose='fine-tune'"
        )
    assert client.fine_tuning.jobs.list().data == []
