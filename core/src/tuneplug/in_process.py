"""Providers registered in-process: ``tuneplug.plugins.register(name, plugin)``.

The supported way to add a provider without packaging it (tests, notebooks,
applications embedding one): every registry's discovery includes these next to
the entry points, and one of them takes precedence over an installed plugin of
the same name. Re-exported by :mod:`tuneplug.plugins`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["IN_PROCESS", "in_process", "register", "registered", "unregister"]


def _reset() -> None:
    # Loaded providers are closed and forgotten, so the next call sees the change.
    from tuneplug.plugins import reset

    reset()


def in_process() -> dict[str, tuple[object, str]]:
    """``{name: (plugin, distribution)}`` of the providers registered now (a copy)."""
    with _in_process_lock:
        return dict(_in_process)


IN_PROCESS = "in-process"
"""The distribution ``tuneplug plugins`` shows for a provider registered with :func:`register`."""

_in_process: dict[str, tuple[object, str]] = {}
_in_process_lock = threading.Lock()


def register(name: str, plugin: object, *, distribution: str = IN_PROCESS) -> None:
    """Make ``plugin`` (a module or object with ``@hookimpl`` hooks) the provider ``name``.

    Every registry finds it from now on, as if an installed distribution
    declared it (``TUNEPLUG_PLUGINS`` may exclude it like any provider), and it
    takes precedence over an installed plugin of the same name. Loaded providers
    are reset (closed), so the next call loads it. The supported way to add a
    provider without packaging it: tests, notebooks, applications embedding one.
    """
    if not name or "/" in name:
        raise ValueError(f"bad provider name {name!r}")
    with _in_process_lock:
        _in_process[name] = (plugin, distribution)
    _reset()


def unregister(name: str) -> None:
    """Undo :func:`register` for ``name`` (nothing if it is not registered)."""
    with _in_process_lock:
        removed = _in_process.pop(name, None)
    if removed is not None:
        _reset()


@contextmanager
def registered(name: str, plugin: object, *, distribution: str = IN_PROCESS) -> Iterator[None]:
    """``with registered("acme", plugin): ...``: :func:`register` for the block only.

    A registration of ``name`` that was there before is restored afterwards.
    """
    with _in_process_lock:
        previous = _in_process.get(name)
    register(name, plugin, distribution=distribution)
    try:
        yield
    finally:
        if previous is not None:
            register(name, previous[0], distribution=previous[1])
        else:
            unregister(name)
