"""The ``tuneplug`` command line (fixtures of ``tests/core/conftest.py`` apply; ``rec`` here
also streams)."""

import pytest

from tests.core.plugin_kit import COMPLETER, FINETUNABLE


@pytest.fixture
def rec(make_plugin, register):  # type: ignore[no-untyped-def]
    """``rec/base``: completes, streams and fine-tunes, recording calls."""
    return register("rec", make_plugin("rec", (*COMPLETER, "stream", *FINETUNABLE)))
