"""Text and encodings at every boundary (issue 12).

Kind: bytes that are not UTF-8 (or a ``str`` holding lone surrogates, which is
how Python hands such bytes over from argv and the environment) entering
tuneplug. Right: one TuneplugError (CLI: one ``error:`` line, exit 1) naming the
input and the byte offset. Siblings: stdin, argv, tuneplug.toml, a pyproject.toml
with ``[tool.tuneplug]``, the user config, an unrelated parent pyproject.toml
(ignored, broken or not), core and provider environment variables, model
references, adapter names, prompts, and a Gradient HTTP body. Sample files are
in ``test_faults_samples.py``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.errors import ConfigError, InvalidRequestError, ServerError, UnknownModelError
from tuneplug.text import check_text, decode_utf8

from tests.gradient.fake import ADAPTER_ID, FakeGradient, Reply, serve

LATIN1 = b'default_model = "mock/echo"\n# Ren\xe9\n'  # the bad byte is at offset 33


def _one_error_line(result: object, *needles: str) -> str:
    output = result.stderr  # type: ignore[attr-defined]
    lines = output.strip().splitlines()
    assert result.exit_code == 1, output  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert "Traceback" not in output
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def test_the_helpers_name_input_and_offset() -> None:
    with pytest.raises(InvalidRequestError, match=r"stdin is not UTF-8 text.*0xe9.*offset 3"):
        decode_utf8(b"caf\xe9", "stdin")
    assert decode_utf8(b"\xef\xbb\xbfok", "x") == "ok"
    raw = os.fsdecode(b"caf\xe9")  # what argv and os.environ hold for those bytes
    with pytest.raises(InvalidRequestError, match=r"argument is not UTF-8.*0xe9.*offset 3"):
        check_text(raw, "argument")
    with pytest.raises(InvalidRequestError, match=r"lone surrogate U\+D800 at character 2"):
        check_text("ab\ud800", "the prompt")


# -- the CLI ------------------------------------------------------------------------


def test_non_utf8_stdin_is_one_error_line() -> None:
    result = CliRunner().invoke(cli, ["complete", "-m", "mock/echo"], input=b"caf\xe9 au lait\n")
    _one_error_line(result, "stdin", "byte offset 3")


def test_utf8_stdin_works_whatever_the_locale() -> None:
    result = CliRunner().invoke(cli, ["complete", "-m", "mock/echo"], input="café".encode())
    assert result.exit_code == 0 and "café" in result.stdout


@pytest.mark.parametrize(
    ("args", "number"),
    [
        (["complete", os.fsdecode(b"caf\xe9"), "-m", "mock/echo"], 2),
        (["complete", "hi", "-m", os.fsdecode(b"mock/\xff")], 4),
        (["adapters", "create", "mock/tiny", "--name", os.fsdecode(b"n\xe9")], 5),
    ],
)
def test_non_utf8_argv_is_one_error_line(args: list[str], number: int) -> None:
    _one_error_line(CliRunner().invoke(cli, args), f"argument {number}", "byte offset")


# -- config files --------------------------------------------------------------------


def test_non_utf8_tuneplug_toml(tmp_path: Path) -> None:
    path = Path("tuneplug.toml").resolve()
    path.write_bytes(LATIN1)
    with pytest.raises(ConfigError, match=rf"{path} is not UTF-8 text.*byte offset 33"):
        tuneplug.get_model()
    _one_error_line(CliRunner().invoke(cli, ["models"]), str(path), "byte offset 33")


def test_non_utf8_pyproject_with_our_table(tmp_path: Path) -> None:
    path = Path("pyproject.toml").resolve()
    path.write_bytes(b'[tool.tuneplug]\ndefault_model = "mock/echo"\n# \xe9\n')
    with pytest.raises(ConfigError, match=rf"{path} is not UTF-8 text.*byte offset 46"):
        tuneplug.get_model()


@pytest.mark.parametrize(
    "content",
    [
        b'[project]\nname = "x"\nauthors = [{name = "Ren\xe9"}]\n',  # Latin-1
        b"[project\nname = \n",  # not even TOML
    ],
)
def test_an_unrelated_parent_pyproject_is_none_of_our_business(content: bytes) -> None:
    here = Path.cwd()
    (here / "pyproject.toml").write_bytes(content)
    child = here / "src"
    child.mkdir()
    os.chdir(child)
    assert tuneplug.get_model().ref == "mock/tiny"
    assert CliRunner().invoke(cli, ["complete", "hi", "-m", "mock/echo"]).exit_code == 0


def test_non_utf8_user_config() -> None:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "tuneplug" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_bytes(LATIN1)
    with pytest.raises(ConfigError, match=r"config\.toml is not UTF-8 text.*byte offset 33"):
        tuneplug.get_model()


# -- environment variables ----------------------------------------------------------


def test_non_utf8_core_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEPLUG_MODEL", os.fsdecode(b"mock/caf\xe9"))
    with pytest.raises(ConfigError, match=r"not UTF-8 text.*offset 8.*TUNEPLUG_MODEL"):
        tuneplug.get_model()


def test_non_utf8_provider_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADIENT_API_URL", os.fsdecode(b"http://h\xe9st/api"))
    with pytest.raises(ConfigError, match=r"not UTF-8 text.*GRADIENT_API_URL"):
        tuneplug.get_model("gradient/some-model")


# -- names, ids and prompts given to providers -------------------------------------


def test_a_model_reference_that_is_not_text() -> None:
    with pytest.raises(UnknownModelError, match=r"model reference is not UTF-8.*offset 8"):
        tuneplug.get_model(os.fsdecode(b"mock/caf\xe9"))


def test_an_adapter_name_that_is_not_text_writes_nothing() -> None:
    base = tuneplug.get_model("mock/tiny")
    with pytest.raises(InvalidRequestError, match="adapter name is not valid text"):
        base.create_adapter(name="caf\udce9"[:3] + "\ud800")
    assert [m.ref for m in tuneplug.list_models("mock")] == ["mock/tiny", "mock/echo"]


@pytest.mark.parametrize("call", ["complete", "stream", "acomplete", "astream"])
def test_a_prompt_that_is_not_text(call: str) -> None:
    model = tuneplug.get_model("mock/echo")
    with pytest.raises(InvalidRequestError, match="prompt is not valid text"):
        result = getattr(model, call)("half a \ud83d")
        if call == "acomplete":
            asyncio.run(result)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGradient]:
    with serve(monkeypatch) as server:
        yield server


def test_gradient_gets_no_request_for_a_prompt_that_is_not_text(fake: FakeGradient) -> None:
    model = tuneplug.get_model(f"gradient/{ADAPTER_ID}")
    before = len(fake.requests)
    with pytest.raises(InvalidRequestError, match="prompt"):
        model.complete("half a \ud83d")
    assert len(fake.requests) == before


def test_a_non_utf8_gradient_response_body_is_a_typed_error(fake: FakeGradient) -> None:
    model = tuneplug.get_model(f"gradient/{ADAPTER_ID}")
    fake.script(Reply(200, b'{"finishReason": "stop", "generatedOutput": "caf\xe9"}'))
    with pytest.raises(ServerError, match="malformed"):
        model.complete("Q")
    fake.script(Reply(400, b'{"message": "bad \xff request"}'))
    with pytest.raises(InvalidRequestError, match="bad"):
        model.complete("Q")
