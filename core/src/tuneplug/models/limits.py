"""The limits of a provider's new adapters (LoRA rank), declared by its plugin.

Limits belong to the provider: PEFT trains any rank a model's layers can hold,
a hosted API caps it (Gradient at 32). A plugin declares its own with the optional
hook ``tuneplug_adapter_limits(ctx, base) -> AdapterLimits | None``; a provider that
declares none (or answers ``None``) gets :data:`DEFAULT_LIMITS`, rank 1..32, what
the core promised every ``tuneplug_create_adapter`` before limits were the
provider's, so an older plugin is never sent a rank it was not promised.

The hook must not do I/O: :meth:`Model.check_adapter_args` asks it before the
adapter is created and before a job reads its data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuneplug.errors import TuneplugError
from tuneplug.types import AdapterLimits

if TYPE_CHECKING:
    from tuneplug.provider import Provider
    from tuneplug.types import ModelInfo

__all__ = ["DEFAULT_LIMITS", "HOOK", "adapter_limits"]

HOOK = "tuneplug_adapter_limits"

DEFAULT_LIMITS = AdapterLimits()
"""Rank 1..32: the limits of a provider that declares none."""


def adapter_limits(provider: Provider, base: ModelInfo | None) -> AdapterLimits:
    """The limits of ``provider``'s new adapters on the base model ``base``.

    ``base`` may be ``None`` when the implementation does not name it (limits per
    provider).

    Raises:
        TuneplugError: the hook returned something other than ``AdapterLimits`` or
            ``None`` (a plugin bug), naming the provider.
    """
    if not provider.has(HOOK):
        return DEFAULT_LIMITS
    found = provider.call(HOOK, base=base)
    if found is None:
        return DEFAULT_LIMITS
    if not isinstance(found, AdapterLimits):
        raise TuneplugError(
            f"{HOOK} returned {found!r}, not tuneplug.types.AdapterLimits or None",
            provider=provider.name,
        )
    return found
