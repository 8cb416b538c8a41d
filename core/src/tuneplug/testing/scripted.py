"""A provider whose answers a test scripts, and which records every call.

:class:`ScriptedProvider` is an ordinary tuneplug provider plugin (hook
implementations on an object, see :mod:`tuneplug.testing.scripted_hooks`),
installed in-process under the name ``scripted`` as if a distribution had
declared it (see :mod:`tuneplug.testing.exposure`). The code under test
reaches it the way it reaches any provider — ``tuneplug.get_model("scripted/default")``,
or unchanged code with ``TUNEPLUG_MODEL=scripted/default`` — so nothing in that
code changes for the test. The ``scripted_model`` fixture does all of that::

    def test_summary(scripted_model):
        scripted_model.respond("Paris")
        assert my_app.capital_of("France") == "Paris"    # calls tuneplug.get_model()
        call = scripted_model.last_call
        assert "France" in call.prompt and call.options.max_tokens == 5

Per model, completions (``complete``, ``acomplete``, ``stream``, ``astream``)
take the next queued reply: a text (:meth:`ScriptedModel.respond`), a streamed
reply (:meth:`ScriptedModel.respond_stream`) or an error
(:meth:`ScriptedModel.fail`). Fine-tuning steps take the next queued result
(:meth:`ScriptedModel.fine_tune_result`) or compute a deterministic one. An
adapter created on a model answers from its own queue first, then from its base
model's, so "answer wrongly, fine-tune, answer rightly" is three lines of script.
An empty queue is a loud :class:`ScriptExhaustedError`, never a made-up answer.

Like a real provider it honours stop sequences, rejects unknown models with
``UnknownModelError`` and deleted adapters with ``NotFoundError``, and (when
given ``extra_options``) validates provider options before answering.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from tuneplug.errors import CapabilityError, InvalidRequestError, NotFoundError
from tuneplug.testing import exposure
from tuneplug.testing.scripted_hooks import CompleterHooks, FineTunableHooks
from tuneplug.testing.scripted_model import (
    COMPLETION_KINDS,
    Call,
    Reply,
    ScriptedModel,
    ScriptExhaustedError,
)
from tuneplug.types import (
    Capability,
    Completion,
    CompletionOptions,
    FineTuneResult,
    ModelInfo,
    ModelKind,
    Sample,
    StreamChunk,
    Usage,
)

if TYPE_CHECKING:
    from tuneplug.plugins import Registry

__all__ = [
    "COMPLETION_KINDS",
    "DEFAULT_MODEL",
    "DEFAULT_PROVIDER",
    "Call",
    "ScriptExhaustedError",
    "ScriptedModel",
    "ScriptedProvider",
]

DEFAULT_PROVIDER = "scripted"
DEFAULT_MODEL = "default"


def _cut_at_stop(text: str, stop: tuple[str, ...]) -> int | None:
    """Where the first stop sequence starts in ``text``, or ``None``."""
    hits = [i for i in (text.find(s) for s in stop) if i >= 0]
    return min(hits) if hits else None


class ScriptedProvider:
    """An in-process provider plugin driven by a test's script.

    Args:
        name: the provider name models are referred to by (``scripted/<model>``).
        fine_tunable: implement the FineTunable hooks (default) or only Completer,
            to test how code copes with a provider that cannot fine-tune.
        extra_options: provider-specific option names to accept; any other is an
            ``InvalidRequestError``. ``None`` (the default) accepts and records all.
    """

    def __init__(
        self,
        name: str = DEFAULT_PROVIDER,
        *,
        fine_tunable: bool = True,
        extra_options: Iterable[str] | None = None,
    ) -> None:
        self.name = name
        self.fine_tunable = fine_tunable
        self.extra_options = None if extra_options is None else frozenset(extra_options)
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
        """What the provider's hooks give it."""
        if self.fine_tunable:
            return frozenset({Capability.COMPLETE, Capability.FINE_TUNE})
        return frozenset({Capability.COMPLETE})

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

        Without ``registry`` it joins the ``tuneplug`` entry-point group as
        tuneplug sees it, so every registry finds it — after
        ``tuneplug.plugins.reset()``, with any ``TUNEPLUG_PLUGINS`` filter (which
        may exclude it like any provider), in ``tuneplug plugins`` — until
        :meth:`uninstall`. With ``registry`` it is registered into that one only
        (``Registry.register``), for embedding.
        """
        if registry is not None:
            registry.register(self.name, self.plugin, distribution=exposure.DISTRIBUTION)
            return self
        exposure.expose(self)
        return self

    def uninstall(self) -> None:
        """Undo :meth:`install` (without ``registry``)."""
        exposure.withdraw(self)

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
            raise NotFoundError(f"no model {model.id!r}", provider=self.name, status=404)
        return found

    def _check(self, options: CompletionOptions) -> None:
        if self.extra_options is None:
            return
        unknown = sorted(set(options.extra) - self.extra_options)
        if unknown:
            accepted = ", ".join(sorted(self.extra_options)) or "none"
            raise InvalidRequestError(
                f"unknown option(s) {', '.join(unknown)} (accepted: {accepted})",
                provider=self.name,
            )

    def _reply(self, kind: str, model: ModelInfo, prompt: str, options: CompletionOptions) -> Reply:
        call = Call(kind, model.id, self.name, prompt=prompt, options=options)
        self._record(call)
        self._check(options)
        return self._live(model)._next_reply(call)

    def _pieces(
        self, reply: Reply, stop: tuple[str, ...]
    ) -> tuple[list[str | BaseException], bool]:
        """The reply's parts, cut at the first stop sequence; and whether it was cut."""
        text = "".join(p for p in reply.parts if isinstance(p, str))
        cut = _cut_at_stop(text, stop)
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
        self, kind: str, model: ModelInfo, prompt: str, options: CompletionOptions
    ) -> Completion:
        """Answer one completion call (``kind`` is recorded)."""
        reply = self._reply(kind, model, prompt, options)
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
        self, kind: str, model: ModelInfo, prompt: str, options: CompletionOptions
    ) -> Iterator[StreamChunk]:
        """Answer one streaming call: errors before the first chunk raise here."""
        reply = self._reply(kind, model, prompt, options)
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
                    f"a model with id {name!r} already exists", provider=self.name, status=409
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
