"""The backend of ``tuneplug serve``: one provider, seen per tenant, through the public API.

:class:`Gateway` is what every protocol is given. It answers, for the tenant of
a request, which models it may use (the served base models plus the adapters
and fine-tuned models it owns), resolves one, creates and deletes adapters on
its behalf, and runs blocking calls off the event loop. It reaches the provider
only through :func:`tuneplug.get_model`, :func:`tuneplug.list_models`,
:func:`tuneplug.get_provider` and :class:`tuneplug.Model`, so the facade's
checks and fallbacks (async in a worker thread, chat through a template) are the
server's too.

What is served follows from the ``backend`` reference:

* a provider name (``mock``): all its base models;
* a base model reference or alias (``mock/tiny``): that base model only.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import tuneplug
from tuneplug.catalog import is_provider
from tuneplug.errors import ConfigError, NotFoundError, UnknownModelError
from tuneplug.models import Model
from tuneplug.provider import Provider
from tuneplug.server.state import StateStore
from tuneplug.server.tenants import RateLimiter, Tenant, Tenants
from tuneplug.types import Capability, ModelInfo, ModelKind

__all__ = ["Gateway", "Limits"]

T = TypeVar("T")

WORKERS = 64
"""Threads for blocking provider calls: enough for 64 requests in flight at once."""


@dataclass(frozen=True)
class Limits:
    """Per-request limits of the server.

    Attributes:
        max_body_bytes: larger JSON request bodies are refused (413).
        max_upload_bytes: larger uploaded files are refused (413).
        header_timeout: seconds a client may take to send a request's headers,
            and an idle keep-alive connection may stay open.
        body_timeout: seconds a client may take to send a request's body (408).
    """

    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 100_000_000
    header_timeout: float = 10.0
    body_timeout: float = 30.0


def _open(ref: str) -> tuple[Provider, Model | None]:
    """The provider ``ref`` names, and the base model it pins (``None`` for all)."""
    if "/" not in ref and is_provider(ref):
        provider = tuneplug.get_provider(ref)
        provider.require(Capability.COMPLETE, "serve completions")
        return provider, None
    model = tuneplug.get_model(ref)
    if model.info.kind is not ModelKind.BASE:
        raise ConfigError(
            f"--backend {ref!r} is an adapter; give a base model or a provider name",
            provider=model.provider.name,
        )
    model.provider.require(Capability.COMPLETE, "serve completions")
    return model.provider, model


class Gateway:
    """One tuneplug provider (optionally pinned to one base model), per tenant.

    Blocking methods (no ``a`` prefix) run in worker threads: call them through
    :meth:`run`. Async methods may be awaited on the event loop.
    """

    def __init__(
        self,
        backend: str,
        state: StateStore,
        tenants: Tenants,
        *,
        limits: Limits | None = None,
    ) -> None:
        self.ref = backend
        self.state = state
        self.tenants = tenants
        self.limits = limits or Limits()
        self.limiter = RateLimiter()
        self.provider, self.pinned = _open(backend)
        self.defaults = dict(self.pinned.defaults) if self.pinned else {}
        # ref -> Model: a hot completion does not resolve its model again. Entries of
        # models deleted behind the server's back surface as NotFoundError and are dropped.
        self._cache: dict[str, Model] = {}
        self._owners: dict[str, str] = {}  # ref -> tenant name, for cached non-base models
        if self.pinned is not None:
            self._cache[self.pinned.ref] = self.pinned

    @property
    def state_dir(self) -> Path:
        """The directory of the server's state (protocols keep their files under it)."""
        return self.state.dir

    @property
    def name(self) -> str:
        """The backend provider's name."""
        return self.provider.name

    # -- running blocking calls -----------------------------------------------------------

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run the blocking ``fn`` in the server's worker threads."""
        return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))

    # -- models a tenant may use (blocking) -----------------------------------------------

    def base_models(self) -> list[ModelInfo]:
        """The served base models, in the provider's order."""
        if self.pinned is not None:
            return [self.pinned.info]
        infos = tuneplug.list_models(self.provider.name, base_only=True)
        return [i for i in infos if i.kind is ModelKind.BASE]

    def capabilities(self, info: ModelInfo) -> frozenset[Capability]:
        """What clients may do with ``info``: its own capabilities the provider implements."""
        return info.capabilities & self.provider.capabilities

    def owned_models(self, tenant: Tenant) -> list[ModelInfo]:
        """The adapters and fine-tuned models ``tenant`` created that still exist."""
        mine = set(self.state.owned(tenant.name))
        if not mine or Capability.FINE_TUNE not in self.provider.capabilities:
            return []
        served = {b.id for b in self.base_models()}
        infos = tuneplug.list_models(self.provider.name, base_only=False)
        return [
            i
            for i in infos
            if i.kind is not ModelKind.BASE and i.ref in mine and i.base_model_id in served
        ]

    def models(self, tenant: Tenant) -> list[ModelInfo]:
        """Everything ``tenant`` may use: served base models, then what it owns."""
        return [*self.base_models(), *self.owned_models(tenant)]

    def allowed(self, tenant: Tenant, info: ModelInfo) -> bool:
        """Whether ``tenant`` may use ``info`` (a served base model, or one it owns)."""
        if info.provider != self.provider.name:
            return False
        if info.kind is ModelKind.BASE:
            return any(b.id == info.id for b in self.base_models())
        return self.state.owner(info.ref) == tenant.name

    def model(self, tenant: Tenant, ref: str) -> Model | None:
        """The model ``ref`` (``provider/id``) if ``tenant`` may use it, else ``None``.

        Unknown, foreign and unserved models are all ``None``: a client cannot tell
        another tenant's model from one that does not exist.
        """
        provider, _, name = ref.partition("/")
        if provider != self.provider.name or not name:
            return None
        cached = self._cache.get(ref)
        if cached is None:
            try:
                cached = tuneplug.get_model(ref, **self.defaults)
            except (UnknownModelError, NotFoundError):
                return None
        if not self.allowed(tenant, cached.info):
            return None
        self._cache[ref] = cached
        if cached.info.kind is not ModelKind.BASE:
            self._owners[ref] = tenant.name
        return cached

    def cached(self, tenant: Tenant, ref: str) -> Model | None:
        """:meth:`model` answered from memory only, or ``None`` (then call :meth:`model`).

        No I/O: safe on the event loop, for the hot path of every completion.
        """
        found = self._cache.get(ref)
        if found is None:
            return None
        if found.info.kind is ModelKind.BASE or self._owners.get(ref) == tenant.name:
            return found
        return None

    def forget(self, ref: str) -> None:
        """Drop a model the backend no longer has from the cache."""
        self._cache.pop(ref, None)
        self._owners.pop(ref, None)

    # -- creating and deleting (blocking) -------------------------------------------------

    def create_adapter(
        self,
        tenant: Tenant,
        base: Model,
        name: str,
        *,
        rank: int | None = None,
        learning_rate: float | None = None,
    ) -> Model:
        """An adapter on the served ``base``, owned by ``tenant``."""
        adapter = base.create_adapter(name, rank=rank, learning_rate=learning_rate)
        self.own(tenant, adapter.ref, "adapter")
        self._cache[adapter.ref] = adapter
        self._owners[adapter.ref] = tenant.name
        return adapter

    def own(self, tenant: Tenant, ref: str, kind: str) -> None:
        """Record that ``tenant`` created the backend model ``ref`` (e.g. a job's result)."""
        self.state.own(tenant.name, ref, kind)

    def delete(self, model: Model) -> None:
        """Delete an adapter or fine-tuned model (the caller checked ownership)."""
        try:
            model.delete()
        finally:
            # Whether it was deleted now or behind the server's back, it is gone.
            self.forget(model.ref)
        self.state.disown(model.ref)

    def close(self) -> None:
        """Nothing to release: providers are closed with the process's registry."""
