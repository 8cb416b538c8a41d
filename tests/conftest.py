"""What every part of the tuneplug test suite needs: isolation.

Every test runs with its own ``TUNEPLUG_HOME``, XDG config dir and working
directory, with no ``TUNEPLUG_*`` / ``GRADIENT_*`` / ``OPENAI_*`` variable leaking in
from the developer's shell, and with the process-wide plugin registries reset before and
after.

The suite is a package tree laid out by distribution and concern (``tests/core`` with
its ``cli``, ``jobs``, ``batch``, ``http`` and ``samples`` sub-parts, ``contract``,
``mock``, ``gradient``, ``openai``, ``transformers``, ``langchain``, ``testing``,
``server``, ``docs``); each part has its own ``conftest.py`` and its helpers beside its
tests, imported as ``from tests.<part>.<module> import ...``. Helpers several parts use:

* ``tests/core/plugin_kit.py``: in-process plugins (``make_plugin``, ``register``,
  ``entry_point_plugins``), fixtures of ``tests/core`` and ``tests/server``;
* ``tests/fresh_env.py``: throwaway virtual environments with distributions installed;
* ``tests/server/gradient_server.py``: the real server on loopback;
* ``tests/gradient/fake.py``, ``tests/openai/fake.py``, ``tests/core/http/fake.py``:
  the scriptable loopback fakes of the Gradient and OpenAI APIs and of HTTP itself.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import tuneplug.plugins


def pytest_configure(config: pytest.Config) -> None:
    # Tests stop real `tuneplug` subprocesses with SIGINT, as a user's Ctrl-C would. POSIX
    # keeps an *ignored* signal ignored across exec, and Python then installs no
    # KeyboardInterrupt handler, so a suite started with SIGINT ignored (`nohup cmd &`,
    # some CI runners) would have children that never see the Ctrl-C and time out. A
    # handler, unlike SIG_IGN, is reset to the default on exec, so children start clean.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True, scope="session")
def _no_stray_project_config(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Every test works in a directory under the temp root, and tuneplug reads the nearest
    # tuneplug.toml upwards (docs/config.md): one left in /tmp by a manual try-out would
    # configure every test, and dozens would fail for no reason of their own.
    from tuneplug.config_files import find_project_file

    root = tmp_path_factory.getbasetemp()
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("TUNEPLUG_CONFIG", raising=False)  # the tests unset it too
        stray = find_project_file(root.parent)
    if stray is not None:
        pytest.exit(f"{stray} would configure every test (they work under {root}): move it away", 4)


_ISOLATED_EXACT = ("TUNEPLUG_MODEL", "TUNEPLUG_PLUGINS", "TUNEPLUG_CONFIG", "TUNEPLUG_STRICT")


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key in _ISOLATED_EXACT or key.startswith(("TUNEPLUG_", "GRADIENT_", "OPENAI_")):
            monkeypatch.delenv(key, raising=False)
    home = tmp_path / "home"
    xdg = tmp_path / "xdg"
    work = tmp_path / "work"
    for directory in (home, xdg, work):
        directory.mkdir(exist_ok=True)
    monkeypatch.setenv("TUNEPLUG_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.chdir(work)
    tuneplug.plugins.reset()
    yield
    tuneplug.plugins.reset()
