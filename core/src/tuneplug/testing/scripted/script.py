"""The script of one scripted model (queued answers) and the records of the calls it received.

The leaf of :mod:`tuneplug.testing.scripted`: it imports nothing from the
provider; a :class:`ScriptedModel` knows its provider only as an :class:`Owner`
(a lock and the call journal).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from tuneplug.types import CompletionOptions, FineTuneResult, Message, ModelInfo, Sample

__all__ = [
    "COMPLETION_KINDS",
    "Call",
    "Owner",
    "Reply",
    "Responder",
    "ScriptExhaustedError",
    "ScriptedModel",
]

COMPLETION_KINDS = frozenset({"complete", "acomplete", "stream", "astream"})
"""The :attr:`Call.kind` of completion calls (chat calls among them: see :attr:`Call.messages`)."""


class Owner(Protocol):
    """What a :class:`ScriptedModel` needs of its provider."""

    @property
    def lock(self) -> threading.RLock: ...

    @property
    def calls(self) -> list[Call]: ...

    def adapters_of(self, base_id: str) -> list[str]: ...


class ScriptExhaustedError(AssertionError):
    """The code under test asked for more answers than the test scripted."""


@dataclass(frozen=True)
class Call:
    """One call the scripted provider received.

    Attributes:
        kind: ``complete``, ``acomplete``, ``stream``, ``astream``,
            ``create_adapter``, ``fine_tune``, ``afine_tune`` or ``delete_adapter``.
        model: the id of the model called (an adapter's id for adapter calls; the
            base model's for ``create_adapter``).
        provider: the provider name (``scripted``).
        prompt: the prompt of a completion; for a chat call, the conversation
            rendered through the default chat template.
        messages: the conversation of a chat call (``Model.chat`` and its
            forms), ``None`` for a plain completion.
        options: the validated options of a completion; provider-specific ones
            are in ``options.extra``.
        samples: the samples of a fine-tuning step.
        name, rank, learning_rate: the arguments of ``create_adapter``.
    """

    kind: str
    model: str
    provider: str
    prompt: str | None = None
    messages: tuple[Message, ...] | None = None
    options: CompletionOptions | None = None
    samples: tuple[Sample, ...] = ()
    name: str | None = None
    rank: int | None = None
    learning_rate: float | None = None

    @property
    def ref(self) -> str:
        """``provider/model`` of the model called."""
        return f"{self.provider}/{self.model}"

    @property
    def extra(self) -> dict[str, Any]:
        """The provider-specific options of a completion (``{}`` otherwise)."""
        return dict(self.options.extra) if self.options is not None else {}


@dataclass(frozen=True)
class Reply:
    """One queued answer: text parts (errors among them are raised mid-stream)."""

    parts: tuple[str | BaseException, ...]
    finish_reason: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


Responder = Callable[[Call], str]
"""Computes the text of a completion from the call, when nothing is queued."""


@dataclass
class ScriptedModel:
    """The script of one model of a :class:`ScriptedProvider`. Methods chain.

    Get one from :meth:`ScriptedProvider.model` (or the ``scripted_model`` fixture).
    """

    provider: Owner
    info: ModelInfo
    base: ScriptedModel | None = None
    _replies: deque[Reply | BaseException] = field(default_factory=deque, repr=False)
    _results: deque[FineTuneResult | BaseException] = field(default_factory=deque, repr=False)
    _responder: Responder | None = field(default=None, repr=False)

    @property
    def ref(self) -> str:
        """What ``tuneplug.get_model`` takes: ``scripted/<id>``."""
        return self.info.ref

    @property
    def id(self) -> str:
        """The model id."""
        return self.info.id

    # -- scripting -------------------------------------------------------------------

    def respond(
        self,
        *texts: str,
        finish_reason: str = "stop",
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
    ) -> ScriptedModel:
        """Queue one completion per text. Streamed, a text is one chunk.

        Usage defaults to whitespace-separated word counts of prompt and text.
        """
        with self.provider.lock:
            for text in texts:
                self._replies.append(
                    Reply((text,), finish_reason, prompt_tokens, completion_tokens)
                )
        return self

    def respond_stream(
        self, *chunks: str | BaseException, finish_reason: str = "stop"
    ) -> ScriptedModel:
        """Queue one completion given as chunks; an exception among them is raised
        mid-stream, after the chunks before it. ``complete`` joins the chunks."""
        with self.provider.lock:
            self._replies.append(Reply(tuple(chunks), finish_reason))
        return self

    def fail(self, *errors: BaseException) -> ScriptedModel:
        """Queue errors: each of the next completions raises one (use tuneplug errors,
        e.g. ``RateLimitError("slow down", provider="scripted")``)."""
        with self.provider.lock:
            self._replies.extend(errors)
        return self

    def respond_with(self, responder: Responder | None) -> ScriptedModel:
        """Answer completions with ``responder(call)`` whenever nothing is queued."""
        self._responder = responder
        return self

    def fine_tune_result(self, trainable_tokens: int, sum_loss: float) -> ScriptedModel:
        """Queue what the next fine-tuning step (of this model's adapters) reports."""
        result = FineTuneResult(trainable_tokens=trainable_tokens, sum_loss=sum_loss)
        with self.provider.lock:
            self._results.append(result)
        return self

    def fail_fine_tune(self, *errors: BaseException) -> ScriptedModel:
        """Queue errors for the next fine-tuning steps."""
        with self.provider.lock:
            self._results.extend(errors)
        return self

    # -- assertions ------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Calls to this model and to the adapters created on it, oldest first."""
        mine = {self.id, *self.provider.adapters_of(self.id)}
        return [c for c in self.provider.calls if c.model in mine]

    @property
    def completions(self) -> list[Call]:
        """The completion calls among :attr:`calls`."""
        return [c for c in self.calls if c.kind in COMPLETION_KINDS]

    @property
    def prompts(self) -> list[str]:
        """The prompts of :attr:`completions`."""
        return [c.prompt for c in self.completions if c.prompt is not None]

    @property
    def conversations(self) -> list[tuple[Message, ...]]:
        """The messages of the chat calls among :attr:`completions`."""
        return [c.messages for c in self.completions if c.messages is not None]

    @property
    def last_call(self) -> Call:
        """The most recent call (``AssertionError`` if there was none)."""
        calls = self.calls
        if not calls:
            raise AssertionError(f"{self.ref} was never called")
        return calls[-1]

    @property
    def pending(self) -> int:
        """How many queued replies and fine-tuning results are still unused."""
        return len(self._replies) + len(self._results)

    def assert_consumed(self) -> None:
        """Fail if some of the script was never used."""
        if self.pending:
            raise AssertionError(
                f"{self.ref}: {len(self._replies)} scripted replies and "
                f"{len(self._results)} fine-tuning results were never used"
            )

    # -- answering (called by the hooks) ---------------------------------------------

    def _next_reply(self, call: Call) -> Reply:
        with self.provider.lock:
            item = self._replies.popleft() if self._replies else None
        if item is None:
            if self._responder is not None:
                return Reply((self._responder(call),), "stop")
            if self.base is not None:
                return self.base._next_reply(call)
            raise ScriptExhaustedError(
                f"{self.ref}: no scripted reply left for {call.kind}(prompt={call.prompt!r}); "
                f"queue one with .respond(...) (calls so far: {len(self.completions)})"
            )
        if isinstance(item, BaseException):
            raise item
        return item

    def _next_result(self, call: Call) -> FineTuneResult:
        with self.provider.lock:
            item = self._results.popleft() if self._results else None
        if item is None:
            if self.base is not None:
                return self.base._next_result(call)
            # Nobody scripted this step: a deterministic, well-formed result.
            words = sum(_trainable_words(sample) for sample in call.samples)
            return FineTuneResult(trainable_tokens=words, sum_loss=2.0 * words)
        if isinstance(item, BaseException):
            raise item
        return item


def _trainable_words(sample: Sample) -> int:
    if isinstance(sample.inputs, str):
        return len(sample.inputs.split())
    return sum(len(part.value.split()) for part in sample.inputs if part.trainable)
