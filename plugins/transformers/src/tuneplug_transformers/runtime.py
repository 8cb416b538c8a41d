"""What one provider instance holds: loaded base models, their adapters, the store.

Each base model is loaded once and shared by its adapters: PEFT injects every
adapter into the same module tree, and a forward pass activates the one it needs
under the base model's lock (held per forward pass, so generations interleave).
A loaded adapter remembers which stored version its weights are; before each use
the store's ``current`` link is read and a version another process committed is
loaded first, so several processes can complete with and train one adapter.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tuneplug.errors import InvalidRequestError, ModelNotFoundError, NotFoundError
from tuneplug.types import Capability, ModelInfo, ModelKind

from tuneplug_transformers.loading import Loaded, load_base, load_tokenizer
from tuneplug_transformers.names import adapter_named, check_not_a_typo
from tuneplug_transformers.refs import PROVIDER, BaseSource, find_base
from tuneplug_transformers.settings import TransformersSettings
from tuneplug_transformers.store import AdapterMeta, AdapterStore, new_adapter_id

__all__ = ["AdapterState", "Base", "Runtime"]

UNKNOWN = "\0unknown"
"""``Base.active`` after PEFT changed the active adapter on its own: the next use re-activates."""

DEVICE_DEFAULT_FROM = "device in [providers.transformers] or TUNEPLUG_TRANSFORMERS_DEVICE"
"""Where the ``device`` setting is, when nothing recorded where it was set."""

CAPABILITIES = frozenset({Capability.COMPLETE, Capability.FINE_TUNE, Capability.CHAT})


@dataclass
class AdapterState:
    """An adapter as loaded into its base: the version its weights are, and its optimizer."""

    meta: AdapterMeta
    version: str
    training: dict[str, Any]
    optimizer: Any = None


@dataclass
class Base:
    """A loaded base model, its adapters, and the lock every use of its modules takes."""

    loaded: Loaded
    lock: threading.Lock = field(default_factory=threading.Lock)
    adapters: dict[str, AdapterState] = field(default_factory=dict)
    active: str | None = None
    """The adapter the modules currently run (``None``: the bare base model)."""

    def activate(self, adapter_id: str | None) -> None:
        """Make the modules run ``adapter_id`` (or no adapter). Hold :attr:`lock`."""
        model = self.loaded.model
        if adapter_id == self.active or not hasattr(model, "peft_config"):
            return
        if adapter_id is None:
            model.base_model.disable_adapter_layers()
        else:
            if self.active is None or self.active == UNKNOWN:
                model.base_model.enable_adapter_layers()
            model.set_adapter(adapter_id)
        self.active = adapter_id


def _peft_active(model: Any) -> list[str]:
    """The names of the adapters PEFT itself has active (``active_adapters``, a list in
    PEFT 0.21; a string in older releases' ``active_adapter``)."""
    names = getattr(model, "active_adapters", None)
    if names is None:
        names = getattr(model, "active_adapter", None)
    return [names] if isinstance(names, str) else list(names or ())


def base_info(source: BaseSource) -> ModelInfo:
    """The ``ModelInfo`` of a base model."""
    return ModelInfo(id=source.id, provider=PROVIDER, name=source.name, capabilities=CAPABILITIES)


def adapter_info(meta: AdapterMeta) -> ModelInfo:
    """The ``ModelInfo`` of an adapter."""
    return ModelInfo(
        id=meta.id,
        provider=PROVIDER,
        name=meta.name,
        kind=ModelKind.ADAPTER,
        base_model_id=meta.base_model_id,
        capabilities=CAPABILITIES,
        updated_at=meta.created_at,
    )


class Runtime:
    """One provider instance's models (built by ``ctx.resource``, closed with the provider)."""

    def __init__(
        self, settings: TransformersSettings, origins: Mapping[str, str] | None = None
    ) -> None:
        """``origins``: where each setting was set (the provider's ``ctx.origins``), for
        the words of a settings error (``check TUNEPLUG_TRANSFORMERS_DEVICE``)."""
        self.settings = settings
        self.device_from = (origins or {}).get("device", DEVICE_DEFAULT_FROM)
        self.store = AdapterStore(settings.adapters_path(), durable=settings.durable)
        self._bases: dict[str, Base] = {}
        self._tokenizers: dict[str, Any] = {}
        self._loading = threading.Lock()

    def close(self) -> None:
        """Forget every loaded model (torch frees them when unreferenced)."""
        with self._loading:
            self._bases.clear()
            self._tokenizers.clear()
        self.store.close()

    # -- names ---------------------------------------------------------------------

    def list_models(self, base_only: bool) -> list[ModelInfo]:
        """Configured base models, then every stored adapter unless ``base_only``."""
        found = []
        for name in self.settings.models:
            source = find_base(name, self.settings)
            if source is not None:
                found.append(base_info(source))
        if not base_only:
            found.extend(adapter_info(m) for m in self.store.metas())
        return found

    def resolve(self, name: str) -> ModelInfo | None:
        """A configured name, an adapter (id, or unique name), a directory or a hub id.

        Raises:
            InvalidRequestError: two or more adapters are named ``name`` (it names their ids).
            UnknownModelError: ``name`` is close to an adapter's name and no cached hub
                model (see :func:`~tuneplug_transformers.names.check_not_a_typo`).
        """
        if name in self.settings.models:
            source = find_base(name, self.settings)
            return None if source is None else base_info(source)
        if name.startswith("lora_") and self.store.exists(name):
            return adapter_info(self.store.meta(name))
        if "/" not in name:
            metas = self.store.metas()
            named = adapter_named(name, metas)
            if named is not None:
                return adapter_info(named)
            if not Path(name).expanduser().is_dir():
                check_not_a_typo(name, metas)
        source = find_base(name, self.settings)
        return None if source is None else base_info(source)

    # -- loading -------------------------------------------------------------------

    def base(self, source: BaseSource) -> Base:
        """The loaded base model of ``source`` (loaded on first use)."""
        found = self._bases.get(source.id)
        if found is not None:
            return found
        with self._loading:
            if source.id not in self._bases:
                self._bases[source.id] = Base(load_base(source, self.settings, self.device_from))
            return self._bases[source.id]

    def base_of(self, info: ModelInfo) -> tuple[Base, AdapterMeta | None]:
        """The base model ``info`` runs on, and its adapter's metadata if it is one."""
        if info.kind is ModelKind.BASE:
            source = find_base(info.id, self.settings)
            if source is None:
                raise ModelNotFoundError(f"no model {info.id!r}", provider=PROVIDER)
            return self.base(source), None
        meta = self.store.meta(info.id)
        local = Path(meta.base_location).is_absolute()
        source = BaseSource(id=meta.base_model_id, location=meta.base_location, local=local)
        return self.base(source), meta

    def tokenizer_of(self, info: ModelInfo) -> Any:
        """The tokenizer of ``info``'s base model (without loading the model if not loaded)."""
        if info.kind is ModelKind.BASE:
            source = find_base(info.id, self.settings)
            if source is None:
                raise ModelNotFoundError(f"no model {info.id!r}", provider=PROVIDER)
        else:
            meta = self.store.meta(info.id)
            local = Path(meta.base_location).is_absolute()
            source = BaseSource(id=meta.base_model_id, location=meta.base_location, local=local)
        loaded = self._bases.get(source.id)
        if loaded is not None:
            return loaded.loaded.tokenizer
        with self._loading:
            if source.id not in self._tokenizers:
                self._tokenizers[source.id] = load_tokenizer(source, self.settings)
            return self._tokenizers[source.id]

    def sync_adapter(self, base: Base, meta: AdapterMeta) -> AdapterState:
        """Load the adapter's committed version into ``base`` unless it is there. Hold the lock.

        Raises:
            NotFoundError: the adapter was deleted (by this or another process).
        """
        from tuneplug_transformers.weights import load_version

        try:
            version = self.store.version(meta.id)
        except NotFoundError:
            self.forget(base, meta.id)
            raise
        state = base.adapters.get(meta.id)
        if state is not None and state.version == version:
            return state
        directory = self.store.adapter_dir(meta.id) / version
        training = load_version(base, meta, directory)
        state = AdapterState(meta=meta, version=version, training=training)
        base.adapters[meta.id] = state
        return state

    def forget(self, base: Base, adapter_id: str) -> None:
        """Drop a deleted adapter from ``base``'s modules. Hold the lock."""
        model = base.loaded.model
        base.adapters.pop(adapter_id, None)
        if hasattr(model, "peft_config") and adapter_id in model.peft_config:
            if base.active == adapter_id:
                base.activate(None)
            if len(model.peft_config) > 1:
                if adapter_id in _peft_active(model):
                    # PEFT warns (a UserWarning on the user's stderr) when it deletes its
                    # active adapter; it only means PEFT picks another, so pick it first.
                    model.set_adapter(next(n for n in model.peft_config if n != adapter_id))
                model.delete_adapter(adapter_id)
                base.active = UNKNOWN  # PEFT's active adapter is another one now
            else:
                # PEFT needs one adapter left; the disabled, unused one costs little.
                base.activate(None)

    def copy_adapter(self, model: ModelInfo, name: str) -> ModelInfo:
        """A new adapter named ``name`` with ``model``'s committed version (weights,
        AdamW state), copied under its step lock so no step commits meanwhile.

        Raises:
            NotFoundError: ``model`` is not a stored adapter.
            InvalidRequestError: ``name`` is empty.
        """
        if model.kind is not ModelKind.ADAPTER:
            raise NotFoundError(f"{model.id!r} is not an adapter", provider=PROVIDER)
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequestError("adapter name must not be empty", provider=PROVIDER)
        made = replace(
            self.store.meta(model.id), id=new_adapter_id(), name=name,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )  # fmt: skip
        with self.store.locked(model.id):
            self.store.copy(model.id, made)
        return adapter_info(made)

    def drop_adapter(self, adapter_id: str) -> None:
        """Forget a deleted adapter in every loaded base that has it."""
        for base in list(self._bases.values()):
            with base.lock:
                self.forget(base, adapter_id)
