"""Every command's flags against the exit-code table of docs/cli.md (issue 12).

One table for all commands: a value rejected before any I/O (a type, a range, a
mistyped provider option, a flag a provider's jobs do not take, an optional
dependency a flag needs) is a usage error, exit 2, whose message names the flag;
a file the command line names that is missing or a directory is a runtime
error, exit 1. Either way nothing is started: no job, no output, no lock file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import tuneplug
from tuneplug.cli import cli

from tests.core.cli_runner import SAMPLES, invoke


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    data = tmp_path / "data.jsonl"
    data.write_text(SAMPLES, encoding="utf-8")
    batch_in = tmp_path / "in.jsonl"
    batch_in.write_text('"a prompt"\n', encoding="utf-8")
    directory = tmp_path / "a-directory"
    directory.mkdir()
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "blank.jsonl").write_text("\n  \n\n", encoding="utf-8")
    return {
        "empty": str(tmp_path / "empty.jsonl"),
        "blank": str(tmp_path / "blank.jsonl"),
        "data": str(data),
        "in": str(batch_in),
        "out": str(tmp_path / "out.jsonl"),
        "dir": str(directory),
        "tmp": str(tmp_path),
    }


_COMPLETION = [  # (flags, the flag the message names); complete, chat and batch share them
    (["--max-tokens", "-5"], "--max-tokens"),
    (["--max-tokens", "many"], "--max-tokens"),
    (["--temperature", "7"], "--temperature"),
    (["--temperature", "nan"], "--temperature"),
    (["--temperature", "inf"], "--temperature"),
    (["--top-p", "2"], "--top-p"),
    (["--top-k", "-1"], "--top-k"),
    (["--seed", "x"], "--seed"),
]

USAGE: list[tuple[str, list[str], str]] = [
    *(("complete", ["complete", "hi", "-m", "mock/tiny", *f], n) for f, n in _COMPLETION),
    ("complete", ["complete", "hi", "-m", "mock/tiny", "-o", "volume=3"], "-o volume"),
    ("complete", ["complete", "hi", "-m", "mock/tiny", "-o", "volume"], "-o"),
    ("complete", ["complete", "", "-m", "mock/tiny"], "PROMPT"),
    *(("chat", ["chat", "-m", "mock/tiny", *f], n) for f, n in _COMPLETION),
    ("chat", ["chat", "-m", "mock/tiny", "-o", "volume=3"], "-o volume"),
    ("chat", ["chat", "-m", "mock/tiny", "--system", ""], "--system"),
    *(("batch", ["batch", "mock/tiny", "{in}", "-o", "{out}", *f], n) for f, n in _COMPLETION),
    ("batch", ["batch", "mock/tiny", "{in}", "-o", "{out}", "-O", "volume=3"], "-O volume"),
    ("batch", ["batch", "mock/tiny", "{in}", "-o", "{out}", "-O", "volume"], "-O"),
    ("batch", ["batch", "mock/tiny", "{in}", "-o", "{out}", "-c", "0"], "--concurrency"),
    ("batch", ["batch", "mock/tiny", "{in}", "-o", "{out}", "-c", "100000"], "--concurrency"),
    ("batch", ["batch", "mock/tiny", "{in}", "-o", "{out}", "--rpm", "nan"], "--rpm"),
    ("batch", ["batch", "mock/tiny", "{in}", "-o", "{out}", "--tpm", "-1"], "--tpm"),
    ("batch", ["batch", "mock/tiny", "{in}", "-o", ""], "-o"),
    ("batch", ["batch", "mock/tiny", "", "-o", "{out}"], "IN.jsonl"),  # an empty argument: 2
    ("fine-tune", ["fine-tune", "mock/tiny", "{data}", "--epochs", "0"], "--epochs"),
    ("fine-tune", ["fine-tune", "mock/tiny", "{data}", "--batch-size", "0"], "--batch-size"),
    ("fine-tune", ["fine-tune", "mock/tiny", "{data}", "--epochs", "1001"], "--epochs"),
    ("fine-tune", ["fine-tune", "mock/tiny", "{data}", "--batch-size", "65537"],
     "--batch-size"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--learning-rate", "-1"],
     "--learning-rate"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--learning-rate", "nan"],
     "--learning-rate"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--learning-rate-multiplier", "0"],
     "--learning-rate-multiplier"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--learning-rate-multiplier", "2"],
     "--learning-rate-multiplier"),  # the local job runner takes an absolute rate only
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--learning-rate", "0.1",
                     "--learning-rate-multiplier", "2"], "--learning-rate-multiplier"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--epochs", "0"], "--epochs"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--epochs", "1001"], "--epochs"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--batch-size", "0"], "--batch-size"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--rank", "0"], "--rank"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--lora-alpha", "0"], "--lora-alpha"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--lora-dropout", "1"],
     "--lora-dropout"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--seed", "-1"], "--seed"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--suffix", ""], "--suffix"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--method", "ppo"], "--method"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--method", "dpo"], "--method"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "-o", "alpha=8"], "-o alpha"),
    *(("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--method", "dpo", "--beta", b],
       "error: --beta: ") for b in ("0", "-1", "nan", "inf", "-inf", "x", "", "1e999")),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--beta", "0.1"], "error: --beta: "),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--method", "sft", "--beta", "auto"],
     "error: --beta: "),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--method", "dpo", "--beta", "0.1",
                     "-o", "beta=0.1"], "error: --beta: "),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "-o", "alpha"], "-o"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--plot", "{tmp}/loss.xyz"],
     "--plot"),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--detach", "--plot", "l.png"],
     "--plot"),
    ("jobs wait", ["jobs", "wait", "mock/ftjob-x", "--plot", "{tmp}/loss.xyz"], "--plot"),
    ("jobs resume", ["jobs", "resume", "mock/ftjob-x", "--plot", "{tmp}/loss.xyz"], "--plot"),
    ("jobs list", ["jobs", "list", "--limit", "0"], "--limit"),
    ("jobs list", ["jobs", "list", "--limit", "101"], "--limit"),
    ("jobs list", ["jobs", "list", "--after", "ftjob-x"], "--after"),
    ("jobs events", ["jobs", "events"], "ID"),
    ("jobs checkpoints", ["jobs", "checkpoints", "mock/ftjob-x", "--limit", "0"], "--limit"),
    ("jobs prune", ["jobs", "prune", "--older-than", "soon"], "--older-than"),
    ("jobs prune", ["jobs", "prune", "--older-than", "nan"], "--older-than"),
    ("adapters create", ["adapters", "create", "mock/tiny", "--name", "a", "--rank", "0"],
     "--rank"),
    ("adapters create", ["adapters", "create", "mock/tiny", "--name", "a", "--rank", "33"],
     "--rank"),
    ("adapters create", ["adapters", "create", "mock/tiny", "--name", "a", "--learning-rate", "1"],
     "--learning-rate"),
    ("adapters create", ["adapters", "create", "mock/tiny", "--name", "a",
                         "--learning-rate", "nan"], "--learning-rate"),
    ("adapters create", ["adapters", "create", "mock/tiny", "--name", " "], "--name"),
    ("adapters create", ["adapters", "create", "mock/tiny", "--name", "a", "-o", "alpha=8"],
     "alpha"),
    ("adapters create", ["adapters", "create", "mock/tiny", "--name", "a", "-o", "alpha"], "-o"),
    ("adapters get", ["adapters", "get"], "MODEL"),
    ("models", ["models", "--options"], "--options"),
    ("models", ["models", "mock/tiny", "--provider", "mock"], "--provider"),
    ("serve", ["serve", "--token", "bad key"], "--token"),
    ("serve", ["serve", "--token", ""], "--token"),
    ("serve", ["serve", "--token", "caf\u00e9"], "--token"),
    ("serve", ["serve", "--port", "70000"], "--port"),
    ("serve", ["serve", "--port", "-1"], "--port"),
    ("serve", ["serve", "--host", "http://127.0.0.1"], "--host"),
    ("serve", ["serve", "--host", "127.0.0.1:8000"], "--host"),
    ("serve", ["serve", "--host", ""], "--host"),
    ("serve", ["serve", "--protocol", "nonesuch"], "--protocol"),
    ("serve", ["serve", "--protocol", ","], "--protocol"),
    ("serve", ["serve", "--max-body-bytes", "0"], "--max-body-bytes"),
    ("serve", ["serve", "--max-upload-bytes", "0"], "--max-upload-bytes"),
    ("serve", ["serve", "--header-timeout", "0"], "--header-timeout"),
    ("serve", ["serve", "--header-timeout", "inf"], "--header-timeout"),
    ("serve", ["serve", "--body-timeout", "1e9"], "--body-timeout"),
    ("serve", ["serve", "--rate-limit", "0"], "--rate-limit"),
    ("serve", ["serve", "--rate-limit", "nan"], "--rate-limit"),
    ("serve", ["serve", "--token", "a", "--workspace", "w1", "--workspace", "w2"], "--workspace"),
    ("serve", ["serve", "--tenants", "{data}", "--token", "a"], "--tenants"),
    ("serve", ["serve", "--token", "a", "--workspace", ""], "--workspace"),
    ("serve", ["serve", "--token", "a", "--workspace", "my space"], "--workspace"),
    ("config", ["config", "--bogus"], "--bogus"),
    ("plugins", ["plugins", "--bogus"], "--bogus"),
]  # fmt: skip


def _fill(args: list[str], files: dict[str, str]) -> list[str]:
    return [a.format(**files) if "{" in a else a for a in args]


def _nothing_started(files: dict[str, str]) -> None:
    assert list(tuneplug.list_jobs()) == []
    assert not Path(files["out"]).exists()
    assert not list(Path(files["tmp"]).glob("*.lock"))


@pytest.mark.parametrize(
    ("command", "args", "flag"), USAGE, ids=[f"{c}:{' '.join(a[2:])}" for c, a, _ in USAGE]
)
def test_a_bad_value_is_a_usage_error_naming_its_flag(
    command: str, args: list[str], flag: str, files: dict[str, str]
) -> None:
    result = invoke(*_fill(args, files))
    assert result.exit_code == 2, (command, result.stdout, result.stderr, result.exception)
    assert flag in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    if result.stderr.startswith("error: "):  # tuneplug's own line names the provider once at most
        assert result.stderr.count("mock") <= 1, result.stderr
    assert result.stdout == ""
    _nothing_started(files)


def test_the_table_covers_every_command() -> None:
    covered = {c.split()[0] for c, _, _ in USAGE}
    assert covered >= set(cli.list_commands(None))  # type: ignore[arg-type]
    subcommands = {c for c, _, _ in USAGE if " " in c}
    assert {"jobs create", "jobs wait", "jobs resume", "jobs list"} <= subcommands
    assert {"adapters create", "adapters get"} <= subcommands


def test_a_serve_key_is_never_shown_in_its_error(files: dict[str, str]) -> None:
    result = invoke("serve", "--token", "s3cret with space")
    assert result.exit_code == 2 and "s3cret" not in result.stderr
    assert "RFC 6750" in result.stderr


def test_a_bad_serve_key_in_the_environment_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TUNEPLUG_SERVE_TOKEN", "s3cret with space")
    result = invoke("serve", "--port", "0", "--state-dir", "state")
    assert result.exit_code == 1  # configuration, not the command line
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: $TUNEPLUG_SERVE_TOKEN: ") and "s3cret" not in line


def test_a_bad_key_in_a_tenants_file_is_refused_at_start(tmp_path: Path) -> None:
    tenants = tmp_path / "tenants.toml"
    tenants.write_text('[tenants.alice]\nkey = "has space"\n', encoding="utf-8")
    result = invoke("serve", "--port", "0", "--tenants", str(tenants), "--state-dir", "s")
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {tenants}:2: [tenants.alice] key: an API key must be")
    assert "has space" not in line


# -- a file named on the command line: missing or a directory is 1 ----------------------

RUNTIME: list[tuple[str, list[str]]] = [
    ("fine-tune", ["fine-tune", "mock/tiny", "{dir}"]),
    ("fine-tune", ["fine-tune", "mock/tiny", "{tmp}/missing.jsonl"]),
    ("jobs create", ["jobs", "create", "mock/tiny", "{dir}"]),
    ("jobs create", ["jobs", "create", "mock/tiny", "{tmp}/missing.jsonl"]),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--validation", "{dir}"]),
    ("jobs create", ["jobs", "create", "mock/tiny", "{data}", "--plot", "{dir}"]),
    ("batch", ["batch", "mock/tiny", "{dir}", "-o", "{out}"]),
    ("batch", ["batch", "mock/tiny", "{tmp}/missing.jsonl", "-o", "{out}"]),
    ("batch", ["batch", "mock/tiny", "{in}", "-o", "{dir}"]),
    # An empty *file* is well formed on the command line: the work fails (docs/batch.md).
    ("batch", ["batch", "mock/tiny", "{empty}", "-o", "{out}"]),
    ("batch", ["batch", "mock/tiny", "{blank}", "-o", "{out}"]),
    ("serve", ["serve", "--port", "0", "--tenants", "{dir}"]),
]


@pytest.mark.parametrize(
    ("command", "args"), RUNTIME, ids=[f"{c}:{' '.join(a[2:])}" for c, a in RUNTIME]
)
def test_a_missing_file_or_a_directory_is_a_runtime_error(
    command: str, args: list[str], files: dict[str, str]
) -> None:
    result = invoke(*_fill(args, files))
    assert result.exit_code == 1, (command, result.stdout, result.stderr, result.exception)
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    assert result.stdout == ""
    _nothing_started(files)


# -- optional dependencies are checked before any work ---------------------------------


def test_plot_without_matplotlib_is_refused_before_the_job(
    files: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    for args in (
        ["jobs", "create", "mock/tiny", files["data"], "--plot", "loss.png"],
        ["jobs", "wait", "mock/ftjob-x", "--plot", "loss.png"],
        ["jobs", "resume", "mock/ftjob-x", "--plot", "loss.png"],
    ):
        result = invoke(*args)
        assert result.exit_code == 2, result.stderr
        assert result.stderr.splitlines() == [
            "error: --plot needs matplotlib (not installed): pip install 'tuneplug[plot]' "
            "(from a clone: pip install -e './core[plot]')"
        ]
    _nothing_started(files)


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--epochs", "0"), ("--epochs", "1001"), ("--batch-size", "0"), ("--batch-size", "65537")],
)
def test_fine_tune_bounds_are_the_job_specs(files: dict[str, str], flag: str, value: str) -> None:
    # fine-tune runs a local job: its flags refuse exactly what JobSpec refuses, in its words.
    fine_tune = invoke("fine-tune", "mock/tiny", files["data"], flag, value)
    jobs_create = invoke("jobs", "create", "mock/tiny", files["data"], flag, value)
    assert fine_tune.exit_code == jobs_create.exit_code == 2
    assert fine_tune.stderr == jobs_create.stderr
    assert fine_tune.stderr.startswith(f"error: {flag}: must be an integer in 1..")
    _nothing_started(files)


def test_help_shows_the_range_of_every_float_flag() -> None:
    # An unbounded finite flag says "finite", never click's "x<=None".
    for args in (["complete", "--help"], ["batch", "--help"], ["serve", "--help"],
                 ["jobs", "create", "--help"], ["adapters", "create", "--help"]):  # fmt: skip
        result = invoke(*args)
        assert result.exit_code == 0 and "None]" not in result.stdout, args
