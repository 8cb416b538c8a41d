"""Request fields the gateway's OpenAI protocol does not act on, and fields it does not know.

Kind: a field the server cannot honour (``tools``, ``response_format: json_schema``,
``presence_penalty: 1.5``, ``suffix``) was answered 200 with plain text, so the client
failed later and elsewhere (LangChain's ``with_structured_output``: "Invalid json
output"), and others (``echo: true``, ``logprobs: 1``) were refused in pydantic's words
(``echo: Input should be False``). Right: a 400 ``unsupported_parameter`` naming the field
(``param``) and saying it is not supported by this server, before the backend is asked;
the neutral values clients send routinely pass, as do fields that change nothing in the
answer; a field nobody declared is a 400 ``unknown_parameter``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from starlette.testclient import TestClient
from tuneplug_openai.protocol import OpenAIProtocol
from tuneplug_openai.protocol.schemas import ChatBody, CompletionBody, JobBody

from tests.openai.gateway import sdk
from tests.server.gradient_server import TOKEN, RunningServer, api

HEADERS = {"Authorization": f"Bearer {TOKEN}"}  # bodies are JSON but for uploads
CHAT: dict[str, Any] = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}]}
COMPLETION: dict[str, Any] = {"model": "tiny", "prompt": "hi"}
ROUTES = {"chat": ("/v1/chat/completions", CHAT), "completion": ("/v1/completions", COMPLETION)}

TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
SCHEMA = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}

# (route, field, a value that asks for something the server does not do)
REFUSED = [
    ("chat", "tools", [TOOL]),
    ("chat", "tool_choice", "required"),
    ("chat", "tool_choice", {"type": "function", "function": {"name": "f"}}),
    ("chat", "functions", [TOOL["function"]]),
    ("chat", "function_call", {"name": "f"}),
    ("chat", "response_format", {"type": "json_object"}),
    ("chat", "response_format", SCHEMA),
    ("chat", "logprobs", True),
    ("chat", "top_logprobs", 2),
    ("chat", "modalities", ["text", "audio"]),
    ("chat", "audio", {"voice": "alloy", "format": "wav"}),
    ("chat", "web_search_options", {}),
    ("chat", "moderation", {"model": "omni-moderation-latest"}),
    ("chat", "reasoning_effort", "high"),
    ("chat", "verbosity", "low"),
    ("completion", "echo", True),
    ("completion", "logprobs", 1),
    ("completion", "logprobs", 0),  # still the chosen tokens' log probabilities
    ("completion", "best_of", 3),
    ("completion", "suffix", "x"),
] + [
    (route, field, value)
    for route in ROUTES
    for field, value in [
        ("n", 2),
        ("n", True),  # no number
        ("presence_penalty", 1.5),
        ("frequency_penalty", -0.5),
        ("logit_bias", {"50256": -100}),
    ]
]

# (route, field, a neutral value: what clients send when they ask for nothing)
NEUTRAL = [
    ("chat", "tools", []),
    ("chat", "tool_choice", "none"),
    ("chat", "tool_choice", "auto"),
    ("chat", "functions", []),
    ("chat", "function_call", "none"),
    ("chat", "response_format", {"type": "text"}),
    ("chat", "logprobs", False),
    ("chat", "top_logprobs", 0),
    ("chat", "modalities", ["text"]),
    ("chat", "reasoning_effort", "none"),
    ("chat", "verbosity", "medium"),
    ("completion", "echo", False),
    ("completion", "best_of", 1),
    ("completion", "suffix", ""),
] + [
    (route, field, value)
    for route in ROUTES
    for field, value in [
        ("n", 1),
        ("presence_penalty", 0),
        ("presence_penalty", 0.0),
        ("frequency_penalty", 0),
        ("logit_bias", {}),
        ("user", "user-1"),
        ("stream_options", {"include_usage": False, "include_obfuscation": False}),
    ]
]

# (route, field, a value that changes nothing in the answer)
IGNORED = [
    ("chat", "parallel_tool_calls", False),
    ("chat", "metadata", {"run": "7"}),
    ("chat", "store", True),
    ("chat", "service_tier", "flex"),
    ("chat", "safety_identifier", "hash-of-user"),
    ("chat", "prompt_cache_key", "k"),
    ("chat", "prompt_cache_options", {"ttl": "30m"}),
    ("chat", "prompt_cache_retention", "24h"),
    ("chat", "prediction", {"type": "content", "content": "Paris"}),
]


def _case(route: str, field: str, value: Any) -> Any:
    return pytest.param(route, field, value, id=f"{route}-{field}={json.dumps(value)[:20]}")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    state = tmp_path_factory.mktemp("fields") / "state"
    with api("mock/tiny", state, protocols=[OpenAIProtocol()], headers=HEADERS) as c:
        yield c


def _post(client: TestClient, route: str, **fields: Any) -> Any:
    path, body = ROUTES[route]
    return client.post(path, content=json.dumps({**body, **fields}))


@pytest.mark.parametrize(("route", "field", "value"), [_case(*c) for c in REFUSED])
@pytest.mark.parametrize("stream", [False, True])
def test_a_value_the_server_cannot_honour_is_refused_naming_the_field(
    client: TestClient, route: str, field: str, value: Any, stream: bool
) -> None:
    response = _post(client, route, stream=stream, **{field: value})
    # Refused as a whole response, not as an event of a stream that started with 200.
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == field and error["code"] == "unsupported_parameter"
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith(f"{field} is not supported by this server: leave it out")
    assert "Input should" not in error["message"]


@pytest.mark.parametrize(("route", "field", "value"), [_case(*c) for c in NEUTRAL + IGNORED])
def test_a_neutral_or_answer_neutral_value_is_accepted(
    client: TestClient, route: str, field: str, value: Any
) -> None:
    response = _post(client, route, max_tokens=4, **{field: value})
    assert response.status_code == 200, response.text
    plain = _post(client, route, max_tokens=4).json()["choices"][0]
    assert response.json()["choices"][0] == plain  # the same answer as without the field


def test_the_refusal_says_what_passes(client: TestClient) -> None:
    said = {
        field: _post(client, route, **{field: value}).json()["error"]["message"]
        for route, field, value in [
            ("chat", "response_format", SCHEMA),
            ("chat", "tool_choice", "required"),
            ("completion", "logprobs", 1),
        ]
    }
    assert said == {
        "response_format": "response_format is not supported by this server: leave it out, "
        'or send {"type": "text"} or null',
        "tool_choice": 'tool_choice is not supported by this server: leave it out, or send "none" '
        'or "auto" or null',
        "logprobs": "logprobs is not supported by this server: leave it out, or send null",
    }


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("metadata", {"k": 1}, "metadata.k: Input should be a valid string"),
        ("store", "yes", "store: Input should be a valid boolean"),
        ("user", 5, "user: Input should be a valid string"),
    ],
)
def test_an_ignored_field_of_the_wrong_type_is_still_invalid(
    client: TestClient, field: str, value: Any, words: str
) -> None:
    error = _post(client, "chat", **{field: value}).json()["error"]
    assert error["code"] == "invalid_request" and error["message"].endswith(words)


@pytest.mark.parametrize("route", list(ROUTES))
def test_an_unknown_field_is_refused_with_a_did_you_mean(client: TestClient, route: str) -> None:
    typo = _post(client, route, max_token=5).json()["error"]
    assert typo == {
        "message": "unrecognized request argument 'max_token' (did you mean 'max_tokens'?): "
        "this server does not know it, so it cannot honour it",
        "type": "invalid_request_error",
        "param": "max_token",
        "code": "unknown_parameter",
    }
    foo = _post(client, route, foo=1).json()["error"]
    assert (foo["param"], foo["code"]) == ("foo", "unknown_parameter")
    assert "did you mean" not in foo["message"]


@pytest.mark.parametrize(
    ("message", "param", "words"),
    [
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]},
            "messages.[0].content.[0].type",
            "'image_url' is not supported by this server: send text parts only",
        ),
        (
            {"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]},
            "messages.[0].content.[0].type",
            "'input_audio' is not supported by this server: send text parts only",
        ),
        (
            {"role": "tool", "content": "42", "tool_call_id": "call_1"},
            "messages.[0].role",
            "'tool' is not supported by this server: it calls no tools",
        ),
        (
            {"role": "assistant", "content": "", "tool_calls": [{"id": "c", "type": "function"}]},
            "messages.[0].tool_calls",
            "is not supported by this server: leave it out, or send [] or null",
        ),
        (
            {"role": "function", "content": "42", "name": "f"},
            "messages.[0].role",
            "'function' is not supported by this server: it calls no tools",
        ),
    ],
)
def test_media_and_tool_messages_are_refused_as_unsupported(
    client: TestClient, message: dict[str, Any], param: str, words: str
) -> None:
    body = {"model": "tiny", "messages": [message]}
    error = client.post("/v1/chat/completions", content=json.dumps(body)).json()["error"]
    assert (error["param"], error["code"]) == (param, "unsupported_parameter")
    assert error["message"] == f"{param} {words}"


def test_an_unknown_role_or_part_type_is_still_invalid(client: TestClient) -> None:
    for message in (
        {"role": "wizard", "content": "hi"},
        {"role": "user", "content": [{"type": "hologram", "text": "hi"}]},
    ):
        body = {"model": "tiny", "messages": [message]}
        error = client.post("/v1/chat/completions", content=json.dumps(body)).json()["error"]
        assert error["code"] == "invalid_request", error


@pytest.mark.parametrize(
    ("create", "body"),
    [
        pytest.param("chat.completions.completions:Completions", ChatBody, id="chat"),
        pytest.param("completions:Completions", CompletionBody, id="completions"),
        pytest.param("fine_tuning.jobs.jobs:Jobs", JobBody, id="fine-tuning-jobs"),
    ],
)
def test_every_field_of_the_sdk_is_classified(create: str, body: type[Any]) -> None:
    """A field the SDK can send is declared: acted on, neutral-only or ignored, never
    unknown by accident (a newer SDK's field is a decision to make here)."""
    import importlib

    module, name = create.split(":")
    resource = getattr(importlib.import_module(f"openai.resources.{module}"), name)
    sent = {
        p
        for p in inspect.signature(resource.create).parameters
        if p not in ("self", "timeout") and not p.startswith("extra_")
    }
    assert sent - set(body.model_fields) == set()


# -- fine-tuning jobs: the same rule, at any depth ---------------------------------------


@pytest.mark.parametrize(
    ("body", "param", "code", "hint"),
    [
        ({"integrations": [{"type": "wandb", "wandb": {"project": "p"}}]}, "integrations",
         "unsupported_parameter", "leave it out, or send [] or null"),
        ({"hyperparameters": {"n_epoch": 3}}, "hyperparameters.n_epoch", "unknown_parameter",
         "did you mean 'n_epochs'?"),
        ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"batchsize": 2}}}},
         "method.supervised.hyperparameters.batchsize", "unknown_parameter",
         "did you mean 'batch_size'?"),
        ({"method": {"type": "supervised", "supervized": {}}}, "method.supervized",
         "unknown_parameter", "did you mean 'supervised'?"),
        ({"trainig_file": "file-x"}, "trainig_file", "unknown_parameter",
         "did you mean 'training_file'?"),
    ],
)  # fmt: skip
def test_a_job_field_the_server_cannot_honour_or_does_not_know_is_refused(
    client: TestClient, body: dict[str, Any], param: str, code: str, hint: str
) -> None:
    job = {"model": "tiny", "training_file": "file-none", **body}
    response = client.post("/v1/fine_tuning/jobs", content=json.dumps(job))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["param"], error["code"]) == (param, code)
    assert hint in error["message"]


def test_a_job_with_empty_integrations_is_not_refused_for_them(client: TestClient) -> None:
    job = {"model": "tiny", "training_file": "file-none", "integrations": []}
    error = client.post("/v1/fine_tuning/jobs", content=json.dumps(job)).json()["error"]
    assert error["param"] == "training_file"  # the next fault: no such file


# -- uploads: the form's fields -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "param", "code"),
    [
        ({"expires_after[anchor]": "created_at", "expires_after[seconds]": "3600"},
         "expires_after", "unsupported_parameter"),
        ({"purpos": "batch"}, "purpos", "unknown_parameter"),
    ],
)  # fmt: skip
def test_an_upload_field_the_server_cannot_honour_or_does_not_know_is_refused(
    client: TestClient, fields: dict[str, str], param: str, code: str
) -> None:
    response = client.post(
        "/v1/files",
        data={"purpose": "fine-tune", **fields},
        files={"file": ("a.jsonl", b'{"prompt": "a", "completion": "b"}\n')},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["param"], error["code"]) == (param, code)
    assert client.get("/v1/files").json()["data"] == []  # nothing was stored


def test_the_sdk_uploads_with_its_defaults(server: RunningServer) -> None:
    line = b'{"prompt": "a", "completion": "b"}\n'
    uploaded = sdk(server).files.create(file=("a.jsonl", line), purpose="fine-tune")
    assert uploaded.id.startswith("file-")
    with pytest.raises(openai.BadRequestError) as refused:
        sdk(server).files.create(
            file=("a.jsonl", line),
            purpose="fine-tune",
            expires_after={"anchor": "created_at", "seconds": 3600},
        )
    assert (refused.value.param, refused.value.code) == ("expires_after", "unsupported_parameter")
