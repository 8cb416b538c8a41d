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
import inspect
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from click.testing import CliRunner
from tuneplug.cli import cli
from tuneplug.errors import (
    ConfigError,
    InvalidRequestError,
    SampleFileError,
    ServerError,
    TuneplugError,
    UnknownModelError,
)
from tuneplug.options import OptionError
from tuneplug.text import check_text, check_utf8_file, decode_utf8, lone_surrogate_escape

from tests.core.plugin_kit import COMPLETER, FINETUNABLE
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
    with pytest.raises(
        InvalidRequestError, match=r"lone surrogate U\+D800 at character 2 \(byte offset 2 in"
    ):
        check_text("ab\ud800", "the prompt")
    with pytest.raises(InvalidRequestError, match=r"at character 2 \(byte offset 4 in UTF-8\)$"):
        check_text("\u00e9\u00e9\udfff", "the prompt")


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (b'"\\ud800"', (1, "\\ud800")),
        (b'"ab\\uDC00\\ud800"', (3, "\\uDC00")),
        (b'"\\ud83d\\ude00 \\ud83d"', (14, "\\ud83d")),
        (b'"\\ud83d x \\ude00"', (1, "\\ud83d")),
        (b'"\\ud83d\\n"', (1, "\\ud83d")),
        (b'"\\ud83d\\ude00"', None),
        (b'"\\\\ud800"', None),  # an escaped backslash, then the letters u d 8 0 0
        (b'"\\\\\\ud800"', (3, "\\ud800")),
        (b'"no escapes at all"', None),
    ],
)
def test_lone_surrogate_escapes_are_found_at_their_byte_offset(
    data: bytes, found: tuple[int, str] | None
) -> None:
    assert lone_surrogate_escape(data) == found


@pytest.mark.parametrize(
    ("data", "line", "offset"),
    [
        (b"ab\nc\xe9", 2, 4),
        (b"a" * 65535 + b"\xc3\xa9\n\xff", 2, 65538),  # a character across two chunks
        (b"a\n" * 40000 + b"\xc3", 40001, 80000),  # cut short at the end
    ],
)
def test_check_utf8_file_names_line_and_offset(data: bytes, line: int, offset: int) -> None:
    with pytest.raises(InvalidRequestError, match=rf"^f: line {line}: .* at byte offset {offset}$"):
        check_utf8_file(io.BytesIO(data), "f")
    check_utf8_file(io.BytesIO("ok\ncafé\n".encode()), "f")


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
    # FILE:LINE:COLUMN (in characters, as for a TOML syntax error) and the byte offset.
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model()
    assert str(info.value) == f"{path}:2:6: not UTF-8 text: invalid byte (0xe9) at byte offset 33"
    _one_error_line(CliRunner().invoke(cli, ["models"]), str(path), "byte offset 33")


def test_non_utf8_pyproject_with_our_table(tmp_path: Path) -> None:
    path = Path("pyproject.toml").resolve()
    path.write_bytes(b'[tool.tuneplug]\ndefault_model = "mock/echo"\n# \xe9\n')
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model()
    assert str(info.value) == f"{path}:3:3: not UTF-8 text: invalid byte (0xe9) at byte offset 46"


def test_a_non_utf8_byte_after_a_bom_and_wide_characters_is_placed_exactly() -> None:
    # The BOM counts in the byte offset, not in the column; "é" is one column, two bytes.
    path = Path("tuneplug.toml").resolve()
    path.write_bytes(b"\xef\xbb\xbf# caf\xc3\xa9 \xe9\n")
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model()
    assert str(info.value) == f"{path}:1:8: not UTF-8 text: invalid byte (0xe9) at byte offset 11"


def test_a_non_utf8_byte_after_a_leading_newline_is_on_line_2_column_1() -> None:
    # The newline at byte 0 ends line 1: counted from byte 0, not byte 1.
    path = Path("tuneplug.toml").resolve()
    path.write_bytes(b"\n\xe9\n")
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model()
    assert str(info.value) == f"{path}:2:1: not UTF-8 text: invalid byte (0xe9) at byte offset 1"


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
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model()
    assert str(info.value) == f"{path}:2:6: not UTF-8 text: invalid byte (0xe9) at byte offset 33"


# -- environment variables ----------------------------------------------------------


def test_non_utf8_core_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEPLUG_MODEL", os.fsdecode(b"mock/caf\xe9"))
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model()
    assert str(info.value) == "TUNEPLUG_MODEL: not UTF-8 text: invalid byte (0xe9) at byte offset 8"


def test_non_utf8_provider_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADIENT_API_URL", os.fsdecode(b"http://h\xe9st/api"))
    with pytest.raises(ConfigError) as info:
        tuneplug.get_model("gradient/some-model")
    assert str(info.value) == (
        "GRADIENT_API_URL: not UTF-8 text: invalid byte (0xe9) at byte offset 8"
    )


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


# -- text sent to providers: refused before any request ---------------------------------


def test_default_options_and_aliases_are_checked_too() -> None:
    with pytest.raises(OptionError, match=re.escape("option stop[0] is not valid text")):
        tuneplug.get_model("mock/tiny", stop=["\ud800"])


def test_adapter_options_that_are_not_text_create_nothing(make_plugin: Any, register: Any) -> None:
    plugin = register("rec", make_plugin("rec", COMPLETER + FINETUNABLE))
    base = tuneplug.get_model("rec/base")
    with pytest.raises(
        OptionError,
        match=re.escape(
            "option target_modules[1] is not UTF-8 text: invalid byte (0xe9) at byte offset 1"
        ),
    ):
        base.create_adapter("ok", target_modules=["q_proj", "v\udce9"])
    assert "tuneplug_create_adapter" not in plugin.calls.hooks()


# -- names, ids and paths given to tuneplug ------------------------------------------------


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: tuneplug.get_job("mock/ftjob-\ud800"), "the job reference is not valid text"),
        (
            lambda: tuneplug.get_job(os.fsdecode(b"ftjob-\xe9")),
            "the job reference is not UTF-8 text: invalid byte (0xe9) at byte offset 6",
        ),
        (lambda: tuneplug.list_jobs(after="x\ud800"), "after is not valid text"),
        (lambda: tuneplug.get_provider("mo\ud800ck"), "the provider name is not valid text"),
        (lambda: tuneplug.list_models("mo\ud800ck"), "the provider name is not valid text"),
    ],
)
def test_names_and_ids_that_are_not_text(call: Any, named: str) -> None:
    with pytest.raises(TuneplugError, match=re.escape(named)) as caught:
        call()
    str(caught.value).encode("utf-8")  # the message itself is printable text


def test_job_spec_text_and_paths_are_checked_before_anything_starts() -> None:
    model = tuneplug.get_model("mock/tiny")
    with pytest.raises(InvalidRequestError, match=r"^suffix is not valid text: lone surrogate"):
        model.start_fine_tune([{"inputs": "a"}], suffix="s\ud800")
    with pytest.raises(InvalidRequestError, match=re.escape("training_data (a path) is not valid")):
        model.start_fine_tune("x\ud800.jsonl")
    with pytest.raises(InvalidRequestError, match=re.escape("validation_data: sample 0: mesages:")):
        model.start_fine_tune([{"inputs": "a"}], validation_data=[{"mesages": []}])
    with pytest.raises(SampleFileError, match="the path is not valid text: lone surrogate"):
        list(tuneplug.read_samples("x\ud800.jsonl"))
    assert tuneplug.list_jobs().data == []


def test_a_python_sample_with_a_lone_surrogate_names_field_and_offset() -> None:
    adapter = tuneplug.get_model("mock/tiny").create_adapter(name="surrogates")
    samples = [{"inputs": "ok"}, {"inputs": [{"value": "ab\ud800", "trainable": True}]}]
    expected = (
        "sample 1: inputs.0.value: not valid text: lone surrogate U+D800 at character 2 "
        "(byte offset 2 in UTF-8)"
    )
    with pytest.raises(InvalidRequestError, match=re.escape(expected)):
        adapter.fine_tune(samples)
    from tuneplug.models import training_steps

    assert training_steps(adapter.ref) == 0


# -- text coming back from providers -------------------------------------------------------

BAD_REPLY = "caf\u00e9 \ud800"


def bad_plugin(make_plugin: Any, register: Any) -> None:
    """Registers ``bad/base``: every completion and stream ends in a lone surrogate."""
    from tuneplug.types import Completion, StreamChunk

    def tuneplug_complete(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        return Completion(text=BAD_REPLY, finish_reason="stop", model=model.id, provider="bad")

    def tuneplug_stream(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        yield StreamChunk(text="ok ")
        yield StreamChunk(text=BAD_REPLY, finish_reason="stop")

    async def tuneplug_astream(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        yield StreamChunk(text=BAD_REPLY, finish_reason="stop")

    hooks = {"complete": tuneplug_complete, "stream": tuneplug_stream, "astream": tuneplug_astream}
    register("bad", make_plugin("bad", COMPLETER, **hooks))


async def _drain(chunks: Any) -> list[Any]:
    return [chunk async for chunk in chunks]


@pytest.mark.parametrize(
    "call", ["complete", "acomplete", "stream", "astream", "chat", "stream_chat", "astream_chat"]
)
def test_a_reply_that_is_not_text_is_a_server_error_naming_the_offset(
    make_plugin: Any, register: Any, call: str
) -> None:
    bad_plugin(make_plugin, register)
    model = tuneplug.get_model("bad/base")
    arg: Any = "hi" if "chat" not in call else [{"role": "user", "content": "hi"}]
    with pytest.raises(ServerError) as caught:
        result = getattr(model, call)(arg)
        if inspect.iscoroutine(result):
            asyncio.run(result)
        elif hasattr(result, "__aiter__"):
            asyncio.run(_drain(result))
        elif not hasattr(result, "text"):
            list(result)
    assert str(caught.value) == (
        "bad: the completion is not valid text: lone surrogate U+D800 at character 5 "
        "(byte offset 6 in UTF-8)"
    )
    assert not caught.value.retryable
