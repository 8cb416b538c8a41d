"""Adapter names in a model reference: a unique name, a shared one, or a typo of one.

Adapter names need not be unique (a README's Python block and its CLI line both make
``tiny-seed``; a job rerun with the same suffix names its adapter again), and a name
that is no adapter falls through to the Hugging Face hub. Without these checks a shared
name, or a slip of the keyboard, cost a hub download: 51 s of retries, or an
``HF_HUB_OFFLINE`` error that never mentions adapters. Both are answered here, before
any network:

* a name two or more adapters share is an ``InvalidRequestError`` naming their ids
  (:func:`tuneplug.adapter_names.one_named`, the mock provider's rule too);
* a name close to an adapter's (``tiny-sed`` for ``tiny-seed``, or ``TJ`` for ``tj``:
  compared case-insensitively, while names match case-sensitively) is an
  ``UnknownModelError`` saying so, unless a hub model of that name is in the user's
  cache: a cached model was meant, so ``gpt2`` keeps working next to an adapter named
  ``gpt3``. An uncached one is a download away (the message says how), which is the
  price of asking before any network.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from tuneplug.adapter_names import one_named
from tuneplug.errors import UnknownModelError

from tuneplug_transformers.refs import PROVIDER
from tuneplug_transformers.store import AdapterMeta

__all__ = ["TYPO_CUTOFF", "adapter_named", "check_not_a_typo"]

TYPO_CUTOFF = 0.8
"""``difflib`` similarity from which a name counts as a slip for an adapter's: one letter
off in a name of eight or more (``tiny-sed``), not ``gpt2`` for ``gpt3`` (0.75)."""


def adapter_named(name: str, metas: Sequence[AdapterMeta]) -> AdapterMeta | None:
    """The one adapter of ``metas`` named ``name``; ``None`` if none is.

    Raises:
        InvalidRequestError: several are: ``2 adapters are named 'dup' (lora_…, lora_…):
            use an id``, ids oldest first.
    """
    named = [meta for meta in metas if meta.name == name]
    return one_named(name, named, lambda meta: meta.id, provider=PROVIDER)


def _cached_on_hub(name: str) -> bool:
    # Only the local cache: this check exists to spare the network.
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except ValueError:  # not a valid repository id: no hub model either
        return False


def _closest(name: str, names: Sequence[str]) -> str | None:
    """The adapter name of ``names`` that ``name`` looks like a slip for, or ``None``.

    Compared case-folded, because a shifted key (``TJ`` for ``tj``) is as much a slip as
    a dropped one but scores 0 to ``difflib``; a name equal but for case comes first, as
    the likeliest meant. Names themselves stay case-sensitive (``adapter_named``)."""
    folded: dict[str, list[str]] = {}
    for candidate in names:
        folded.setdefault(candidate.casefold(), []).append(candidate)
    key = name.casefold()
    if key not in folded:
        close = difflib.get_close_matches(key, sorted(folded), n=1, cutoff=TYPO_CUTOFF)
        if not close:
            return None
        key = close[0]
    return sorted(folded[key])[0]


def check_not_a_typo(name: str, metas: Sequence[AdapterMeta]) -> None:
    """Refuse ``name`` (no adapter's, no directory) when it looks like a slip for an
    adapter's name, in letters or in case, and is no hub model in the local cache.

    Raises:
        UnknownModelError: ``no adapter named 'tiny-sed' (did you mean 'tiny-seed'?); ...``.
    """
    close = _closest(name, sorted({meta.name for meta in metas}))
    if close is None or _cached_on_hub(name):
        return
    raise UnknownModelError(
        f"no adapter named {name!r} (did you mean {close!r}?); nor is it a Hugging "
        f"Face hub model in your cache: to use one, download it once (`hf download "
        f"{name}`)",
        provider=PROVIDER,
    )
