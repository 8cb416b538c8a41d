"""The requests tuneplug's Gradient provider sends, compared with the official SDK's.

Both clients perform the same operations against one loopback fake that logs every
request; for each operation the method, path, query, header names and body keys
(recursively, with list items by position) must match. Where tuneplug differs on
purpose, the difference is named in :data:`DELIBERATE` and asserted, not ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import tuneplug
from gradientai import Gradient

from tests.gradient.fake import ADAPTER_ID, BASE_ID, Recorded, serve

PROMPT = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: "
SAMPLES_SDK: list[dict[str, Any]] = [
    {"inputs": PROMPT + " The Dallas Cowboys!"},
    {
        "inputs": [{"value": PROMPT, "trainable": False}, {"value": "The Dallas Cowboys!"}],
        "multiplier": 0.5,
    },
]

# Header names that belong to the transport, not the protocol: each HTTP library
# chooses its own (urllib3 sends Accept-Encoding: identity, httpx gzip; keep-alive).
TRANSPORT_HEADERS = {"host", "accept-encoding", "connection", "content-length", "user-agent"}

DELIBERATE = {
    # The SDK asks GET /models/{id} before describing an adapter; tuneplug resolves a
    # 50-character id locally (the id says base or adapter) and sends nothing.
    "get_adapter": "no request",
}


def _keys(value: Any) -> Any:
    """The shape of a JSON body: dict keys recursively, list items by position."""
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(v) for v in value]
    return None


def _shape(req: Recorded) -> dict[str, Any]:
    return {
        "method": req.method,
        "path": req.path,
        "query": req.query,
        "headers": sorted(h for h in req.headers if h not in TRANSPORT_HEADERS),
        "body": _keys(req.json) if req.body else None,
    }


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with serve(monkeypatch) as running:
        yield running


def _requests_of(fake: Any, action: Callable[[], object]) -> list[dict[str, Any]]:
    start = len(fake.requests)
    action()
    return [_shape(r) for r in fake.requests[start:]]


def _sdk(fake: Any) -> Gradient:
    from tests.gradient.fake import TOKEN, WORKSPACE

    return Gradient(host=fake.url, access_token=TOKEN, workspace_id=WORKSPACE)


def test_list_models_requests_match(fake: Any) -> None:
    sdk = _sdk(fake)
    for only_base in (True, False):
        theirs = _requests_of(fake, lambda b=only_base: sdk.list_models(only_base=b))
        ours = _requests_of(fake, lambda b=only_base: tuneplug.list_models("gradient", base_only=b))
        assert ours == theirs


def test_base_slug_lookup_matches_get_base_model(fake: Any) -> None:
    sdk = _sdk(fake)
    theirs = _requests_of(fake, lambda: sdk.get_base_model(base_model_slug="nous-hermes2"))
    ours = _requests_of(fake, lambda: tuneplug.get_model("gradient/nous-hermes2"))
    assert ours == theirs


@pytest.mark.parametrize("hyper", [{}, {"rank": 8, "learning_rate": 0.1}])
def test_create_adapter_requests_match(fake: Any, hyper: dict[str, Any]) -> None:
    sdk_base = _sdk(fake).get_base_model(base_model_slug="nous-hermes2")
    theirs = _requests_of(fake, lambda: sdk_base.create_model_adapter(name="a", **hyper))
    base = tuneplug.get_model(f"gradient/{BASE_ID}")
    ours = _requests_of(fake, lambda: base.create_adapter("a", **hyper))
    assert ours == theirs
    assert fake.requests[-1].json == fake.requests[-2].json  # same values, nulls included


@pytest.mark.parametrize(
    ("sdk_kwargs", "our_kwargs"),
    [
        ({}, {}),
        (
            {"max_generated_token_count": 32, "temperature": 0.5, "top_k": 3, "top_p": 0.9},
            {"max_tokens": 32, "temperature": 0.5, "top_k": 3, "top_p": 0.9},
        ),
        (
            {"guidance": {"type": "choice", "value": ["yes", "no"]}, "auto_template": False},
            {"guidance": ["yes", "no"], "auto_template": False},
        ),
    ],
)
def test_complete_requests_match(
    fake: Any, sdk_kwargs: dict[str, Any], our_kwargs: dict[str, Any]
) -> None:
    sdk_adapter = _sdk(fake).get_model_adapter(model_adapter_id=ADAPTER_ID)
    theirs = _requests_of(fake, lambda: sdk_adapter.complete(query=PROMPT, **sdk_kwargs))
    adapter = tuneplug.get_model(f"gradient/{ADAPTER_ID}")
    ours = _requests_of(fake, lambda: adapter.complete(PROMPT, **our_kwargs))
    assert ours == theirs
    assert fake.requests[-1].json == fake.requests[-2].json


def test_fine_tune_requests_match(fake: Any) -> None:
    sdk_adapter = _sdk(fake).get_model_adapter(model_adapter_id=ADAPTER_ID)
    theirs = _requests_of(fake, lambda: sdk_adapter.fine_tune(samples=SAMPLES_SDK))
    adapter = tuneplug.get_model(f"gradient/{ADAPTER_ID}")
    ours = _requests_of(fake, lambda: adapter.fine_tune(SAMPLES_SDK))
    assert ours == theirs
    assert fake.requests[-1].json == fake.requests[-2].json


def test_delete_requests_match(fake: Any) -> None:
    sdk_base = _sdk(fake).get_base_model(base_model_slug="nous-hermes2")
    sdk_adapter = sdk_base.create_model_adapter(name="gone")
    theirs = _requests_of(fake, sdk_adapter.delete)
    adapter = tuneplug.get_model(f"gradient/{BASE_ID}").create_adapter("gone")
    ours = _requests_of(fake, adapter.delete)
    assert [{**r, "path": "/api/models/<id>"} for r in ours] == [
        {**r, "path": "/api/models/<id>"} for r in theirs
    ]
    assert ours[0]["headers"] == theirs[0]["headers"]  # no content-type without a body


def test_describing_an_adapter_is_local_on_purpose(fake: Any) -> None:
    theirs = _requests_of(fake, lambda: _sdk(fake).get_model_adapter(model_adapter_id=ADAPTER_ID))
    ours = _requests_of(fake, lambda: tuneplug.get_model(f"gradient/{ADAPTER_ID}"))
    assert [r["method"] for r in theirs] == ["GET"]
    assert ours == [], DELIBERATE["get_adapter"]
