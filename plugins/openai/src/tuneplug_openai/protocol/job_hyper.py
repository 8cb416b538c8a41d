"""The hyperparameters a ``fine_tuning.job`` object shows: the values the job runs with.

OpenAI answers a job with the numbers it trains with, whatever the client sent (an
``"auto"``, or nothing, becomes the backend's default), in two places: the legacy
``hyperparameters`` (``n_epochs``, ``batch_size``, ``learning_rate_multiplier``) and
``method.<type>.hyperparameters`` (the same, and DPO's ``beta``). Each value comes from,
in order:

1. the backend's job (``Job.hyperparameters``: the local runner's epochs and batch size,
   an upstream OpenAI job's every value);
2. what the client gave (a backend that does not report a value runs with the given one);
3. the local job runner's fixed ``learning_rate_multiplier`` of ``1.0``: it trains at the
   adapter's own learning rate, unscaled (it refuses any other multiplier);

and is ``"auto"`` only when none of them knows it (a third-party backend that reports
nothing, or a job whose backend record is gone and that was recorded before its values).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["COMMON", "LOCAL_DEFAULTS", "given", "legacy", "method_object", "shown"]

COMMON = ("n_epochs", "batch_size", "learning_rate_multiplier")
"""The hyperparameters of every method, and of the legacy ``hyperparameters`` object."""

_OWN = {"dpo": ("beta",)}
"""A method's hyperparameters beyond :data:`COMMON`."""

LOCAL_DEFAULTS: Mapping[str, Any] = {"learning_rate_multiplier": 1.0}
"""What the local job runner runs with and does not report (see the module docstring)."""


def _names(method: str) -> tuple[str, ...]:
    return COMMON + _OWN.get(method, ())


def given(values: Mapping[str, Any], method: str) -> dict[str, Any]:
    """The numbers a client gave among ``values`` (its ``hyperparameters`` fields), for
    the record: ``"auto"`` and absent fields are left out."""
    return {name: values[name] for name in _names(method) if values.get(name) not in (None, "auto")}


def shown(
    method: str,
    reported: Mapping[str, Any],
    given: Mapping[str, Any],
    defaults: Mapping[str, Any],
) -> dict[str, Any]:
    """The method's hyperparameters as the job object shows them: the backend's
    ``reported`` value, else the client's ``given`` one, else the backend's known
    ``defaults``, else ``"auto"`` (nothing knows it)."""
    values: dict[str, Any] = {}
    for name in _names(method):
        for source in (reported, given, defaults):
            value = source.get(name)
            if value is not None and value != "auto" and not isinstance(value, bool):
                values[name] = value
                break
        else:
            values[name] = "auto"
    return values


def method_object(method: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"type": method, method: {"hyperparameters": {...}}}``, OpenAI's ``method``."""
    return {"type": method, method: {"hyperparameters": dict(values)}}


def legacy(values: Mapping[str, Any]) -> dict[str, Any]:
    """The legacy ``hyperparameters`` object: the :data:`COMMON` ones of ``values``."""
    return {name: values.get(name, "auto") for name in COMMON}
