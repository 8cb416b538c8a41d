"""The ErrorMapper's one rule for a wrong base URL (:mod:`tuneplug.http.wrong_url`): a bare
404 or a 405 on a route, a 2xx without the protocol's shape on a route, or an error type
only another protocol sends; and what is no sign of one."""

from __future__ import annotations

import httpx
import pytest
from pydantic import BaseModel, ValidationError
from tuneplug import errors
from tuneplug.http.mapping import ErrorMapper
from tuneplug.http.policy import Call
from tuneplug.http.wrong_url import is_route

HINT = "check api_url in [providers.gw] (tuneplug.toml:3)"
MAPPER = ErrorMapper(
    "p",
    secrets=("sk-SECRET",),
    auth_hint="check THE_KEY",
    permission_hint="check THE_KEY and workspace",
    not_found_types=frozenset({"unknownThing"}),
    routes=frozenset({"GET /models", "POST /models/{id}/complete"}),
    route_hint=HINT,
    foreign_types=frozenset({"missingWorkspace"}),
)
ROOT = "http://127.0.0.1:9/v1"


def _call(method: str, path: str) -> Call:
    url = httpx.URL(f"{ROOT}{path}?sig=sk-SECRET")
    return Call(method, url, f"{method} {path}", idempotent=True)


def _reply(status: int, body: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body or {"message": "no", "type": "someType"})


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("POST /models/ab%2Fc/complete", True),
        ("GET /models", True),
        ("GET /models/x", False),
        ("POST /models//complete", False),  # {id} is one non-empty segment
        ("POST /models/a/b/complete", False),
        ("GET /models/a/complete", False),
    ],
)
def test_a_route_segment_in_braces_stands_for_one_segment(operation: str, expected: bool) -> None:
    assert is_route(operation, MAPPER.routes) is expected


@pytest.mark.parametrize("status", [404, 405])
def test_a_bare_404_or_a_405_on_a_route_names_the_url_without_query(status: int) -> None:
    error = MAPPER.response(_call("POST", "/models/m1/complete"), _reply(status))
    text = str(error)
    url = f"{ROOT}/models/m1/complete"
    assert (f"nothing answers at {url}" if status == 404 else f"{url} does not take POST") in text
    assert text.endswith(f"; {HINT} (HTTP {status})") and "sk-SECRET" not in text


@pytest.mark.parametrize(
    ("status", "body", "path"),
    [
        (404, {"message": "gone", "type": "unknownThing"}, "/models/m1/complete"),  # typed
        (404, None, "/models/m1"),  # not a route
        (405, None, "/models/m1"),
        (400, None, "/models/m1/complete"),
        (500, None, "/models/m1/complete"),
    ],
)
def test_no_sign_of_a_wrong_url_adds_nothing(
    status: int, body: dict[str, str] | None, path: str
) -> None:
    text = str(MAPPER.response(_call("POST", path), _reply(status, body)))
    assert HINT not in text and "protocol" not in text


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (400, errors.InvalidRequestError),
    ],
)
def test_another_protocols_error_type_blames_the_url_not_the_key(
    status: int, kind: type[errors.TuneplugError]
) -> None:
    body = {"message": "missing workspace", "type": "missingWorkspace"}
    error = MAPPER.response(_call("GET", "/anything"), _reply(status, body))
    assert isinstance(error, kind)
    assert str(error) == (
        f"p: GET /anything failed: missing workspace [missingWorkspace]; {ROOT}/anything "
        "answers as another protocol's server ('missingWorkspace'): the URL looks like "
        f"another protocol's root; {HINT} (HTTP {status})"
    )


@pytest.mark.parametrize("status", [401, 403])
def test_an_own_401_or_403_keeps_the_key_hint(status: int) -> None:
    text = str(MAPPER.response(_call("GET", "/models"), _reply(status)))
    assert "check THE_KEY" in text and HINT not in text


class Listing(BaseModel):
    models: list[int]


def _problem(raw: bytes) -> ValidationError:
    try:
        Listing.model_validate_json(raw)
    except ValidationError as exc:
        return exc
    raise AssertionError("valid")


@pytest.mark.parametrize(
    "raw", [b'{"object": "list", "data": []}', b"<html>", b"[1]", b'{"models": 5}']
)
def test_a_body_without_the_shape_on_a_route_may_be_another_protocols_root(raw: bytes) -> None:
    text = str(MAPPER.malformed(_call("GET", "/models"), 200, _problem(raw)))
    assert text.endswith(
        f"; the answer is not this API's: {ROOT}/models may be another protocol's root; "
        f"{HINT} (HTTP 200)"
    )


@pytest.mark.parametrize(
    ("path", "raw"),
    [("/models", b'{"models": ["x"]}'), ("/other", b'{"object": "list"}')],
    ids=["a-value-error", "not-a-route"],
)
def test_a_wrong_value_or_another_operation_is_no_wrong_url(path: str, raw: bytes) -> None:
    assert HINT not in str(MAPPER.malformed(_call("GET", path), 200, _problem(raw)))
    assert HINT not in str(MAPPER.malformed(_call("GET", "/models"), 200, "two choices"))
