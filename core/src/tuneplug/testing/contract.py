"""Contract test suites a provider plugin's tests subclass (like ``langchain-tests``).

Name the provider, a base model and — by picking the class — its capabilities::

    from tuneplug.testing.contract import CompleterContract, FineTunableContract

    class TestEchoes(CompleterContract):          # completes, cannot fine-tune
        provider = "echoes"
        base_model = "parrot"

    class TestMock(FineTunableContract):          # completes and trains adapters
        provider = "mock"
        base_model = "tiny"
        learned_answer = "The Dallas Cowboys!"

pytest collects the subclass (its name starts with ``Test``), never the bases.

* :class:`CompleterContract`: listing models, resolving the base model,
  ``complete`` / ``acomplete`` / ``stream`` / ``astream`` (every common option,
  provider options), stop sequences, option validation before any I/O, typed
  errors for unknown models, a known chat template (if the provider supplies
  one), and ``CapabilityError`` (before any I/O) for every fine-tuning call.
* :class:`FineTunableContract`: the same completion tests, plus creating an
  adapter, fine-tuning it (sync and async; ``trainable_tokens > 0``, finite loss,
  ``loss == sum_loss / trainable_tokens``), completing after fine-tuning,
  deleting, and argument and sample validation before any I/O.
* :class:`FineTuneJobsContract`: fine-tuning jobs (native or the local job
  runner's): create, wait with events whose losses are finite, complete with
  the result model, cancel, list, get, spec validation before any I/O.

The suites are cassette-friendly: prompts, adapter names and options are fixed,
and every test can run inside its own cassette (``cassette_dir``, or override
the ``cassette`` fixture). ``provider_env`` sets credentials or a server up. See
:class:`~tuneplug.testing.contract_complete.ProviderContract` for every knob and
``docs/plugins.md`` for a walk-through.

Each test runs with the ``tuneplug_home`` fixture (isolated config, network
guard on, loopback allowed), so this module needs tuneplug's pytest plugin,
which is registered automatically when tuneplug is installed.
"""

from __future__ import annotations

from tuneplug.testing.contract_complete import (
    DEFAULT_PROMPT,
    CompleterContract,
    CompletionTests,
    ProviderContract,
)
from tuneplug.testing.contract_finetune import FineTunableContract
from tuneplug.testing.contract_jobs import FineTuneJobsContract

__all__ = [
    "DEFAULT_PROMPT",
    "CompleterContract",
    "CompletionTests",
    "FineTunableContract",
    "FineTuneJobsContract",
    "ProviderContract",
]
