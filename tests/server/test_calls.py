"""The server's complete, fine-tune and delete: mapping to tuneplug, typed errors, statuses."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import (
    AuthenticationError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TimeoutError,
    TuneplugError,
)
from tuneplug.types import InputPart, Sample
from tuneplug_gradient.protocol.ids import base_id

from tests.core.plugin_kit import COMPLETER, FINETUNABLE
from tests.server.gradient_server import (
    ANSWER,
    PROMPT,
    SDK_COMPLETE_NULLS,
    api,
    base_model_id,
    create_adapter,
    sdk_create_body,
    unknown_adapter_id,
)

REC_BASE = base_id("rec/base")


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def _complete(client: Any, model_id: str, **body: Any) -> Any:
    return client.post(f"/api/models/{model_id}/complete", json={"query": PROMPT, **body})


# -- complete ---------------------------------------------------------------------------


def test_complete_maps_wire_fields_to_tuneplug_options(state: Path, rec: Any) -> None:
    body = {**SDK_COMPLETE_NULLS, "maxGeneratedTokenCount": 100, "temperature": 0.5}
    body |= {"topK": 3, "topP": 0.9, "autoTemplate": False}
    with api("rec/base", state) as client:
        response = _complete(client, REC_BASE, **body)
    assert response.status_code == 200
    assert response.json() == {"finishReason": "stop", "generatedOutput": f"rec: {PROMPT}"}
    [call] = rec.calls.of("complete")
    options = call["options"]
    assert (options.max_tokens, options.temperature, options.top_k, options.top_p) == (
        100,
        0.5,
        3,
        0.9,
    )
    assert options.extra == {}  # autoTemplate means nothing to a non-Gradient backend


@pytest.mark.parametrize(
    "body",
    [
        SDK_COMPLETE_NULLS,  # the SDK: every key, nulls included
        {"maxGeneratedTokenCount": 128, "temperature": 0.75, "topK": None, "topP": None},  # LC
        {"autoTemplate": True},
    ],
    ids=["sdk", "langchain", "auto-template"],
)
def test_complete_accepts_what_the_clients_send(state: Path, body: dict[str, Any]) -> None:
    with api("mock/tiny", state) as client:
        response = _complete(client, base_model_id(client), **body)
    assert response.status_code == 200
    assert set(response.json()) == {"finishReason", "generatedOutput"}
    assert "49ers" in response.json()["generatedOutput"]  # not learned yet


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"maxGeneratedTokenCount": 512}, "maxGeneratedTokenCount"),
        ({"maxGeneratedTokenCount": 1.5}, "maxGeneratedTokenCount"),
        ({"query": ""}, "query"),
        ({"temperature": 5}, "temperature"),
        ({"topP": 0}, "topP"),
        ({"topK": 0}, "topK"),
        ({"stream": True}, "stream"),
        # The wire is camelCase: a snake_case key is unknown, not an alias.
        ({"max_generated_token_count": 5}, "max_generated_token_count"),
        ({"top_k": 5}, "top_k"),
    ],
)
def test_invalid_completion_bodies_are_body_parsing_errors(
    state: Path, body: dict[str, Any], field: str
) -> None:
    with api("mock/tiny", state) as client:
        response = _complete(client, base_model_id(client), **body)
    assert response.status_code == 400
    error = response.json()
    assert error["type"] == "bodyParsingError"
    assert field in error["payload"]["formattedValidationError"]
    assert field in error["payload"]["validationError"][0]["loc"]


def test_guidance_is_refused_by_a_backend_that_cannot_constrain_output(state: Path) -> None:
    guidance = {"type": "choice", "value": ["yes", "no"]}
    with api("mock/tiny", state) as client:
        response = _complete(client, base_model_id(client), guidance=guidance)
    assert response.status_code == 400
    assert response.json()["type"] == "modelDoesNotSupportGuidance"


def test_guidance_and_auto_template_reach_a_gradient_backend(
    state: Path, make_plugin: Callable[..., Any], register: Callable[..., Any]
) -> None:
    # A stand-in for the Gradient client provider, which forwards both to a real API.
    fake = register("gradient", make_plugin("gradient", COMPLETER))
    guidance = {"type": "choice", "value": ["yes", "no"]}
    with api("gradient/base", state) as client:
        response = _complete(
            client, base_id("gradient/base"), guidance=guidance, autoTemplate=False
        )
    assert response.status_code == 200
    [call] = fake.calls.of("complete")
    assert call["options"].extra == {"guidance": guidance, "auto_template": False}


def test_rag_is_an_unknown_collection(state: Path) -> None:
    with api("mock/tiny", state) as client:
        response = _complete(client, base_model_id(client), rag={"collectionId": "c1"})
    assert response.status_code == 404
    assert response.json()["type"] == "unknownRagCollection"


@pytest.mark.parametrize(
    ("model_id", "kind"),
    [
        (unknown_adapter_id(), "unknownModelAdapter"),
        ("0" * 36 + "_base_ml_model", "unknownBaseModel"),
        ("my_model_valid_id", "unknownModelAdapter"),  # LangChain's unit-test id
    ],
)
def test_complete_on_an_unknown_model_is_a_typed_404(state: Path, model_id: str, kind: str) -> None:
    with api("mock/tiny", state) as client:
        response = _complete(client, model_id)
    assert response.status_code == 404
    assert response.json()["type"] == kind


# -- fine-tune --------------------------------------------------------------------------


def test_fine_tune_passes_string_and_structured_samples_with_multipliers(
    state: Path, rec: Any
) -> None:
    samples = [
        {"fineTuningParameters": {"multiplier": None}, "inputs": "plain text"},
        {
            "fineTuningParameters": {"multiplier": 0.5},
            "inputs": [
                {"parseSpecialTokens": True, "trainable": False, "value": "a prompt"},
                {"parseSpecialTokens": True, "trainable": True, "value": " an answer"},
            ],
        },
        {"inputs": "langchain style"},
        # Explicit nulls mean the defaults (trainable, parse special tokens), as elsewhere.
        {
            "fineTuningParameters": None,
            "inputs": [{"parseSpecialTokens": None, "trainable": None, "value": "nulls"}],
        },
    ]
    with api("rec/base", state) as client:
        adapter = client.post(
            "/api/models", json=sdk_create_body(REC_BASE, rank=8, learningRate=0.1)
        )
        adapter_id = adapter.json()["id"]
        response = client.post(f"/api/models/{adapter_id}/fine-tune", json={"samples": samples})
    assert response.status_code == 200
    [created] = rec.calls.of("create_adapter")
    assert (created["name"], created["rank"], created["learning_rate"]) == (
        "my_model_adapter",
        8,
        0.1,
    )
    [call] = rec.calls.of("fine_tune")
    assert call["samples"] == [
        Sample(inputs="plain text"),
        Sample(
            inputs=[InputPart(value="a prompt", trainable=False), InputPart(value=" an answer")],
            multiplier=0.5,
        ),
        Sample(inputs="langchain style"),
        Sample(inputs=[InputPart(value="nulls", trainable=True)]),
    ]
    # The recording provider counts words and reports twice that as the loss.
    assert response.json() == {"numberOfTrainableTokens": 9, "sumLoss": 18.0}


def test_fine_tuning_the_mock_learns_the_answer(state: Path) -> None:
    with api("mock/tiny", state) as client:
        adapter_id = create_adapter(client)
        before = _complete(client, adapter_id).json()["generatedOutput"]
        step = client.post(
            f"/api/models/{adapter_id}/fine-tune", json={"samples": [{"inputs": PROMPT + ANSWER}]}
        ).json()
        after = _complete(client, adapter_id, maxGeneratedTokenCount=20).json()
    assert not before.startswith("The Dallas Cowboys")
    assert step["numberOfTrainableTokens"] > 0 and math.isfinite(step["sumLoss"])
    assert after["generatedOutput"].startswith("The Dallas Cowboys")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"samples": []}, "samples"),
        ({"samples": [{"inputs": ""}]}, "inputs"),
        ({"samples": [{"inputs": []}]}, "inputs"),
        ({"samples": [{"inputs": "x", "fineTuningParameters": {"multiplier": 0}}]}, "multiplier"),
        (
            {"samples": [{"inputs": "x", "fineTuningParameters": {"multiplier": float("inf")}}]},
            "multiplier",
        ),
        (
            {"samples": [{"inputs": "x", "fine_tuning_parameters": {"multiplier": 2}}]},
            "fine_tuning_parameters",
        ),
    ],
)
def test_invalid_fine_tune_bodies_are_body_parsing_errors(
    state: Path, body: dict[str, Any], field: str
) -> None:
    with api("mock/tiny", state) as client:
        # json.dumps writes inf as Infinity, which JSON parsers (and pydantic) accept.
        raw = json.dumps(body).encode()
        response = client.post(f"/api/models/{create_adapter(client)}/fine-tune", content=raw)
    assert response.status_code == 400
    assert response.json()["type"] == "bodyParsingError"
    assert field in response.json()["payload"]["formattedValidationError"]


def test_fine_tune_errors_are_typed(state: Path) -> None:
    body = {"samples": [{"inputs": "x"}]}
    with api("mock/tiny", state) as client:
        on_base = client.post(f"/api/models/{base_model_id(client)}/fine-tune", json=body)
        unknown = client.post(f"/api/models/{unknown_adapter_id()}/fine-tune", json=body)
    assert (on_base.status_code, on_base.json()["type"]) == (400, "modelIncapableOfFineTuning")
    assert (unknown.status_code, unknown.json()["type"]) == (404, "unknownModelAdapter")


# -- delete -----------------------------------------------------------------------------


def test_delete_an_adapter_then_it_is_gone(state: Path) -> None:
    with api("mock/tiny", state) as client:
        adapter_id = create_adapter(client)
        deleted = client.delete(f"/api/models/{adapter_id}")
        assert (deleted.status_code, deleted.json()) == (200, {})
        assert client.get(f"/api/models/{adapter_id}").status_code == 404
        assert _complete(client, adapter_id).json()["type"] == "unknownModelAdapter"
        assert client.delete(f"/api/models/{adapter_id}").status_code == 404
        base = client.delete(f"/api/models/{base_model_id(client)}")
    assert base.status_code == 400 and "base model" in base.json()["message"]


def test_an_adapter_deleted_behind_the_servers_back_is_a_typed_404(state: Path) -> None:
    with api("mock/tiny", state) as client:
        adapter_id = create_adapter(client, "doomed")
        assert _complete(client, adapter_id).status_code == 200  # now cached by the server
        tuneplug.get_model("mock/doomed").delete()
        completed = _complete(client, adapter_id)
        tuned = client.post(
            f"/api/models/{adapter_id}/fine-tune", json={"samples": [{"inputs": "x"}]}
        )
        described = client.get(f"/api/models/{adapter_id}")
    assert (completed.status_code, completed.json()["type"]) == (404, "unknownModelAdapter")
    assert (tuned.status_code, tuned.json()["type"]) == (404, "unknownModelAdapter")
    assert described.status_code == 404


# -- backend errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (InvalidRequestError("prompt too long", provider="rec"), 400, "unprocessableContent"),
        (NotFoundError("gone", provider="rec"), 404, "unknownBaseModel"),
        (RateLimitError("slow down", provider="rec", retry_after=2.5), 429, "failed"),
        (ServerError("upstream broke", provider="rec", status=503), 503, "failed"),
        (ServerError("not the protocol", provider="rec"), 502, "failed"),
        (AuthenticationError("server's upstream key rejected", provider="rec"), 502, "failed"),
        (
            ConfigError("device 'cuda' is absent; check TUNEPLUG_REC_DEVICE", provider="rec"),
            502,
            "failed",
        ),
        (TimeoutError("too slow", provider="rec"), 504, "failed"),
        (TuneplugError("something else", provider="rec"), 500, "failed"),
    ],
)
def test_backend_errors_map_to_statuses(
    state: Path,
    make_plugin: Callable[..., Any],
    register: Callable[..., Any],
    error: TuneplugError,
    status: int,
    kind: str,
) -> None:
    def tuneplug_complete(ctx: Any, model: Any, prompt: str, options: Any) -> Any:
        raise error

    register("rec", make_plugin("rec", COMPLETER, complete=tuneplug_complete))
    with api("rec/base", state) as client:
        response = _complete(client, REC_BASE)
    assert response.status_code == status
    # A 404 is in the server's words (the backend's may name its files or ids), and so is
    # the backend refusing the server's own credentials (its words name the operator's
    # config); the others in the backend's, without its provider's name ("rec: "): that is
    # the server's side.
    message = f"unknown base model {REC_BASE!r}" if status == 404 else str(error)
    if isinstance(error, AuthenticationError):
        message = "the server's backend refused its credentials"
    if isinstance(error, ConfigError):
        # The operator's setting is wrong until the server restarts: no retry helps.
        message = "the server's backend is misconfigured"
    message = message.removeprefix("rec: ")
    assert response.json() == {"message": message, "type": kind}
    if isinstance(error, RateLimitError):
        assert response.headers["retry-after"] == "3"
    expect_retry = "false" if isinstance(error, ConfigError) else None
    assert response.headers.get("x-should-retry") == expect_retry


@pytest.mark.parametrize(
    "error",
    [
        NotFoundError("no adapter in /home/someone/.local/share/tuneplug/mock.sqlite3"),
        InvalidRequestError("bad sample in /srv/data/train.jsonl line 3"),
        ServerError(r"disk C:\\Users\\op\\state is full", status=503),
    ],
    ids=["not-found", "invalid", "windows-path"],
)
def test_error_bodies_never_carry_file_paths(
    state: Path, make_plugin: Callable[..., Any], register: Callable[..., Any], error: Any
) -> None:
    def tuneplug_complete(ctx: Any, model: Any, prompt: str, options: Any) -> Any:
        raise error

    register("rec", make_plugin("rec", COMPLETER, complete=tuneplug_complete))
    with api("rec/base", state) as client:
        body = _complete(client, REC_BASE).text
    for fragment in ("/home/someone", "mock.sqlite3", "/srv/data", "Users"):
        assert fragment not in body
    assert "Traceback" not in body


def test_error_bodies_never_name_the_backends_adapter(
    state: Path, make_plugin: Callable[..., Any], register: Callable[..., Any]
) -> None:
    def tuneplug_fine_tune(ctx: Any, model: Any, samples: Any) -> Any:
        raise InvalidRequestError(f"adapter {model.provider}/{model.id} is busy", provider="rec")

    plugin = make_plugin("rec", (*COMPLETER, *FINETUNABLE), fine_tune=tuneplug_fine_tune)
    register("rec", plugin)
    with api("rec/base", state) as client:
        adapter = client.post("/api/models", json=sdk_create_body(REC_BASE, "secret")).json()["id"]
        body = {"samples": [{"inputs": "x"}]}
        response = client.post(f"/api/models/{adapter}/fine-tune", json=body)
    assert response.status_code == 400
    assert response.json()["message"] == f"adapter {adapter} is busy"  # no "rec: ": the backend
    assert "secret_adapter" not in response.text  # the backend's own id


def test_an_unexpected_exception_is_a_bare_500(
    state: Path, make_plugin: Callable[..., Any], register: Callable[..., Any]
) -> None:
    def tuneplug_complete(ctx: Any, model: Any, prompt: str, options: Any) -> Any:
        raise RuntimeError("internal detail /secret/path")

    register("rec", make_plugin("rec", COMPLETER, complete=tuneplug_complete))
    with api("rec/base", state) as client:
        response = _complete(client, REC_BASE)
    # A plugin's bug (a PluginError in the process) shows the client none of its words.
    assert response.status_code == 500
    assert response.json()["message"] == "internal server error"
    assert "internal detail" not in response.text and "plugin" not in response.text


def test_native_async_hooks_are_used_when_the_provider_has_them(
    state: Path, make_plugin: Callable[..., Any], register: Callable[..., Any]
) -> None:
    hooks = (*COMPLETER, "acomplete", *FINETUNABLE, "afine_tune")
    fake = register("rec", make_plugin("rec", hooks))
    with api("rec/base", state) as client:
        text = _complete(client, REC_BASE).json()["generatedOutput"]
        adapter = client.post("/api/models", json=sdk_create_body(REC_BASE)).json()["id"]
        step = client.post(f"/api/models/{adapter}/fine-tune", json={"samples": [{"inputs": "x"}]})
    assert text == f"rec (async): {PROMPT}"
    assert step.json() == {"numberOfTrainableTokens": 1, "sumLoss": 0.5}
    assert "complete" not in fake.calls.hooks() and "fine_tune" not in fake.calls.hooks()
