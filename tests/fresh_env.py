"""Throwaway virtual environments with real plugin distributions installed, in about a second.

Shared by ``tests/core/test_third_party.py`` and ``test_example_plugin.py``; :func:`modules_after`
(what a fresh interpreter has imported after some code) by the import-cost tests. How the
environment is made (fast and offline):

* ``python -m venv --without-pip`` creates an empty venv in well under a second.
  ``--system-site-packages`` would not help: it exposes the *base* interpreter's
  site-packages, not the test environment's, where tuneplug, tuneplug-mock,
  hatchling and pip are installed.
* A ``.pth`` file in the new venv calls ``site.addsitedir`` on each of the test
  interpreter's site-packages directories. ``addsitedir`` (unlike a plain path
  line) also processes the ``.pth`` files there, so editable installs (the
  working tree's tuneplug and tuneplug-mock) and their entry-point metadata are
  visible too, *after* the venv's own site-packages.
* The venv's python then runs the parent environment's pip
  (``-m pip install --no-deps --no-build-isolation --no-index``) so the
  distributions are built by hatchling from their ``pyproject.toml`` and installed
  into the new venv exactly as a user's ``pip install`` would. (Without pip, e.g.
  in a uv-made environment, the wheels are built with hatchling and unpacked.)
* ``bin/tuneplug`` is written like pip's console-script wrapper, resolving the
  ``tuneplug`` console-script entry point that the tuneplug distribution declares.
"""

from __future__ import annotations

import importlib.util
import json
import os
import site
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["Env", "install", "make_env", "write_distribution"]


def write_distribution(root: Path, dist: str, entry: str, module: str, source: str) -> Path:
    """A one-package provider distribution (hatchling) declaring entry point ``entry``."""
    (root / module).mkdir(parents=True)
    (root / module / "__init__.py").write_text(source)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "{dist}"
            version = "0.0.1"
            requires-python = ">=3.11"
            dependencies = ["tuneplug"]

            [project.entry-points.tuneplug]
            {entry} = "{module}"

            [tool.hatch.build.targets.wheel]
            packages = ["{module}"]
            """
        )
    )
    return root


class Env:
    """A fresh virtual environment: its python, its ``tuneplug`` script, a script file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.venv = root / "venv"
        self.python = self.venv / "bin" / "python"
        self.tuneplug = self.venv / "bin" / "tuneplug"
        self.script = root / "script.py"

    def run(
        self,
        *args: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command with the current (test-isolated) environment plus ``env``."""
        # os.environ is the isolated one of the current test (see conftest.py); the
        # cwd is the test's own empty work directory unless given.
        return subprocess.run(
            [str(a) for a in args],
            env={**os.environ, "COLUMNS": "250", **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
        )

    def cli(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the venv's ``tuneplug`` command."""
        return self.run(self.tuneplug, *args, env=env)


def install(python: Path, purelib: Path, projects: list[Path], wheels: Path) -> None:
    """Build ``projects`` with their backend (hatchling) and install them into the venv."""
    if importlib.util.find_spec("pip") is not None:
        pip_env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        pip_env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--no-deps",
             "--no-build-isolation", "--no-index", "--no-cache-dir", *map(str, projects)],
            env=pip_env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return
    # No pip (e.g. a uv-made environment): build the wheels and unpack them, which is
    # all installing a pure-Python wheel without scripts amounts to.
    for project in projects:
        done = subprocess.run(
            [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(wheels)],
            cwd=project, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    for wheel in wheels.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(purelib)


def make_env(root: Path, projects: list[Path]) -> Env:
    """A venv under ``root`` that sees the test environment and has ``projects`` installed."""
    env = Env(root)
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(env.venv)], check=True, timeout=60
    )
    purelib = subprocess.run(
        [str(env.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    lines = [f"import site; site.addsitedir({d!r})" for d in site.getsitepackages()]
    (Path(purelib) / "_tuneplug_test_parent_env.pth").write_text("\n".join(lines) + "\n")
    install(env.python, Path(purelib), projects, root / "wheels")
    env.tuneplug.write_text(
        f"#!{env.python}\n"
        "import sys\n"
        "from importlib.metadata import entry_points\n"
        "(ep,) = entry_points(group='console_scripts', name='tuneplug')\n"
        "sys.exit(ep.load()())\n"
    )
    env.tuneplug.chmod(0o755)
    return env


def modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter of this environment has imported after ``code``."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=60,
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))
