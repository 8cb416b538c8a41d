"""The backend of ``tuneplug serve``: one provider, seen per tenant, through the public API.

:class:`Gateway` is what every protocol is given. It answers, for the tenant of
a request, which models it may use (the served base models plus the adapters
and fine-tuned models it owns), resolves one, creates and deletes adapters on
its behalf, starts and follows fine-tuning jobs, and runs blocking calls off the
event loop. It opens the provider with :func:`tuneplug.get_provider` /
:func:`tuneplug.get_model` and uses it through :class:`tuneplug.Model` and the
jobs facade, so the facade's checks and fallbacks (async in a worker thread,
chat through a template) are the server's too.

Everything is resolved through the provider instance and the job backend opened
when the gateway was made (:attr:`Gateway.provider`, :attr:`Gateway.jobs`), never
through the process's configuration as it is at request time: an in-process
server that outlives a change of ``TUNEPLUG_HOME`` (a test module sharing one
server) still finds the models and jobs it made.

What is served follows from the ``backend`` reference:

* a provider name (``mock``): all its base models;
* a base model reference or alias (``mock/tiny``): that base model only;
* and the adapters and fine-tuned models of those, for the tenants that own them
  (:meth:`Gateway.serves`): one the state directory knows from a server with another
  backend is neither listed nor used.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import tuneplug
from tuneplug.catalog import provider_names
from tuneplug.errors import CapabilityError, ConfigError, NotFoundError, UnknownModelError
from tuneplug.jobs.backend import JobBackend, JobPage
from tuneplug.jobs.types import Job, JobEvent
from tuneplug.models import Model, resolve
from tuneplug.provider import Provider
from tuneplug.server.state import StateStore
from tuneplug.server.tenants import RateLimiter, Tenant, Tenants
from tuneplug.types import Capability, ModelInfo, ModelKind

__all__ = ["JOB_NAMES", "Gateway", "Limits"]

T = TypeVar("T")

JOB_NAMES = "gateway.job"
"""State namespace: backend job id -> ``{"id"}``, the id its client knows it by."""

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
    """The provider ``ref`` names, and the base model it pins (``None`` for all).

    Raises:
        UnknownModelError: a bare name that is no provider and no alias (naming both lists).
    """
    if "/" not in ref:
        providers = provider_names()
        if ref in providers:
            provider = tuneplug.get_provider(ref)
            provider.require(Capability.COMPLETE, "serve completions")
            return provider, None
        _check_alias(ref, providers)
    model = tuneplug.get_model(ref)
    if model.info.kind is not ModelKind.BASE:
        raise ConfigError(
            f"--backend {ref!r} is an adapter; give a base model or a provider name",
            provider=model.provider.name,
        )
    model.provider.require(Capability.COMPLETE, "serve completions")
    return model.provider, model


def _check_alias(ref: str, providers: list[str]) -> None:
    # A provider is accepted here as well as a model: the error says so, in the words
    # of every other model reference's ("unknown model ...: not ... (aliases: ...)").
    import difflib

    from tuneplug.config import load_config

    aliases = sorted(load_config().settings.models)
    if ref in aliases:
        return
    close = difflib.get_close_matches(ref, [*providers, *aliases], n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UnknownModelError(
        f"unknown backend {ref!r}{hint}: not a provider, 'provider/model' or an alias "
        f"(providers: {', '.join(providers) or 'none'}; "
        f"aliases: {', '.join(aliases) or 'none configured'})"
    )


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
        self._jobs: JobBackend | None = None
        if Capability.JOBS in self.provider.capabilities:
            from tuneplug.jobs.facade import backend_for

            # Bound now (the local runner's journal is that of TUNEPLUG_HOME at start).
            self._jobs = backend_for(self.provider)

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

    def _listed(self, *, base_only: bool) -> list[ModelInfo]:
        listed = self.provider.call("tuneplug_list_models", base_only=base_only)
        return [self.provider.model_info(info) for info in listed]

    def base_models(self) -> list[ModelInfo]:
        """The served base models, in the provider's order."""
        if self.pinned is not None:
            return [self.pinned.info]
        return [i for i in self._listed(base_only=True) if i.kind is ModelKind.BASE]

    def capabilities(self, info: ModelInfo) -> frozenset[Capability]:
        """What clients may do with ``info``: its own capabilities the provider implements."""
        return info.capabilities & self.provider.capabilities

    def owned_models(self, tenant: Tenant, kind: str | None = None) -> list[ModelInfo]:
        """The adapters and fine-tuned models ``tenant`` created that still exist (those it
        owns as ``kind`` only: ``"adapter"`` leaves out a protocol's job results, which
        clients know by that protocol's ids, e.g. OpenAI's ``ft:``, never the backend's)."""
        mine = set(self.state.owned(tenant.name, kind))
        if not mine or Capability.FINE_TUNE not in self.provider.capabilities:
            return []
        served = {b.id for b in self.base_models()}
        infos = self._listed(base_only=False)
        return [i for i in infos if i.ref in mine and self._serves(i, served)]

    def models(self, tenant: Tenant) -> list[ModelInfo]:
        """Everything ``tenant`` may use: served base models, then what it owns."""
        return [*self.base_models(), *self.owned_models(tenant)]

    def serves(self, info: ModelInfo) -> bool:
        """Whether this server runs ``info``: a served base model, or an adapter or
        fine-tuned model of one. One rule for listing and for every use: a model the
        state directory knows from a server with another ``--backend`` (another
        provider's, or on a base model this one does not serve) is neither listed nor
        used, deleted or trained, and answers as an unknown model does."""
        return self._serves(info, {b.id for b in self.base_models()})

    def _serves(self, info: ModelInfo, served: set[str]) -> bool:
        if info.provider != self.provider.name:
            return False
        return (info.id if info.kind is ModelKind.BASE else info.base_model_id) in served

    def allowed(self, tenant: Tenant, info: ModelInfo) -> bool:
        """Whether ``tenant`` may use ``info``: a model this server :meth:`serves` that is
        a base model, or one ``tenant`` owns."""
        if not self.serves(info):
            return False
        return info.kind is ModelKind.BASE or self.state.owner(info.ref) == tenant.name

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
                cached = Model(resolve(self.provider, name), self.provider, self.defaults)
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

    # -- fine-tuning jobs (blocking) --------------------------------------------------

    @property
    def jobs(self) -> JobBackend:
        """The backend's jobs (native, or the core's local job runner), bound at start.

        Raises:
            CapabilityError: the backend provider cannot run fine-tuning jobs.
        """
        if self._jobs is None:
            raise CapabilityError(
                "cannot run fine-tuning jobs",
                provider=self.provider.name,
            )
        return self._jobs

    def start_job(
        self,
        base: Model,
        data: Any,
        *,
        record: Callable[[Job], None] | None = None,
        copy: str | None = None,
        **spec: Any,
    ) -> Job:
        """A job training ``base`` (a served model) on ``data`` (a samples file path),
        ``spec`` as for :meth:`tuneplug.Model.start_fine_tune`; validated before any I/O.

        ``record(job)`` is where a protocol writes down the job for its client: on the
        local job runner it runs before the job may take its first step, so a server
        killed at any moment after never leaves a job training that its client cannot
        find. If it raises, the job is cancelled (it never ran) and the error passed on.

        ``copy`` (a name) asks for a new model when ``base`` is an adapter (continued
        fine-tuning, as OpenAI's): the local job runner trains an adapter in place, so
        the job trains a copy of ``base`` named ``copy`` (the provider's
        ``tuneplug_copy_adapter``) and ``base`` is left as it was; ``spec``'s ``suffix``
        then names nothing more (the copy has its name). A native job service makes
        its own new model. Without ``copy``, an adapter is trained in place (Gradient's
        semantics).

        Raises:
            CapabilityError: ``copy`` is asked of a local-runner backend that cannot copy
                an adapter (nothing was created).
            AdapterBusyError: an unfinished job trains ``base`` (before it is copied).
        """
        from tuneplug.jobs.facade import make_spec
        from tuneplug.jobs.local import LocalJobs
        from tuneplug.server.jobs import copy_for_job, origin_of

        if not isinstance(self._jobs, LocalJobs):
            job = self.jobs.create(make_spec(base.id, data, spec))  # the service runs it
            if record is not None:
                record(job)
            return job
        target = base
        if copy is not None and base.info.kind is ModelKind.ADAPTER:
            spec = {k: v for k, v in spec.items() if k != "suffix"}
            make_spec(base.id, data, spec)  # the spec's own errors before anything is made
            target = copy_for_job(self, base, copy)
        job_spec = make_spec(target.id, data, spec)
        # The server's own job: resumed when it restarts (tuneplug.server.jobs).
        try:
            job = self._jobs.create(job_spec, start="none", origin=origin_of(self))
        except BaseException:
            if target is not base:  # a copy no job trains: nothing to keep
                with contextlib.suppress(Exception):
                    target.delete()
            raise
        if record is not None:
            try:
                record(job)
            except BaseException:
                with contextlib.suppress(Exception):
                    self._jobs.cancel(job.id)
                raise
        return self._jobs.start(job.id)

    def job(self, job_id: str) -> Job:
        """The backend job ``job_id`` (``NotFoundError`` if the backend lost it)."""
        return self.jobs.get(job_id)

    def job_events_newest(
        self, job_id: str, after: str | None, limit: int
    ) -> JobPage[JobEvent] | None:
        """A page of the job's events newest first, those older than the event ``after``
        (OpenAI's order and cursor), for one indexed read or one request of ``limit``
        (:class:`~tuneplug.jobs.backend.NewestEventsJobBackend`: the local runner, the
        OpenAI provider); ``None`` when the backend cannot page that way (then read its
        events oldest first).

        Raises:
            NotFoundError: the backend lost the job.
            InvalidRequestError: ``after`` is not an event id of the backend.
        """
        # The method itself, not isinstance(..., Protocol): that caches a class's answer.
        newest = getattr(self._jobs, "events_newest", None)
        if not callable(newest):
            return None
        found: JobPage[JobEvent] = newest(job_id, after=after, limit=limit)
        return found

    def name_job(self, tenant: Tenant, job_id: str, public_id: str) -> None:
        """Record the id a client knows the backend job ``job_id`` by (for the server's log)."""
        self.state.put(JOB_NAMES, job_id, tenant.name, {"id": public_id})

    def public_job_id(self, job_id: str) -> str:
        """The id a client knows the backend job ``job_id`` by (itself if none was recorded)."""
        found = self.state.find(JOB_NAMES, job_id)
        return str(found[1]["id"]) if found is not None else job_id

    def job_target(self, job_id: str) -> str | None:
        """The backend model a job trains (known before it ends), if the backend says."""
        from tuneplug.jobs.local import LocalJobs

        if isinstance(self._jobs, LocalJobs):
            with contextlib.suppress(NotFoundError):
                return f"{self.provider.name}/{self._jobs.store.get(job_id).target}"
        return None

    def close(self) -> None:
        """Nothing to release: providers are closed with the process's registry."""
