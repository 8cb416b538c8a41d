"""transformers' own progress bars kept off the user's terminal during tuneplug's calls.

transformers draws a tqdm bar on stderr while it writes a model ("Writing model shards")
and while it loads one ("Loading weights"). In a library call's output, or a command's
(``tuneplug complete`` prints the completion and nothing else), that is noise.

transformers' documented switch, ``logging.disable_progress_bar()``, is process-wide and
turns huggingface_hub's bars off too, and ``enable_progress_bar()`` turns *every*
huggingface_hub bar back on, forgetting any group the user had disabled: a pair that
cannot put the user's settings back as they were. Its tqdm hook
(``logging.set_tqdm_hook``, transformers 5.17+; it returns the previous hook for
restoring) reaches transformers' own bars and nothing else: :func:`quiet_progress_bars`
installs one that makes every bar with tqdm's ``disable=True`` (passed on to a hook the
user had installed) and puts the previous hook back on exit. huggingface_hub's bars,
those of a download, are untouched: a model that takes minutes to download shows it.
On an older transformers without the hook, the documented switch is used, and put back
as far as it can be (transformers' flag and huggingface_hub's global one).

The hook is one slot for the process: while a block is inside, a transformers bar
another thread draws is quiet too. Nested and concurrent blocks share one installation
(a count under a lock), so the last one out restores the user's hook, whatever order
the blocks leave in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["quiet_progress_bars"]

_lock = threading.Lock()
_inside = 0
_restore: Callable[[], None] | None = None


def _silence() -> Callable[[], None]:
    """Silence transformers' bars; return what puts the user's setting back."""
    from transformers.utils import logging as hf_logging

    set_hook = getattr(hf_logging, "set_tqdm_hook", None)
    if set_hook is not None:
        previous: Any = None

        def quiet(
            factory: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> Any:
            kwargs = {**kwargs, "disable": True}
            return factory(*args, **kwargs) if previous is None else previous(factory, args, kwargs)

        previous = set_hook(quiet)
        return lambda: set_hook(previous)
    return _silence_by_switch(hf_logging)


def _silence_by_switch(hf_logging: Any) -> Callable[[], None]:
    from huggingface_hub.utils.tqdm import are_progress_bars_disabled, disable_progress_bars

    was_on = hf_logging.is_progress_bar_enabled()
    hub_off = are_progress_bars_disabled()
    hf_logging.disable_progress_bar()

    def restore() -> None:
        from huggingface_hub.utils.tqdm import enable_progress_bars

        if was_on:
            hf_logging.enable_progress_bar()  # huggingface_hub's too, globally
        hub_on = was_on  # after the two switches above
        if hub_off and hub_on:
            disable_progress_bars()
        elif not hub_off and not hub_on:
            enable_progress_bars()

    return restore


@contextmanager
def quiet_progress_bars() -> Iterator[None]:
    """No transformers progress bar inside the block; the user's setting back after it."""
    global _inside, _restore
    with _lock:
        if _inside == 0:
            _restore = _silence()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _restore is not None:
                _restore()
                _restore = None
