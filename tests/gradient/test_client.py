"""The Gradient provider against a loopback fake: the seed flow, request shapes, settings.

Every test talks to ``tests/gradient/fake.py`` on 127.0.0.1 through the public facade
(``tuneplug.get_model`` / ``list_models``), with the provider configured the way a
user would: ``GRADIENT_*`` environment variables or ``[providers.gradient]``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import ConfigError, InvalidRequestError, UnknownModelError
from tuneplug.types import Capability, ModelKind

from tests.gradient.fake import (
    ADAPTER_ID,
    AFTER,
    BASE_ID,
    BEFORE,
    TOKEN,
    WORKSPACE,
    FakeGradient,
)

ADAPTER_REF = f"gradient/{ADAPTER_ID}"


def _complete(model: tuneplug.Model, mode: str, prompt: str = "Q", **options: Any) -> Any:
    if mode == "sync":
        return model.complete(prompt, **options)
    return asyncio.run(model.acomplete(prompt, **options))


# -- the seed flow ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_seed_flow_through_the_facade(fake: FakeGradient, mode: str) -> None:
    base = tuneplug.get_model("gradient/nous-hermes2")
    assert base.id == BASE_ID and base.info.slug == "nous-hermes2"
    assert base.info.kind is ModelKind.BASE
    bases = tuneplug.list_models("gradient", base_only=True)
    assert [m.slug for m in bases] == ["nous-hermes2", "bloom-560m"]
    assert bases[1].capabilities == frozenset({Capability.COMPLETE})

    adapter = base.create_adapter(name="my_model_adapter", rank=8, learning_rate=0.1)
    assert adapter.info.kind is ModelKind.ADAPTER
    assert adapter.info.name == "my_model_adapter" and adapter.info.base_model_id == BASE_ID
    prompt = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: "
    before = _complete(adapter, mode, prompt, max_tokens=32)
    assert before.text == BEFORE and before.finish_reason == "length"
    assert before.provider == "gradient" and before.model == adapter.id
    assert before.usage.total_tokens is None

    samples = [{"inputs": prompt + " The Dallas Cowboys!"}]
    result = (
        adapter.fine_tune(samples) if mode == "sync" else asyncio.run(adapter.afine_tune(samples))
    )
    assert (result.trainable_tokens, result.sum_loss) == (27, 78.17996)
    assert result.loss == pytest.approx(78.17996 / 27)
    assert _complete(adapter, mode, prompt, max_tokens=32).text == AFTER

    listed = tuneplug.list_models("gradient")
    assert adapter.id in [m.id for m in listed]
    adapter.delete()
    assert adapter.id not in fake.adapters
    assert [(r.method, r.path.removeprefix("/api")) for r in fake.requests] == [
        ("GET", "/models"),
        ("GET", "/models"),
        ("POST", "/models"),
        ("POST", f"/models/{adapter.id}/complete"),
        ("POST", f"/models/{adapter.id}/fine-tune"),
        ("POST", f"/models/{adapter.id}/complete"),
        ("GET", "/models"),
        ("DELETE", f"/models/{adapter.id}"),
    ]


def test_stream_is_one_chunk(fake: FakeGradient) -> None:
    model = tuneplug.get_model(ADAPTER_REF)
    chunks = list(model.stream("Q"))
    assert [(c.text, c.finish_reason) for c in chunks] == [(BEFORE, "length")]

    async def collect() -> list[Any]:
        return [c async for c in model.astream("Q", stop=["49ers"])]

    chunks = asyncio.run(collect())
    assert [(c.text, c.finish_reason) for c in chunks] == [("\nThe San Francisco ", "stop")]
    assert fake.count("/complete") == 2


# -- model references ------------------------------------------------------------------


def test_ids_resolve_without_io(fake: FakeGradient) -> None:
    adapter = tuneplug.get_model(ADAPTER_REF)
    base = tuneplug.get_model(f"gradient/{BASE_ID}")
    assert adapter.info.kind is ModelKind.ADAPTER and base.info.kind is ModelKind.BASE
    assert fake.requests == []


def test_unknown_slug_is_unknown_model(fake: FakeGradient) -> None:
    with pytest.raises(UnknownModelError, match="no-such-slug"):
        tuneplug.get_model("gradient/no-such-slug")
    assert fake.count("/models", "GET") == 1


def test_list_models_query_is_the_sdks(fake: FakeGradient) -> None:
    tuneplug.list_models("gradient", base_only=True)
    tuneplug.list_models("gradient", base_only=False)
    assert [r.raw_query for r in fake.requests] == [
        "capability=any&onlyBase=True",
        "capability=any&onlyBase=False",
    ]


# -- request shapes --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_headers(fake: FakeGradient, mode: str) -> None:
    model = tuneplug.get_model(ADAPTER_REF)
    _complete(model, mode)
    model.delete()
    post, delete = fake.requests
    for req in (post, delete):
        assert req.headers["authorization"] == f"Bearer {TOKEN}"
        assert req.headers["x-gradient-workspace-id"] == WORKSPACE
        assert req.headers["accept"] == "application/json"
        assert req.headers["user-agent"].startswith("tuneplug-gradient/")
    assert post.headers["content-type"] == "application/json"
    assert "content-type" not in delete.headers and delete.body == b""
    assert "x-gradient-workspace-id" in post.header_names  # exact casing, as the SDK


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_complete_body_all_options(fake: FakeGradient, mode: str) -> None:
    model = tuneplug.get_model(ADAPTER_REF)
    _complete(
        model,
        mode,
        "Say hi",
        max_tokens=100,
        temperature=0.5,
        top_k=3,
        top_p=0.9,
        guidance=["a", "b"],
        auto_template=False,
    )
    _complete(model, mode, "Q", guidance={"type": "choice", "value": ["yes"]})
    first, second = (r.json for r in fake.requests)
    assert first == {
        "autoTemplate": False,
        "guidance": {"type": "choice", "value": ["a", "b"]},
        "maxGeneratedTokenCount": 100,
        "query": "Say hi",
        "rag": None,
        "temperature": 0.5,
        "topK": 3,
        "topP": 0.9,
    }
    assert second == {
        "query": "Q",
        "autoTemplate": None,
        "guidance": {"type": "choice", "value": ["yes"]},
        "maxGeneratedTokenCount": None,
        "rag": None,
        "temperature": None,
        "topK": None,
        "topP": None,
    }


def test_complete_body_defaults_are_explicit_nulls(fake: FakeGradient) -> None:
    tuneplug.get_model(ADAPTER_REF).complete("Q")
    body = fake.requests[0].json
    assert body == {
        "query": "Q",
        **dict.fromkeys(
            [
                "autoTemplate",
                "guidance",
                "maxGeneratedTokenCount",
                "rag",
                "temperature",
                "topK",
                "topP",
            ]
        ),
    }


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"max_tokens": 512}, "max_tokens must be in 1..511"),
        ({"frequency_penalty": 0.5}, "unknown option 'frequency_penalty'"),
        ({"guidance": "yes"}, "guidance"),
        ({"guidance": []}, "guidance"),
        ({"guidance": ["x" * 33]}, "guidance"),
        ({"guidance": {"type": "regex", "value": ["a"]}}, "guidance"),
        ({"auto_template": "yes"}, "auto_template"),
    ],
)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_invalid_options_fail_before_io(
    fake: FakeGradient, mode: str, options: dict[str, Any], match: str
) -> None:
    model = tuneplug.get_model(ADAPTER_REF)
    with pytest.raises(InvalidRequestError, match=match) as info:
        _complete(model, mode, **options)
    assert info.value.provider == "gradient"
    assert fake.requests == []


def test_stop_sequences_cut_client_side(fake: FakeGradient) -> None:
    model = tuneplug.get_model(ADAPTER_REF)
    done = model.complete("Q", stop=["Super", "49ers"])
    assert (done.text, done.finish_reason) == ("\nThe San Francisco ", "stop")
    done = model.complete("Q", stop=["absent"])
    assert (done.text, done.finish_reason) == (BEFORE, "length")
    assert "stop" not in fake.requests[0].json


def test_create_adapter_body(fake: FakeGradient) -> None:
    base = tuneplug.get_model(f"gradient/{BASE_ID}")
    base.create_adapter(name="x")
    base.create_adapter(name="y", rank=8, learning_rate=0.1)
    first, second = (r.json for r in fake.requests)
    assert first == {
        "initialHyperparameters": {
            "loraHyperparameters": {"rank": None},
            "trainingArguments": {"learningRate": None},
        },
        "model": {"baseModelId": BASE_ID, "name": "x"},
    }
    assert second["initialHyperparameters"] == {
        "loraHyperparameters": {"rank": 8},
        "trainingArguments": {"learningRate": 0.1},
    }


def test_fine_tune_body_is_the_sdks(fake: FakeGradient) -> None:
    adapter = tuneplug.get_model(ADAPTER_REF)
    adapter.fine_tune(
        [
            "text",
            {"inputs": [{"value": "a"}, {"value": "b", "trainable": False}], "multiplier": 0.5},
        ]
    )
    raw = fake.requests[0].body.decode()
    assert raw == (
        '{"samples": [{"fineTuningParameters": {"multiplier": null}, "inputs": "text"}, '
        '{"fineTuningParameters": {"multiplier": 0.5}, "inputs": ['
        '{"parseSpecialTokens": true, "trainable": true, "value": "a"}, '
        '{"parseSpecialTokens": true, "trainable": false, "value": "b"}]}]}'
    )


# -- settings and credentials ----------------------------------------------------------


@pytest.mark.parametrize("missing", ["GRADIENT_ACCESS_TOKEN", "GRADIENT_WORKSPACE_ID"])
@pytest.mark.parametrize("empty", [False, True])
def test_missing_credentials_fail_before_any_request(
    fake: FakeGradient, monkeypatch: pytest.MonkeyPatch, missing: str, empty: bool
) -> None:
    if empty:
        monkeypatch.setenv(missing, "")  # the SDK treats an empty value as unset
    else:
        monkeypatch.delenv(missing)
    model = tuneplug.get_model(ADAPTER_REF)  # an id needs no request, so no credentials
    for call in (
        lambda: model.complete("Q"),
        lambda: asyncio.run(model.acomplete("Q")),
        lambda: model.fine_tune(["x"]),
        lambda: tuneplug.get_model("gradient/nous-hermes2"),
        lambda: tuneplug.list_models("gradient"),
    ):
        with pytest.raises(ConfigError, match=missing) as info:
            call()
        assert info.value.provider == "gradient"
    assert fake.requests == []


@pytest.mark.parametrize("var", ["GRADIENT_ACCESS_TOKEN", "GRADIENT_WORKSPACE_ID"])
def test_header_unsafe_credentials_are_config_errors(
    fake: FakeGradient, monkeypatch: pytest.MonkeyPatch, var: str
) -> None:
    monkeypatch.setenv(var, "abc\r\nX-Injected: 1")
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model(ADAPTER_REF)
    assert (
        str(info.value) == f"{var}: must be printable ASCII without spaces (it is sent in a header)"
    )
    assert "Injected" not in str(info.value)
    assert fake.requests == []


def test_credentials_are_trimmed(fake: FakeGradient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADIENT_ACCESS_TOKEN", f"  {TOKEN}\n")
    tuneplug.get_model(ADAPTER_REF).complete("Q")
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_config_file_table(fake: FakeGradient, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("API_URL", "ACCESS_TOKEN", "WORKSPACE_ID"):
        monkeypatch.delenv(f"GRADIENT_{var}")
    with open("tuneplug.toml", "w", encoding="utf-8") as fh:
        fh.write(
            "[providers.gradient]\n"
            f'api_url = "{fake.url}/"\n'
            f'access_token = "{TOKEN}"\n'
            f'workspace_id = "{WORKSPACE}"\n'
        )
    assert tuneplug.get_model("gradient/nous-hermes2").id == BASE_ID
    req = fake.requests[0]
    assert req.path == "/api/models"  # the trailing "/" of api_url was dropped
    assert req.headers["authorization"] == f"Bearer {TOKEN}"


def test_secret_never_in_repr(fake: FakeGradient) -> None:
    from tuneplug_gradient.plugin import _client

    model = tuneplug.get_model(ADAPTER_REF)
    model.complete("Q")
    ctx = model.provider.ctx
    for text in (
        repr(ctx.settings),
        str(ctx.settings),
        repr(_client(ctx)),
        repr(ctx.state),
        repr(model),
        repr(_client(ctx).http),
    ):
        assert TOKEN not in text


def test_concurrent_async_completions(fake: FakeGradient) -> None:
    model = tuneplug.get_model(ADAPTER_REF)

    async def many() -> list[Any]:
        return await asyncio.gather(*(model.acomplete(f"Q{i}") for i in range(20)))

    assert {c.text for c in asyncio.run(many())} == {BEFORE}
    assert sorted(r.json["query"] for r in fake.requests) == sorted(f"Q{i}" for i in range(20))


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_env_proxy_is_used(fake: FakeGradient, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    # The fake doubles as a forward proxy: it reads the path from an absolute-form target.
    monkeypatch.setenv("GRADIENT_API_URL", "http://gradient.invalid/api")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{fake.port}")
    assert _complete(tuneplug.get_model(ADAPTER_REF), mode).text == BEFORE
    assert fake.requests[0].headers["host"] == "gradient.invalid"
