"""The Gradient provider and protocol (``plugins/gradient``). Helpers: ``fake.py`` (scriptable
loopback Gradient API), ``cassette_kit.py`` (recorded cassettes and the ``no_network``
fixture). ``fake`` is the loopback API for any test here.
"""

from collections.abc import Iterator

import pytest

from tests.gradient.fake import FakeGradient, serve


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGradient]:
    """The loopback Gradient API, the provider's environment pointing at it."""
    with serve(monkeypatch) as server:
        yield server


@pytest.fixture
def impatient(fake: FakeGradient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 0.2 s read timeout, for a server scripted to stall (``Stall(0.6)``)."""
    monkeypatch.setenv("GRADIENT_TIMEOUT", "0.2")
