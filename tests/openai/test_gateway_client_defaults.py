"""What the official ``openai`` SDK and ``langchain-openai`` send by default is served, and
what the gateway cannot honour fails at once, as the client's own ``BadRequestError``.

``ChatOpenAI`` sends ``stream`` (and ``stream_options`` with ``stream_usage``); LangChain's
``OpenAI`` LLM sends ``n: 1``, ``presence_penalty: 0``, ``frequency_penalty: 0``,
``logprobs: null``, ``top_p: 1`` and ``seed: null`` on every call. Structured output and
tool binding send ``response_format`` / ``tools``: refused with ``param`` naming them,
never a 200 whose plain text the client then fails to parse.
"""

from __future__ import annotations

import openai
import pytest
from pydantic import SecretStr

from tests.openai.gateway import ALICE, QUESTION, sdk
from tests.server.gradient_server import RunningServer

SCHEMA = {
    "title": "answer",
    "type": "object",
    "properties": {"team": {"type": "string"}},
    "required": ["team"],
}


def test_the_sdk_defaults_and_neutral_values_are_served(server: RunningServer) -> None:
    client = sdk(server)
    messages = [{"role": "user", "content": QUESTION}]
    plain = client.chat.completions.create(model="tiny", messages=messages, max_tokens=8)
    neutral = client.chat.completions.create(
        model="tiny", messages=messages, max_tokens=8, n=1, presence_penalty=0,
        frequency_penalty=0, tools=[], response_format={"type": "text"}, logprobs=False,
        user="u", metadata={"run": "1"}, store=False, parallel_tool_calls=False,
    )  # fmt: skip
    assert neutral.choices[0].message.content == plain.choices[0].message.content
    text = client.completions.create(
        model="tiny", prompt=QUESTION, max_tokens=8, echo=False, n=1, best_of=1, suffix=None
    )
    assert text.choices[0].text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tools", [{"type": "function", "function": {"name": "f", "parameters": {}}}]),
        ("response_format", {"type": "json_object"}),
        ("presence_penalty", 1.5),
    ],
)
def test_the_sdk_gets_a_bad_request_naming_the_field(
    server: RunningServer, field: str, value: object
) -> None:
    client = sdk(server)
    messages = [{"role": "user", "content": QUESTION}]
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="tiny", messages=messages, **{field: value})  # type: ignore[call-overload]
    assert (refused.value.param, refused.value.code) == (field, "unsupported_parameter")
    with pytest.raises(openai.BadRequestError) as unknown:
        client.chat.completions.create(model="tiny", messages=messages, extra_body={"top_k": 5})
    assert (unknown.value.param, unknown.value.code) == ("top_k", "unknown_parameter")


def test_langchain_defaults_are_served(server: RunningServer) -> None:
    from langchain_openai import ChatOpenAI, OpenAI

    key = SecretStr(ALICE.key.get_secret_value())
    url = f"{server.root}/v1"
    chat = ChatOpenAI(model="tiny", base_url=url, api_key=key, max_retries=0, stream_usage=True)
    said = chat.invoke(QUESTION)
    chunks = list(chat.stream(QUESTION))
    assert "".join(str(c.content) for c in chunks) == said.content
    assert any(c.usage_metadata for c in chunks)  # stream_options.include_usage was honoured
    llm = OpenAI(model="tiny", base_url=url, api_key=key, max_retries=0, max_tokens=8)
    assert llm.invoke(QUESTION) == "".join(llm.stream(QUESTION))


@pytest.mark.parametrize(
    ("method", "param"),
    [("json_schema", "response_format"), ("json_mode", "response_format"),
     ("function_calling", "tools")],
)  # fmt: skip
def test_langchain_structured_output_is_refused_before_any_parsing(
    server: RunningServer, method: str, param: str
) -> None:
    from langchain_openai import ChatOpenAI

    key = SecretStr(ALICE.key.get_secret_value())
    chat = ChatOpenAI(model="tiny", base_url=f"{server.root}/v1", api_key=key, max_retries=0)
    structured = chat.with_structured_output(SCHEMA, method=method)  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError) as refused:
        structured.invoke(QUESTION)
    assert (refused.value.param, refused.value.code) == (param, "unsupported_parameter")
    assert "not supported by this server" in str(refused.value)
