"""tuneplug's testing kit: for offline tests of LLM code and for provider plugin authors.

The pytest plugin (:mod:`tuneplug.testing.pytest_plugin`, registered through the
``pytest11`` entry point of the ``tuneplug`` distribution) gives every test suite
the fixtures ``tuneplug_home``, ``scripted_model``, ``scripted_provider``,
``tuneplug_guard`` and ``vcr_config`` and the marker ``allow_model_requests``.
The building blocks behind them are importable from here:

* :class:`ScriptedProvider` / :class:`ScriptedModel` / :class:`Call`: a provider
  whose answers a test queues and whose every call it can assert on;
* :class:`NetworkGuard` / :func:`no_network`: fail any request to a real provider;
* :func:`vcr_config` / :func:`use_cassette` / :func:`scan_cassettes` /
  :func:`assert_no_secrets`: cassettes that hold no credentials;
* :mod:`tuneplug.testing.contract`: the test classes a provider plugin subclasses.

Names are imported on first use: pytest loads the plugin in every project that
has tuneplug installed, so importing this package must cost nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuneplug._lazy import lazy_exports

_EXPORTS = {
    "Call": "tuneplug.testing.scripted",
    "ScriptExhaustedError": "tuneplug.testing.scripted",
    "ScriptedModel": "tuneplug.testing.scripted",
    "ScriptedProvider": "tuneplug.testing.scripted",
    "BlockedRequest": "tuneplug.testing.guard",
    "ModelRequestBlockedError": "tuneplug.testing.guard",
    "NetworkGuard": "tuneplug.testing.guard",
    "no_network": "tuneplug.testing.guard",
    "TuneplugHome": "tuneplug.testing.home",
    "SecretFinding": "tuneplug.testing.scan",
    "assert_no_secrets": "tuneplug.testing.scan",
    "record_mode": "tuneplug.testing.cassettes",
    "scan_cassettes": "tuneplug.testing.scan",
    "use_cassette": "tuneplug.testing.cassettes",
    "vcr_config": "tuneplug.testing.cassettes",
}

__all__ = [
    "BlockedRequest",
    "Call",
    "ModelRequestBlockedError",
    "NetworkGuard",
    "ScriptExhaustedError",
    "ScriptedModel",
    "ScriptedProvider",
    "SecretFinding",
    "TuneplugHome",
    "assert_no_secrets",
    "no_network",
    "record_mode",
    "scan_cassettes",
    "use_cassette",
    "vcr_config",
]

if TYPE_CHECKING:
    from tuneplug.testing.cassettes import record_mode, use_cassette, vcr_config
    from tuneplug.testing.guard import (
        BlockedRequest,
        ModelRequestBlockedError,
        NetworkGuard,
        no_network,
    )
    from tuneplug.testing.home import TuneplugHome
    from tuneplug.testing.scan import SecretFinding, assert_no_secrets, scan_cassettes
    from tuneplug.testing.scripted import (
        Call,
        ScriptedModel,
        ScriptedProvider,
        ScriptExhaustedError,
    )


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
