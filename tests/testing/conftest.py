"""The testing kit ``tuneplug.testing``: pytest plugin, network guard, cassettes, scripted
provider.
"""

from collections.abc import Iterator

import pytest
from tuneplug import secret_forms


@pytest.fixture(autouse=True)
def _uncompiled_secret_patterns() -> Iterator[None]:
    # Each test builds its secret patterns afresh: mutmut forks every mutant from a
    # process whose first test run filled this cache, so a cached pattern would hide a
    # mutant of the code that builds one (docs/mutation-results.md, cassettes 5th run).
    secret_forms._compiled.cache_clear()
    yield
