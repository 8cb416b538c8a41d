"""A UTF-8 byte order mark is read the same way by every data file reader.

Accepted at the start of a file (and, in line-based files, of a line: files joined
with ``cat``); elsewhere it is refused in tuneplug's words, never with Python's
"decode using utf-8-sig" hint.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tuneplug.batching.ids import IdSet
from tuneplug.batching.inputs import read_inputs, validate_inputs
from tuneplug.cli import cli
from tuneplug.config_files import read_layer
from tuneplug.errors import TuneplugError
from tuneplug.samples import read_preference_samples, read_samples
from tuneplug.server.tenants import load_tenants_file

BOM = "\ufeff"
PAIR = {
    "input": {"messages": [{"role": "user", "content": "Who won in 1994?"}]},
    "preferred_output": [{"role": "assistant", "content": "The Dallas Cowboys"}],
    "non_preferred_output": [{"role": "assistant", "content": "The Bills"}],
}


def _batch(path: Path) -> list[Any]:
    validate_inputs(path, IdSet())
    return [item.prompt for _, item in read_inputs(path)]


def _samples(path: Path) -> list[Any]:
    return list(read_samples(path))


def _pairs(path: Path) -> list[Any]:
    return [sample.preferred_output[0].content for sample in read_preference_samples(path)]


LINE_READERS: dict[str, tuple[Callable[[Path], list[Any]], list[Any]]] = {
    "batch input": (_batch, ["first", "second"]),
    "samples": (_samples, ["first", "second"]),
    "preference pairs": (_pairs, [PAIR, PAIR]),
}


def _jsonl(values: list[Any], *, boms: tuple[int, ...]) -> str:
    return "".join((BOM if i in boms else "") + json.dumps(v) + "\n" for i, v in enumerate(values))


@pytest.mark.parametrize("reader", LINE_READERS)
@pytest.mark.parametrize("boms", [(0,), (0, 1)], ids=["file start", "each part of a cat"])
def test_line_readers_accept_a_bom_where_a_line_starts(
    tmp_path: Path, reader: str, boms: tuple[int, ...]
) -> None:
    read, values = LINE_READERS[reader]
    path = tmp_path / "data.jsonl"
    path.write_text(_jsonl(values, boms=boms), encoding="utf-8")
    plain = tmp_path / "plain.jsonl"
    plain.write_text(_jsonl(values, boms=()), encoding="utf-8")
    assert read(path) == read(plain)


@pytest.mark.parametrize("reader", LINE_READERS)
def test_line_readers_word_a_misplaced_bom_their_own_way(tmp_path: Path, reader: str) -> None:
    read, values = LINE_READERS[reader]
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(values[0]) + "\n" + BOM * 2 + json.dumps(values[1]) + "\n")
    with pytest.raises(TuneplugError) as caught:
        read(path)
    message = str(caught.value)
    assert "data.jsonl:2: invalid JSON: a byte order mark (U+FEFF) where a value should start" in (
        message
    )
    assert "utf-8-sig" not in message and "decode" not in message


def test_a_json_array_samples_file_accepts_a_leading_bom(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text(BOM + '["first", "second"]', encoding="utf-8")
    assert [s.inputs for s in read_samples(path)] == ["first", "second"]


def test_config_and_tenants_files_accept_a_leading_bom(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "tuneplug.toml"
    config.write_text(BOM + 'default_model = "mock/tiny"\n', encoding="utf-8")
    layer = read_layer(config)
    assert layer is not None and layer.data["default_model"] == "mock/tiny"

    monkeypatch.setenv("ALICE_KEY", "alice-key-0123456789")
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(BOM + '[tenants.alice]\nkey_env = "ALICE_KEY"\n', encoding="utf-8")
    assert [t.name for t in load_tenants_file(tenants)] == ["alice"]


@pytest.mark.parametrize(
    "args",
    [
        ["batch", "mock/tiny", "in.jsonl", "-o", "out.jsonl", "--max-tokens", "4"],
        ["jobs", "create", "mock/tiny", "in.jsonl", "--epochs", "1"],
    ],
    ids=["batch", "jobs create"],
)
def test_every_command_takes_the_file_an_editor_saved_with_a_bom(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text(BOM + '"bom line"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output


def test_stdin_with_a_bom_is_the_prompt_without_it() -> None:
    result = CliRunner().invoke(cli, ["complete", "-m", "mock/echo"], input=BOM + "hello")
    assert result.exit_code == 0, result.output
    assert result.stdout == "hello\n"


@pytest.mark.parametrize("shift", [-1, 0, 1])
def test_a_bom_character_inside_a_sample_is_text_wherever_a_read_starts(
    tmp_path: Path, shift: int
) -> None:
    # Only the file's first bytes can be its byte order mark: U+FEFF later is a zero width
    # no-break space in the sample's text, kept even as the first bytes of a later read.
    from tuneplug.samples.reader import _CHUNK

    before = '["' + "a" * (_CHUNK - 2 + shift)
    path = tmp_path / "s.json"
    path.write_text(before + '\ufeffb"]', encoding="utf-8")
    (sample,) = read_samples(path)
    assert sample.inputs == before[2:] + "\ufeffb"  # type: ignore[union-attr]
