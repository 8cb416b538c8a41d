"""docs/plugins.md "CLI commands": the guide's ``acme-tally`` distribution, built from its
module and pyproject.toml blocks exactly as written, installed into a fresh environment
(``tests/fresh_env.py``) and run as the guide's shell block says, through the real
``tuneplug.commands`` entry point.

Also what the guide says about a command that fails to load, is not a click command,
raises something else than a ``TuneplugError``, or takes a built-in's name.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.fresh_env import Env, make_env

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")


def guide_block(language: str, first_line: str) -> str:
    """The guide's fenced ``language`` block that starts with ``first_line``."""
    for block in re.findall(rf"```{language}\n(.*?)```", GUIDE, re.DOTALL):
        if block.startswith(first_line):
            return str(block)
    raise AssertionError(f"docs/plugins.md has no {language} block starting {first_line!r}")


BROKEN = {
    # module name -> its source; each is named by an entry point below
    "acme_broken": "raise ImportError('no tally here')\n",
    "acme_notclick": "def notclick():\n    pass\n",
    "acme_buggy": (
        "import click\n\n\n@click.command()\ndef buggy():\n"
        "    raise RuntimeError('a bug in the command')\n"
    ),
    "acme_models": (
        "import click\n\n\n@click.command()\ndef models():\n    click.echo('not the built-in')\n"
    ),
}
BROKEN_ENTRY_POINTS = (
    "broken = 'acme_broken:tally'\nnotclick = 'acme_notclick:notclick'\n"
    "buggy = 'acme_buggy:buggy'\nmodels = 'acme_models:models'\n"
)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    root = tmp_path_factory.mktemp("plugin_command")
    tally = root / "src" / "acme-tally"
    tally.mkdir(parents=True)
    (tally / "acme_tally.py").write_text(guide_block("python", "# acme_tally.py"))
    (tally / "pyproject.toml").write_text(guide_block("toml", "# pyproject.toml of acme-tally"))
    odd = root / "src" / "acme-odd"
    odd.mkdir()
    for module, source in BROKEN.items():
        (odd / f"{module}.py").write_text(source)
    (odd / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "acme-odd"\nversion = "0.1.0"\n\n'
        f'[project.entry-points."tuneplug.commands"]\n{BROKEN_ENTRY_POINTS}\n'
        f"[tool.hatch.build.targets.wheel]\nonly-include = {[f'{m}.py' for m in BROKEN]!r}\n"
    )
    built = make_env(root, [tally, odd])
    shutil.rmtree(root / "wheels", ignore_errors=True)
    return built


def test_help_lists_the_command_without_importing_it(env: Env) -> None:
    listed = env.cli("--help")
    assert listed.returncode == 0, listed.stderr
    (row,) = [line for line in listed.stdout.splitlines() if line.strip().startswith("tally")]
    assert "(from acme_tally)" in row
    own = env.cli("tally", "--help")
    assert own.returncode == 0, own.stderr
    assert "Ask PROMPT N times and count the distinct answers" in own.stdout
    assert "--max-tokens" in own.stdout and "-n, --times" in own.stdout


def test_the_guides_command_runs_as_the_guide_says(env: Env) -> None:
    prompt = "Question: What is the capital of France?"
    done = env.cli("tally", prompt, "-n", "4", "--max-tokens", "3", "-m", "mock/tiny")
    assert done.returncode == 0, done.stderr
    counts = [int(line.split("\t")[0]) for line in done.stdout.splitlines()]
    assert sum(counts) == 4 and counts == sorted(counts, reverse=True)


@pytest.mark.parametrize(
    ("args", "code", "stderr"),
    [
        ((" ",), 2, "error: PROMPT: must not be blank\n"),
        (("hi", "--max-tokens", "0"), 2, "error: --max-tokens: invalid value 0: "),
        (("hi", "-o", "volume=3"), 2, "error: -o volume: unknown option for mock; "),
        (("hi", "-n", "0"), 2, "Invalid value for '-n' / '--times'"),
        (("hi", "-m", "nope/x"), 1, "error: unknown provider 'nope'; "),
        (("hi", "-m", ""), 2, "error: -m: must not be empty"),
    ],
)
def test_the_guides_command_follows_the_exit_code_table(
    env: Env, args: tuple[str, ...], code: int, stderr: str
) -> None:
    done = env.cli("tally", *args)
    assert done.returncode == code, done.stderr
    assert stderr in done.stderr and done.stdout == ""
    assert "Traceback" not in done.stderr


def test_a_command_that_cannot_load_is_one_error_line(env: Env) -> None:
    broken = env.cli("broken")
    assert (broken.returncode, broken.stderr) == (
        1, "error: command 'broken' failed to load: no tally here\n"
    )  # fmt: skip
    notclick = env.cli("notclick")
    assert (notclick.returncode, notclick.stderr) == (
        1, "error: command 'notclick' is not a click command\n"
    )  # fmt: skip


def test_a_bug_in_a_command_shows_its_traceback(env: Env) -> None:
    buggy = env.cli("buggy")
    assert buggy.returncode == 1
    assert "Traceback" in buggy.stderr and "RuntimeError: a bug in the command" in buggy.stderr


def test_a_builtin_name_wins_over_a_plugins(env: Env) -> None:
    models = env.cli("models")
    assert models.returncode == 0, models.stderr
    assert "not the built-in" not in models.stdout and "mock" in models.stdout
