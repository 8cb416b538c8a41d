"""The ``device`` setting: its form when the settings load, its device when a model does.

A device the machine lacks is a config mistake, not a bug: torch says so with an
``AssertionError`` (``Torch not compiled with CUDA enabled``, which tuneplug lets through
as a test's verdict: a 60-line traceback on the CLI, a 500 from the gateway) or a
``RuntimeError`` (``PyTorch is not linked with support for mps devices``, reported as
"a bug in the plugin"). So the form is checked by the settings' validator (no torch
needed: the config's ``FILE:LINE`` or the variable comes with every settings problem),
and the device itself before a model loads, as a ``ConfigError`` naming the setting
where it was set (``check TUNEPLUG_TRANSFORMERS_DEVICE``), before any work.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING

from tuneplug.errors import ConfigError

from tuneplug_transformers.refs import PROVIDER

if TYPE_CHECKING:
    import torch

__all__ = ["DEVICE_TYPES", "check_device_form", "choose_device"]

DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu")
"""The torch device types models run on here (``meta`` holds no weights; others need
vendor builds of torch this provider is not tested with)."""

_FORM = re.compile(r"(?P<type>[a-z]+)(?::(?P<index>[0-9]{1,4}))?")
_MEANT = {"gpu": "cuda", "nvidia": "cuda", "metal": "mps"}
"""What a device named by its hardware means in torch (``gpu`` is closer to ``xpu``)."""
_NAMES = {"cuda": "CUDA", "mps": "MPS", "xpu": "XPU"}


def check_device_form(value: str) -> str:
    """``value`` if it is ``auto`` or ``TYPE`` / ``TYPE:INDEX`` of :data:`DEVICE_TYPES`.

    Raises:
        ValueError: anything else, in the words of a settings problem.
    """
    if value != "auto":
        _parse(value)
    return value


def _parse(value: str) -> tuple[str, int | None]:
    """``("cuda", 1)`` for ``cuda:1``, ``("mps", None)`` for ``mps``.

    Raises:
        ValueError: not ``TYPE`` or ``TYPE:INDEX`` of :data:`DEVICE_TYPES`.
    """
    found = _FORM.fullmatch(value)
    if found is not None and found["type"] in DEVICE_TYPES:
        return found["type"], None if found["index"] is None else int(found["index"])
    kinds = ", ".join(f"'{t}'" for t in ("auto", *DEVICE_TYPES[:-1])) + f" or '{DEVICE_TYPES[-1]}'"
    typed = found["type"] if found is not None else value
    close = [_MEANT[typed]] if typed in _MEANT else []
    close = close or difflib.get_close_matches(typed, (*DEVICE_TYPES, "auto"), n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"must be {kinds}, optionally with an index ('cuda:1'), got {value!r}{hint}")


def _missing(kind: str, index: int | None) -> str | None:
    """Why ``kind[:index]`` is not on this machine, ``None`` if it is."""
    import torch

    name = _NAMES[kind]
    if kind == "cuda":
        if not torch.backends.cuda.is_built():  # type: ignore[no-untyped-call]
            return "this torch is built without CUDA"
        if not torch.cuda.is_available():
            return "no CUDA device is visible (check the driver and CUDA_VISIBLE_DEVICES)"
        count = torch.cuda.device_count()
    elif kind == "mps":
        if not torch.backends.mps.is_built():
            return "this torch is built without MPS"
        if not torch.backends.mps.is_available():
            return "MPS is not available: it needs macOS 12.3 or later on Apple silicon"
        count = 1
    else:
        module = getattr(torch, kind, None)
        if module is None or not module.is_available():
            return f"this torch has no {name} device"
        count = module.device_count()
    if index is not None and index >= count:
        devices = f"{kind}:0" if count == 1 else f"{kind}:0 to {kind}:{count - 1}"
        plural = "" if count == 1 else "s"
        return f"this machine has {count} {name} device{plural} ({devices})"
    return None


def choose_device(setting: str, where: str) -> torch.device:
    """The device ``setting`` names; ``auto`` is CUDA, then MPS, then CPU. ``where`` says
    where the setting was set, in a hint's words (``TUNEPLUG_TRANSFORMERS_DEVICE``).

    Raises:
        ConfigError: the device is not a form :func:`check_device_form` takes, or this
            machine lacks it: ``device 'cuda' is not available on this machine (this
            torch is built without CUDA); check TUNEPLUG_TRANSFORMERS_DEVICE``.
    """
    import torch

    if setting == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        kind, index = _parse(setting)
    except ValueError as exc:
        # Settings built around the validator (model_construct) still get the words.
        raise ConfigError(f"device {exc}; check {where}", provider=PROVIDER) from None
    if kind != "cpu":
        why = _missing(kind, index)
        if why is not None:
            raise ConfigError(
                f"device {setting!r} is not available on this machine ({why}); check {where}",
                provider=PROVIDER,
            )
    return torch.device(setting)
