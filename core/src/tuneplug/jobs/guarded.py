"""A plugin's job backend (what ``tuneplug_jobs`` returns), its methods guarded.

The backend's methods are plugin code called long after the hook returned: an
exception from one that is not a ``TuneplugError``, or a result of the wrong type,
is a :class:`~tuneplug.errors.PluginError` naming the plugin and the method
(``tuneplug_jobs().create``), as for every hook (:mod:`tuneplug.plugin_faults`).
Methods the backend lacks stay absent, so ``getattr(backend, "pause", None)`` and the
``runtime_checkable`` protocols of :mod:`tuneplug.jobs.backend` see what they saw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuneplug.errors import TuneplugError
from tuneplug.jobs.backend import JobPage
from tuneplug.jobs.types import Job
from tuneplug.plugin_faults import HookSite, fault, wrong_type

__all__ = ["GuardedBackend", "guarded_backend"]

_RETURNS: dict[str, tuple[type, str]] = {
    "create": (Job, "Job"),
    "get": (Job, "Job"),
    "cancel": (Job, "Job"),
    "pause": (Job, "Job"),
    "resume": (Job, "Job"),
    "list": (JobPage, "JobPage of Job"),
    "events": (JobPage, "JobPage of JobEvent"),
    "events_newest": (JobPage, "JobPage of JobEvent"),
    "checkpoints": (JobPage, "JobPage of JobCheckpoint"),
}
"""What each :class:`~tuneplug.jobs.backend.JobBackend` method returns (``delete``: unused)."""


class GuardedBackend:
    """``backend`` with every public method's faults and result types checked."""

    def __init__(self, site: HookSite, backend: object) -> None:
        self._site = site
        self._backend = backend

    @property
    def wrapped(self) -> object:
        """The plugin's own backend object."""
        return self._backend

    def __repr__(self) -> str:
        return f"<guarded {self._backend!r}>"

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._backend, name)
        if name.startswith("_") or not callable(value):
            return value
        return _guarded_method(self, name, value)


def _guarded_method(
    guarded: GuardedBackend, name: str, method: Callable[..., Any]
) -> Callable[..., Any]:
    site, backend = guarded._site, guarded._backend
    hook = f"tuneplug_jobs().{name}"
    expected = _RETURNS.get(name)

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            result = method(*args, **kwargs)
        except TuneplugError:
            raise
        except Exception as exc:
            raise fault(site, hook, exc) from exc
        if expected is not None and not isinstance(result, expected[0]):
            raise wrong_type(site, hook, result, expected[1])
        if isinstance(result, Job) and result._backend is backend:
            result.bind(guarded)  # job.refresh() and the like stay guarded too
        return result

    call.__name__ = name
    call.__doc__ = method.__doc__
    return call


def guarded_backend(site: HookSite, hook: str, backend: object) -> GuardedBackend:
    """``backend`` guarded, after checking it has the methods every backend must have.

    Raises:
        PluginError: ``backend`` lacks one of ``create``, ``get``, ``list``, ``cancel``,
            ``events``.
    """
    required = ("create", "get", "list", "cancel", "events")
    missing = [m for m in required if not callable(getattr(backend, m, None))]
    if missing:
        raise wrong_type(site, hook, backend, f"a JobBackend (it lacks {', '.join(missing)})")
    return GuardedBackend(site, backend)
