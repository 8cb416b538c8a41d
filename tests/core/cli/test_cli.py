"""The ``tuneplug`` command line: output, options, exit codes and error lines.

Most tests drive ``tuneplug.cli:cli`` in-process with click's CliRunner against
in-process providers (fast, no dependency on the mock's behaviour); a few run the
real console script in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tuneplug
from click.testing import CliRunner, Result
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.cli import cli
from tuneplug.errors import ServerError

from tests.core.plugin_kit import COMPLETER, FINETUNABLE

BROKEN_IMPORT = 'raise ImportError("needs libbroken")\n'


def invoke(*args: str, input: str | None = None) -> Result:
    # wide enough that rich tables do not wrap the values the tests look for
    runner = CliRunner(env={"COLUMNS": "200"})
    return runner.invoke(cli, list(args), input=input, catch_exceptions=False)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def error_line(result: Result) -> str:
    """The one ``error: ...`` line of a runtime failure (exit 1, nothing else on stderr)."""
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (result.stderr, result.exception)
    return lines[0]


@pytest.fixture
def rec(make_plugin, register):  # type: ignore[no-untyped-def]
    """``rec/base``: completes, streams and fine-tunes, recording calls."""
    return register("rec", make_plugin("rec", (*COMPLETER, "stream", *FINETUNABLE)))


# -- basics ---------------------------------------------------------------------------


def test_help_and_version() -> None:
    result = ok(invoke("--help"))
    for command in ("models", "complete", "adapters", "fine-tune", "plugins", "config"):
        assert command in result.stdout
    assert tuneplug.__version__ in ok(invoke("--version")).stdout
    assert "create" in ok(invoke("adapters", "--help")).stdout


@pytest.mark.parametrize(
    "args",
    [
        ["no-such-command"],
        ["complete", "hi", "--max-tokens", "many"],
        ["complete", "hi", "--no-such-option"],
        ["complete", "hi", "-o", "novalue"],
        ["adapters", "create", "rec/base"],
        ["adapters", "frobnicate"],
        ["fine-tune", "rec/x"],
        ["fine-tune", "rec/x", "f.jsonl", "--batch-size", "0"],
        ["models", "--base", "extra-arg"],
    ],
    ids=lambda a: " ".join(a),
)
def test_usage_errors_exit_2(rec, args) -> None:  # type: ignore[no-untyped-def]
    result = invoke(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert rec.calls == []


# -- models ---------------------------------------------------------------------------


def test_models_json(entry_point_plugins, make_plugin, register) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("other")
    register("rec", make_plugin("rec", (*COMPLETER, *FINETUNABLE)))
    tuneplug.get_model("rec/base").create_adapter("mine")
    rows = json.loads(ok(invoke("models", "--json")).stdout)
    assert {r["ref"] for r in rows} == {"other/some-model", "rec/base", "rec/mine_adapter"}
    adapter = next(r for r in rows if r["ref"] == "rec/mine_adapter")
    assert adapter["kind"] == "adapter" and adapter["base_model_id"] == "base"
    assert sorted(adapter["capabilities"]) == ["complete", "fine_tune", "jobs"]

    rows = json.loads(ok(invoke("models", "--provider", "rec", "--base", "--json")).stdout)
    assert [r["ref"] for r in rows] == ["rec/base"]


def test_models_table(rec) -> None:  # type: ignore[no-untyped-def]
    out = ok(invoke("models", "--provider", "rec")).stdout
    assert "rec/base" in out and "Base Model" in out


def test_models_unknown_provider(rec) -> None:  # type: ignore[no-untyped-def]
    assert "nosuch" in error_line(invoke("models", "--provider", "nosuch"))


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
    assert str(path) in line and "line 1" in line


# -- adapters -------------------------------------------------------------------------


def test_adapters_create_get_delete(rec) -> None:  # type: ignore[no-untyped-def]
    created = json.loads(
        ok(
            invoke(
                "adapters", "create", "rec/base", "--name", "mine",
                "--rank", "4", "--learning-rate", "0.001", "--json",
            )
        ).stdout
    )  # fmt: skip
    assert created["ref"] == "rec/mine_adapter" and created["kind"] == "adapter"
    call = rec.calls.of("create_adapter")[0]
    assert (call["name"], call["rank"], call["learning_rate"]) == ("mine", 4, 0.001)

    got = json.loads(ok(invoke("adapters", "get", "rec/mine_adapter", "--json")).stdout)
    assert got == created
    text = ok(invoke("adapters", "get", "rec/mine_adapter")).stdout
    assert "rec/mine_adapter" in text and "adapter" in text

    assert "rec/mine_adapter" in ok(invoke("adapters", "delete", "rec/mine_adapter")).stdout
    assert rec.calls.of("delete_adapter")[0]["model"].id == "mine_adapter"
    assert "mine_adapter" in error_line(invoke("adapters", "get", "rec/mine_adapter"))


def test_adapters_create_invalid_rank(rec) -> None:  # type: ignore[no-untyped-def]
    # Out of its documented range on the command line: a usage error (docs/cli.md).
    result = invoke("adapters", "create", "rec/base", "--name", "x", "--rank", "99")
    assert result.exit_code == 2 and "rank" in result.stderr
    assert rec.calls.of("create_adapter") == []


def test_adapters_without_capability(plain) -> None:  # type: ignore[no-untyped-def]
    line = error_line(invoke("adapters", "create", "plain/base", "--name", "x"))
    assert "plain" in line and "FineTunable" in line
    assert "cannot" in error_line(invoke("adapters", "delete", "plain/base"))


# -- fine-tune ------------------------------------------------------------------------


def write_samples(directory: Path, n: int) -> Path:
    path = directory / "samples.jsonl"
    path.write_text("".join(json.dumps({"inputs": f"sample {i}"}) + "\n" for i in range(n)))
    return path


def test_fine_tune_json_summary(rec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tuneplug.get_model("rec/base").create_adapter("mine")
    path = write_samples(tmp_path, 5)
    summary = json.loads(
        ok(
            invoke(
                "fine-tune", "rec/mine_adapter", str(path),
                "--batch-size", "2", "--epochs", "2", "--json",
            )
        ).stdout
    )  # fmt: skip
    assert summary["samples"] == 5 and summary["batch_size"] == 2 and not summary["resumed"]
    assert [e["epoch"] for e in summary["epochs"]] == [1, 2]
    for epoch in summary["epochs"]:
        assert epoch["trainable_tokens"] == 10 and epoch["sum_loss"] == pytest.approx(20.0)
        assert epoch["loss"] == pytest.approx(2.0)
    batches = [len(c["samples"]) for c in rec.calls.of("fine_tune")]
    assert batches == [2, 2, 1, 2, 2, 1]


def test_fine_tune_progress_output(rec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tuneplug.get_model("rec/base").create_adapter("mine")
    result = ok(invoke("fine-tune", "rec/mine_adapter", str(write_samples(tmp_path, 3))))
    assert "epoch 1" in result.stderr and "loss" in result.stderr


def test_fine_tune_bad_file_fails_before_training(rec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tuneplug.get_model("rec/base").create_adapter("mine")
    path = tmp_path / "bad.jsonl"
    path.write_text('"a"\n"b"\n{"inputs": "c", "multiplier": -1}\n')
    line = error_line(invoke("fine-tune", "rec/mine_adapter", str(path), "--batch-size", "1"))
    assert f"{path}:3" in line and "multiplier" in line
    assert rec.calls.of("fine_tune") == []


def test_fine_tune_missing_file(rec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tuneplug.get_model("rec/base").create_adapter("mine")
    missing = tmp_path / "missing.jsonl"
    # A runtime error (the file is looked for when the run starts): exit 1, one line.
    line = error_line(invoke("fine-tune", "rec/mine_adapter", str(missing)))
    assert str(missing) in line and "cannot read samples" in line
    assert rec.calls.of("fine_tune") == []


def test_fine_tune_without_capability(plain, tmp_path) -> None:  # type: ignore[no-untyped-def]
    line = error_line(invoke("fine-tune", "plain/base", str(write_samples(tmp_path, 2))))
    assert "FineTunable" in line


def test_fine_tune_base_model_is_one_error_line_before_any_work(rec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # no progress bar, no checkpoint directory: the refusal comes before anything starts
    line = error_line(invoke("fine-tune", "rec/base", str(write_samples(tmp_path, 2))))
    assert "base model" in line and "create_adapter" in line
    assert rec.calls.of("fine_tune") == []
    assert not (Path(os.environ["TUNEPLUG_HOME"]) / "runs").exists()


def test_fine_tune_non_utf8_file_is_one_error_line(rec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tuneplug.get_model("rec/base").create_adapter("mine")
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'"ok"\n"caf\xe9"\n')
    result = CliRunner().invoke(cli, ["fine-tune", "rec/mine_adapter", str(path)])
    assert str(path) in error_line(result)
    assert rec.calls.of("fine_tune") == []


def test_unwritable_home_is_one_error_line(rec, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # checkpoints go under TUNEPLUG_HOME; an OS error there is a runtime error like any other
    tuneplug.get_model("rec/base").create_adapter("mine")
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    monkeypatch.setenv("TUNEPLUG_HOME", str(home))
    result = CliRunner().invoke(
        cli, ["fine-tune", "rec/mine_adapter", str(write_samples(tmp_path, 2))]
    )
    assert str(home) in error_line(result)


def test_fine_tune_resumes_after_failure(make_plugin, register, tmp_path) -> None:  # type: ignore[no-untyped-def]
    failures = {"left": 1}
    seen: list[list[str]] = []

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        if len(seen) == 2 and failures["left"]:
            failures["left"] -= 1
            raise ServerError("upstream hiccup", provider=ctx.provider, status=503)
        seen.append([s.text for s in samples])
        return tuneplug.FineTuneResult(trainable_tokens=len(samples), sum_loss=1.0 * len(samples))

    register("flaky", make_plugin("flaky", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    tuneplug.get_model("flaky/base").create_adapter("mine")
    path = write_samples(tmp_path, 7)
    args = ("fine-tune", "flaky/mine_adapter", str(path), "--batch-size", "2", "--json")

    line = error_line(invoke(*args))
    assert "upstream hiccup" in line and "503" in line
    assert seen == [["sample 0", "sample 1"], ["sample 2", "sample 3"]]

    summary = json.loads(ok(invoke(*args)).stdout)
    assert summary["resumed"] is True
    assert seen[2:] == [["sample 4", "sample 5"], ["sample 6"]]  # only what was left
    assert summary["epochs"][0]["trainable_tokens"] == 7  # totals include the first attempt

    # a finished run leaves no checkpoint: the next run starts over
    summary = json.loads(ok(invoke(*args)).stdout)
    assert summary["resumed"] is False and len(seen) == 8


def test_fine_tune_no_resume_starts_over(make_plugin, register, tmp_path) -> None:  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    def fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise ServerError("boom", provider=ctx.provider)
        return tuneplug.FineTuneResult(trainable_tokens=1, sum_loss=1.0)

    register("flaky", make_plugin("flaky", (*COMPLETER, *FINETUNABLE), fine_tune=fine_tune))
    tuneplug.get_model("flaky/base").create_adapter("mine")
    path = write_samples(tmp_path, 4)
    args = ("fine-tune", "flaky/mine_adapter", str(path), "--batch-size", "1", "--json")
    error_line(invoke(*args))
    summary = json.loads(ok(invoke(*args, "--no-resume")).stdout)
    assert summary["resumed"] is False and summary["epochs"][0]["trainable_tokens"] == 4
    assert calls["n"] == 2 + 4


# -- plugins --------------------------------------------------------------------------


def test_plugins_lists_broken_plugin(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("other", dist="tuneplug-other", version="2.0")
    entry_point_plugins.add("broken", BROKEN_IMPORT, dist="tuneplug-broken")
    rows = json.loads(ok(invoke("plugins", "--json")).stdout)
    assert rows == [
        {
            "name": "broken",
            "distribution": "tuneplug-broken",
            "version": "1.0",
            "capabilities": [],
            "error": "ImportError: needs libbroken",
        },
        {
            "name": "other",
            "distribution": "tuneplug-other",
            "version": "2.0",
            "capabilities": ["complete"],
            "error": None,
        },
    ]
    table = ok(invoke("plugins")).stdout
    assert "broken" in table and "needs libbroken" in table and "tuneplug-other" in table


def test_plugins_strict_is_one_error_line(entry_point_plugins, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("other")
    entry_point_plugins.add("broken", BROKEN_IMPORT, dist="tuneplug-broken")
    monkeypatch.setenv("TUNEPLUG_STRICT", "1")
    line = error_line(invoke("plugins"))
    assert "broken" in line and "tuneplug-broken" in line and "needs libbroken" in line


def test_plugins_respects_filter(entry_point_plugins, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    entry_point_plugins.add("a")
    entry_point_plugins.add("b")
    monkeypatch.setenv("TUNEPLUG_PLUGINS", "-a")
    assert [r["name"] for r in json.loads(ok(invoke("plugins", "--json")).stdout)] == ["b"]


# -- config ---------------------------------------------------------------------------


class SecretSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TPSECRET_")

    api_url: str = "http://default.invalid"
    token: SecretStr = SecretStr("")


@pytest.fixture
def secretive(entry_point_plugins, make_plugin, register, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TPSECRET_API_URL", raising=False)
    monkeypatch.setenv("TPSECRET_TOKEN", "tok-5ecret-123")
    return register("secretive", make_plugin("secretive", settings=lambda: SecretSettings))


def test_config_json_origins_and_masking(secretive, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "work" / "tuneplug.toml"
    project.write_text(
        'default_model = "qa"\n\n[models.qa]\nmodel = "secretive/base"\nmax_tokens = 5\n\n'
        '[providers.secretive]\napi_url = "http://project.invalid"\n'
    )
    result = ok(invoke("config", "--json"))
    assert "tok-5ecret-123" not in result.stdout and "tok-5ecret-123" not in result.stderr
    rows = {r["key"]: r for r in json.loads(result.stdout)}
    assert rows["default_model"]["value"] == "qa"
    assert rows["default_model"]["origin"] == str(project)
    assert rows["models.qa"]["value"]["model"] == "secretive/base"
    assert rows["providers.secretive.api_url"]["value"] == "http://project.invalid"
    assert rows["providers.secretive.api_url"]["origin"] == str(project)
    assert rows["providers.secretive.token"]["value"] == "**********"
    assert rows["providers.secretive.token"]["origin"] == "env TPSECRET_TOKEN"
    assert rows["home"]["value"] == os.environ["TUNEPLUG_HOME"]

    monkeypatch.setenv("TUNEPLUG_MODEL", "secretive/base")
    rows = {r["key"]: r for r in json.loads(ok(invoke("config", "--json")).stdout)}
    assert rows["default_model"]["origin"] == "env TUNEPLUG_MODEL"


def test_config_table_masks_secrets(secretive) -> None:  # type: ignore[no-untyped-def]
    out = ok(invoke("config")).stdout
    assert "default_model" in out and "mock/tiny" in out
    assert "tok-5ecret-123" not in out and "**********" in out


def test_piped_tables_keep_values_whole(secretive) -> None:  # type: ignore[no-untyped-def]
    # `tuneplug config | grep ...` must find whole keys and values whatever the width
    out = ok(CliRunner(env={"COLUMNS": "40"}).invoke(cli, ["config"])).stdout
    assert any(
        "providers.secretive.api_url" in line and "http://default.invalid" in line
        for line in out.splitlines()
    ), out


def test_config_default(entry_point_plugins) -> None:  # type: ignore[no-untyped-def]
    rows = {r["key"]: r for r in json.loads(ok(invoke("config", "--json")).stdout)}
    assert rows["default_model"] == {
        "key": "default_model",
        "value": "mock/tiny",
        "origin": "default",
    }
    assert rows["project_config"]["value"] is None


# -- the real console script ----------------------------------------------------------


def console_script() -> list[str]:
    script = Path(sys.executable).parent / "tuneplug"
    if script.exists():
        return [str(script)]
    found = shutil.which("tuneplug")
    return [found] if found else [sys.executable, "-m", "tuneplug"]


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_console_script_help() -> None:
    result = run([*console_script(), "--help"])
    assert result.returncode == 0, result.stderr
    assert "complete" in result.stdout and "fine-tune" in result.stdout


def test_python_dash_m() -> None:
    result = run([sys.executable, "-m", "tuneplug", "--version"])
    assert result.returncode == 0, result.stderr
    assert tuneplug.__version__ in result.stdout


def test_console_script_runtime_error_is_one_line() -> None:
    result = run([*console_script(), "complete", "-m", "nosuchprovider/x", "hi"])
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "nosuchprovider" in lines[0]


def test_console_script_usage_error_exits_2() -> None:
    result = run([*console_script(), "complete", "hi", "--max-tokens", "lots"])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
