"""A loaded provider, exactly: edges the plugins mutation run found unheld in ``Provider``.

How it shows, which callable a hook call reaches (a single plain implementation
directly, anything wrapped through pluggy), and the error for a hook it lacks.
"""

from __future__ import annotations

import pytest
from tuneplug.errors import CapabilityError
from tuneplug.hookspecs import hookimpl
from tuneplug.plugins import Registry
from tuneplug.types import Capability

from tests.core.plugin_kit import COMPLETER, FINETUNABLE, build_plugin


def test_a_provider_shows_its_name_and_capabilities() -> None:
    registry = Registry()
    registry.register("acme", build_plugin("acme", (*COMPLETER, *FINETUNABLE)))
    assert repr(registry.provider("acme")) == "<Provider acme [complete,fine_tune,jobs]>"


def test_a_single_plain_implementation_is_called_directly() -> None:
    registry = Registry()
    plugin = build_plugin("acme")
    registry.register("acme", plugin)
    provider = registry.provider("acme")
    assert provider.impl("tuneplug_complete") is plugin.tuneplug_complete
    assert provider.impl("tuneplug_evaluate") is None
    with pytest.raises(CapabilityError) as info:
        provider.call("tuneplug_evaluate", model=plugin.base, samples=[])
    assert info.value.message == "provider 'acme' does not implement tuneplug_evaluate"
    assert info.value.provider == "acme"


class _Tracer:
    """A wrapper around a provider's ``tuneplug_list_models`` (instrumentation)."""

    def __init__(self) -> None:
        self.seen: list[bool] = []

    @hookimpl(wrapper=True)
    def tuneplug_list_models(self, ctx, base_only):  # type: ignore[no-untyped-def]
        self.seen.append(base_only)
        return (yield)


def test_a_wrapped_hook_goes_through_pluggy_so_the_wrapper_runs() -> None:
    registry = Registry()
    plugin = build_plugin("acme")
    registry.register("acme", plugin)
    provider = registry.provider("acme")
    tracer = _Tracer()
    provider.pm.register(tracer)
    assert provider.impl("tuneplug_list_models") is provider.pm.hook.tuneplug_list_models
    assert provider.call("tuneplug_list_models", base_only=True) == [plugin.base]
    assert tracer.seen == [True]


def _jobs(ctx):  # type: ignore[no-untyped-def]
    """A native job service's hook; never called here (``require`` looks at capabilities)."""
    raise AssertionError("not reached")


@pytest.mark.parametrize(
    ("hooks", "capability", "operation", "words"),
    [
        # Without jobs there is no other way to offer: the message ends at the group.
        (COMPLETER, Capability.FINE_TUNE, "fine-tune", "FineTunable"),
        # A job service does not complete, and a job deletes nothing: no jobs hint.
        ((), Capability.COMPLETE, "complete", "Completer"),
        (COMPLETER, Capability.FINE_TUNE, "delete adapters", "FineTunable"),
    ],
    ids=["completer only", "jobs only: complete", "jobs: delete adapters"],
)
def test_a_missing_capability_offers_jobs_only_for_fine_tuning_on_a_job_service(
    hooks: tuple[str, ...], capability: Capability, operation: str, words: str
) -> None:
    registry = Registry()
    overrides = {} if hooks == COMPLETER and operation == "fine-tune" else {"jobs": _jobs}
    registry.register("acme", build_plugin("acme", hooks, **overrides))
    provider = registry.provider("acme")
    with pytest.raises(CapabilityError) as info:
        provider.require(capability, operation)
    assert info.value.message == f"cannot {operation}: the provider does not implement {words}"
    assert info.value.provider == "acme"
