"""Which provider plugins are installed, and which of them may load.

Discovery reads metadata only: the ``tuneplug`` entry points of the installed
distributions and the providers registered in-process (:mod:`tuneplug.in_process`).
Nothing is imported here; :class:`tuneplug.plugins.Registry` loads a provider the
first time a call needs it. ``TUNEPLUG_PLUGINS`` (:class:`PluginFilter`) says which
of the discovered names may load. Re-exported by :mod:`tuneplug.plugins`.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from tuneplug.hookspecs import PROJECT_NAME
from tuneplug.in_process import in_process

__all__ = ["ENTRY_POINT_GROUP", "Candidate", "PluginFilter", "discover", "distributions_of"]

ENTRY_POINT_GROUP = PROJECT_NAME


@dataclass(frozen=True)
class PluginFilter:
    """Which providers may load: ``"a,b"`` allows only those; ``"-c"`` excludes ``c``."""

    only: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, spec: str | None) -> PluginFilter:
        """Parse a ``TUNEPLUG_PLUGINS`` value."""
        if not spec or not spec.strip():
            return cls()
        names = [part.strip() for part in spec.split(",") if part.strip()]
        excluded = frozenset(n[1:] for n in names if n.startswith("-"))
        included = frozenset(n for n in names if not n.startswith("-"))
        return cls(only=included or None, exclude=excluded)

    def allows(self, name: str) -> bool:
        """Whether provider ``name`` may load."""
        if name in self.exclude:
            return False
        return self.only is None or name in self.only

    def unknown(self, installed: Collection[str]) -> list[str]:
        """The names this filter gives that no installed plugin provides, sorted."""
        return sorted({*(self.only or ()), *self.exclude} - set(installed))

    def typos(self, installed: Collection[str]) -> str:
        """``'mokc' (did you mean 'mock'?), which no installed plugin provides``: the
        names of :meth:`unknown`, each with the closest installed name (a typo in
        ``TUNEPLUG_PLUGINS`` silently excludes the plugin meant); ``""`` when none."""
        names = []
        for name in self.unknown(installed):
            close = difflib.get_close_matches(name, sorted(installed), n=1, cutoff=0.6)
            names.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
        return f"{', '.join(names)}, which no installed plugin provides" if names else ""


@dataclass(frozen=True)
class Candidate:
    """One declaration of a provider name: an entry point, or an in-process registration
    (``plugin`` set, ``entry_point`` ``None``)."""

    name: str
    value: str
    distribution: str | None
    version: str | None
    entry_point: EntryPoint | None = None
    plugin: object | None = None


def discover() -> dict[str, list[Candidate]]:
    """``{provider name: its declarations}``; more than one is a clash the registry reports.

    An in-process registration replaces the entry points of its name (it stands in
    for them, see :func:`tuneplug.in_process.register`).
    """
    found: dict[str, list[Candidate]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        cand = Candidate(
            ep.name,
            ep.value,
            dist.metadata["Name"] if dist else None,
            dist.version if dist else None,
            entry_point=ep,
        )
        same = found.setdefault(ep.name, [])
        # One distribution seen through two sys.path entries is not a clash.
        if all(c.distribution != cand.distribution for c in same):
            same.append(cand)
    for name, (plugin, owner) in in_process().items():
        found[name] = [Candidate(name, repr(plugin), owner, None, plugin=plugin)]
    return found


def distributions_of(name: str) -> list[str]:
    """The installed distributions declaring the provider ``name`` (entry-point metadata
    only; an entry point without one is named by its value)."""
    found = entry_points(group=ENTRY_POINT_GROUP)
    return sorted(
        {ep.dist.metadata["Name"] if ep.dist else ep.value for ep in found if ep.name == name}
    )
