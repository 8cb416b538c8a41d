"""The ``vcr_config`` fixture of tuneplug's pytest plugin (registered by it at configure time)."""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["vcr_config"]


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    """vcrpy settings: credentials scrubbed, body matching, replay unless recording.

    Override it in a ``conftest.py`` to change keys::

        @pytest.fixture(scope="module")
        def vcr_config():
            return {**tuneplug.testing.vcr_config(), "match_on": ["method", "path", "body"]}
    """
    from tuneplug.testing.cassettes import vcr_config as build

    return build()
