"""Acceptance: a third-party provider is an ordinary distribution with an entry point.

Builds throwaway plugin distributions with a real build backend (hatchling), installs
them into a fresh virtual environment, and drives tuneplug there through unchanged
user code and the ``tuneplug`` console script.

How the environment is made (a fresh venv that sees this one, ~1 s): see ``tests/fresh_env.py``.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.fresh_env import Env, make_env, write_distribution

FIXTURES = Path(__file__).parent / "fixtures"
GOOD_SOURCE = (FIXTURES / "other_plugin.py").read_text()
BROKEN_SOURCE = 'raise ImportError("tuneplug_broken needs libbroken, which is not installed")\n'

SCRIPT = """\
import tuneplug
m = tuneplug.get_model()
print(m.ref, m.complete("hi", max_tokens=5).text)
"""

DISTRIBUTIONS = {
    # directory: (distribution name, entry name, module, source)
    "other": ("tuneplug-other", "other", "tuneplug_other", GOOD_SOURCE),
    "broken": ("tuneplug-broken", "broken", "tuneplug_broken", BROKEN_SOURCE),
    "twin_a": ("tuneplug-twin-a", "twin", "tuneplug_twin_a", GOOD_SOURCE),
    "twin_b": ("acme-twin-b", "twin", "acme_twin_b", GOOD_SOURCE),
}


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    root = tmp_path_factory.mktemp("third_party")
    dirs = [write_distribution(root / "src" / key, *spec) for key, spec in DISTRIBUTIONS.items()]
    env = make_env(root, dirs)
    env.script.write_text(SCRIPT)
    return env


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# -- the same user code, three configurations -----------------------------------------


def test_distributions_are_installed(plugin_env: Env) -> None:
    code = (
        "import json\nfrom importlib.metadata import entry_points\n"
        "print(json.dumps(sorted((e.name, e.value, e.dist.metadata['Name'])"
        " for e in entry_points(group='tuneplug'))))"
    )
    result = plugin_env.run(plugin_env.python, "-c", code)
    assert result.returncode == 0, result.stderr
    found = {tuple(row) for row in json.loads(result.stdout)}
    assert {
        ("other", "tuneplug_other", "tuneplug-other"),
        ("broken", "tuneplug_broken", "tuneplug-broken"),
        ("twin", "tuneplug_twin_a", "tuneplug-twin-a"),
        ("twin", "acme_twin_b", "acme-twin-b"),
    } <= found
    assert any(row[0] == "mock" for row in found)  # the parent environment's mock


def test_unchanged_code_defaults_to_mock_tiny(plugin_env: Env) -> None:
    result = plugin_env.run(plugin_env.python, plugin_env.script)
    assert result.returncode == 0, result.stderr
    ref, _, text = result.stdout.strip().partition(" ")
    assert ref == "mock/tiny"
    assert "other says" not in text


def test_tuneplug_model_env_selects_third_party(plugin_env: Env) -> None:
    result = plugin_env.run(
        plugin_env.python, plugin_env.script, env={"TUNEPLUG_MODEL": "other/some-model"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "other/some-model other says: hi"


def test_project_alias_selects_third_party(plugin_env: Env, tmp_path: Path) -> None:
    (tmp_path / "work" / "tuneplug.toml").write_text(
        'default_model = "qa"\n\n[models.qa]\nmodel = "other/some-model"\n'
    )
    result = plugin_env.run(plugin_env.python, plugin_env.script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "other/some-model other says: hi"


def test_entry_point_plugins_load_lazily(plugin_env: Env) -> None:
    code = textwrap.dedent(
        """\
        import json, sys
        import tuneplug
        from tuneplug.plugins import default_registry
        names = default_registry().names()
        before = sorted(m for m in sys.modules if m.startswith(("tuneplug_", "acme_")))
        tuneplug.get_model("other/some-model").complete("x")
        after = sorted(m for m in sys.modules if m.startswith(("tuneplug_", "acme_")))
        print(json.dumps({"names": names, "before": before, "after": after}))
        """
    )
    result = plugin_env.run(plugin_env.python, "-c", code)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"other", "broken", "twin", "mock"} <= set(data["names"])
    assert data["before"] == []  # discovery imports no plugin
    assert data["after"] == ["tuneplug_other"]  # only the one the call needed


# -- a broken plugin next to working ones ---------------------------------------------


def test_plugins_command_reports_broken_plugin(plugin_env: Env) -> None:
    result = plugin_env.cli("plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    broken = rows["broken"]
    assert broken["distribution"] == "tuneplug-broken" and broken["version"] == "0.0.1"
    assert "libbroken" in broken["error"] and "ImportError" in broken["error"]
    other = rows["other"]
    assert other["error"] is None and other["capabilities"] == ["complete"]
    assert other["distribution"] == "tuneplug-other"
    assert "tuneplug-twin-a" in rows["twin"]["error"] and "acme-twin-b" in rows["twin"]["error"]

    table = plugin_env.cli("plugins")
    assert table.returncode == 0, table.stderr
    assert "broken" in table.stdout and "libbroken" in table.stdout
    assert "tuneplug-other" in table.stdout


def test_cli_complete_works_despite_broken_plugin(plugin_env: Env) -> None:
    result = plugin_env.cli("complete", "-m", "mock/tiny", "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    result = plugin_env.cli("complete", "-m", "other/some-model", "hello", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["text"] == "other says: hello" and data["provider"] == "other"


def test_cli_models_skips_broken_plugin(plugin_env: Env) -> None:
    # gradient is left out: without credentials it is a different case (next test)
    result = plugin_env.cli("models", "--json", env={"TUNEPLUG_PLUGINS": "-gradient"})
    assert result.returncode == 0, result.stderr
    refs = {row["ref"] for row in json.loads(result.stdout)}
    assert "other/some-model" in refs and "mock/tiny" in refs
    assert "broken" in result.stderr  # the warning names what was skipped


def test_cli_models_works_out_of_the_box(plugin_env: Env) -> None:
    # Everything installed, nothing configured (no credentials for any remote
    # provider): listing models still works offline, skipping what cannot be used.
    result = plugin_env.cli("models", "--json")
    assert result.returncode == 0, result.stderr
    refs = {row["ref"] for row in json.loads(result.stdout)}
    assert {"mock/tiny", "other/some-model"} <= refs


def test_strict_mode_fails_plugins_command(plugin_env: Env) -> None:
    result = plugin_env.cli("plugins", env={"TUNEPLUG_STRICT": "1"})
    line = one_error_line(result)
    assert "broken" in line and "tuneplug-broken" in line


def test_strict_mode_with_broken_plugins_filtered_out(plugin_env: Env) -> None:
    result = plugin_env.cli(
        "plugins", "--json", env={"TUNEPLUG_STRICT": "1", "TUNEPLUG_PLUGINS": "other"}
    )
    assert result.returncode == 0, result.stderr
    assert [row["name"] for row in json.loads(result.stdout)] == ["other"]


# -- two distributions, one provider name ---------------------------------------------


def test_duplicate_provider_name_names_both_distributions(plugin_env: Env) -> None:
    result = plugin_env.run(
        plugin_env.python, plugin_env.script, env={"TUNEPLUG_MODEL": "twin/some-model"}
    )
    assert result.returncode == 1
    assert "PluginLoadError" in result.stderr
    assert "tuneplug-twin-a" in result.stderr and "acme-twin-b" in result.stderr

    line = one_error_line(plugin_env.cli("complete", "-m", "twin/some-model", "hi"))
    assert "tuneplug-twin-a" in line and "acme-twin-b" in line
