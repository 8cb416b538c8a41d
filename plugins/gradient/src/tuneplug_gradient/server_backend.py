"""The tuneplug side of the Gradient-compatible server.

:class:`Backend` turns Gradient operations (on Gradient ids and wire models)
into tuneplug calls on one provider, and tuneplug results and errors back into
wire models and :class:`~tuneplug_gradient.server_errors.ApiError`.

What is exposed follows from the ``backend`` reference:

* a provider name (``mock``): all its base models and all their adapters;
* a model reference or alias (``mock/tiny``): that base model and its adapters
  only, so ``list_models(only_base=True)[-1]`` (the notebook's pick) is it.

Slugs are the backend's own (``ModelInfo.slug``, else its id): the server
invents no aliases such as ``nous-hermes2`` that would pretend to be a model
it does not serve.

Provider calls are blocking, so they run in a thread pool owned by the backend
(sized for many requests in flight), or natively when the provider has async
hooks; the event loop never waits on a provider.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from tuneplug.config import load_config
from tuneplug.errors import (
    ConfigError,
    NotFoundError,
    TuneplugError,
    UnknownModelError,
)
from tuneplug.models import Model, get_model, resolve
from tuneplug.plugins import default_registry
from tuneplug.provider import Provider
from tuneplug.types import Capability, Completion, FineTuneResult, ModelInfo, ModelKind

from tuneplug_gradient.server_errors import ApiError, from_tuneplug
from tuneplug_gradient.server_ids import IdStore, MappedId, base_id
from tuneplug_gradient.server_options import (
    completion_options,
    to_samples,
)
from tuneplug_gradient.wire import (
    BASE_SUFFIX,
    BaseModelEntry,
    CompleteRequest,
    CompleteResponse,
    CreateAdapterRequest,
    CreateAdapterResponse,
    FineTuneRequest,
    FineTuneResponse,
    ListModelsResponse,
    ModelAdapterEntry,
)

__all__ = ["Backend"]

T = TypeVar("T")

_WIRE_CAPABILITY = {Capability.COMPLETE: "complete", Capability.FINE_TUNE: "fineTune"}

WORKERS = 64
"""Threads for blocking provider calls: enough for 64 requests in flight at once."""


def _open(ref: str) -> tuple[Provider, Model | None]:
    """The provider ``ref`` names, and the base model it pins (``None`` for all)."""
    config = load_config()
    registry = default_registry(plugins=config.settings.plugins, strict=config.settings.strict)
    if "/" not in ref and ref in registry.names():
        provider = registry.provider(ref, config=config)
        provider.require(Capability.COMPLETE, "serve completions")
        return provider, None
    model = get_model(ref)
    if model.info.kind is not ModelKind.BASE:
        raise ConfigError(
            f"--backend {ref!r} is an adapter; give a base model or a provider name",
            provider=model.provider.name,
        )
    model.provider.require(Capability.COMPLETE, "serve completions")
    return model.provider, model


class Backend:
    """One tuneplug provider (optionally pinned to one base model) behind Gradient ids."""

    def __init__(self, ref: str, ids: IdStore, *, workers: int = WORKERS) -> None:
        self.ref = ref
        self.ids = ids
        self.provider, self.pinned = _open(ref)
        self.defaults = dict(self.pinned.defaults) if self.pinned else {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tuneplug-serve")
        # Gradient id -> Model, so a completion does not resolve its model every
        # time. Stale entries (deleted elsewhere) surface as NotFoundError and are dropped.
        self._cache: dict[str, Model] = {}

    def close(self) -> None:
        """Stop the worker threads (the id store is closed by its owner)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run the blocking ``fn`` in the backend's thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    # -- blocking helpers (run in the pool) ---------------------------------------------

    def _capabilities(self, info: ModelInfo) -> list[str]:
        # A model can only do what its provider implements hooks for.
        have = info.capabilities & self.provider.capabilities
        return [wire for cap, wire in _WIRE_CAPABILITY.items() if cap in have]

    def _bases(self) -> list[ModelInfo]:
        if self.pinned is not None:
            return [self.pinned.info]
        infos: list[ModelInfo] = self.provider.call("tuneplug_list_models", base_only=True)
        return [i for i in infos if i.kind is ModelKind.BASE]

    def _adapters(self, bases: list[ModelInfo]) -> list[ModelInfo]:
        if Capability.FINE_TUNE not in self.provider.capabilities:
            return []
        served = {b.id for b in bases}
        infos: list[ModelInfo] = self.provider.call("tuneplug_list_models", base_only=False)
        return [i for i in infos if i.kind is ModelKind.ADAPTER and i.base_model_id in served]

    def _base_entry(self, info: ModelInfo) -> BaseModelEntry:
        row = self.ids.ensure(info.ref, "base")
        return BaseModelEntry(
            id=row.gradient_id,
            name=info.name or info.id,
            slug=info.slug or info.id,
            capabilities=self._capabilities(info),
        )

    def _adapter_entry(self, info: ModelInfo, row: MappedId | None = None) -> ModelAdapterEntry:
        row = row or self.ids.ensure(info.ref, "adapter")
        return ModelAdapterEntry(
            id=row.gradient_id,
            name=info.name or info.id,
            base_model_id=base_id(f"{info.provider}/{info.base_model_id}"),
            latest_update_time=_timestamp(info.updated_at) or row.updated_at,
        )

    def _list(self, capability: str, only_base: bool) -> ListModelsResponse:
        bases = self._bases()
        entries: list[BaseModelEntry | ModelAdapterEntry] = []
        for info in bases:
            if capability == "any" or capability in self._capabilities(info):
                entries.append(self._base_entry(info))
        if not only_base:
            for info in self._adapters(bases):
                if capability == "any" or capability in self._capabilities(info):
                    entries.append(self._adapter_entry(info))
        return ListModelsResponse(models=entries)

    def _lookup(self, gradient_id: str, *, fresh: bool = False) -> tuple[Model, MappedId] | None:
        """The model behind ``gradient_id``, or ``None`` if it is unknown or not served."""
        row = self.ids.by_gradient_id(gradient_id)
        if row is None and gradient_id.endswith(BASE_SUFFIX):
            # Base ids are derived, not issued: map the served bases and look again.
            for info in self._bases():
                self.ids.ensure(info.ref, "base")
            row = self.ids.by_gradient_id(gradient_id)
        if row is None:
            return None
        cached = None if fresh else self._cache.get(gradient_id)
        if cached is not None:
            return cached, row
        provider, _, name = row.backend_ref.partition("/")
        if provider != self.provider.name:  # a state dir shared with another backend
            return None
        try:
            info = resolve(self.provider, name)
        except (UnknownModelError, NotFoundError):
            return None
        served = {b.id for b in self._bases()}
        base = info.id if info.kind is ModelKind.BASE else info.base_model_id
        if base not in served:
            return None
        model = Model(info, self.provider, self.defaults)
        self._cache[gradient_id] = model
        return model, row

    def _forget(self, gradient_id: str) -> None:
        self._cache.pop(gradient_id, None)
        self.ids.forget(gradient_id)

    # -- operations ---------------------------------------------------------------------

    async def _guard(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking call; a backend error becomes a generic ``{"message"}`` error."""
        try:
            return await self.run(call, *args, **kwargs)
        except TuneplugError as exc:
            raise from_tuneplug(exc) from exc

    async def list_models(self, capability: str, only_base: bool) -> ListModelsResponse:
        """``GET /models``: served bases first, then their adapters."""
        return await self._guard(self._list, capability, only_base)

    async def describe(self, gradient_id: str) -> BaseModelEntry | ModelAdapterEntry:
        """``GET /models/{id}``: an adapter, or (an extension) a base model."""
        found = await self._guard(self._lookup, gradient_id, fresh=True)
        if found is None:
            raise ApiError(404, f"unknown model {gradient_id!r}")
        model, row = found
        if model.info.kind is ModelKind.BASE:
            return await self._guard(self._base_entry, model.info)
        return await self._guard(self._adapter_entry, model.info, row)

    async def create_adapter(self, request: CreateAdapterRequest) -> CreateAdapterResponse:
        """``POST /models``: an adapter on a served base model, with a fresh id."""
        found = await self._guard(self._lookup, request.model.base_model_id)
        if found is None or found[0].info.kind is not ModelKind.BASE:
            raise ApiError(404, f"unknown base model {request.model.base_model_id!r}")
        hyper = request.initial_hyperparameters
        lora = hyper.lora_hyperparameters if hyper else None
        training = hyper.training_arguments if hyper else None
        adapter = await self._guard(
            found[0].create_adapter,
            request.model.name,
            rank=lora.rank if lora else None,
            learning_rate=training.learning_rate if training else None,
        )
        row = await self._guard(self.ids.ensure, adapter.ref, "adapter")
        self._cache[row.gradient_id] = adapter
        return CreateAdapterResponse(id=row.gradient_id)

    async def delete(self, gradient_id: str) -> None:
        """``DELETE /models/{id}``: delete an adapter and its id."""
        found = await self._guard(self._lookup, gradient_id)
        if found is None:
            raise ApiError(404, f"unknown model adapter {gradient_id!r}")
        model = found[0]
        if model.info.kind is ModelKind.BASE:
            raise ApiError(400, f"{gradient_id!r} is a base model; only adapters can be deleted")
        try:
            await self.run(model.delete)
        except NotFoundError as exc:  # deleted behind the server's back
            await self.run(self._forget, gradient_id)
            raise from_tuneplug(exc) from exc
        except TuneplugError as exc:
            raise from_tuneplug(exc) from exc
        await self.run(self._forget, gradient_id)

    async def _typed_model(self, gradient_id: str, typed_404: str) -> Model:
        # Hot path of every completion: a cached model needs no thread hop or query.
        cached = self._cache.get(gradient_id)
        if cached is not None:
            return cached
        found = await self._guard(self._lookup, gradient_id)
        if found is None:
            what = "base model" if typed_404 == "unknownBaseModel" else "model adapter"
            raise ApiError(404, f"unknown {what} {gradient_id!r}", type=typed_404)
        return found[0]

    async def complete(self, gradient_id: str, request: CompleteRequest) -> CompleteResponse:
        """``POST /models/{id}/complete`` on a base model or an adapter."""
        typed_404 = _not_found_type(gradient_id)
        model = await self._typed_model(gradient_id, typed_404)
        options = completion_options(request, self.provider.name)
        try:
            result: Completion
            if self.provider.has("tuneplug_acomplete"):
                result = await model.acomplete(request.query, **options)
            else:
                result = await self.run(model.complete, request.query, **options)
        except TuneplugError as exc:
            if isinstance(exc, NotFoundError):
                self._cache.pop(gradient_id, None)
            raise from_tuneplug(exc, typed=True, not_found_type=typed_404) from exc
        return CompleteResponse(finish_reason=result.finish_reason, generated_output=result.text)

    async def fine_tune(self, gradient_id: str, request: FineTuneRequest) -> FineTuneResponse:
        """``POST /models/{id}/fine-tune``: one training step of an adapter."""
        model = await self._typed_model(gradient_id, "unknownModelAdapter")
        if model.info.kind is ModelKind.BASE:
            raise ApiError(
                400,
                f"{gradient_id!r} is a base model; create an adapter and fine-tune that",
                type="modelIncapableOfFineTuning",
            )
        samples = to_samples(request)
        try:
            result: FineTuneResult
            if self.provider.has("tuneplug_afine_tune"):
                result = await model.afine_tune(samples)
            else:
                result = await self.run(model.fine_tune, samples)
        except TuneplugError as exc:
            if isinstance(exc, NotFoundError):
                self._cache.pop(gradient_id, None)
            raise from_tuneplug(
                exc, typed=True, incapable_type="modelIncapableOfFineTuning"
            ) from exc
        await self.run(self.ids.touch, gradient_id)
        return FineTuneResponse(
            number_of_trainable_tokens=result.trainable_tokens, sum_loss=result.sum_loss
        )


def _not_found_type(gradient_id: str) -> str:
    return "unknownBaseModel" if gradient_id.endswith(BASE_SUFFIX) else "unknownModelAdapter"


def _timestamp(value: str | None) -> str | None:
    """A backend's ``updated_at`` as Gradient writes times (UTC, ms, ``Z``), if it parses."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:  # naive: tuneplug providers write UTC
        parsed = parsed.replace(tzinfo=UTC)
    utc = parsed.astimezone(UTC).isoformat(timespec="milliseconds")
    return utc.replace("+00:00", "Z")
