"""The OpenAI provider and protocol (``plugins/openai``). Helpers: ``fake.py`` (loopback OpenAI
API on ``tests/core/http/fake.py``; its files and jobs in ``fake_jobs.py``), ``gateway.py``
(``tuneplug serve``'s OpenAI protocol driven by the ``openai`` SDK).
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.openai.gateway import ALICE, BOB, serve
from tests.server.gradient_server import RunningServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    """``mock/tiny`` over the Gradient and OpenAI protocols, for tenants ``ALICE`` and ``BOB``."""
    with serve(tmp_path, tenants=[ALICE, BOB]) as running:
        yield running
