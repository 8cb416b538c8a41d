"""What one mock provider instance holds and does: models, the adapter store, a weight cache.

:mod:`tuneplug_mock.plugin` keeps one :class:`MockRuntime` per provider context
(``ctx.resource``) and forwards every hook to it. Provider-specific options are
checked by the core against ``tuneplug_options`` (the mock declares none).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tuneplug.adapter_names import one_named
from tuneplug.errors import CapabilityError, InvalidRequestError, ModelNotFoundError, NotFoundError
from tuneplug.types import (
    Capability,
    CompletionOptions,
    FineTuneResult,
    ModelInfo,
    ModelKind,
    Sample,
    StreamChunk,
)

from tuneplug_mock import lm
from tuneplug_mock.decoding import chunks, echo_pieces, lm_pieces
from tuneplug_mock.settings import MockSettings
from tuneplug_mock.store import AdapterRecord, AdapterStore

__all__ = [
    "DEFAULT_LEARNING_RATE",
    "DEFAULT_RANK",
    "ECHO",
    "MAX_RANK",
    "PROVIDER",
    "TINY",
    "MockRuntime",
]

PROVIDER = "mock"

TINY = ModelInfo(
    id="tiny",
    provider=PROVIDER,
    name="Mock Tiny",
    kind=ModelKind.BASE,
    capabilities=frozenset({Capability.COMPLETE, Capability.FINE_TUNE}),
)
"""The n-gram base model; adapters are created on it."""

ECHO = ModelInfo(
    id="echo",
    provider=PROVIDER,
    name="Mock Echo",
    kind=ModelKind.BASE,
    capabilities=frozenset({Capability.COMPLETE}),
)
"""A model that returns the prompt; it cannot be fine-tuned."""

BASES = {TINY.id: TINY, ECHO.id: ECHO}

DEFAULT_RANK = 8
MAX_RANK = 32
"""Rank of an adapter created without one.

The rank bounds the context length of the n-grams an adapter adjusts: rank
``r`` updates contexts of up to ``r`` tokens, capped at ``lm.ORDER - 1``
(7). A low rank learns mostly word frequencies; rank 7 or more can memorise a
whole answer. Accepted ranks are 1..32.
"""

DEFAULT_LEARNING_RATE = 1e-4
"""Learning rate of an adapter created without one (2 pseudo-counts per token, see
:func:`tuneplug_mock.lm.strength`)."""

_CACHED_ADAPTERS = 16


@dataclass(frozen=True)
class _Loaded:
    version: int
    model: lm.NgramModel


class MockRuntime:
    """The state of one mock provider instance.

    The store is opened on first need; the weights of the most recently used
    adapters are cached by version, so a completion costs one indexed lookup
    unless another process has trained the adapter since.
    """

    def __init__(self, settings: MockSettings) -> None:
        """Prepare (but do not open anything) for ``settings``."""
        self.settings = settings
        self._lock = threading.Lock()
        self._store: AdapterStore | None = None
        self._cache: OrderedDict[str, _Loaded] = OrderedDict()

    def close(self) -> None:
        """Close the store and drop cached weights."""
        with self._lock:
            store, self._store = self._store, None
            self._cache.clear()
        if store is not None:
            store.close()

    @property
    def path(self) -> Path:
        """Where the adapter store is (or will be)."""
        return self.settings.store_path()

    def store(self, *, create: bool = True) -> AdapterStore | None:
        """The open store; ``None`` when it does not exist yet and ``create`` is false.

        The default path follows ``TUNEPLUG_HOME`` as it is now: a long-lived
        provider instance moves to the new store rather than keep writing to the old.
        """
        path = self.path
        stale = None
        with self._lock:
            if self._store is not None and self._store.path != path:
                stale, self._store = self._store, None
                self._cache.clear()
            if self._store is None and (create or path.exists()):
                self._store = AdapterStore(path)
            store = self._store
        if stale is not None:
            stale.close()
        return store

    def _opened(self) -> AdapterStore:
        store = self.store()
        assert store is not None
        return store

    # -- models ------------------------------------------------------------------

    @staticmethod
    def info(record: AdapterRecord) -> ModelInfo:
        """The model description of an adapter."""
        return ModelInfo(
            id=record.id,
            provider=PROVIDER,
            name=record.name,
            kind=ModelKind.ADAPTER,
            base_model_id=record.base_model_id,
            capabilities=frozenset({Capability.COMPLETE, Capability.FINE_TUNE}),
            updated_at=record.updated_at,
        )

    def list_models(self, base_only: bool) -> list[ModelInfo]:
        """The base models, then (unless ``base_only``) every adapter, oldest first."""
        models = list(BASES.values())
        # Listing must not create the store file: no adapters until one is created.
        store = None if base_only else self.store(create=False)
        if store is not None:
            models.extend(self.info(r) for r in store.adapters())
        return models

    def resolve(self, name: str) -> ModelInfo | None:
        """A base model by id or name, an adapter by id, or by name when only one has it."""
        for base in BASES.values():
            if name in (base.id, base.name):
                return base
        store = self.store(create=False)
        if store is None:
            return None
        record = store.get(name)
        if record is not None:
            return self.info(record)
        named = one_named(name, store.adapters(name), lambda r: r.id, provider=PROVIDER)
        return self.info(named) if named is not None else None

    def _not_found(self, model: ModelInfo) -> NotFoundError:
        kind = "adapter" if model.kind is ModelKind.ADAPTER else "model"
        return ModelNotFoundError(
            f"no {kind} {model.id!r} (adapters live in {self.path})", provider=PROVIDER
        )

    def _adapter(self, model: ModelInfo) -> _Loaded:
        """The adapter's weights, reloaded only when its version moved."""
        store = self._opened()
        version = store.version(model.id)
        if version is None:
            with self._lock:
                self._cache.pop(model.id, None)
            raise self._not_found(model)
        with self._lock:
            loaded = self._cache.get(model.id)
            if loaded is not None and loaded.version == version:
                self._cache.move_to_end(model.id)
                return loaded
        found = store.load(model.id)
        if found is None:
            raise self._not_found(model)
        record, rows = found
        adapter = lm.Counts.from_rows(rows)
        loaded = _Loaded(record.version, lm.NgramModel(lm.base_model().base, adapter))
        self._remember(model.id, loaded)
        return loaded

    def cached_version(self, adapter_id: str) -> int | None:
        """The version of the adapter's weights held in memory, if any (for diagnostics)."""
        with self._lock:
            loaded = self._cache.get(adapter_id)
        return None if loaded is None else loaded.version

    def _remember(self, adapter_id: str, loaded: _Loaded) -> None:
        with self._lock:
            current = self._cache.get(adapter_id)
            if current is None or current.version <= loaded.version:
                self._cache[adapter_id] = loaded
                self._cache.move_to_end(adapter_id)
            while len(self._cache) > _CACHED_ADAPTERS:
                self._cache.popitem(last=False)

    # -- completion --------------------------------------------------------------

    def stream(
        self, model: ModelInfo, prompt: str, options: CompletionOptions
    ) -> Iterator[StreamChunk]:
        """Validate, resolve the model, and return its (lazy) chunks.

        Everything that can fail does so here, before the first chunk is asked for.
        """
        if model.kind is ModelKind.ADAPTER:
            count, pieces = lm_pieces(self._adapter(model).model, prompt, options)
        elif model.id == TINY.id:
            count, pieces = lm_pieces(lm.base_model(), prompt, options)
        elif model.id == ECHO.id:
            count, pieces = echo_pieces(prompt)
        else:
            raise self._not_found(model)
        return chunks(pieces, prompt_tokens=count, options=options)

    # -- fine-tuning -------------------------------------------------------------

    def create_adapter(
        self, base: ModelInfo, name: str, rank: int | None, learning_rate: float | None
    ) -> ModelInfo:
        """Create an adapter on ``tiny``; ``rank`` 1..32, ``0 < learning_rate < 1``."""
        if base.kind is ModelKind.ADAPTER:
            raise InvalidRequestError(
                f"{base.id!r} is an adapter; create adapters on the base model 'tiny'",
                provider=PROVIDER,
            )
        if base.id == ECHO.id:
            raise CapabilityError(
                "the echo model cannot be fine-tuned; create adapters on 'tiny'", provider=PROVIDER
            )
        if base.id != TINY.id:
            raise self._not_found(base)
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequestError("adapter name must not be empty", provider=PROVIDER)
        rank = DEFAULT_RANK if rank is None else rank
        if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= MAX_RANK:
            raise InvalidRequestError(
                f"rank must be an integer in 1..{MAX_RANK}, got {rank!r}", provider=PROVIDER
            )
        lr = DEFAULT_LEARNING_RATE if learning_rate is None else learning_rate
        if not isinstance(lr, int | float) or not math.isfinite(lr) or not 0 < lr < 1:
            raise InvalidRequestError(
                f"learning_rate must be a number > 0 and < 1, got {learning_rate!r}",
                provider=PROVIDER,
            )
        record = self._opened().create(
            base_model_id=TINY.id, name=name, rank=rank, learning_rate=float(lr)
        )
        return self.info(record)

    def copy_adapter(self, model: ModelInfo, name: str) -> ModelInfo:
        """A new adapter named ``name`` holding what ``model`` learned so far."""
        self._check_trainable(model)
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequestError("adapter name must not be empty", provider=PROVIDER)
        store = self.store(create=False)
        if store is None:
            raise self._not_found(model)
        try:
            return self.info(store.copy(model.id, name))
        except NotFoundError:
            raise self._not_found(model) from None

    def _check_trainable(self, model: ModelInfo) -> None:
        if model.kind is not ModelKind.ADAPTER or model.id in BASES:
            raise CapabilityError(
                f"{model.id!r} is a base model and is never trained in place: "
                "create an adapter first (on 'tiny') and fine-tune that",
                provider=PROVIDER,
            )

    def fine_tune(
        self, model: ModelInfo, samples: Sequence[Sample], key: str | None = None
    ) -> FineTuneResult:
        """One training step of the adapter ``model`` on ``samples``.

        The loss is the summed NLL (nats) of the trainable tokens under the
        adapter as the step found it, read inside the step's write transaction so
        it matches exactly the weights the deltas are added to. A ``key`` seen
        before on this adapter returns its recorded result and applies nothing.
        """
        self._check_trainable(model)
        if not samples:
            raise InvalidRequestError("no samples to fine-tune on", provider=PROVIDER)
        prepared = [lm.prepare(Sample.coerce(s)) for s in samples]
        base = lm.base_model()
        with self._opened().training(model.id) as step:
            if key is not None:
                seen = step.recorded(key)
                if seen is not None:
                    return FineTuneResult(trainable_tokens=seen[0], sum_loss=seen[1])
            record = step.record
            with self._lock:
                cached = self._cache.get(model.id)
            if cached is not None and cached.version == record.version:
                current = cached.model
            else:
                current = lm.NgramModel(base.base, lm.Counts.from_rows(step.rows()))
            tokens, total = lm.loss(current, prepared)
            delta = lm.delta_for(prepared, lm.strength(record.learning_rate), record.rank)
            _refuse_overflow(current.adapter or lm.Counts(), delta)
            step.drop_unsound(lm.MAX_WEIGHT)  # repair what an unbounded version wrote
            version = step.add(delta, tokens)
            if key is not None:
                step.record_key(key, tokens, total)
        adapter = current.adapter or lm.Counts()
        self._remember(model.id, _Loaded(version, lm.NgramModel(base.base, adapter.plus(delta))))
        return FineTuneResult(trainable_tokens=tokens, sum_loss=total)

    def evaluate(self, model: ModelInfo, samples: Sequence[Sample]) -> FineTuneResult:
        """The loss a step on ``samples`` would report, without the step."""
        if not samples:
            raise InvalidRequestError("no samples to evaluate", provider=PROVIDER)
        prepared = [lm.prepare(Sample.coerce(s)) for s in samples]
        if model.kind is ModelKind.ADAPTER:
            current = self._adapter(model).model
        elif model.id == TINY.id:
            current = lm.base_model()
        else:
            raise CapabilityError(f"{model.id!r} has no loss to measure", provider=PROVIDER)
        tokens, total = lm.loss(current, prepared)
        return FineTuneResult(trainable_tokens=tokens, sum_loss=total)

    def delete_adapter(self, model: ModelInfo) -> None:
        """Delete the adapter ``model``."""
        if model.kind is not ModelKind.ADAPTER or model.id in BASES:
            raise InvalidRequestError(
                f"{model.id!r} is a base model; only adapters can be deleted", provider=PROVIDER
            )
        deleted = self._opened().delete(model.id)
        with self._lock:
            self._cache.pop(model.id, None)
        if not deleted:
            raise self._not_found(model)


def _refuse_overflow(adapter: lm.Counts, delta: lm.Delta) -> None:
    """Refuse (changing nothing) a step that would take a weight out of bounds."""
    found = adapter.overflows(delta)
    if found is not None:
        context, token = found
        shown = " ".join((*context, token))
        raise InvalidRequestError(
            f"this step would push the weight of {shown!r} past {lm.MAX_WEIGHT:g} "
            "(the mock's bound that keeps its tables finite); nothing was changed: "
            "lower the multiplier or the learning rate",
            provider=PROVIDER,
        )
