"""Text at the gateway's boundary (issue 12): every byte a client sends that is not text.

Kind: a request whose body, path, query string, header or uploaded file holds a
byte that is not UTF-8 (or a JSON escape of half a surrogate pair). Right: 400
in the protocol's own error shape naming the input and the byte offset, before
any backend call; never a 500, a 404 for a model named ``'\\ufffd'``, a 401 or a
generic "invalid JSON". Siblings: Gradient and OpenAI bodies of every endpoint,
path ids, query parameters, the headers the protocols read, ``/v1/files``
uploads, and a job's training file (named by its file id, line and field).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient
from tuneplug.cli import cli
from tuneplug.errors import ConfigError
from tuneplug.server.tenants import load_tenants_file
from tuneplug_gradient.protocol import GradientProtocol
from tuneplug_openai.protocol import OpenAIProtocol

from tests.core.test_text import bad_plugin
from tests.server.gradient_server import AUTH, TOKEN, api, base_model_id

OPENAI = {"Authorization": f"Bearer {TOKEN}"}
GOOD_LINE = (
    b'{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n'
)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with api(
        "mock/tiny", tmp_path / "state", protocols=[GradientProtocol(), OpenAIProtocol()]
    ) as c:
        yield c


def _gradient_error(response: Any, kind: str) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"] == kind
    assert "Traceback" not in response.text
    message: str = body["message"]
    return message


def _openai_error(response: Any, code: str, param: str | None = None) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert (error["code"], error["param"]) == (code, param)
    message: str = error["message"]
    return message


# -- bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/complete", "/fine-tune"])
def test_a_non_utf8_gradient_body_names_the_byte_offset(client: TestClient, path: str) -> None:
    url = f"/api/models/{base_model_id(client)}{path}"
    response = client.post(url, content=b'{"query": "caf\xe9 au lait"}')
    message = _gradient_error(response, "bodyParsingError")
    assert message == "the request body is not UTF-8 text: invalid byte (0xe9) at byte offset 14"
    assert response.json()["payload"]["validationError"][0]["type"] == "body_not_text"


def test_a_non_utf8_create_adapter_body(client: TestClient) -> None:
    response = client.post("/api/models", content=b'{"model": {"name": "n\xff"}}')
    assert "invalid byte (0xff) at byte offset 21" in _gradient_error(response, "bodyParsingError")


@pytest.mark.parametrize(
    ("path", "body", "offset"),
    [
        ("/v1/completions", b'{"model": "tiny", "prompt": "caf\xe9"}', 32),
        (
            "/v1/chat/completions",
            b'{"model": "tiny", "messages": [{"role": "user", "content": "\xc3("}]}',
            60,
        ),
        ("/v1/fine_tuning/jobs", b'{"model": "tiny", "training_file": "file-\x80"}', 41),
    ],
)
def test_a_non_utf8_openai_body_names_the_byte_offset(
    client: TestClient, path: str, body: bytes, offset: int
) -> None:
    message = _openai_error(client.post(path, content=body, headers=OPENAI), "body_not_text")
    assert message.startswith("the request body is not UTF-8 text: invalid byte")
    assert message.endswith(f"at byte offset {offset}")


@pytest.mark.parametrize(
    ("escape", "offset"),
    [("\\ud800", 32), ("\\udc00 high after low \\ud800", 32), ("ok \\ud83d", 35)],
)
def test_a_lone_surrogate_escape_is_not_text(client: TestClient, escape: str, offset: int) -> None:
    body = ('{"model": "tiny", "prompt": "caf' + escape + '"}').encode()
    message = _openai_error(
        client.post("/v1/completions", content=body, headers=OPENAI), "body_not_text"
    )
    assert "half of a UTF-16 surrogate pair, alone" in message
    assert message.endswith(f"at byte offset {offset}")
    gradient = client.post(
        f"/api/models/{base_model_id(client)}/complete",
        content=b'{"query": "' + escape.encode() + b'"}',
    )
    assert "surrogate" in _gradient_error(gradient, "bodyParsingError")


@pytest.mark.parametrize("text", ["\\ud83d\\ude00", "\\\\ud800", "caf\u00e9"])
def test_pairs_escaped_backslashes_and_utf8_are_text(client: TestClient, text: str) -> None:
    body = ('{"model": "tiny", "prompt": "' + text + '", "max_tokens": 2}').encode()
    response = client.post("/v1/completions", content=body, headers=OPENAI)
    assert response.status_code == 200, response.text


# -- path, query string, headers ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "offset"),
    [
        ("/api/models/%ff", 12),
        ("/api/models/ok%C3%28/complete", 14),
    ],
)
def test_a_gradient_path_id_that_is_not_text(client: TestClient, url: str, offset: int) -> None:
    response = client.post(url, json={"query": "hi"}) if "complete" in url else client.get(url)
    message = _gradient_error(response, "queryOrPathParsingError")
    assert message.startswith("the request path is not UTF-8 text")
    assert message.endswith(f"at byte offset {offset}")
    assert response.json()["payload"]["validationError"][0]["loc"] == ["path"]


@pytest.mark.parametrize(
    "url",
    ["/v1/models/%ff", "/v1/files/%ff", "/v1/files/%ff/content", "/v1/fine_tuning/jobs/%ff"],
)
def test_an_openai_path_id_that_is_not_text(client: TestClient, url: str) -> None:
    message = _openai_error(client.get(url, headers=OPENAI), "path_not_text")
    assert (
        message
        == f"the request path is not UTF-8 text: invalid byte (%ff) at byte offset {url.index('%')}"
    )


@pytest.mark.parametrize(
    ("query", "param", "offset"),
    [
        ("purpose=%ff", "purpose", 8),
        ("limit=2&after=a%e9", "after", 15),
        ("order=asc&%ffx=1", "?x", 10),
    ],
)
def test_an_openai_query_parameter_that_is_not_text(
    client: TestClient, query: str, param: str, offset: int
) -> None:
    response = client.get(f"/v1/files?{query}", headers=OPENAI)
    message = _openai_error(response, "query_not_text", param)
    assert message.startswith(f"query parameter {param!r} is not UTF-8 text")
    assert message.endswith(f"at byte offset {offset} of the query string")


def test_a_gradient_query_parameter_that_is_not_text(client: TestClient) -> None:
    response = client.get("/api/models?onlyBase=true&capability=%e9")
    message = _gradient_error(response, "queryOrPathParsingError")
    assert "query parameter 'capability'" in message and "byte offset 25" in message
    assert response.json()["payload"]["validationError"][0]["loc"] == ["query", "capability"]


def test_a_key_that_is_not_ascii_is_400_without_echoing_it(client: TestClient) -> None:
    key = b"Bearer sk-secret\xe9value"
    response = client.get("/v1/models", headers={"Authorization": key})  # type: ignore[dict-item]
    message = _openai_error(response, "header_not_text", "authorization")
    assert message == "header 'authorization' is not ASCII text: a non-ASCII byte at byte offset 16"
    assert "secret" not in response.text
    gradient = client.get("/api/models", headers={**AUTH, "Authorization": key})  # type: ignore[dict-item]
    assert gradient.status_code == 400 and "secret" not in gradient.text


def test_a_workspace_header_that_is_not_ascii(client: TestClient) -> None:
    headers = {**AUTH, "x-gradient-workspace-id": b"ws\xe9"}
    response = client.get("/api/models", headers=headers)  # type: ignore[arg-type]
    assert response.status_code == 400
    assert response.json()["message"] == (
        "header 'x-gradient-workspace-id' is not ASCII text: a non-ASCII byte at byte offset 2"
    )


# -- uploads and the jobs that use them --------------------------------------------------


def _upload(client: TestClient, content: bytes, purpose: bytes = b"fine-tune") -> Any:
    body = (
        b'--XX\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n' + purpose + b"\r\n"
        b'--XX\r\nContent-Disposition: form-data; name="file"; filename="seed.jsonl"\r\n'
        b"Content-Type: application/jsonl\r\n\r\n" + content + b"\r\n--XX--\r\n"
    )
    headers = {**OPENAI, "content-type": "multipart/form-data; boundary=XX"}
    return client.post("/v1/files", content=body, headers=headers)


def test_a_non_utf8_training_file_is_refused_at_upload(client: TestClient) -> None:
    bad = GOOD_LINE + GOOD_LINE.replace(b'"b"', b'"caf\xe9"')
    message = _openai_error(_upload(client, bad), "invalid_file_format", "file")
    offset = len(GOOD_LINE) + GOOD_LINE.index(b'"b"') + 4
    assert message == (
        f"file 'seed.jsonl': line 2: not UTF-8 text: invalid byte (0xe9) at byte offset {offset}"
    )
    assert client.get("/v1/files", headers=OPENAI).json()["data"] == []


def test_an_empty_training_file_is_refused_at_upload(client: TestClient) -> None:
    message = _openai_error(_upload(client, b""), "empty_file", "file")
    assert message == "file 'seed.jsonl' is empty"


def test_other_purposes_keep_their_bytes(client: TestClient) -> None:
    response = _upload(client, b"\xff\xfe binary", purpose=b"user_data")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"mesages": []}', "2: mesages: unknown field (did you mean 'messages'?)"),
        (b'{"prompt": "a", "completion": 5}', "2: completion: Input should be a valid"),
        (
            b'{"prompt": "a", "completion": "b\\udfff"}',
            "2: not valid text: \\udfff (half of a UTF-16 surrogate pair, alone) at byte "
            f"offset {len(GOOD_LINE) + 32}",
        ),
    ],
)
def test_a_job_names_the_file_id_line_and_field(
    client: TestClient, line: bytes, expected: str
) -> None:
    uploaded = _upload(client, GOOD_LINE + line + b"\n")
    assert uploaded.status_code == 200, uploaded.text
    file_id = uploaded.json()["id"]
    job = {"model": "tiny", "training_file": file_id}
    response = client.post("/v1/fine_tuning/jobs", json=job, headers=OPENAI)
    message = _openai_error(response, "invalid_training_file", "training_file")
    assert message.startswith(f"{file_id}:{expected}")
    assert "<path>" not in message


def test_a_tenants_file_that_is_not_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "tenants.toml"
    path.write_bytes(b'[tenants.ren\xe9]\nkey = "ren-key-0123456789"\n')
    with pytest.raises(ConfigError) as caught:
        load_tenants_file(path)
    assert str(caught.value) == (
        f"{path}:1:13: not UTF-8 text: invalid byte (0xe9) at byte offset 12"
    )
    result = CliRunner().invoke(cli, ["serve", "--port", "0", "--tenants", str(path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"error: {caught.value}"]


def test_a_backend_reply_that_is_not_text_is_502_not_500(
    tmp_path: Path, make_plugin: Any, register: Any
) -> None:
    bad_plugin(make_plugin, register)
    with api("bad/base", tmp_path / "state", protocols=[OpenAIProtocol()]) as bad:
        body = {"model": "base-slug", "prompt": "hi"}  # the id /v1/models lists
        response = bad.post("/v1/completions", json=body, headers=OPENAI)
        assert response.status_code == 502, response.text
        assert "lone surrogate U+D800 at character 5" in response.json()["error"]["message"]
        chat = {
            "model": "base-slug",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
        }
        streamed = bad.post("/v1/chat/completions", json=chat, headers=OPENAI)
        assert "lone surrogate" in streamed.text and "Traceback" not in streamed.text
