"""A wrong ``api_url`` / ``base_url`` names the URL and where it was set (user7 #7).

Against the real gateway serving both protocols (OpenAI's under ``/v1``, Gradient's
under ``/api``): the gradient provider pointed at ``/v1`` got ``malformed response to GET
/models: models: Field required`` or a 405, at the bare root a 404, none naming
``GRADIENT_API_URL`` or the instance's table; the openai provider pointed at ``/api`` got
Gradient's ``missingWorkspace`` 403 with ``check OPENAI_API_KEY``, sending the user after
their key. One rule in the core (:mod:`tuneplug.http.wrong_url`) covers both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import tuneplug
from tuneplug import errors
from tuneplug_gradient.protocol import GradientProtocol
from tuneplug_openai.protocol import OpenAIProtocol

from tests.server.gradient_server import RunningServer, running_server, unknown_adapter_id

GRADIENT_HINT = "check GRADIENT_API_URL (Gradient's API is under /api)"
OPENAI_HINT = "check OPENAI_BASE_URL (OpenAI-compatible servers serve the API under /v1)"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(
        "mock/tiny",
        tmp_path_factory.mktemp("gw"),
        protocols=[GradientProtocol(), OpenAIProtocol()],
    ) as server:
        yield server


def _gradient_env(monkeypatch: pytest.MonkeyPatch, server: RunningServer, url: str) -> None:
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GRADIENT_API_URL", url)
    monkeypatch.setenv("GRADIENT_MAX_RETRIES", "0")


def test_gradient_at_openais_root_says_the_answer_is_not_gradients(
    gateway: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _gradient_env(monkeypatch, gateway, f"{gateway.root}/v1")
    with pytest.raises(errors.ServerError) as info:
        tuneplug.get_model("gradient/tiny").complete("hi")
    assert str(info.value) == (
        "gradient: malformed response to GET /models: models: Field required; the answer is "
        f"not this API's: {gateway.root}/v1/models may be another protocol's root; "
        f"{GRADIENT_HINT} (HTTP 200)"
    )


@pytest.mark.parametrize(
    ("action", "said"),
    [
        ("complete", "does not take POST"),
        ("fine_tune", "does not take POST"),
    ],
)
def test_gradient_at_openais_root_a_405_names_the_url(
    gateway: RunningServer, monkeypatch: pytest.MonkeyPatch, action: str, said: str
) -> None:
    _gradient_env(monkeypatch, gateway, f"{gateway.root}/v1")
    model = tuneplug.get_model(f"gradient/{unknown_adapter_id()}")
    with pytest.raises(errors.InvalidRequestError) as info:
        model.complete("hi") if action == "complete" else model.fine_tune(["a"])
    text = str(info.value)
    assert info.value.status == 405 and said in text
    assert text.endswith(f"; {GRADIENT_HINT} (HTTP 405)")


def test_gradient_at_a_bare_root_a_404_names_the_url(
    gateway: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _gradient_env(monkeypatch, gateway, gateway.root)
    with pytest.raises(errors.NotFoundError) as info:
        tuneplug.list_models("gradient")
    assert str(info.value).endswith(
        f"; nothing answers at {gateway.root}/models; {GRADIENT_HINT} (HTTP 404)"
    )


def test_gradient_with_a_token_openai_refuses_blames_the_url_not_the_token(
    gateway: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _gradient_env(monkeypatch, gateway, f"{gateway.root}/v1")
    monkeypatch.setenv("GRADIENT_ACCESS_TOKEN", "not-the-gateway-key-123")
    with pytest.raises(errors.AuthenticationError) as info:
        tuneplug.list_models("gradient")
    text = str(info.value)
    assert "looks like another protocol's root" in text
    assert text.endswith(f"; {GRADIENT_HINT} (HTTP 401)")
    assert "GRADIENT_ACCESS_TOKEN" not in text


def test_a_gradient_instance_names_its_table_and_line(
    gateway: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = Path("tuneplug.toml")
    config.write_text(
        f'[providers.gw]\nplugin = "gradient"\napi_url = "{gateway.root}/v1"\n'
        f'access_token = "{gateway.token}"\nworkspace_id = "{gateway.workspace}"\n'
        "max_retries = 0\n",
        encoding="utf-8",
    )
    with pytest.raises(errors.InvalidRequestError) as info:
        tuneplug.get_model(f"gw/{unknown_adapter_id()}").complete("hi")
    assert str(info.value).endswith(
        f"; check api_url in [providers.gw] ({config.resolve()}:3) "
        "(Gradient's API is under /api) (HTTP 405)"
    )


@pytest.mark.parametrize("key", ["gateway", "wrong"])
@pytest.mark.parametrize("call", ["complete", "chat", "models"])
def test_openai_at_gradients_root_says_so_not_check_the_key(
    gateway: RunningServer, monkeypatch: pytest.MonkeyPatch, key: str, call: str
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", f"{gateway.root}/api")
    monkeypatch.setenv("OPENAI_API_KEY", gateway.token if key == "gateway" else "sk-wrong-1234")
    monkeypatch.setenv("OPENAI_MAX_RETRIES", "0")
    model = tuneplug.get_model("openai/tiny")
    run = {
        "complete": lambda: model.complete("hi"),
        "chat": lambda: model.chat([tuneplug.types.Message(role="user", content="hi")]),
        "models": lambda: tuneplug.list_models("openai"),
    }[call]
    with pytest.raises((errors.PermissionDeniedError, errors.AuthenticationError)) as info:
        run()
    text = str(info.value)
    assert "the URL looks like another protocol's root" in text
    assert text.endswith(f"; {OPENAI_HINT} (HTTP {info.value.status})")
    assert "OPENAI_API_KEY" not in text and gateway.token not in text
