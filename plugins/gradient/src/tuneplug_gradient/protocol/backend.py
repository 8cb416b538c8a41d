"""Gradient operations (on Gradient ids and wire models) as gateway calls for one tenant.

:class:`GradientBackend` maps Gradient ids to backend models through the
:class:`~tuneplug_gradient.protocol.ids.IdStore`, asks the
:class:`~tuneplug.server.gateway.Gateway` which of them the tenant may use, and
turns tuneplug results and errors into wire models and
:class:`~tuneplug_gradient.protocol.errors.ApiError`.

A tenant sees the served base models and the adapters it created through this
server; an id of another tenant's adapter answers exactly like an unknown one.
Slugs are the backend's own (``ModelInfo.slug``, else its id): the server
invents no aliases such as ``nous-hermes2`` that would pretend to be a model
it does not serve.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from tuneplug.errors import NotFoundError, TuneplugError
from tuneplug.models import Model
from tuneplug.server.errors import model_aliases
from tuneplug.server.gateway import Gateway
from tuneplug.server.tenants import Tenant
from tuneplug.types import Capability, ModelInfo, ModelKind

from tuneplug_gradient.protocol.errors import ApiError, from_tuneplug
from tuneplug_gradient.protocol.ids import IdStore, MappedId, base_id
from tuneplug_gradient.protocol.options import completion_options, to_samples
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

__all__ = ["GradientBackend"]

T = TypeVar("T")

_WIRE_CAPABILITY = {Capability.COMPLETE: "complete", Capability.FINE_TUNE: "fineTune"}


class GradientBackend:
    """The gateway behind Gradient ids."""

    def __init__(self, gateway: Gateway, ids: IdStore) -> None:
        self.gateway = gateway
        self.ids = ids
        # Gradient id -> backend ref, so a completion does not query the id store.
        self._refs: dict[str, str] = {}

    # -- blocking helpers (run in worker threads) ---------------------------------------

    def _capabilities(self, info: ModelInfo) -> list[str]:
        have = self.gateway.capabilities(info)
        return [wire for cap, wire in _WIRE_CAPABILITY.items() if cap in have]

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

    def _list(self, tenant: Tenant, capability: str, only_base: bool) -> ListModelsResponse:
        entries: list[BaseModelEntry | ModelAdapterEntry] = []
        for info in self.gateway.base_models():
            if capability == "any" or capability in self._capabilities(info):
                entries.append(self._base_entry(info))
        if not only_base:
            # Its own adapters only: an OpenAI job's result is named after the backend job.
            for info in self.gateway.owned_models(tenant, "adapter"):
                if info.kind is not ModelKind.ADAPTER:
                    continue
                if capability == "any" or capability in self._capabilities(info):
                    entries.append(self._adapter_entry(info))
        return ListModelsResponse(models=entries)

    def _lookup(self, tenant: Tenant, gradient_id: str) -> tuple[Model, MappedId] | None:
        """The model behind ``gradient_id`` if ``tenant`` may use it, else ``None``."""
        row = self.ids.by_gradient_id(gradient_id)
        if row is None and gradient_id.endswith(BASE_SUFFIX):
            # Base ids are derived, not issued: map the served bases and look again.
            for info in self.gateway.base_models():
                self.ids.ensure(info.ref, "base")
            row = self.ids.by_gradient_id(gradient_id)
        if row is None:
            return None
        model = self.gateway.model(tenant, row.backend_ref)
        if model is None:
            return None
        self._refs[gradient_id] = row.backend_ref
        return model, row

    def _forget(self, gradient_id: str) -> None:
        ref = self._refs.pop(gradient_id, None)
        if ref is not None:
            self.gateway.forget(ref)
        self.ids.forget(gradient_id)

    # -- operations ---------------------------------------------------------------------

    async def _guard(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking call; a backend error becomes a generic ``{"message"}`` error."""
        try:
            return await self.gateway.run(call, *args, **kwargs)
        except TuneplugError as exc:
            raise from_tuneplug(exc) from exc

    async def list_models(
        self, tenant: Tenant, capability: str, only_base: bool
    ) -> ListModelsResponse:
        """``GET /models``: served bases first, then the tenant's adapters."""
        return await self._guard(self._list, tenant, capability, only_base)

    async def describe(
        self, tenant: Tenant, gradient_id: str
    ) -> BaseModelEntry | ModelAdapterEntry:
        """``GET /models/{id}``: an adapter, or (an extension) a base model."""
        found = await self._guard(self._lookup, tenant, gradient_id)
        if found is None:
            raise ApiError(404, f"unknown model {gradient_id!r}")
        model, row = found
        if model.info.kind is ModelKind.BASE:
            return await self._guard(self._base_entry, model.info)
        return await self._guard(self._adapter_entry, model.info, row)

    async def create_adapter(
        self, tenant: Tenant, request: CreateAdapterRequest
    ) -> CreateAdapterResponse:
        """``POST /models``: an adapter on a served base model, with a fresh id."""
        found = await self._guard(self._lookup, tenant, request.model.base_model_id)
        if found is None or found[0].info.kind is not ModelKind.BASE:
            raise ApiError(404, f"unknown base model {request.model.base_model_id!r}")
        hyper = request.initial_hyperparameters
        lora = hyper.lora_hyperparameters if hyper else None
        training = hyper.training_arguments if hyper else None
        adapter = await self._guard(
            self.gateway.create_adapter,
            tenant,
            found[0],
            request.model.name,
            rank=lora.rank if lora else None,
            learning_rate=training.learning_rate if training else None,
        )
        row = await self._guard(self.ids.ensure, adapter.ref, "adapter")
        self._refs[row.gradient_id] = adapter.ref
        return CreateAdapterResponse(id=row.gradient_id)

    async def delete(self, tenant: Tenant, gradient_id: str) -> None:
        """``DELETE /models/{id}``: delete one of the tenant's adapters and its id."""
        found = await self._guard(self._lookup, tenant, gradient_id)
        if found is None:
            raise ApiError(404, f"unknown model adapter {gradient_id!r}")
        model = found[0]
        if model.info.kind is ModelKind.BASE:
            raise ApiError(400, f"{gradient_id!r} is a base model; only adapters can be deleted")
        try:
            await self.gateway.run(self.gateway.delete, model)
        except NotFoundError:  # deleted behind the server's back
            await self.gateway.run(self._forget, gradient_id)
            raise ApiError(404, f"unknown model adapter {gradient_id!r}") from None
        except TuneplugError as exc:
            raise from_tuneplug(exc) from exc
        await self.gateway.run(self._forget, gradient_id)

    async def _typed_model(self, tenant: Tenant, gradient_id: str, typed_404: str) -> Model:
        # Hot path of every completion: a cached model needs no thread hop or query.
        ref = self._refs.get(gradient_id)
        cached = self.gateway.cached(tenant, ref) if ref is not None else None
        if cached is not None:
            return cached
        found = await self._guard(self._lookup, tenant, gradient_id)
        if found is None:
            raise _unknown(gradient_id, typed_404)
        return found[0]

    async def complete(
        self, tenant: Tenant, gradient_id: str, request: CompleteRequest
    ) -> CompleteResponse:
        """``POST /models/{id}/complete`` on a base model or an adapter."""
        typed_404 = _not_found_type(gradient_id)
        model = await self._typed_model(tenant, gradient_id, typed_404)
        backend = self.gateway.provider
        options = completion_options(request, backend.name, backend.info.plugin)
        try:
            result = await model.acomplete(request.query, **options)
        except NotFoundError:
            self._refs.pop(gradient_id, None)
            self.gateway.forget(model.ref)
            raise _unknown(gradient_id, typed_404) from None
        except TuneplugError as exc:
            raise from_tuneplug(
                exc,
                typed=True,
                not_found_type=typed_404,
                aliases=model_aliases(model, gradient_id),
            ) from exc
        return CompleteResponse(finish_reason=result.finish_reason, generated_output=result.text)

    async def fine_tune(
        self, tenant: Tenant, gradient_id: str, request: FineTuneRequest
    ) -> FineTuneResponse:
        """``POST /models/{id}/fine-tune``: one training step of an adapter."""
        model = await self._typed_model(tenant, gradient_id, "unknownModelAdapter")
        if model.info.kind is ModelKind.BASE:
            raise ApiError(
                400,
                f"{gradient_id!r} is a base model; create an adapter and fine-tune that",
                type="modelIncapableOfFineTuning",
            )
        samples = to_samples(request)
        try:
            result = await model.afine_tune(samples)
        except NotFoundError:
            self._refs.pop(gradient_id, None)
            self.gateway.forget(model.ref)
            raise _unknown(gradient_id, "unknownModelAdapter") from None
        except TuneplugError as exc:
            raise from_tuneplug(
                exc,
                typed=True,
                incapable_type="modelIncapableOfFineTuning",
                aliases=model_aliases(model, gradient_id),
            ) from exc
        await self.gateway.run(self.ids.touch, gradient_id)
        return FineTuneResponse(
            number_of_trainable_tokens=result.trainable_tokens, sum_loss=result.sum_loss
        )


def _unknown(gradient_id: str, typed_404: str) -> ApiError:
    # The server's own words: the backend's message may name its files or its ids.
    what = "base model" if typed_404 == "unknownBaseModel" else "model adapter"
    return ApiError(404, f"unknown {what} {gradient_id!r}", type=typed_404)


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
