"""``tuneplug complete``: text, JSON and streamed output, every option passed, the prompt from
stdin, configured defaults and aliases, and one error line for a bad model or config."""

from __future__ import annotations

import json

import pytest

from tests.core.cli_runner import error_line, invoke, ok

# -- complete -------------------------------------------------------------------------


def test_complete_text(rec) -> None:  # type: ignore[no-untyped-def]
    assert ok(invoke("complete", "-m", "rec/base", "hello there")).stdout == "rec: hello there\n"


def test_complete_json(rec) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(ok(invoke("complete", "--model", "rec/base", "hi", "--json")).stdout)
    assert data["text"] == "rec: hi" and data["provider"] == "rec" and data["model"] == "base"
    assert data["finish_reason"] == "stop"
    assert data["usage"]["prompt_tokens"] == 1 and data["usage"]["completion_tokens"] == 2


def test_complete_passes_every_option(rec) -> None:  # type: ignore[no-untyped-def]
    ok(
        invoke(
            "complete", "-m", "rec/base", "hi",
            "--max-tokens", "7", "--temperature", "0.5", "--top-k", "3", "--top-p", "0.9",
            "--stop", "\n", "--stop", "END", "--seed", "42",
            "-o", "guidance={\"type\": \"json\"}", "-o", "auto_template=false", "-o", "mode=fast",
        )
    )  # fmt: skip
    opts = rec.calls.of("complete")[-1]["options"]
    assert (opts.max_tokens, opts.temperature, opts.top_k, opts.top_p, opts.seed) == (
        7, 0.5, 3, 0.9, 42,
    )  # fmt: skip
    assert opts.stop == ("\n", "END")
    assert opts.extra == {"guidance": {"type": "json"}, "auto_template": False, "mode": "fast"}


@pytest.mark.parametrize("args", [[], ["-"]], ids=["omitted", "dash"])
def test_complete_prompt_from_stdin(rec, args) -> None:  # type: ignore[no-untyped-def]
    out = ok(invoke("complete", "-m", "rec/base", *args, input="piped prompt")).stdout
    assert out == "rec: piped prompt\n"


def test_complete_stream(rec) -> None:  # type: ignore[no-untyped-def]
    out = ok(invoke("complete", "-m", "rec/base", "a b c", "--stream")).stdout
    assert out == "a b c\n"
    assert rec.calls.hooks()[-1] == "stream"


def test_complete_uses_configured_default(rec, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TUNEPLUG_MODEL", "rec/base")
    assert ok(invoke("complete", "hi")).stdout == "rec: hi\n"


def test_complete_alias(rec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "work" / "tuneplug.toml").write_text(
        '[models.qa]\nmodel = "rec/base"\nmax_tokens = 5\n'
    )
    ok(invoke("complete", "-m", "qa", "hi"))
    assert rec.calls.of("complete")[-1]["options"].max_tokens == 5


def test_complete_invalid_option_is_a_usage_error(rec) -> None:  # type: ignore[no-untyped-def]
    # A value out of range on the command line is exit 2 (docs/cli.md), like --epochs 0.
    result = invoke("complete", "-m", "rec/base", "hi", "--temperature", "7")
    assert result.exit_code == 2 and "temperature" in result.stderr
    assert "complete" not in rec.calls.hooks()


@pytest.mark.parametrize(
    ("ref", "needle"),
    [("nosuch/model", "nosuch"), ("rec/nope", "nope"), ("justaname", "justaname")],
)
def test_complete_bad_model_is_one_error_line(rec, ref, needle) -> None:  # type: ignore[no-untyped-def]
    assert needle in error_line(invoke("complete", "-m", ref, "hi"))


def test_complete_empty_stdin_is_an_error(rec) -> None:  # type: ignore[no-untyped-def]
    assert "prompt" in error_line(invoke("complete", "-m", "rec/base", input=""))


def test_bad_config_is_one_error_line(rec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "work" / "tuneplug.toml"
    path.write_text("default_model = \n")
    line = error_line(invoke("complete", "hi"))
    assert line == f"error: {path}:1:17: invalid TOML: Invalid value"
