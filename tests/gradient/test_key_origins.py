"""A Gradient 401 names where the rejected token came from, a refused connection where
``api_url`` did (``ctx.origins``): the same rule as the openai provider's hints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import tuneplug
from tuneplug import errors
from tuneplug.langchain import TuneplugLLM

from tests.gradient.fake import ADAPTER_ID, FakeGradient, serve

WRONG = "some-other-token-123"
MODEL = f"gradient/{ADAPTER_ID}"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGradient]:
    with serve(monkeypatch) as server:
        yield server


def _rejected(call: object) -> str:
    with pytest.raises(errors.AuthenticationError) as info:
        call()  # type: ignore[operator]
    assert info.value.status == 401 and WRONG not in str(info.value)
    return str(info.value)


def test_the_variable_is_named_when_the_token_came_from_it(
    fake: FakeGradient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADIENT_ACCESS_TOKEN", WRONG)
    said = _rejected(lambda: tuneplug.get_model(MODEL).complete("Q"))
    assert said.endswith("; check GRADIENT_ACCESS_TOKEN (HTTP 401)")


def test_an_argument_is_named_when_the_token_came_from_one(fake: FakeGradient) -> None:
    said = _rejected(
        lambda: tuneplug.get_model(MODEL, settings={"access_token": WRONG}).complete("Q")
    )
    assert said.endswith("; check access_token in the settings= argument of get_model (HTTP 401)")
    said = _rejected(lambda: TuneplugLLM(model=MODEL, api_key=WRONG).invoke("Q"))
    assert said.endswith("; check the api_key= argument of TuneplugLLM (HTTP 401)")


def test_the_file_and_line_are_named_when_the_token_came_from_a_file(
    fake: FakeGradient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRADIENT_ACCESS_TOKEN")
    here = Path("tuneplug.toml")
    here.write_text(f'[providers.gradient]\n\naccess_token = "{WRONG}"\n', encoding="utf-8")
    said = _rejected(lambda: tuneplug.get_model(MODEL).complete("Q"))
    assert said.endswith(
        f"; check access_token in [providers.gradient] ({here.resolve()}:3) (HTTP 401)"
    )


def test_a_refused_connection_names_where_api_url_came_from(
    fake: FakeGradient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADIENT_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("GRADIENT_MAX_RETRIES", "0")
    with pytest.raises(errors.ConnectionError) as info:
        tuneplug.get_model(MODEL).complete("Q")
    assert str(info.value).endswith(": Connection refused; check GRADIENT_API_URL")
