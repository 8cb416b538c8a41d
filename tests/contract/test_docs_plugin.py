"""Issue 8, acceptance 3: plugins written against the stage-1 hooks, unchanged, chat and pass
the shipped contract suites — the one-file plugin of ``docs/plugins.md`` exactly as the guide
writes it (module and pyproject.toml), and ``examples/tuneplug-echoes``.

Both are built and installed into a fresh environment (``tests/fresh_env.py``); neither names
``messages``, so every chat goes through the default chat template.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest

from tests.fresh_env import Env, make_env

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
EXAMPLE = ROOT / "examples" / "tuneplug-echoes"

SUITE = textwrap.dedent(
    """\
    from tuneplug.testing.contract import CompleterContract


    class TestAcme(CompleterContract):
        provider = "acme"
        base_model = "shout"
    """
)


def guide_block(language: str, first_line: str) -> str:
    """The guide's fenced ``language`` block that starts with ``first_line``."""
    for block in re.findall(rf"```{language}\n(.*?)```", GUIDE, re.DOTALL):
        if block.startswith(first_line):
            return str(block)
    raise AssertionError(f"docs/plugins.md has no {language} block starting {first_line!r}")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    root = tmp_path_factory.mktemp("docs_plugin")
    acme = root / "src" / "acme"
    acme.mkdir(parents=True)
    (acme / "acme_tuneplug.py").write_text(guide_block("python", "# acme_tuneplug.py"))
    (acme / "pyproject.toml").write_text(guide_block("toml", "# pyproject.toml\n[build-system]"))
    (acme / "tests").mkdir()
    (acme / "tests" / "test_acme.py").write_text(SUITE)
    echoes = shutil.copytree(
        EXAMPLE,
        root / "src" / "tuneplug-echoes",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist"),
    )
    return make_env(root, [acme, echoes])


# pytest plugins of the test environment that the fresh venv sees through its .pth, none
# of them tuneplug's: a user of the guide has none, and they were most of the run's CPU
# (LangSmith's imports its whole client: 2.7 s of CPU with them, 1.3 s without).
FOREIGN_PYTEST_PLUGINS = (
    "asyncio",
    "langsmith_plugin",
    "benchmark",
    "codspeed",
    "syrupy",
    "recording",
)


def test_the_guides_plugin_passes_the_contract_suite_as_written(env: Env) -> None:
    project = env.root / "src" / "acme"
    unloaded = [arg for name in FOREIGN_PYTEST_PLUGINS for arg in ("-p", f"no:{name}")]
    # One run, verbose: which tests passed, not a second run to list what was collected.
    result = env.run(
        env.python, "-m", "pytest", "-v", *unloaded, "-p", "no:cacheprovider", "tests",
        env={"PYTHONDONTWRITEBYTECODE": "1"}, cwd=project, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert "failed" not in summary and "error" not in summary, summary
    passed = int(re.search(r"(\d+) passed", summary).group(1))  # type: ignore[union-attr]
    assert passed >= 20, summary
    # The chat tests passed (they are part of the suite), through the template.
    expected = (
        "test_chat",
        "test_astream_chat",
        "test_chat_is_native_or_goes_through_the_template",
        "test_provider_options_are_validated_before_io",
        "test_options_are_listed",
    )
    for test in expected:
        assert f"::{test} PASSED" in result.stdout, test


def test_the_guides_plugin_loads_chats_and_refuses_a_mistyped_option(env: Env) -> None:
    plugins = env.cli("plugins")
    assert re.search(r"acme\s+acme-tuneplug\s+0\.1\.0\s+complete\s+ok", plugins.stdout)
    assert env.cli("complete", "-m", "acme/shout", "hello").stdout == "HELLO\n"
    chat = env.run(env.tuneplug, "chat", "-m", "acme/shout", "--system", "be loud")
    assert chat.returncode == 1  # stdin is empty: nothing to say
    said = env.run("sh", "-c", f"echo hello | {env.tuneplug} chat -m acme/shout")
    assert said.returncode == 0, said.stderr
    # The default template's rendering, shouted: "User: hello\n\nAssistant: ".
    assert said.stdout == "USER: HELLO ASSISTANT:\n"
    bad = env.cli("complete", "-m", "acme/shout", "-o", "volum=3", "hi")
    assert bad.returncode == 2  # a usage error (docs/cli.md)
    assert "error: -o volum: unknown option for acme; valid options: max_tokens," in bad.stderr


def test_echoes_unchanged_chats_through_the_default_template(env: Env) -> None:
    said = env.run("sh", "-c", f"echo hi there | {env.tuneplug} chat -m echoes/parrot --system S")
    assert said.returncode == 0, said.stderr
    assert said.stdout == "S User: hi there Assistant:\n"
    reverse = env.run("sh", "-c", f"echo one two | {env.tuneplug} chat -m echoes/reverse")
    assert reverse.stdout == "Assistant: two one User:\n"
