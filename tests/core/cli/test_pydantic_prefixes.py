"""No user-facing message carries pydantic's internal prefixes (``Value error, ``,
``Assertion failed, ``), whichever entry point validated: settings from the environment
or a file, an alias, a flag, a provider option, a sample, a job spec, a gateway body.

Kind: each place that quoted ``err["msg"]`` showed a validator's own words behind
pydantic's ``Value error, `` (``--stop: invalid value ['']: Value error, stop sequences
must not be empty strings``); two stripped it by hand. Right: every such place words
the error through :func:`tuneplug.validation_words.problem`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from click.testing import CliRunner, Result
from pydantic import ValidationError
from tuneplug.cli import cli
from tuneplug.errors import TuneplugError
from tuneplug_openai.protocol.schemas import CompletionBody
from tuneplug_openai.protocol.state import describe

PREFIXES = ("Value error", "Assertion failed")


def invoke(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    return CliRunner(env=env).invoke(cli, list(args), input=stdin)


def _clean(text: str) -> None:
    assert not any(prefix in text for prefix in PREFIXES), text


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (["complete", "hi", "-m", "mock/tiny", "--stop", ""], {},
         "error: --stop: invalid value ['']: stop sequences must not be empty strings"),
        (["complete", "hi", "-m", "openai/gpt-4o-mini"], {"OPENAI_BASE_URL": "ftp://x"},
         "error: OPENAI_BASE_URL: must be an http:// or https:// URL"),
        (["complete", "hi", "-m", "openai/gpt-4o-mini", "-o", 'logit_bias={"x": 1}'],
         {"OPENAI_BASE_URL": "http://127.0.0.1:9"},
         "error: -o logit_bias: invalid value {'x': 1}: keys are token ids, got 'x'"),
        (["complete", "hi", "-m", "gradient/nous-hermes2"],
         {"GRADIENT_API_URL": "ftp://x", "GRADIENT_ACCESS_TOKEN": "t",
          "GRADIENT_WORKSPACE_ID": "w"},
         "error: GRADIENT_API_URL: must start with http:// or https://"),
    ],
    ids=["flag", "env setting", "provider option", "gradient setting"],
)  # fmt: skip
def test_the_cli_shows_the_validators_words(
    args: list[str], env: dict[str, str], said: str
) -> None:
    result = invoke(*args, env=env)
    assert result.exit_code in (1, 2), result.output
    (line,) = result.stderr.splitlines()
    _clean(line)
    assert line.endswith(said), line


def test_an_alias_in_a_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tuneplug.toml").write_text('[models.qa]\nmodel = "mock/tiny"\nstop = [""]\n')
    result = invoke("complete", "hi", "-m", "qa")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "tuneplug.toml:3: [models.qa] stop: stop sequences must not be empty strings\n"
    )


@pytest.mark.parametrize(
    ("sample", "said"),
    [
        ({"inputs": []}, "inputs: must not be an empty list"),
        ({"messages": [{"role": "user", "content": "x", "weight": 1},
                       {"role": "assistant", "content": "y"}]},
         "messages: message 0: weight is allowed on assistant turns only"),
    ],
)  # fmt: skip
def test_a_samples_file(tmp_path: Path, sample: dict[str, Any], said: str) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(sample) + "\n")
    result = invoke("jobs", "create", "mock/tiny", str(path))
    assert result.exit_code == 1
    assert result.stderr == f"error: {path}:1: {said}\n"


@pytest.mark.parametrize(
    "call",
    [
        lambda: tuneplug.get_model("mock/tiny").complete("x", stop=[""]),
        lambda: tuneplug.get_model("mock/tiny").start_fine_tune(
            ["a"], learning_rate=0.1, learning_rate_multiplier=1.0
        ),
    ],
    ids=["option", "job spec"],
)
def test_python_shows_the_validators_words(call: Any) -> None:
    with pytest.raises(TuneplugError) as info:
        call()
    _clean(str(info.value))


def test_a_gateway_body() -> None:
    with pytest.raises(ValidationError) as info:
        CompletionBody.model_validate({"model": "m", "prompt": "x", "stop": ["a"] * 5})
    assert describe(info.value) == ("stop", "at most 4 stop sequences")
