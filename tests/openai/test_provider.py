"""The ``openai`` provider against a loopback OpenAI-compatible fake: completion and
chat, sync, async and streaming, options checked before I/O, settings and errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
import tuneplug
from tuneplug import errors
from tuneplug.types import Message

from tests.core.http.fake import Reply
from tests.openai.fake import AFTER, BEFORE, KEY, OpenAIFake, serve

QUESTION = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer:"
CHAT = [Message(role="system", content="Be brief."), Message(role="user", content=QUESTION)]
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    with serve(monkeypatch) as server:
        yield server


def last(fake: OpenAIFake) -> Any:
    return fake.server.requests[-1]


# -- the same script as on the mock ------------------------------------------------------


def _script() -> list[str]:
    """What a user's script does, whatever TUNEPLUG_MODEL says."""
    model = tuneplug.get_model()
    out = [model.complete(QUESTION, max_tokens=16).text, model.chat(CHAT, max_tokens=16).text]
    out.append("".join(c.text for c in model.stream(QUESTION, max_tokens=16)))
    out.append("".join(c.text for c in model.stream_chat(CHAT, max_tokens=16)))

    async def run() -> list[str]:
        texts = [(await model.acomplete(QUESTION, max_tokens=16)).text]
        texts.append((await model.achat(CHAT, max_tokens=16)).text)
        texts.append("".join([c.text async for c in model.astream(QUESTION, max_tokens=16)]))
        texts.append("".join([c.text async for c in model.astream_chat(CHAT, max_tokens=16)]))
        return texts

    return out + asyncio.run(run())


def test_the_mock_script_runs_unchanged_on_openai(
    fake: OpenAIFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNEPLUG_MODEL", "mock/tiny")
    assert all(isinstance(t, str) for t in _script())
    monkeypatch.setenv("TUNEPLUG_MODEL", "openai/gpt-4o-mini")
    assert _script() == [BEFORE] * 8
    paths = [r.path for r in fake.server.requests]
    assert paths.count("/v1/completions") == 4 and paths.count("/v1/chat/completions") == 4


def test_completion_body_and_headers(fake: OpenAIFake) -> None:
    done = tuneplug.get_model("openai/babbage-002").complete(
        QUESTION, max_tokens=5, temperature=0.2, top_p=0.9, seed=7, stop=["\n"],
        presence_penalty=0.5, frequency_penalty=-0.5, logit_bias={"50256": -100}, user="u1",
    )  # fmt: skip
    assert (done.text, done.finish_reason, done.model) == (BEFORE, "stop", "babbage-002")
    assert done.usage.prompt_tokens == 9 and done.usage.completion_tokens == 4
    req = last(fake)
    assert req.path == "/v1/completions" and req.headers["authorization"] == f"Bearer {KEY}"
    assert req.json == {
        "model": "babbage-002", "prompt": QUESTION, "max_tokens": 5, "temperature": 0.2,
        "top_p": 0.9, "stop": ["\n"], "seed": 7, "presence_penalty": 0.5,
        "frequency_penalty": -0.5, "logit_bias": {"50256": -100}, "user": "u1",
    }  # fmt: skip


def test_chat_body_is_native(fake: OpenAIFake) -> None:
    model = tuneplug.get_model("openai/gpt-4o-mini")
    assert model.provider.accepts("tuneplug_complete", "messages")
    done = model.chat(CHAT, max_tokens=3, response_format={"type": "text"})
    assert done.text == " The San Francisco" and done.finish_reason == "length"
    assert last(fake).json == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": QUESTION}],
        "max_completion_tokens": 3, "response_format": {"type": "text"},
    }  # fmt: skip


def test_older_servers_get_max_tokens(fake: OpenAIFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_CHAT_MAX_TOKENS_FIELD", "max_tokens")
    tuneplug.get_model("openai/gpt-4o-mini").chat(CHAT, max_tokens=3)
    assert last(fake).json["max_tokens"] == 3 and "max_completion_tokens" not in last(fake).json


def test_streams_ask_for_usage_and_end_with_it(fake: OpenAIFake) -> None:
    model = tuneplug.get_model("openai/gpt-4o-mini")
    for chunks in (list(model.stream(QUESTION)), list(model.stream_chat(CHAT))):
        assert "".join(c.text for c in chunks) == BEFORE and len(chunks) == 4
        assert chunks[-1].finish_reason == "stop" and chunks[-1].usage is not None
        assert chunks[-1].usage.completion_tokens == 4
        assert all(c.finish_reason is None and c.usage is None for c in chunks[:-1])
        assert last(fake).json["stream"] is True
        assert last(fake).json["stream_options"] == {"include_usage": True}


def test_echo_and_logprobs(fake: OpenAIFake) -> None:
    model = tuneplug.get_model("openai/babbage-002")
    done = model.complete(QUESTION, echo=True, logprobs=1)
    assert done.text == QUESTION + BEFORE
    assert done.logprobs is not None and done.logprobs[0].logprob == -0.5
    assert last(fake).json["echo"] is True and last(fake).json["logprobs"] == 1


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m: m.complete(QUESTION, presence_penalty=3), "presence_penalty"),
        (lambda m: m.complete(QUESTION, logit_bias={"the": 1}), "token ids"),
        (lambda m: m.complete(QUESTION, best_off=2), "best_of"),  # a typo: names the real one
        (lambda m: m.chat(CHAT, echo=True), "not available for chat"),
        (lambda m: m.complete(QUESTION, response_format={"type": "json_object"}),
         "not available for text"),
        (lambda m: m.complete(QUESTION, logprobs=6), "0..5"),
        (lambda m: m.complete(QUESTION, stop=["a", "b", "c", "d", "e"]), "at most 4"),
        (lambda m: m.complete(QUESTION, extra_body={"prompt": "x"}), "extra_body"),
        (lambda m: list(m.stream(QUESTION, frequency_penalty="high")), "frequency_penalty"),
        (lambda m: m.chat(CHAT, n=3), "n=3: a tuneplug Completion holds one choice"),
        (lambda m: list(m.stream_chat(CHAT, n=2)), "n=2: a tuneplug Completion"),
        (lambda m: m.complete(QUESTION, extra_body={"n": 2}), "n=2: a tuneplug Completion"),
        (lambda m: m.chat(CHAT, tools=[TOOL]), "unknown option 'tools'"),
        (lambda m: m.chat(CHAT, max_token=5), "unknown option 'max_token' .did you mean"),
        (lambda m: m.chat(CHAT, echo=True), "'echo' is not available for chat"),
        (lambda m: m.chat(CHAT, extra_body={"tools": [TOOL]}), "tools: a tuneplug Completion"),
        (lambda m: m.chat(CHAT, extra_body={"functions": [TOOL["function"]]}), "functions: a"),
        (lambda m: m.chat(CHAT, extra_body={"modalities": ["text", "audio"]}), "modalities: a"),
        (lambda m: m.chat(CHAT, extra_body={"audio": {"voice": "alloy"}}), "audio: a"),
    ],
)  # fmt: skip
def test_options_are_checked_before_any_request(fake: OpenAIFake, call: Any, match: str) -> None:
    model = tuneplug.get_model("openai/gpt-4o-mini")
    with pytest.raises(errors.InvalidRequestError, match=match) as info:
        call(model)
    assert info.value.provider == "openai" and info.value.status is None
    assert fake.server.requests == []


def test_n_is_one_choice_and_more_choices_are_never_dropped(fake: OpenAIFake) -> None:
    model = tuneplug.get_model("openai/gpt-4o-mini")
    assert model.chat(CHAT, n=1).text == BEFORE  # 1 is the API's default: not sent
    assert "n" not in last(fake).json
    two = {"id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
           "choices": [{"index": i, "message": {"role": "assistant", "content": "x"},
                        "finish_reason": "stop"} for i in (0, 1)]}  # fmt: skip
    fake.server.script(Reply(200, two), path="/chat/completions")
    with pytest.raises(errors.ServerError, match="2 choices for a request of one"):
        model.chat(CHAT)


def test_extra_body_reaches_servers_with_their_own_fields(fake: OpenAIFake) -> None:
    tuneplug.get_model("openai/gpt-4o-mini").complete(QUESTION, extra_body={"top_k": 40})
    assert last(fake).json["top_k"] == 40
    # What asks for no tool call or audio goes out as given.
    neutral = {"tools": [], "modalities": ["text"], "audio": None}
    tuneplug.get_model("openai/gpt-4o-mini").chat(CHAT, extra_body=neutral)
    assert {k: last(fake).json[k] for k in neutral} == neutral


# -- settings ------------------------------------------------------------------------------


def test_missing_key_fails_before_any_request_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.example.invalid/v1")
    model = tuneplug.get_model("openai/gpt-4o-mini")  # resolving needs no request
    with pytest.raises(errors.ConfigError, match="OPENAI_API_KEY"):
        model.complete(QUESTION)
    with pytest.raises(errors.ConfigError, match="OPENAI_API_KEY"):
        model.stream(QUESTION)  # at the call, not at the first chunk


def test_a_loopback_server_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(monkeypatch, require_key=False, API_KEY="") as fake:
        assert tuneplug.get_model("openai/gpt-4o-mini").complete(QUESTION).text == BEFORE
        assert "authorization" not in last(fake).headers


def test_organization_project_headers_and_query(
    fake: OpenAIFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-123")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_9")
    monkeypatch.setenv("OPENAI_HEADERS", json.dumps({"X-Title": "tuneplug"}))
    monkeypatch.setenv("OPENAI_QUERY", json.dumps({"api-version": "2024-10-21"}))
    tuneplug.get_model("openai/gpt-4o-mini").chat(CHAT)
    req = last(fake)
    assert req.headers["openai-organization"] == "org-123"
    assert req.headers["openai-project"] == "proj_9" and req.headers["x-title"] == "tuneplug"
    assert req.query == [("api-version", "2024-10-21")]


@pytest.mark.parametrize(
    ("env", "value"),
    [("OPENAI_BASE_URL", "ftp://x"), ("OPENAI_BASE_URL", "https://h/v1?x=1"),
     ("OPENAI_API_KEY", "sk bad"), ("OPENAI_MAX_RETRIES", "11"), ("OPENAI_TIMEOUT", "0")],
)  # fmt: skip
def test_bad_settings_are_config_errors(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(errors.ConfigError, match=env) as info:
        tuneplug.get_model("openai/gpt-4o-mini")
    assert "sk bad" not in str(info.value)


# -- errors ----------------------------------------------------------------------------------


def test_openai_errors_keep_message_and_request_id_never_the_key(fake: OpenAIFake) -> None:
    fake.server.script(Reply(400, {"error": {"message": f"Invalid 'messages' (key {KEY})",
                                             "type": "invalid_request_error",
                                             "param": "messages", "code": None}},
                             {"x-request-id": "req_abc"}))  # fmt: skip
    with pytest.raises(errors.InvalidRequestError) as info:
        tuneplug.get_model("openai/gpt-4o-mini").chat(CHAT)
    text = str(info.value)
    assert "Invalid 'messages'" in text and "req_abc" in text and "param: messages" in text
    assert KEY not in text and KEY not in repr(info.value) and info.value.status == 400


def test_a_bad_key_is_an_authentication_error(
    fake: OpenAIFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-0000")
    with pytest.raises(errors.AuthenticationError, match="check OPENAI_API_KEY") as info:
        tuneplug.get_model("openai/gpt-4o-mini").complete(QUESTION)
    assert "sk-wrong-0000" not in str(info.value) and "invalid_api_key" in str(info.value)


def test_an_unknown_model_is_not_found(fake: OpenAIFake) -> None:
    with pytest.raises(errors.NotFoundError, match="model_not_found"):
        tuneplug.get_model("openai/ft:gpt-4o-mini:x::nope").complete(QUESTION)


def test_models_list_and_fine_tuned_models_are_adapters(fake: OpenAIFake) -> None:
    fake.trained.add("ft:gpt-4o-mini:tuneplug:qa:ftjob-1")
    models = tuneplug.list_models("openai")
    assert [m.id for m in models] == [
        "gpt-4o-mini", "babbage-002", "ft:gpt-4o-mini:tuneplug:qa:ftjob-1"]  # fmt: skip
    assert models[2].kind.value == "adapter" and models[2].base_model_id == "gpt-4o-mini"
    assert [m.id for m in tuneplug.list_models("openai", base_only=True)] == [
        "gpt-4o-mini", "babbage-002"]  # fmt: skip
    trained = tuneplug.get_model("openai/ft:gpt-4o-mini:tuneplug:qa:ftjob-1")
    assert trained.complete(QUESTION).text == AFTER


def test_streamed_text_pieces_equal_validated_chunks() -> None:
    from tuneplug.types import StreamChunk
    from tuneplug_openai.client import text_piece

    piece, checked = text_piece(" word"), StreamChunk(text=" word")
    assert piece == checked and piece.model_dump() == checked.model_dump()
    assert piece.model_fields_set == checked.model_fields_set and repr(piece) == repr(checked)
    assert piece.model_copy(update={"finish_reason": "stop"}).finish_reason == "stop"
