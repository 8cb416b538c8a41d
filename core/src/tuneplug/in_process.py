"""Providers registered in-process: ``tuneplug.plugins.register(name, plugin)``.

The supported way to add a provider without packaging it (tests, notebooks,
applications embedding one): every registry's discovery includes these next to
the entry points. The rules are a distribution's: the name must be one users can
type, and a name another provider already has (an installed distribution's, or an
earlier registration's) is an error naming that owner, unless ``replace=True`` says
to stand in for it (then it takes precedence over the installed plugin until
:func:`unregister`). Re-exported by :mod:`tuneplug.plugins`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tuneplug.errors import PluginLoadError

__all__ = ["IN_PROCESS", "in_process", "register", "registered", "unregister"]

PROVIDER_NAME = re.compile(r"[A-Za-z0-9_.-]+")
"""What a provider name may hold: it is typed in ``provider/model``, ``TUNEPLUG_PLUGINS``
(comma-separated, ``-`` to exclude) and ``[providers.NAME]`` tables."""


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


def check_provider_name(name: object) -> str:
    """``name`` if users can type it as a provider name.

    Raises:
        PluginLoadError: it is not a non-empty string of letters, digits, ``_``, ``.``
            and ``-`` that does not start with ``-`` (``TUNEPLUG_PLUGINS``'s exclusion).
    """
    if not isinstance(name, str) or not PROVIDER_NAME.fullmatch(name) or name.startswith("-"):
        raise PluginLoadError(
            f"bad provider name {name!r}: use letters, digits, '_', '.' and '-' (not first); "
            "it is typed in 'provider/model' references and TUNEPLUG_PLUGINS"
        )
    return name


def _installed_owners(name: str) -> list[str]:
    from tuneplug.plugin_discovery import distributions_of

    return distributions_of(name)


def register(
    name: str, plugin: object, *, distribution: str = IN_PROCESS, replace: bool = False
) -> None:
    """Make ``plugin`` (a module or object with ``@hookimpl`` hooks) the provider ``name``.

    Every registry finds it from now on, as if an installed distribution declared
    it (``TUNEPLUG_PLUGINS`` may exclude it like any provider). Loaded providers
    are reset (closed), so the next call loads it. The supported way to add a
    provider without packaging it: tests, notebooks, applications embedding one.

    ``replace=True`` stands in for a provider of the same name, installed or
    registered before (a test double for ``openai``): until :func:`unregister`,
    ``name`` is this plugin, in every registry of the process.

    Raises:
        PluginLoadError: ``name`` is not a provider name users can type, or (without
            ``replace``) another provider has it already: the message names its
            distribution.
    """
    check_provider_name(name)
    if not replace:
        with _in_process_lock:
            earlier = _in_process.get(name)
        owners = [earlier[1]] if earlier is not None else _installed_owners(name)
        if owners:
            whose = " and ".join(repr(o) for o in owners)
            raise PluginLoadError(
                f"provider name {name!r} is already claimed by {whose}"
                f"{' (registered in this process)' if earlier is not None else ''}: register "
                "the plugin under another name, or pass replace=True to stand in for it",
                provider=name,
            )
    with _in_process_lock:
        _in_process[name] = (plugin, distribution)
    _reset()


def unregister(name: str) -> None:
    """Undo :func:`register` for ``name`` (nothing if it is not registered); an installed
    plugin ``name`` stood in for is ``name`` again."""
    with _in_process_lock:
        removed = _in_process.pop(name, None)
    if removed is not None:
        _reset()


@contextmanager
def registered(
    name: str, plugin: object, *, distribution: str = IN_PROCESS, replace: bool = False
) -> Iterator[None]:
    """``with registered("acme", plugin): ...``: :func:`register` for the block only.

    A registration of ``name`` that was there before is restored afterwards.
    """
    with _in_process_lock:
        previous = _in_process.get(name)
    register(name, plugin, distribution=distribution, replace=replace)
    try:
        yield
    finally:
        if previous is not None:
            register(name, previous[0], distribution=previous[1], replace=True)
        else:
            unregister(name)
