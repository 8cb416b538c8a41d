"""In-process provider plugins and fake entry points for the core's tests.

* ``make_plugin`` builds an in-process provider plugin (a module object) that
  implements a chosen set of hooks and records every hook call.
* ``register`` registers such a plugin in the default registry; ``rec`` and ``plain``
  are two registered ones (fine-tunable, and complete-only).
* ``entry_point_plugins`` fakes the ``tuneplug`` entry-point group so plugin
  *discovery and loading* (lazy import, broken plugins, name clashes) can be
  tested without installing distributions.

The fixtures are made available by ``tests/core/conftest.py`` (every core sub-part) and
``tests/server/conftest.py``; the plain helpers (``Calls``, ``COMPLETER``, ``FINETUNABLE``,
``build_plugin``) import from here.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
import textwrap
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tuneplug.plugin_discovery
import tuneplug.plugins
from tuneplug.hookspecs import hookimpl

# -- in-process provider plugins ------------------------------------------------------

COMPLETER = ("list_models", "complete")
FINETUNABLE = ("create_adapter", "fine_tune", "delete_adapter")


class Calls(list):  # type: ignore[type-arg]
    """The hook calls a plugin built by ``make_plugin`` received: ``(hook, kwargs)``."""

    def hooks(self) -> list[str]:
        return [hook for hook, _ in self]

    def of(self, hook: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self if name == hook]


def build_plugin(
    name: str,
    hooks: tuple[str, ...] = COMPLETER,
    *,
    calls: Calls | None = None,
    model_id: str = "base",
    **overrides: Callable[..., Any],
) -> types.ModuleType:
    """A provider plugin module implementing ``hooks`` (names without ``tuneplug_``).

    Models: ``model_id`` (default ``base``; slug ``base-slug``, name ``Base Model``). ``complete``
    answers ``"<provider>: <prompt>"`` so a test can tell which provider
    answered. ``overrides`` replace (or add) hook functions; they are marked
    with ``@hookimpl`` here when not already.
    """
    from tuneplug.types import (
        Capability,
        Completion,
        FineTuneResult,
        ModelInfo,
        ModelKind,
        StreamChunk,
        Usage,
    )

    record = calls if calls is not None else Calls()
    caps = {Capability.COMPLETE}
    if "fine_tune" in hooks:
        caps.add(Capability.FINE_TUNE)
    base = ModelInfo(
        id=model_id,
        provider=name,
        name="Base Model",
        slug="base-slug",
        capabilities=frozenset(caps),
    )
    adapters: dict[str, ModelInfo] = {}

    def answer(model: ModelInfo, prompt: str, text: str | None = None) -> Completion:
        return Completion(
            text=text if text is not None else f"{name}: {prompt}",
            finish_reason="stop",
            model=model.id,
            provider=name,
            usage=Usage(prompt_tokens=len(prompt.split()), completion_tokens=2),
        )

    def tuneplug_list_models(ctx, base_only):  # type: ignore[no-untyped-def]
        record.append(("list_models", {"ctx": ctx, "base_only": base_only}))
        return [base] if base_only else [base, *adapters.values()]

    def tuneplug_resolve_model(ctx, name):  # type: ignore[no-untyped-def]
        record.append(("resolve_model", {"ctx": ctx, "name": name}))
        everything = [base, *adapters.values()]
        return next((m for m in everything if name in (m.id, m.slug, m.name)), None)

    def tuneplug_complete(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        record.append(
            ("complete", {"ctx": ctx, "model": model, "prompt": prompt, "options": options})
        )
        return answer(model, prompt)

    async def tuneplug_acomplete(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        record.append(
            ("acomplete", {"ctx": ctx, "model": model, "prompt": prompt, "options": options})
        )
        return answer(model, prompt, text=f"{name} (async): {prompt}")

    def tuneplug_stream(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        record.append(
            ("stream", {"ctx": ctx, "model": model, "prompt": prompt, "options": options})
        )
        words = prompt.split(" ")
        for i, word in enumerate(words):
            last = i == len(words) - 1
            yield StreamChunk(
                text=word if last else word + " ", finish_reason="stop" if last else None
            )

    async def tuneplug_astream(ctx, model, prompt, options):  # type: ignore[no-untyped-def]
        record.append(
            ("astream", {"ctx": ctx, "model": model, "prompt": prompt, "options": options})
        )
        yield StreamChunk(text="async ")
        yield StreamChunk(text="stream", finish_reason="stop")

    def tuneplug_create_adapter(ctx, base, name, rank, learning_rate):  # type: ignore[no-untyped-def]
        record.append(
            (
                "create_adapter",
                {
                    "ctx": ctx,
                    "base": base,
                    "name": name,
                    "rank": rank,
                    "learning_rate": learning_rate,
                },
            )
        )
        info = ModelInfo(
            id=f"{name}_adapter",
            provider=ctx.provider,
            name=name,
            kind=ModelKind.ADAPTER,
            base_model_id=base.id,
            capabilities=base.capabilities,
        )
        adapters[info.id] = info
        return info

    def tuneplug_fine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        record.append(("fine_tune", {"ctx": ctx, "model": model, "samples": samples}))
        tokens = sum(len(s.text.split()) for s in samples)
        return FineTuneResult(trainable_tokens=tokens, sum_loss=float(tokens) * 2.0)

    async def tuneplug_afine_tune(ctx, model, samples):  # type: ignore[no-untyped-def]
        record.append(("afine_tune", {"ctx": ctx, "model": model, "samples": samples}))
        return FineTuneResult(trainable_tokens=1, sum_loss=0.5)

    def tuneplug_delete_adapter(ctx, model):  # type: ignore[no-untyped-def]
        record.append(("delete_adapter", {"ctx": ctx, "model": model}))
        adapters.pop(model.id, None)

    available = {k[len("tuneplug_") :]: v for k, v in locals().items() if k.startswith("tuneplug_")}
    module = types.ModuleType(f"_tuneplug_test_plugin_{name}")
    module.calls = record  # type: ignore[attr-defined]
    module.base = base  # type: ignore[attr-defined]
    for hook in hooks:
        setattr(module, f"tuneplug_{hook}", hookimpl(available[hook]))
    for hook, fn in overrides.items():
        if not hasattr(fn, "tuneplug_impl"):
            fn = hookimpl(fn)
        setattr(module, f"tuneplug_{hook}", fn)
    return module


@pytest.fixture
def make_plugin() -> Callable[..., types.ModuleType]:
    """``make_plugin(name, hooks=COMPLETER, calls=None, **overrides)``: see ``build_plugin``."""
    return build_plugin


@pytest.fixture
def register() -> Callable[..., Any]:
    """``register(name, plugin, plugins=None, strict=False)`` into the default registry."""

    def _register(
        name: str, plugin: object, *, plugins: str | None = None, strict: bool = False
    ) -> object:
        tuneplug.plugins.default_registry(plugins=plugins, strict=strict).register(name, plugin)
        return plugin

    return _register


@pytest.fixture
def rec(make_plugin: Callable[..., Any], register: Callable[..., Any]) -> Any:
    """``rec/base``: a complete, fine-tunable provider (sync hooks only) recording its calls."""
    return register("rec", make_plugin("rec", (*COMPLETER, *FINETUNABLE)))


@pytest.fixture
def plain(make_plugin: Callable[..., Any], register: Callable[..., Any]) -> Any:
    """``plain/base``: a provider that can only complete."""
    return register("plain", make_plugin("plain"))


# -- fake entry points ----------------------------------------------------------------

GOOD_PLUGIN_SOURCE = (Path(__file__).parent / "fixtures" / "other_plugin.py").read_text()
"""A complete provider module (list_models + complete) answering ``"<provider> says: <prompt>"``."""


class FakeDist:
    """What ``tuneplug.plugin_discovery.discover`` reads from ``EntryPoint.dist``."""

    def __init__(self, name: str, version: str) -> None:
        self.metadata = {"Name": name}
        self.version = version


class FakeEntryPoint:
    def __init__(self, name: str, value: str, dist: FakeDist | None) -> None:
        self.name = name
        self.value = value
        self.group = "tuneplug"
        self.dist = dist
        self.loads = 0

    def load(self) -> Any:
        self.loads += 1
        return importlib.metadata.EntryPoint(self.name, self.value, self.group).load()


class EntryPointPlugins:
    """Writes provider modules to a temp dir and exposes them as ``tuneplug`` entry points."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.entry_points: list[FakeEntryPoint] = []
        self.modules: list[str] = []
        self.include_installed = False
        monkeypatch.syspath_prepend(str(root))
        real = importlib.metadata.entry_points

        def fake_entry_points(**params: Any) -> Any:
            if params.get("group") != "tuneplug":
                return real(**params)
            installed = list(real(**params)) if self.include_installed else []
            return [*installed, *self.entry_points]

        monkeypatch.setattr(tuneplug.plugin_discovery, "entry_points", fake_entry_points)

    def add(
        self,
        name: str,
        source: str | None = None,
        *,
        module: str | None = None,
        dist: str | None = None,
        version: str = "1.0",
    ) -> FakeEntryPoint:
        """Add provider ``name`` whose module (``tpfake_<name>`` by default) holds ``source``."""
        module = module or f"tpfake_{name}"
        path = self.root / f"{module}.py"
        if not path.exists():
            path.write_text(textwrap.dedent(source if source is not None else GOOD_PLUGIN_SOURCE))
            self.modules.append(module)
            importlib.invalidate_caches()
        dist_name = dist if dist is not None else f"tuneplug-{name}"
        ep = FakeEntryPoint(name, module, FakeDist(dist_name, version))
        self.entry_points.append(ep)
        return ep

    def cleanup(self) -> None:
        for module in self.modules:
            sys.modules.pop(module, None)


@pytest.fixture
def entry_point_plugins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EntryPointPlugins]:
    eps = EntryPointPlugins(tmp_path / "plugin_modules", monkeypatch)
    yield eps
    eps.cleanup()


def local_jobs(make_plugin, register, name: str = "acme", **hooks: Any) -> Any:  # type: ignore[no-untyped-def]
    """The core's job runner over a fine-tunable plugin ``name`` built with ``hooks``
    (``make_plugin`` and ``register`` are the fixtures); its model is ``name/base``."""
    from tuneplug.jobs.local import LocalJobs

    register(name, make_plugin(name, (*COMPLETER, *FINETUNABLE), **hooks))
    return LocalJobs(tuneplug.get_model(f"{name}/base").provider)
