"""tuneplug's pytest plugin, registered through the ``pytest11`` entry point.

Installed with tuneplug, it is loaded by every pytest run in that environment,
so it imports nothing but pytest at startup and does nothing in a test that
does not ask for it. It gives:

Fixtures
    ``tuneplug_home``
        An isolated ``TUNEPLUG_HOME``, an empty project config (``TUNEPLUG_CONFIG``),
        no user config, no ``TUNEPLUG_*`` variable from the shell and no provider
        loaded by an earlier test. Returns a :class:`~tuneplug.testing.home.TuneplugHome`.
    ``scripted_provider`` / ``scripted_model``
        The :class:`~tuneplug.testing.scripted.ScriptedProvider` registered as
        provider ``scripted``, and its model ``scripted/default``, made the default
        model (``TUNEPLUG_MODEL``) so code under test uses it unchanged.
    ``tuneplug_guard``
        The network guard: a connection to anything but loopback fails the test.
    ``vcr_config``
        Scrubbed, body-matching, replay-only vcrpy settings (module scope, the
        shape pytest-recording and pytest-vcr expect).

Marker
    ``@pytest.mark.allow_model_requests``: this test may reach real providers.

Output
    Every report of a run where tuneplug or vcrpy is at work has the secrets the
    kit knows masked (:mod:`tuneplug.testing.masked_output`): a cassette miss
    quotes the live request, query credential included.

Guard scope
    The guard is on in every test that uses ``tuneplug_guard``, ``tuneplug_home``,
    ``scripted_provider`` or ``scripted_model`` (the three depend on it) — not in
    unrelated tests of a project that merely has tuneplug installed. Set
    ``tuneplug_guard = true`` in the pytest ini options to guard every test. It
    stays off for a test marked ``allow_model_requests``, for a run given
    ``--tuneplug-allow-model-requests`` or ``TUNEPLUG_ALLOW_MODEL_REQUESTS=1``, and
    while recording cassettes (``TUNEPLUG_RECORD_CASSETTES``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tuneplug.testing.guard import NetworkGuard
    from tuneplug.testing.home import TuneplugHome
    from tuneplug.testing.scripted import ScriptedModel, ScriptedProvider

__all__ = [
    "ALLOW_ENV",
    "MARKER",
    "scripted_model",
    "scripted_provider",
    "tuneplug_guard",
    "tuneplug_home",
]

MARKER = "allow_model_requests"
ALLOW_ENV = "TUNEPLUG_ALLOW_MODEL_REQUESTS"
INI_GUARD = "tuneplug_guard"

# The contract suites are plain ``assert`` statements; rewritten, a failing one
# shows the values involved. Must be registered before the module is imported.
pytest.register_assert_rewrite(
    "tuneplug.testing.contract",
    "tuneplug.testing.contract_complete",
    "tuneplug.testing.contract_finetune",
)

_GUARD = pytest.StashKey["NetworkGuard"]()
_ALLOWED = pytest.StashKey[bool]()
_RECORD_BEFORE = pytest.StashKey["str | None"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ini option ``tuneplug_guard`` and ``--tuneplug-allow-model-requests``."""
    parser.addini(
        INI_GUARD,
        type="bool",
        default=False,
        help="tuneplug: guard every test against real model requests "
        "(default: only tests using tuneplug fixtures)",
    )
    group = parser.getgroup("tuneplug")
    group.addoption(
        "--tuneplug-allow-model-requests",
        action="store_true",
        default=False,
        help="tuneplug: turn the network guard off for this run (live tests).",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker (so ``--strict-markers`` accepts it) and ``vcr_config``."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}: let this test reach real model providers (tuneplug's network guard is off)",
    )
    # Decided once for the run: test isolation (ours or a project's) may clear
    # TUNEPLUG_* variables before each test.
    from tuneplug.testing import cassettes

    config.stash[_RECORD_BEFORE] = cassettes.run_record_mode()
    cassettes.set_run_record_mode(os.environ.get(cassettes.RECORD_ENV))
    config.stash[_ALLOWED] = bool(config.getoption("tuneplug_allow_model_requests", False)) or (
        _truthy(os.environ.get(ALLOW_ENV))
    )
    # pytest-recording also defines `vcr_config` (returning {}); among plugins the
    # last registered definition wins, and entry points load in no fixed order.
    # Registering ours here, after every entry-point plugin, makes ours win; a
    # project's conftest.py still overrides both.
    from tuneplug.testing import pytest_vcr

    if not config.pluginmanager.is_registered(pytest_vcr):
        config.pluginmanager.register(pytest_vcr, "tuneplug-vcr-config")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Forget the run's record mode (a pytester run inside a run must not leak it)."""
    if _RECORD_BEFORE in config.stash:
        from tuneplug.testing import cassettes

        cassettes.set_run_record_mode(config.stash[_RECORD_BEFORE])


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _guard_wanted(request: pytest.FixtureRequest) -> bool:
    if request.node.get_closest_marker(MARKER) is not None:
        return False
    if request.config.stash.get(_ALLOWED, False) or _truthy(os.environ.get(ALLOW_ENV)):
        return False
    from tuneplug.testing.cassettes import is_recording

    return not is_recording()


@pytest.fixture
def tuneplug_guard(request: pytest.FixtureRequest) -> Iterator[NetworkGuard | None]:
    """Fail the test on any connection to a non-loopback address.

    Yields the active :class:`~tuneplug.testing.guard.NetworkGuard`, or ``None``
    when the test is allowed to make model requests.
    """
    if not _guard_wanted(request):
        yield None
        return
    from tuneplug.testing.guard import NetworkGuard

    guard = NetworkGuard().install()
    request.node.stash[_GUARD] = guard
    try:
        yield guard
    finally:
        guard.uninstall()


@pytest.fixture(autouse=True)
def _tuneplug_global_guard(request: pytest.FixtureRequest) -> None:
    # A no-op unless the project opted in with `tuneplug_guard = true`.
    if request.config.getini(INI_GUARD):
        request.getfixturevalue("tuneplug_guard")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A cassette miss says how to record it with tuneplug (``TUNEPLUG_RECORD_CASSETTES``),
    not only vcrpy's hint, which names vcrpy's default record mode, not tuneplug's."""
    try:
        return (yield)
    except Exception as exc:
        from tuneplug.testing.cassette_miss import explain_miss

        explain_miss(exc)
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Fail a test that passed although the guard blocked a request (the code under
    test swallowed the error); mask the secrets the kit knows in every report
    (:mod:`tuneplug.testing.masked_output`): vcrpy's error quotes the live request."""
    report = yield
    if report.when == "call" and report.passed:
        guard = item.stash.get(_GUARD, None)
        if guard is not None and guard.blocked:
            report.outcome = "failed"
            report.longrepr = guard.report()
    _mask(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Mask the known secrets in a collection error (a cassette used at import time)."""
    report = yield
    _mask(report)
    return report


def _mask(report: pytest.TestReport | pytest.CollectReport) -> None:
    # Only where tuneplug or vcrpy is at work in this process: a project that merely
    # has tuneplug installed pays nothing (the secrets are found by loading plugins).
    if "vcr" in sys.modules or "tuneplug.plugins" in sys.modules:
        from tuneplug.testing.masked_output import mask_report

        mask_report(report)


@pytest.fixture
def tuneplug_home(
    tuneplug_guard: NetworkGuard | None, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TuneplugHome]:
    """An isolated ``TUNEPLUG_HOME`` and config for this test (guarded)."""
    from tuneplug.testing.home import TuneplugHome

    home = TuneplugHome.create(tmp_path / "tuneplug", monkeypatch)
    yield home
    home.reset_providers()  # closes stores and pools while the env still points here


@pytest.fixture
def scripted_provider(tuneplug_home: TuneplugHome) -> Iterator[ScriptedProvider]:
    """The scripted provider, installed as provider ``scripted`` for this test."""
    from tuneplug.testing.scripted import ScriptedProvider

    provider = ScriptedProvider().install()
    try:
        yield provider
    finally:
        provider.uninstall()


@pytest.fixture
def scripted_model(
    scripted_provider: ScriptedProvider, tuneplug_home: TuneplugHome
) -> ScriptedModel:
    """``scripted/default``, made the default model so unchanged code uses it."""
    model = scripted_provider.model()
    tuneplug_home.use_model(model.ref)
    return model
