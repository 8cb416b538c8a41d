"""Fine-tuning jobs ``tuneplug.jobs``: local runner, store, resume, CLI (fixtures of
``tests/core/conftest.py`` apply; ``natives``: three providers with jobs of their own).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tuneplug.errors import NotConfiguredError, ServerError

from tests.core.jobs.native_kit import NativeJobs


@pytest.fixture
def natives(make_plugin: Callable[..., Any], register: Callable[..., Any]) -> dict[str, Any]:
    """Providers ``native`` (one job), ``broken`` (its listing fails) and ``unset`` (not
    configured), registered; name -> its :class:`NativeJobs`."""
    backends = {
        "native": NativeJobs("native"),
        "broken": NativeJobs("broken", ServerError("upstream is down", status=503)),
        "unset": NativeJobs("unset", NotConfiguredError("set UNSET_API_KEY")),
    }
    for name, backend in backends.items():
        register(name, make_plugin(name, jobs=lambda ctx, b=backend: b))
    return backends
