"""The OpenAI protocol of ``tuneplug serve``, judged by the official ``openai`` SDK and
``langchain-openai`` on loopback, beside the Gradient protocol in the same process."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from pydantic import SecretStr
from tuneplug.server.tenants import Tenant

from tests.openai.gateway import ALICE, BOB, QUESTION, ask, chat_file, sdk, serve
from tests.server.gradient_server import RunningServer

# -- the official SDK -------------------------------------------------------------------


def test_legacy_completions_with_stop_and_streaming(server: RunningServer) -> None:
    client = sdk(server)
    prompt = f"Question: {QUESTION}\n\nAnswer: "
    whole = client.completions.create(model="tiny", prompt=prompt, max_tokens=16, seed=1)
    stopped = client.completions.create(model="tiny", prompt=prompt, max_tokens=16, stop=["Super"])
    streamed = client.completions.create(model="tiny", prompt=prompt, max_tokens=16, stream=True)
    assert whole.object == "text_completion" and whole.choices[0].text
    assert "Super" not in stopped.choices[0].text
    assert "".join(c.choices[0].text for c in streamed) == whole.choices[0].text


def test_the_sdks_retry_honours_the_servers_429(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tuneplug.server")
    slow = Tenant("slow", SecretStr("slow-key-0123456789"), "slow_ws", rate_limit=60)
    with serve(tmp_path, tenants=[slow]) as running:
        client = sdk(running, slow, max_retries=3)
        assert [m.id for m in client.models.list()] == ["tiny"]
        assert [m.id for m in client.models.list()] == ["tiny"]  # waited Retry-After, retried
        with pytest.raises(openai.RateLimitError):
            sdk(running, slow, max_retries=0).models.list()
    statuses = [r.getMessage().split()[2] for r in caplog.records if r.name == "tuneplug.server"]
    assert statuses.count("429") >= 2 and statuses.count("200") == 2


# -- tenants ----------------------------------------------------------------------------


def test_tenants_cannot_see_or_delete_each_others_files(
    server: RunningServer, tmp_path: Path
) -> None:
    alice, bob = sdk(server, ALICE), sdk(server, BOB)
    with chat_file(tmp_path).open("rb") as handle:
        file = alice.files.create(file=handle, purpose="fine-tune")
    assert bob.files.list().data == []
    for call in (
        lambda: bob.files.retrieve(file.id),
        lambda: bob.files.delete(file.id),
        lambda: bob.files.content(file.id),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    assert alice.files.content(file.id).read() == chat_file(tmp_path).read_bytes()
    assert alice.files.delete(file.id).deleted
    assert alice.files.list().data == []


def test_chat_and_streaming_through_the_sdk(server: RunningServer) -> None:
    client = sdk(server)
    assert [m.id for m in client.models.list()] == ["tiny"]
    said = ask(client, "tiny")
    stream = client.chat.completions.create(
        model="tiny",
        messages=[{"role": "user", "content": QUESTION}],
        max_tokens=16,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == said
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason in ("stop", "length")
    assert chunks[-1].choices == [] and chunks[-1].usage and chunks[-1].usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])


def test_files_paginate_with_after_limit_and_has_more(
    server: RunningServer, tmp_path: Path
) -> None:
    client = sdk(server)
    data = chat_file(tmp_path)
    ids = [client.files.create(file=data.open("rb"), purpose="fine-tune").id for _ in range(3)]
    first = client.files.list(limit=2, order="asc")
    assert [f.id for f in first.data] == ids[:2] and first.has_more
    rest = client.files.list(limit=2, order="asc", after=ids[1])
    assert [f.id for f in rest.data] == ids[2:] and not rest.has_more
    assert [f.id for f in client.files.list()] == ids[::-1]  # the SDK follows every page


# -- errors -----------------------------------------------------------------------------


def test_client_mistakes_get_openai_errors_never_500(server: RunningServer, tmp_path: Path) -> None:
    client = sdk(server)
    with pytest.raises(openai.AuthenticationError):
        sdk(server, Tenant("x", SecretStr("wrong-key-0123456789"), "x")).models.list()
    with pytest.raises(openai.NotFoundError) as unknown:
        ask(client, "gpt-nonesuch")
    assert unknown.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as several:
        client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "x"}], n=2
        )
    assert several.value.param == "n"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="tiny", messages=[])
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model="tiny", prompt="x", temperature=3)
    with pytest.raises(openai.BadRequestError) as streamed_batch:
        client.completions.create(model="tiny", prompt=["x", "y"], stream=True)
    assert streamed_batch.value.param == "prompt"
    raw = httpx.post(
        f"{server.root}/v1/chat/completions",
        content=b"{not json",
        headers={"Authorization": f"Bearer {ALICE.key.get_secret_value()}"},
    )
    assert raw.status_code == 400 and set(raw.json()["error"]) == {
        "message",
        "type",
        "param",
        "code",
    }


def test_uploads_over_the_size_cap_are_413(tmp_path: Path) -> None:
    from tuneplug.server.gateway import Limits

    with serve(tmp_path, tenants=[ALICE], limits=Limits(max_upload_bytes=1000)) as running:
        client = sdk(running)
        big = tmp_path / "big.jsonl"
        big.write_text('{"prompt": "x", "completion": "y"}\n' * 100)
        with pytest.raises(openai.APIStatusError) as refused:
            client.files.create(file=big.open("rb"), purpose="fine-tune")
        assert refused.value.status_code == 413
        assert client.files.list().data == []
        assert "/" not in refused.value.message.replace("multipart/form-data", "")


def test_a_chunked_upload_is_cut_off_at_the_size_cap(tmp_path: Path) -> None:
    from tuneplug.server.gateway import Limits

    def body() -> Iterator[bytes]:  # no Content-Length: only counting can stop it
        yield b'--XyZ\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n'
        yield b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n'
        for _ in range(200):
            yield b"x" * 1000
        yield b"\r\n--XyZ--\r\n"

    with serve(tmp_path, tenants=[ALICE], limits=Limits(max_upload_bytes=1000)) as running:
        response = httpx.post(
            f"{running.root}/v1/files",
            content=body(),
            headers={
                "Authorization": f"Bearer {ALICE.key.get_secret_value()}",
                "Content-Type": "multipart/form-data; boundary=XyZ",
            },
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "file_too_large"
        assert sdk(running).files.list().data == []


# -- LangChain --------------------------------------------------------------------------


def test_langchain_openai_chat_and_llm_invoke_stream_and_batch(server: RunningServer) -> None:
    from langchain_openai import ChatOpenAI, OpenAI

    key = SecretStr(ALICE.key.get_secret_value())
    chat = ChatOpenAI(
        model="tiny", base_url=f"{server.root}/v1", api_key=key, max_tokens=16, max_retries=0
    )
    llm = OpenAI(
        model="tiny", base_url=f"{server.root}/v1", api_key=key, max_tokens=16, max_retries=0
    )
    prompt = f"Question: {QUESTION}\n\nAnswer: "
    said = chat.invoke(QUESTION).content
    assert isinstance(said, str) and said
    assert "".join(str(c.content) for c in chat.stream(QUESTION)) == said
    assert [m.content for m in chat.batch([QUESTION, QUESTION])] == [said, said]
    text = llm.invoke(prompt)
    assert text and "".join(llm.stream(prompt)) == text
    assert llm.batch([prompt, prompt]) == [text, text]


# -- both protocols in one process -------------------------------------------------------


def test_the_gradient_sdk_works_on_the_same_process(server: RunningServer) -> None:
    from gradientai import Gradient

    gradient = Gradient(
        host=server.url, access_token=ALICE.key.get_secret_value(), workspace_id=ALICE.workspace
    )
    try:
        base = gradient.list_models(only_base=True)[-1]
        reply = base.complete(
            query=f"Question: {QUESTION}\n\nAnswer: ", max_generated_token_count=8
        )
    finally:
        gradient.close()
    assert reply.generated_output
