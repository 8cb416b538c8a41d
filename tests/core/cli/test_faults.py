"""The CLI as a newcomer meets it (issue 12).

Kinds and their siblings:
* a silent or noisy listing: an unknown ``TUNEPLUG_PLUGINS`` name (``models``,
  ``plugins``, Python's ``list_models``); an unconfigured provider (no warning,
  listed as such, strict mode not failing, by name still an error); Gradient's slugs;
* exit codes by kind of mistake: every out-of-range value given on the command
  line is 2 (click types or tuneplug's checks), every failure of the work is 1
  (missing file, directory, bad sample, non-UTF-8 input);
* results on stdout, diagnostics on stderr (``fine-tune``'s summary, ``--json
  --stream`` as JSON lines);
* messages that send users the wrong way: ``error: interrupted`` without how to
  resume, ``(HTTP 404)`` on a local error, ``create_adapter`` for a model that
  can have none, rich markup swallowing ``[providers.gradient]``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner, Result
from tuneplug.cli import cli
from tuneplug.errors import NotConfiguredError, NotFoundError

from tests.gradient.fake import FakeGradient, serve

DOCS = Path(__file__).resolve().parents[3] / "docs"


def invoke(*args: str, input: str | bytes | None = None, **env: str) -> Result:
    runner = CliRunner(env={"COLUMNS": "250", **env})
    return runner.invoke(cli, list(args), input=input)


def _samples(tmp_path: Path) -> Path:
    path = tmp_path / "samples.jsonl"
    path.write_text('"Question: hi?\\n\\nAnswer: hello"\n"plain text"\n', encoding="utf-8")
    return path


# -- listing ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["models", "plugins"])
def test_an_unknown_plugin_name_is_a_warning(command: str) -> None:
    result = invoke(command, TUNEPLUG_PLUGINS="mokc")
    assert result.exit_code == 0
    assert "warning: TUNEPLUG_PLUGINS names 'mokc'" in result.stderr
    assert "installed: " in result.stderr and "mock" in result.stderr


def test_an_unknown_plugin_name_warns_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEPLUG_PLUGINS", "mock,mokc")
    with pytest.warns(UserWarning, match="'mokc'"):
        refs = [m.ref for m in tuneplug.list_models()]
    assert refs == ["mock/tiny", "mock/echo"]


@pytest.mark.parametrize("strict", ["", "1"])
def test_an_unconfigured_provider_is_a_normal_state(strict: str) -> None:
    result = invoke("models", TUNEPLUG_STRICT=strict)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # no warning on every command
    assert "gradient/*" in result.stdout and "not configured" in result.stdout
    assert "GRADIENT_ACCESS_TOKEN" in result.stdout
    assert "[providers.gradient]" in result.stdout  # rich markup did not swallow it
    rows = json.loads(invoke("models", "--json", TUNEPLUG_STRICT=strict).stdout)
    assert "mock/tiny" in {r["ref"] for r in rows}


def test_an_unconfigured_provider_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEPLUG_STRICT", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "mock/tiny" in [m.ref for m in tuneplug.list_models()]
    with pytest.raises(NotConfiguredError, match="GRADIENT_ACCESS_TOKEN"):
        tuneplug.list_models("gradient")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGradient]:
    with serve(monkeypatch) as server:
        yield server


def test_gradient_slugs_are_shown(fake: FakeGradient) -> None:
    result = invoke("models", "--provider", "gradient", "--base")
    assert result.exit_code == 0
    assert "gradient/nous-hermes2" in result.stdout and "gradient/bloom-560m" in result.stdout
    rows = json.loads(invoke("models", "--provider", "gradient", "--json").stdout)
    assert {r["slug"] for r in rows if r["kind"] == "base"} == {"nous-hermes2", "bloom-560m"}
    # and the slug shown is one -m accepts
    assert invoke("complete", "hi", "-m", "gradient/nous-hermes2").exit_code == 0


# -- exit codes ------------------------------------------------------------------------


@pytest.fixture
def adapter_ref() -> str:
    return tuneplug.get_model("mock/tiny").create_adapter(name="cli").ref


@pytest.mark.parametrize(
    "args",
    [
        ["complete", "hi", "--max-tokens", "-5"],
        ["complete", "hi", "--temperature", "9"],
        ["complete", "hi", "--top-p", "0"],
        ["complete", ""],
        ["fine-tune", "{adapter}", "{samples}", "--epochs", "0"],
        ["fine-tune", "{adapter}", "{samples}", "--batch-size", "-1"],
        ["adapters", "create", "mock/tiny", "--name", "x", "--rank", "0"],
        ["adapters", "create", "mock/tiny", "--name", "x", "--learning-rate", "2"],
        ["adapters", "create", "mock/tiny", "--name", " "],
        ["complete", "hi", "--no-such-flag"],
    ],
    ids=lambda a: " ".join(a),
)
def test_a_bad_value_on_the_command_line_is_exit_2(
    args: list[str], adapter_ref: str, tmp_path: Path
) -> None:
    filled = [a.format(adapter=adapter_ref, samples=_samples(tmp_path)) for a in args]
    result = invoke(*filled)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    # click's usage text, or one error line when tuneplug's own option check found it
    assert "Usage:" in result.stderr or result.stderr.startswith("error: ")


@pytest.mark.parametrize("what", ["missing", "directory", "bad sample", "latin-1", "empty"])
def test_a_failure_of_the_work_is_exit_1_with_one_line(
    what: str, adapter_ref: str, tmp_path: Path
) -> None:
    path = {
        "missing": tmp_path / "nope.jsonl",
        "directory": tmp_path,
        "bad sample": tmp_path / "bad.jsonl",
        "latin-1": tmp_path / "latin1.jsonl",
        "empty": tmp_path / "empty.jsonl",
    }[what]
    if what == "bad sample":
        path.write_text('{"inputs": "x", "multiplier": -1}\n', encoding="utf-8")
    elif what == "latin-1":
        path.write_bytes(b'"caf\xe9"\n')
    elif what == "empty":
        path.write_text("\n", encoding="utf-8")
    result = invoke("fine-tune", adapter_ref, str(path))
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0]


def test_the_exit_code_table_is_documented() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 130 |"):
        assert code in text
    assert "docs/cli.md" in (Path(tuneplug.__file__).parent / "cli" / "__init__.py").read_text()


# -- stdout and stderr -----------------------------------------------------------------


def test_fine_tune_prints_its_summary_on_stdout(adapter_ref: str, tmp_path: Path) -> None:
    result = invoke("fine-tune", adapter_ref, str(_samples(tmp_path)), "--epochs", "2")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["epoch 1", "epoch 2"]
    assert all("trainable tokens" in line and "mean loss" in line for line in lines)
    assert "trainable tokens" not in result.stderr  # the progress bar only


def test_json_stream_prints_json_lines() -> None:
    prompt = "Question: What is the capital of France?\n\nAnswer: "
    result = invoke("complete", prompt, "--json", "--stream", "--max-tokens", "6")
    assert result.exit_code == 0, result.stderr
    chunks = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(chunks) > 1 and chunks[-1]["finish_reason"] == "length"
    whole = json.loads(invoke("complete", prompt, "--json", "--max-tokens", "6").stdout)
    assert "".join(c["text"] for c in chunks) == whole["text"]


# -- messages ---------------------------------------------------------------------------


@pytest.mark.parametrize("has_job", [False, True], ids=["before-its-job", "with-its-job"])
def test_interrupted_fine_tune_says_rerunning_resumes_once_it_has_a_job(
    adapter_ref: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, has_job: bool
) -> None:
    import tuneplug.training

    def interrupted(*args: object, on_job: Callable[[str], None], **kwargs: object) -> None:
        if has_job:
            on_job("ftjob-0123456789abcdef")
        raise KeyboardInterrupt

    monkeypatch.setattr(tuneplug.training, "run_fine_tune", interrupted)
    result = invoke("fine-tune", adapter_ref, str(_samples(tmp_path)))
    assert result.exit_code == 130
    hint = "; run the same command again to resume where it stopped" if has_job else ""
    assert result.stderr.strip() == f"error: interrupted{hint}"


def test_interrupted_complete_promises_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(tuneplug.Model, "complete", interrupted)
    result = invoke("complete", "hi")
    assert (result.exit_code, result.stderr.strip()) == (130, "error: interrupted")


def test_a_local_mock_error_claims_no_http_status() -> None:
    adapter = tuneplug.get_model("mock/tiny").create_adapter(name="gone")
    adapter.delete()
    with pytest.raises(NotFoundError) as info:
        adapter.delete()
    assert info.value.status is None and "HTTP" not in str(info.value)


@pytest.mark.parametrize(
    "command", ["get", "cancel", "pause", "resume", "events", "checkpoints", "delete", "wait"]
)
@pytest.mark.parametrize("ref", ["mock/ftjob-nope", "ftjob-nope"], ids=["ref", "bare id"])
def test_a_missing_local_job_claims_no_http_status(command: str, ref: str) -> None:
    # The local job runner's journal answered: "(HTTP 404)" would read as a server's answer.
    result = invoke("jobs", command, ref)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().endswith("no job 'ftjob-nope'"), result.stderr
    with pytest.raises(NotFoundError) as info:
        tuneplug.get_job(ref)
    assert info.value.status is None and "HTTP" not in str(info.value)


def test_fine_tuning_a_model_that_can_have_no_adapter(tmp_path: Path) -> None:
    result = invoke("fine-tune", "mock/echo", str(_samples(tmp_path)))
    assert result.exit_code == 1
    assert "cannot be fine-tuned" in result.stderr and "create_adapter" not in result.stderr


def test_fine_tuning_a_base_model_names_the_cli_command(tmp_path: Path) -> None:
    result = invoke("fine-tune", "mock/tiny", str(_samples(tmp_path)))
    assert result.exit_code == 1
    assert "tuneplug adapters create mock/tiny --name NAME" in result.stderr


def test_table_cells_are_text_not_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEPLUG_MODEL", "[bold]mock/tiny")
    assert "[bold]mock/tiny" in invoke("config").stdout
