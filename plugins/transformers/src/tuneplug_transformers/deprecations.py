"""Deprecation notices of the libraries this provider drives, kept off the user's stderr.

A ``FutureWarning`` about an API that tuneplug, not the user, calls is noise the user
cannot act on, and docs/cli.md promises stderr holds ``warning:``/``note:`` lines only.
Two kinds, two remedies:

* tuneplug calls a renamed API: the call is fixed. transformers 5.24 renamed a model's
  KV-cache keyword and output field ``past_key_values`` to ``cache`` (the old name warns:
  a ``FutureWarning`` and a ``[transformers]`` log line). :func:`kv_cache_name` picks
  whichever the installed model's ``forward`` takes, so transformers 5.0-5.23 and 5.24+
  are both served without a notice;
* a library tuneplug calls uses another's deprecated API: PEFT reads transformers'
  ``is_gradient_checkpointing`` (deprecated in 5.24) when it wraps a model. tuneplug
  cannot change PEFT's code, so :func:`quiet_peft` ignores exactly those messages
  (:data:`FOREIGN`) around tuneplug's own calls into PEFT, never process-wide: the same
  access from the user's code still warns.
"""

from __future__ import annotations

import inspect
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["FOREIGN", "kv_cache_name", "quiet_peft"]

FOREIGN: tuple[tuple[type[Warning], str], ...] = (
    (FutureWarning, r"`is_gradient_checkpointing` is deprecated"),
)
"""``(category, message regex)`` of the notices PEFT's calls trigger in transformers."""

# catch_warnings swaps the process's filter list and puts the saved one back on exit: two
# threads inside at once could each put back the other's, leaving a filter behind for good.
_lock = threading.Lock()


@contextmanager
def quiet_peft() -> Iterator[None]:
    """Ignore the :data:`FOREIGN` notices inside the block (a call into PEFT); the
    process's warning filters are as they were after it. One thread at a time."""
    with _lock, warnings.catch_warnings():
        for category, message in FOREIGN:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield


# Per model class: reading a signature costs more than the forward of a tiny model.
_kv_names: dict[type, str] = {}


def _kv_name(cls: Any) -> str:
    try:
        parameters = inspect.signature(cls.forward).parameters
    except (AttributeError, TypeError, ValueError):  # nothing to read: every 5.x's name
        return "past_key_values"
    return "cache" if "cache" in parameters else "past_key_values"


def kv_cache_name(model: Any) -> str:
    """``"cache"`` or ``"past_key_values"``: the keyword ``model.forward`` takes its KV
    cache by, which is also the field of its output that returns it (transformers 5.24
    renamed both; the old name still works there, with a deprecation notice)."""
    cls = type(model)
    name = _kv_names.get(cls)
    if name is None:
        name = _kv_names[cls] = _kv_name(cls)
    return name
