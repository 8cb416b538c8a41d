"""Lazy re-exports for package ``__init__`` modules (PEP 562).

Public names of ``tuneplug``, ``tuneplug.testing`` and ``tuneplug.langchain`` live in
submodules that pull in pydantic, pytest helpers or langchain_core; re-exporting them
lazily keeps importing the package itself nearly free.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str,
    exports: Mapping[str, str],
    namespace: dict[str, Any],
    *,
    missing_hint: Callable[[ModuleNotFoundError], str | None] | None = None,
    submodules: bool = False,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package``.

    ``exports`` maps each public name to the module defining it; ``namespace`` is the
    package's ``globals()``, where a resolved name is cached so later lookups skip
    ``__getattr__``. With ``submodules``, any other name that is a submodule of
    ``package`` (``tuneplug.plugins``) is imported on first access. ``missing_hint``
    may turn a missing optional dependency into a message saying what to install
    (``None`` re-raises the original error).
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            found = _submodule(package, name) if submodules else None
            if found is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            return found
        try:
            value = getattr(import_module(module), name)
        except ModuleNotFoundError as exc:
            hint = missing_hint(exc) if missing_hint is not None else None
            if hint is None:
                raise
            raise ModuleNotFoundError(hint, name=exc.name) from exc
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        # Submodules stay out: listing them would mean searching the package directory.
        return sorted([*namespace, *exports])

    return __getattr__, __dir__


def _submodule(package: str, name: str) -> Any:
    # Dunder lookups (inspect's `__wrapped__`, pickle's) must stay cheap misses.
    if name.startswith("_") or not name.isidentifier():
        return None
    from importlib.util import find_spec

    qualified = f"{package}.{name}"
    if find_spec(qualified) is None:
        return None
    return import_module(qualified)  # the import system also binds it in the package
