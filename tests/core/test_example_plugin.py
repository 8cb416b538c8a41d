"""Acceptance: the example third-party plugin, built and installed into a fresh environment.

``examples/tuneplug-echoes`` is built by hatchling from its own ``pyproject.toml`` and
installed with pip into a new virtual environment (see ``tests/fresh_env.py``), next to a
plugin whose hook name is misspelled. From that environment: ``tuneplug plugins``
lists echoes with its capabilities, ``tuneplug complete -m echoes/...`` uses it, its
own tests (the contract suite) pass, the misspelled hook fails at load naming the
hook, and ``TUNEPLUG_PLUGINS`` excludes echoes.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.fresh_env import Env, make_env, write_distribution

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tuneplug-echoes"

TYPO_SOURCE = '''\
"""A provider whose author misspelled tuneplug_complete."""
from tuneplug import hookimpl
from tuneplug.types import Completion, ModelInfo


@hookimpl
def tuneplug_list_models(ctx, base_only):
    return [ModelInfo(id="m", provider=ctx.provider, name="M")]


@hookimpl
def tuneplug_compelte(ctx, model, prompt, options):
    return Completion(text=prompt, model=model.id, provider=ctx.provider)
'''


@pytest.fixture(scope="module")
def echoes_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Env, Path]:
    root = tmp_path_factory.mktemp("example_plugin")
    # A copy: building and testing must leave the working tree untouched.
    example = shutil.copytree(
        EXAMPLE,
        root / "src" / "tuneplug-echoes",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist"),
    )
    typo = write_distribution(
        root / "src" / "typo", "tuneplug-typo", "typo", "tuneplug_typo", TYPO_SOURCE
    )
    return make_env(root, [example, typo]), example


def test_plugins_command_lists_echoes_with_its_capabilities(echoes_env: tuple[Env, Path]) -> None:
    env, _ = echoes_env
    result = env.cli("plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["echoes"] == {
        "name": "echoes",
        "distribution": "tuneplug-echoes",
        "version": "0.1.0",
        "capabilities": ["complete"],
        "error": None,
    }
    table = env.cli("plugins")
    assert re.search(r"echoes\s+tuneplug-echoes\s+0\.1\.0\s+complete\s+ok", table.stdout)

    models = env.cli("models", "--provider", "echoes", "--json")
    assert models.returncode == 0, models.stderr
    assert [row["ref"] for row in json.loads(models.stdout)] == ["echoes/parrot", "echoes/reverse"]


def test_cli_complete_uses_echoes(echoes_env: tuple[Env, Path]) -> None:
    env, _ = echoes_env
    result = env.cli("complete", "-m", "echoes/parrot", "hello there")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello there\n"
    result = env.cli("complete", "-m", "echoes/reverse", "-o", "repeat=2", "--json", "one two")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["text"], data["provider"], data["model"]) == (
        "two one two one",
        "echoes",
        "reverse",
    )
    streamed = env.cli("complete", "-m", "echoes/parrot", "--stream", "--max-tokens", "2", "a b c")
    assert streamed.stdout == "a b\n"
    bad = env.cli("complete", "-m", "echoes/parrot", "-o", "volume=11", "hi")
    assert bad.returncode == 1 and "error: echoes: unknown option 'volume' (supported" in bad.stderr


def test_its_own_contract_tests_pass_there(echoes_env: tuple[Env, Path]) -> None:
    env, example = echoes_env
    result = env.run(
        env.python, "-m", "pytest", "-q", "-p", "no:asyncio", "tests",
        env={"PYTHONDONTWRITEBYTECODE": "1"}, cwd=example, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    passed = int(re.search(r"(\d+) passed", summary).group(1))  # type: ignore[union-attr]
    assert passed >= 30 and "failed" not in summary, summary
    # The tests ran against the installed distribution, found through its entry point.
    where = env.run(env.python, "-c", "import tuneplug_echoes; print(tuneplug_echoes.__file__)")
    assert str(env.venv) in where.stdout


def test_misspelled_hook_fails_at_load_naming_the_hook(echoes_env: tuple[Env, Path]) -> None:
    env, _ = echoes_env
    rows = {row["name"]: row for row in json.loads(env.cli("plugins", "--json").stdout)}
    assert "tuneplug_compelte" in rows["typo"]["error"]
    assert rows["echoes"]["error"] is None  # one broken plugin does not break the others
    result = env.cli("complete", "-m", "typo/m", "hi")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "tuneplug_compelte" in line and "tuneplug-typo" in line


def test_tuneplug_plugins_excludes_it(echoes_env: tuple[Env, Path]) -> None:
    env, _ = echoes_env
    excluded = {"TUNEPLUG_PLUGINS": "-echoes"}
    names = [row["name"] for row in json.loads(env.cli("plugins", "--json", env=excluded).stdout)]
    assert "echoes" not in names and "mock" in names
    result = env.cli("complete", "-m", "echoes/parrot", "hi", env=excluded)
    assert result.returncode == 1
    assert "unknown provider 'echoes' (excluded by TUNEPLUG_PLUGINS)" in result.stderr
