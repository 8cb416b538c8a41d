"""No request body ever makes the gateway answer 500, in either protocol.

Kind: a body field of the wrong type or out of range ("auto" where a number is
documented as "a number or 'auto'", ``null``, a nested object, ``NaN`` /
``Infinity`` literals, numbers beyond any bound, booleans) reached code that did
not expect it and the server answered ``500 internal server error``. Right: the
value is taken (``"auto"`` where documented), or a 4xx in the protocol's own
error shape, naming the field (OpenAI's ``param``, Gradient's
``payload.validationError[].loc``). Every field of every route's body is replaced
by every bad value below.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from tuneplug_gradient.protocol import GradientProtocol
from tuneplug_openai.protocol import OpenAIProtocol

from tests.server.gradient_server import TOKEN, api, base_model_id, create_adapter

OPENAI = {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
NAN, INF = float("nan"), float("inf")
BAD_VALUES: list[Any] = [
    "auto", "", "x" * 5000, None, True, False, 0, -1, 2**64, 10**400, 1e308, -1e308, 0.5,
    NAN, INF, -INF, {}, {"nested": {"deeper": [1]}}, [], [None], ["auto", 3],
]  # fmt: skip


def _literal(value: Any) -> str:
    """JSON text of ``value``; NaN and Infinity as the literals Python's json writes."""
    return json.dumps(value, allow_nan=True)


def _paths(body: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every field path of ``body`` (objects and lists descended into)."""
    items = body.items() if isinstance(body, dict) else enumerate(body)
    for key, value in items:
        yield (*prefix, key)
        if isinstance(value, dict | list) and value:
            yield from _paths(value, (*prefix, key))


def _replaced(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(body))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def _cases(body: dict[str, Any]) -> list[Any]:
    return [
        pytest.param(path, value, id=f"{'.'.join(map(str, path))}={_literal(value)[:12]}")
        for path in _paths(body)
        for value in BAD_VALUES
    ]


VALUES = [pytest.param(v, id=_literal(v)[:12]) for v in BAD_VALUES]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    state = tmp_path_factory.mktemp("fuzz") / "state"
    with api("mock/tiny", state, protocols=[GradientProtocol(), OpenAIProtocol()]) as c:
        yield c


@pytest.fixture(scope="module")
def ids(client: TestClient) -> dict[str, str]:
    line = (
        b'{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n'
    )
    uploaded = client.post(
        "/v1/files",
        headers={"Authorization": OPENAI["Authorization"]},
        data={"purpose": "fine-tune"},
        files={"file": ("train.jsonl", line * 2)},
    )
    assert uploaded.status_code == 200, uploaded.text
    return {
        "file": uploaded.json()["id"],
        "base": base_model_id(client),
        "adapter": create_adapter(client, "fuzzed_adapter"),
    }


def _check_openai(response: Any, path: tuple[Any, ...], value: Any) -> None:
    where = f"{'.'.join(map(str, path))} = {_literal(value)[:40]}"
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text}"
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}, where
        assert error["code"], f"{where}: no code in {error}"
        if path != ("body",):  # a body that is no object names no field
            assert error["param"], f"{where}: no param in {error}"
        assert "Traceback" not in response.text and "internal" not in error["message"]


def _check_gradient(response: Any, path: tuple[Any, ...], value: Any) -> None:
    where = f"{'.'.join(map(str, path))} = {_literal(value)[:40]}"
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text}"
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body["message"], str) and body["message"], where
        assert body.get("type"), f"{where}: no type in {body}"
        if body.get("type") == "bodyParsingError" and path != ("body",):
            assert any(e["loc"] for e in body["payload"]["validationError"]), where
        assert "Traceback" not in response.text and "internal" not in body["message"]


# -- OpenAI ------------------------------------------------------------------------------

COMPLETION = {
    "model": "tiny", "prompt": "hi", "max_tokens": 2, "temperature": 0.5, "top_p": 0.9,
    "stop": ["zz"], "seed": 1, "n": 1, "stream": False, "best_of": 1, "echo": False,
    "stream_options": {"include_usage": True}, "user": "u", "presence_penalty": 0,
    "suffix": "", "logit_bias": {},
}  # fmt: skip
CHAT = {
    "model": "tiny", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    "max_completion_tokens": 2, "max_tokens": 2, "temperature": 0.5, "top_p": 0.9,
    "stop": "zz", "seed": 1, "n": 1, "logprobs": False, "tools": [],
    "response_format": {"type": "text"}, "metadata": {"k": "v"}, "store": False,
}  # fmt: skip


@pytest.mark.parametrize(("path", "value"), _cases(COMPLETION))
def test_openai_completion_fields(client: TestClient, path: tuple[Any, ...], value: Any) -> None:
    body = _literal(_replaced(COMPLETION, path, value))
    _check_openai(client.post("/v1/completions", content=body, headers=OPENAI), path, value)


@pytest.mark.parametrize(("path", "value"), _cases(CHAT))
def test_openai_chat_fields(client: TestClient, path: tuple[Any, ...], value: Any) -> None:
    body = _literal(_replaced(CHAT, path, value))
    _check_openai(client.post("/v1/chat/completions", content=body, headers=OPENAI), path, value)


JOB = {
    "model": "tiny", "training_file": "FILE", "validation_file": "FILE", "suffix": "s",
    "seed": 1, "metadata": {"k": "v"},
    "hyperparameters": {"n_epochs": 1, "batch_size": 1, "learning_rate_multiplier": "auto"},
    "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 1}}},
}  # fmt: skip


@pytest.mark.parametrize(("path", "value"), _cases(JOB))
def test_openai_job_fields(
    client: TestClient, ids: dict[str, str], path: tuple[Any, ...], value: Any
) -> None:
    base = json.loads(json.dumps(JOB).replace("FILE", ids["file"]))
    body = _literal(_replaced(base, path, value))
    response = client.post("/v1/fine_tuning/jobs", content=body, headers=OPENAI)
    _check_openai(response, path, value)


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("action", ["cancel", "pause", "resume"])
def test_openai_job_actions_ignore_any_body(
    client: TestClient, ids: dict[str, str], action: str, value: Any
) -> None:
    body = {"model": "tiny", "training_file": ids["file"]}
    job = client.post("/v1/fine_tuning/jobs", json=body, headers=OPENAI).json()["id"]
    response = client.post(
        f"/v1/fine_tuning/jobs/{job}/{action}", content=_literal(value), headers=OPENAI
    )
    assert response.status_code < 500, response.text


# -- Gradient ----------------------------------------------------------------------------

COMPLETE = {
    "query": "hi", "maxGeneratedTokenCount": 2, "temperature": 0.5, "topK": 5, "topP": 0.9,
    "autoTemplate": False, "guidance": {"type": "choice", "value": ["yes", "no"]},
}  # fmt: skip
CREATE = {
    "model": {"baseModelId": "BASE", "name": "fuzz"},
    "initialHyperparameters": {
        "loraHyperparameters": {"rank": 4},
        "trainingArguments": {"learningRate": 0.01},
    },
}
FINE_TUNE = {
    "samples": [
        {"inputs": "plain text sample", "fineTuningParameters": {"multiplier": 1.0}},
        {"inputs": [{"value": "part", "trainable": True, "parseSpecialTokens": True}]},
    ]
}


@pytest.mark.parametrize(("path", "value"), _cases(COMPLETE))
def test_gradient_complete_fields(
    client: TestClient, ids: dict[str, str], path: tuple[Any, ...], value: Any
) -> None:
    body = _literal(_replaced(COMPLETE, path, value))
    url = f"/api/models/{ids['adapter']}/complete"
    _check_gradient(client.post(url, content=body), path, value)


@pytest.mark.parametrize(("path", "value"), _cases(CREATE))
def test_gradient_create_fields(
    client: TestClient, ids: dict[str, str], path: tuple[Any, ...], value: Any
) -> None:
    base = json.loads(json.dumps(CREATE).replace("BASE", ids["base"]))
    body = _literal(_replaced(base, path, value))
    _check_gradient(client.post("/api/models", content=body), path, value)


@pytest.mark.parametrize(("path", "value"), _cases(FINE_TUNE))
def test_gradient_fine_tune_fields(
    client: TestClient, ids: dict[str, str], path: tuple[Any, ...], value: Any
) -> None:
    body = _literal(_replaced(FINE_TUNE, path, value))
    url = f"/api/models/{ids['adapter']}/fine-tune"
    _check_gradient(client.post(url, content=body), path, value)


@pytest.mark.parametrize("value", VALUES)
def test_whole_bodies_of_the_wrong_type(
    client: TestClient, ids: dict[str, str], value: Any
) -> None:
    body = _literal(value)
    for url in ("/v1/completions", "/v1/chat/completions", "/v1/fine_tuning/jobs"):
        _check_openai(client.post(url, content=body, headers=OPENAI), ("body",), value)
    for url in ("/api/models", f"/api/models/{ids['adapter']}/complete"):
        _check_gradient(client.post(url, content=body), ("body",), value)
