"""A Gradient provider instance (``[providers.g2] plugin = "gradient"``, README's snippet)
is a provider of its own, as the openai plugin's instances are: its models are ``g2/<id>``,
its errors, hints and missing-credentials message name ``g2`` and its table, and it never
reads the ``GRADIENT_*`` variables (the plugin's)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tuneplug
from tuneplug import errors
from tuneplug_gradient.errors_map import error_mapper
from tuneplug_gradient.protocol.errors import ApiError
from tuneplug_gradient.protocol.options import completion_options
from tuneplug_gradient.wire import CompleteRequest

from tests.gradient.fake import ADAPTER_ID, BASE_ID, TOKEN, FakeGradient

README = Path(__file__).resolve().parents[2] / "README.md"
SNIPPET = next(
    block
    for block in re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    if "[providers.g2]" in block
)
NOT_G2S = "the-plugins-own-token-0000"


def _config(fake: FakeGradient, token: str = TOKEN) -> Path:
    """README's snippet on the fake, as the project config; the plugin's own variable holds
    another token, which g2 must never send."""
    text = SNIPPET.replace("https://gradient.example.com/api", fake.url)
    text = text.replace("your-second-token", token)
    path = Path("tuneplug.toml").resolve()
    path.write_text(text + "max_retries = 0\n", encoding="utf-8")
    return path


def _line(path: Path, key: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.startswith(f"{key} ="))


def test_an_instances_models_are_its_own(
    fake: FakeGradient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADIENT_ACCESS_TOKEN", NOT_G2S)
    _config(fake)
    model = tuneplug.get_model(f"g2/{ADAPTER_ID}")
    assert (model.ref, model.info.provider) == (f"g2/{ADAPTER_ID}", "g2")
    assert model.complete("Q", max_tokens=5).provider == "g2"
    listed = tuneplug.list_models(provider="g2")
    assert listed and all(m.ref.startswith("g2/") and m.provider == "g2" for m in listed)
    # A listed ref is the instance's again (not the plugin's, with the plugin's token).
    again = tuneplug.get_model(listed[0].ref)
    assert again.provider.name == "g2" and again.complete("Q").provider == "g2"
    assert tuneplug.get_model("g2/nous-hermes2").ref == f"g2/{BASE_ID}"  # a slug, listed
    sent = {r.headers.get("authorization") for r in fake.requests}
    assert sent == {f"Bearer {TOKEN}"}  # never the plugin's variable


def test_errors_and_hints_name_the_instance_and_its_table(fake: FakeGradient) -> None:
    path = _config(fake, token="a-wrong-token-1")
    with pytest.raises(errors.AuthenticationError) as info:
        tuneplug.get_model(f"g2/{ADAPTER_ID}").complete("Q")
    where = f"access_token in [providers.g2] ({path}:{_line(path, 'access_token')})"
    assert str(info.value).startswith("g2: POST /models/")
    assert str(info.value).endswith(f"; check {where} (HTTP 401)")
    with pytest.raises(errors.InvalidRequestError) as info:  # type: ignore[assignment]
        tuneplug.get_model(f"g2/{ADAPTER_ID}").complete("Q", max_tokens=600)
    assert str(info.value) == "g2: max_tokens must be in 1..511 for Gradient, got 600"
    refused = SNIPPET.replace("https://gradient.example.com", "http://127.0.0.1:9")
    path.write_text(refused + "max_retries = 0\n", encoding="utf-8")
    with pytest.raises(errors.ConnectionError) as info:  # type: ignore[assignment]
        tuneplug.get_model(f"g2/{ADAPTER_ID}").complete("Q")
    assert str(info.value).startswith("g2: ")
    assert str(info.value).endswith(f"; check api_url in [providers.g2] ({path}:3)")


def test_missing_credentials_name_the_instances_table_not_the_variables(
    fake: FakeGradient,
) -> None:
    # The plugin's variables are set (the fixture's): an instance does not read them.
    Path("tuneplug.toml").write_text(
        f'[providers.g3]\nplugin = "gradient"\napi_url = "{fake.url}"\n'
    )
    with pytest.raises(errors.NotConfiguredError) as info:
        tuneplug.get_model(f"g3/{ADAPTER_ID}").complete("Q")
    assert str(info.value) == (
        "g3: missing Gradient credentials: set access_token and workspace_id in "
        "[providers.g3] of tuneplug.toml"
    )
    assert fake.requests == []


@pytest.mark.parametrize(
    ("provider", "said"),
    [
        ("gradient", "check GRADIENT_ACCESS_TOKEN"),
        ("g2", "check access_token in [providers.g2]"),
    ],
)
def test_a_hint_without_origins_names_where_the_provider_reads_its_token(
    provider: str, said: str
) -> None:
    mapper = error_mapper("tok", None, provider)
    assert (mapper.provider, mapper.auth_hint) == (provider, said)


def test_a_gateway_on_an_instance_passes_guidance_on() -> None:
    request = CompleteRequest(query="Q", guidance={"type": "choice", "value": ["a", "b"]})
    assert "guidance" in completion_options(request, "g2", "gradient")
    with pytest.raises(ApiError, match="'mock' backend cannot constrain its output"):
        completion_options(request, "mock")
