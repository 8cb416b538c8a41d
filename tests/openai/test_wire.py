"""The OpenAI wire models against the official SDK's types (openai 3.x).

What our models dump, the SDK's response types accept; what the SDK's request
types allow, our request models parse. Both sides of tuneplug (the provider and
the OpenAI protocol of ``tuneplug serve``) use these models, so this is where a
shape drifting from OpenAI's would show first.
"""

from __future__ import annotations

from typing import Any

import openai.types as sdk
import openai.types.chat as sdk_chat
import openai.types.fine_tuning as sdk_ft
import openai.types.fine_tuning.jobs as sdk_ft_jobs
import pytest
from pydantic import BaseModel, ValidationError
from tuneplug_openai import wire

USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}

RESPONSES: list[tuple[type[BaseModel], type[BaseModel], dict[str, Any]]] = [
    (wire.ModelObject, sdk.Model, {"id": "gpt-4o-mini", "created": 1, "owned_by": "system"}),
    (
        wire.TextCompletion,
        sdk.Completion,
        {
            "id": "cmpl-1",
            "created": 1,
            "model": "m",
            "usage": USAGE,
            "choices": [
                {
                    "index": 0,
                    "text": " Dallas",
                    "finish_reason": "stop",
                    "logprobs": {
                        "tokens": [" Dallas"],
                        "token_logprobs": [-0.5],
                        "top_logprobs": [{" Dallas": -0.5}],
                        "text_offset": [0],
                    },
                }
            ],
        },
    ),
    (
        wire.ChatCompletion,
        sdk_chat.ChatCompletion,
        {
            "id": "chatcmpl-1",
            "created": 1,
            "model": "m",
            "usage": USAGE,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "Dallas"},
                }
            ],
        },
    ),
    (
        wire.ChatCompletionChunk,
        sdk_chat.ChatCompletionChunk,
        {
            "id": "c",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "Da"}, "finish_reason": None}],
        },
    ),
    (
        wire.ChatCompletionChunk,
        sdk_chat.ChatCompletionChunk,
        {"id": "c", "created": 1, "model": "m", "choices": [], "usage": USAGE},
    ),
    (
        wire.FileObject,
        sdk.FileObject,
        {
            "id": "file-1",
            "bytes": 10,
            "created_at": 1,
            "filename": "train.jsonl",
            "purpose": "fine-tune",
            "status": "processed",
        },
    ),
    (
        wire.FineTuningJob,
        sdk_ft.FineTuningJob,
        {
            "id": "ftjob-1",
            "model": "gpt-4o-mini",
            "status": "succeeded",
            "created_at": 1,
            "finished_at": 2,
            "fine_tuned_model": "ft:gpt-4o-mini:org:qa:ftjob-1",
            "organization_id": "org",
            "result_files": [],
            "seed": 7,
            "trained_tokens": 30,
            "training_file": "file-1",
            "validation_file": None,
            "hyperparameters": {
                "n_epochs": 3,
                "batch_size": "auto",
                "learning_rate_multiplier": 2.0,
            },
            "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}},
        },
    ),
    (
        wire.JobEvent,
        sdk_ft.FineTuningJobEvent,
        {
            "id": "ftevent-1",
            "created_at": 1,
            "level": "info",
            "message": "Step 1/3",
            "type": "metrics",
            "data": {"step": 1, "train_loss": 1.5},
        },
    ),
    (
        wire.Checkpoint,
        sdk_ft_jobs.FineTuningJobCheckpoint,
        {
            "id": "ftckpt-1",
            "created_at": 1,
            "fine_tuned_model_checkpoint": "ft:m:o::x:ckpt-step-3",
            "fine_tuning_job_id": "ftjob-1",
            "step_number": 3,
            "metrics": {"step": 3.0, "train_loss": 0.25},
        },
    ),
]


@pytest.mark.parametrize(
    ("ours", "theirs", "payload"),
    RESPONSES,
    ids=[f"{r[0].__name__}-{i}" for i, r in enumerate(RESPONSES)],
)
def test_responses_round_trip_through_the_sdk(
    ours: type[BaseModel], theirs: type[BaseModel], payload: dict[str, Any]
) -> None:
    parsed = ours.model_validate(payload)
    dumped = wire.dump(parsed)
    sdk_obj = theirs.model_validate(dumped)  # the SDK accepts what a server of ours sends
    again = ours.model_validate(sdk_obj.model_dump(mode="json", exclude_none=True))
    assert wire.dump(again) == dumped  # and we read back what the SDK holds, losslessly


def test_chat_request_as_the_sdk_types_it() -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
        ],
        "max_completion_tokens": 8,
        "stop": ["\n"],
        "seed": 1,
        "logit_bias": {"50256": -100},
        "response_format": {"type": "json_object"},
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [],
    }
    request = wire.ChatCompletionRequest.model_validate(body)
    assert request.stream_options is not None and request.stream_options.include_usage
    assert wire.dump(request) == body  # unknown fields (tools) are kept for the gateway to judge


def test_fine_tuning_request_dump_leaves_out_unset_fields() -> None:
    request = wire.FineTuningJobRequest(
        model="gpt-4o-mini",
        training_file="file-1",
        method=wire.Method(
            type="supervised",
            supervised=wire.MethodConfig(hyperparameters=wire.Hyperparameters(n_epochs=3)),
        ),
    )
    assert wire.dump(request) == {
        "model": "gpt-4o-mini",
        "training_file": "file-1",
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}},
    }


@pytest.mark.parametrize(
    ("model", "payload"),
    [
        (wire.ChatCompletionRequest, {"model": "m", "messages": []}),
        (wire.ChatCompletionRequest, {"model": "m", "messages": [{"role": "robot"}]}),
        (wire.CompletionRequest, {"model": "", "prompt": "x"}),
        (wire.CompletionRequest, {"model": "m", "prompt": "x", "logprobs": 6}),
        (wire.ErrorBody, {"error": {"type": "x"}}),
        (wire.FineTuningJob, {"id": "x", "model": "m", "created_at": 1}),
    ],
)
def test_invalid_bodies_are_rejected(model: type[BaseModel], payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(payload)


def test_error_body() -> None:
    body = wire.ErrorBody.model_validate(
        {
            "error": {
                "message": "Invalid model",
                "type": "invalid_request_error",
                "param": "model",
                "code": "model_not_found",
            }
        }
    )
    assert (body.error.message, body.error.param, body.error.code) == (
        "Invalid model",
        "model",
        "model_not_found",
    )
    assert wire.DONE == "[DONE]"
