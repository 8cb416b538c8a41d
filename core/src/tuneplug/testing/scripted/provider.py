"""The scripted provider: the behaviour behind its hooks, its models and how it is installed.

See :mod:`tuneplug.testing.scripted` for what it is for.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, create_model

from tuneplug.errors import CapabilityError, InvalidRequestError, ModelNotFoundError
from tuneplug.stops import first_stop
from tuneplug.testing.scripted.hooks import CompleterHooks, FineTunableHooks
from tuneplug.testing.scripted.script import Call, Reply, ScriptedModel
from tuneplug.types import (
    Capability,
    Completion,
    CompletionOptions,
    FineTuneResult,
    Message,
    ModelInfo,
    ModelKind,
    Sample,
    StreamChunk,
    Usage,
)

if TYPE_CHECKING:
    from tuneplug.plugins import Registry

__all__ = ["DEFAULT_MODEL", "DEFAULT_PROVIDER", "DISTRIBUTION", "ScriptedProvider"]

DEFAULT_PROVIDER = "scripted"
DEFAULT_MODEL = "default"
DISTRIBUTION = "tuneplug.testing"
"""The distribution ``tuneplug plugins`` shows for an installed scripted provider."""


class _AnyOptions(BaseModel):
    """Every provider-specific option, recorded as given (``extra_options=None``)."""

    model_config = ConfigDict(extra="allow", frozen=True)


def _options_model(names: Iterable[str] | type[BaseModel] | None) -> type[BaseModel] | None:
    if names is None:
        return _AnyOptions
    if isinstance(names, type):
        return names
    fields: dict[str, Any] = {name: (Any, None) for name in sorted(set(names))}
    if not fields:
        return None
    return create_model(
        "ScriptedOptions", __config__=ConfigDict(extra="forbid", frozen=True), **fields
    )


class ScriptedProvider:
    """An in-process provider plugin driven by a test's script.

    Args:
        name: the provider name models are referred to by (``scripted/<model>``).
        fine_tunable: implement the FineTunable hooks (default) or only Completer,
            to test how code copes with a provider that cannot fine-tune.
        extra_options: the provider-specific options to declare (through
            ``tuneplug_options``): names (of any type), or a pydantic model; the
            core refuses any other name with an ``InvalidRequestError`` listing
            them. ``None`` (the default) accepts and records all.
    """

    def __init__(
        self,
        name: str = DEFAULT_PROVIDER,
        *,
        fine_tunable: bool = True,
        extra_options: Iterable[str] | type[BaseModel] | None = None,
    ) -> None:
        self.name = name
        self.fine_tunable = fine_tunable
        self._options = _options_model(extra_options)
        self.lock = threading.RLock()
        self.calls: list[Call] = []
        self._models: dict[str, ScriptedModel] = {}
        self.plugin: CompleterHooks = (
            FineTunableHooks(self) if fine_tunable else CompleterHooks(self)
        )

    def __repr__(self) -> str:
        return f"<ScriptedProvider {self.name} models={sorted(self._models)}>"

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What the provider's hooks give it (its completion hooks take ``messages``: chat)."""
        if self.fine_tunable:
            return frozenset({Capability.COMPLETE, Capability.CHAT, Capability.FINE_TUNE})
        return frozenset({Capability.COMPLETE, Capability.CHAT})

    def model(self, name: str = DEFAULT_MODEL) -> ScriptedModel:
        """The script of model ``name``, declaring it as a base model on first use."""
        with self.lock:
            found = self._models.get(name)
            if found is None:
                info = ModelInfo(
                    id=name, provider=self.name, name=name, capabilities=self.capabilities
                )
                found = self._models[name] = ScriptedModel(self, info)
            return found

    def models(self) -> list[ScriptedModel]:
        """Every declared model and live adapter, in creation order."""
        with self.lock:
            return list(self._models.values())

    def find(self, name: str) -> ScriptedModel | None:
        """The model with id ``name``, if declared (or created and not deleted)."""
        with self.lock:
            return self._models.get(name)

    def model_infos(self) -> list[ModelInfo]:
        """What ``tuneplug_list_models`` lists: every model and live adapter."""
        return [m.info for m in self.models()]

    def find_info(self, name: str) -> ModelInfo | None:
        """What ``tuneplug_resolve_model`` answers."""
        found = self.find(name)
        return found.info if found is not None else None

    def options_model(self) -> type[BaseModel] | None:
        """What ``tuneplug_options`` declares."""
        return self._options

    def adapters_of(self, base_id: str) -> list[str]:
        """Ids of adapters created on ``base_id``, deleted ones included."""
        with self.lock:
            return sorted(
                {
                    c.name
                    for c in self.calls
                    if c.kind == "create_adapter" and c.model == base_id and c.name is not None
                }
            )

    def install(self, registry: Registry | None = None) -> ScriptedProvider:
        """Make this provider available, as if a distribution had installed it.

        Without ``registry`` it is registered in-process with
        :func:`tuneplug.plugins.register`, so every registry finds it — after
        ``tuneplug.plugins.reset()``, with any ``TUNEPLUG_PLUGINS`` filter (which
        may exclude it like any provider), in ``tuneplug plugins`` — until
        :meth:`uninstall`. With ``registry`` it is registered into that one only
        (``Registry.register``), for embedding.
        """
        if registry is not None:
            registry.register(self.name, self.plugin, distribution=DISTRIBUTION)
            return self
        from tuneplug.plugins import register

        register(self.name, self.plugin, distribution=DISTRIBUTION)
        return self

    def uninstall(self) -> None:
        """Undo :meth:`install` (without ``registry``)."""
        from tuneplug.plugins import unregister

        unregister(self.name)

    def __enter__(self) -> ScriptedProvider:
        """``with ScriptedProvider(...) as provider:`` installs it for the block."""
        return self.install()

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    # -- behaviour behind the hooks --------------------------------------------------

    def _record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def _live(self, model: ModelInfo) -> ScriptedModel:
        found = self.find(model.id)
        if found is None:
            # In memory, as every local failure: no HTTP status to claim.
            raise ModelNotFoundError(f"no model {model.id!r}", provider=self.name)
        return found

    def _reply(
        self,
        kind: str,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None,
    ) -> Reply:
        conversation = None if messages is None else tuple(messages)
        call = Call(kind, model.id, self.name, prompt=prompt, messages=conversation,
                    options=options)  # fmt: skip
        self._record(call)
        return self._live(model)._next_reply(call)

    def _pieces(
        self, reply: Reply, stop: tuple[str, ...]
    ) -> tuple[list[str | BaseException], bool]:
        """The reply's parts, cut at the first stop sequence; and whether it was cut."""
        text = "".join(p for p in reply.parts if isinstance(p, str))
        cut = first_stop(text, stop) if stop else None
        if cut is None:
            return list(reply.parts), False
        kept: list[str | BaseException] = []
        left = cut
        for part in reply.parts:
            if left <= 0:
                break
            if isinstance(part, str):
                kept.append(part[:left])
                left -= len(part)
            else:
                kept.append(part)
        return kept, True

    def _usage(self, reply: Reply, prompt: str, text: str) -> Usage:
        return Usage(
            prompt_tokens=reply.prompt_tokens
            if reply.prompt_tokens is not None
            else len(prompt.split()),
            completion_tokens=reply.completion_tokens
            if reply.completion_tokens is not None
            else len(text.split()),
        )

    def complete(
        self,
        kind: str,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None = None,
    ) -> Completion:
        """Answer one completion or chat call (``kind`` and ``messages`` are recorded)."""
        reply = self._reply(kind, model, prompt, options, messages)
        pieces, stopped = self._pieces(reply, options.stop)
        for piece in pieces:
            if isinstance(piece, BaseException):
                raise piece
        text = "".join(p for p in pieces if isinstance(p, str))
        return Completion(
            text=text,
            finish_reason="stop" if stopped else reply.finish_reason,
            model=model.id,
            provider=self.name,
            usage=self._usage(reply, prompt, text),
        )

    def stream(
        self,
        kind: str,
        model: ModelInfo,
        prompt: str,
        options: CompletionOptions,
        messages: list[Message] | None = None,
    ) -> Iterator[StreamChunk]:
        """Answer one streaming call: errors before the first chunk raise here."""
        reply = self._reply(kind, model, prompt, options, messages)
        pieces, stopped = self._pieces(reply, options.stop)
        finish = "stop" if stopped else reply.finish_reason
        text = "".join(p for p in pieces if isinstance(p, str))
        usage = self._usage(reply, prompt, text)

        def generate() -> Iterator[StreamChunk]:
            if not pieces:
                yield StreamChunk(text="", finish_reason=finish, usage=usage)
            for index, piece in enumerate(pieces):
                if isinstance(piece, BaseException):
                    raise piece
                last = index == len(pieces) - 1
                yield StreamChunk(
                    text=piece,
                    finish_reason=finish if last else None,
                    usage=usage if last else None,
                )

        return generate()

    def create_adapter(
        self, base: ModelInfo, name: str, rank: int | None, learning_rate: float | None
    ) -> ModelInfo:
        """Create adapter ``name`` (its id) on the declared base model ``base``."""
        self._record(
            Call("create_adapter", base.id, self.name, name=name, rank=rank,
                 learning_rate=learning_rate)
        )  # fmt: skip
        parent = self._live(base)
        with self.lock:
            if name in self._models:
                raise InvalidRequestError(
                    f"a model with id {name!r} already exists", provider=self.name
                )
            info = ModelInfo(
                id=name,
                provider=self.name,
                name=name,
                kind=ModelKind.ADAPTER,
                base_model_id=base.id,
                capabilities=self.capabilities,
            )
            self._models[name] = ScriptedModel(self, info, base=parent)
        return info

    def fine_tune(self, kind: str, model: ModelInfo, samples: list[Sample]) -> FineTuneResult:
        """Answer one fine-tuning step of an adapter."""
        call = Call(kind, model.id, self.name, samples=tuple(samples))
        self._record(call)
        target = self._live(model)
        if target.info.kind is not ModelKind.ADAPTER:
            raise CapabilityError(
                f"{model.id!r} is a base model and is never trained in place: "
                "create an adapter first",
                provider=self.name,
            )
        return target._next_result(call)

    def delete_adapter(self, model: ModelInfo) -> None:
        """Delete the adapter ``model``."""
        self._record(Call("delete_adapter", model.id, self.name))
        target = self._live(model)
        if target.info.kind is not ModelKind.ADAPTER:
            raise InvalidRequestError(
                f"{model.id!r} is a base model; only adapters can be deleted", provider=self.name
            )
        with self.lock:
            self._models.pop(model.id, None)
