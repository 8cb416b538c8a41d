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

from tuneplug.errors import PluginError
from tuneplug.jobs.backend import JobPage
from tuneplug.jobs.types import Job, JobCheckpoint, JobEvent
from tuneplug.plugin_faults import Blamed, HookSite, wrong_type

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

_REQUIRED = frozenset({"create", "get", "list", "cancel", "events"})

_ITEMS: dict[str, tuple[type, str]] = {
    "list": (Job, "Job"),
    "events": (JobEvent, "JobEvent"),
    "events_newest": (JobEvent, "JobEvent"),
    "checkpoints": (JobCheckpoint, "JobCheckpoint"),
}
"""What each page's items are: a page of dicts would fail far from the plugin."""


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
        try:
            value = getattr(self._backend, name)
        except AttributeError:
            if name in _REQUIRED:
                # Not an AttributeError: that would read as "optional method absent".
                hook = f"tuneplug_jobs().{name}"
                own = type(self._backend).__name__
                raise PluginError(
                    f"{self._site.who('tuneplug_jobs')} returned a job backend ({own}) "
                    f"without {name}(), which every backend has (a bug in the plugin)",
                    provider=self._site.provider,
                    plugin=self._site.plugin,
                    hook=hook,
                ) from None
            raise
        if name.startswith("_") or not callable(value):
            return value
        return _guarded_method(self, name, value)


def _guarded_method(
    guarded: GuardedBackend, name: str, method: Callable[..., Any]
) -> Callable[..., Any]:
    site, backend = guarded._site, guarded._backend
    hook = f"tuneplug_jobs().{name}"
    expected = _RETURNS.get(name)
    items = _ITEMS.get(name)

    def rebound(job: Job) -> None:
        if job._backend is backend:
            job.bind(guarded)  # job.refresh() and the like stay guarded too

    def call(*args: Any, **kwargs: Any) -> Any:
        with Blamed(site, hook):
            result = method(*args, **kwargs)
        if expected is not None and not isinstance(result, expected[0]):
            raise wrong_type(site, hook, result, expected[1])
        if isinstance(result, Job):
            rebound(result)
        elif items is not None:
            for item in result.data:
                if not isinstance(item, items[0]):
                    raise wrong_type(site, hook, item, items[1], verb="returned a page holding")
                if isinstance(item, Job):
                    rebound(item)  # a listed job's methods too
        return result

    call.__name__ = name
    call.__doc__ = method.__doc__
    return call


def guarded_backend(site: HookSite, hook: str, backend: object) -> GuardedBackend:
    """``backend`` guarded (``None`` is refused at once: no backend at all).

    Raises:
        PluginError: ``backend`` is ``None``.
    """
    if backend is None:
        raise wrong_type(site, hook, backend, "a JobBackend")
    return GuardedBackend(site, backend)
