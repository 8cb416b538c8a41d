"""The :class:`Model` class: a model of one provider, its options and completion.

Chat is :class:`tuneplug.chat.ChatMixin`; adapters and fine-tuning are
:class:`tuneplug.models.tuning.TuningMixin`.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from tuneplug import calls
from tuneplug.chat import ChatMixin
from tuneplug.chat_templates import ChatTemplate
from tuneplug.errors import InvalidRequestError, NotFoundError
from tuneplug.model_origin import located, located_astream, located_stream
from tuneplug.models.options_cache import OptionsCache, handed_out
from tuneplug.models.tuning import TuningMixin, training_steps
from tuneplug.options import DeclaredOptions, build_options, declared_options
from tuneplug.provider import Provider
from tuneplug.text import check_text
from tuneplug.types import (
    Capability,
    Completion,
    CompletionOptions,
    ModelInfo,
    StreamChunk,
)

__all__ = ["Model"]


class Model(ChatMixin, TuningMixin):
    """A model of one provider, with default options. Obtain one with :func:`get_model`.

    Completion (``complete``, ``acomplete``, ``stream``, ``astream``), chat
    (``chat``, ``achat``, ``stream_chat``, ``astream_chat``: see
    :class:`tuneplug.chat.ChatMixin`) and fine-tuning (``create_adapter``,
    ``fine_tune``, ``afine_tune``, ``delete``).

    ``defaults`` holds the options of every call (a call's keywords override them): the
    model's own dict, so changing it changes the calls after it, and changing the values
    given to :func:`get_model` does not.
    """

    def __init__(
        self,
        info: ModelInfo,
        provider: Provider,
        defaults: Mapping[str, Any] | None = None,
        *,
        declared: DeclaredOptions | None = None,
        origin: str | None = None,
    ) -> None:
        self.info = provider.model_info(info)
        self.provider = provider
        self.origin = origin
        """Where the model's name came from, as the prefix of an error (``TUNEPLUG_MODEL``,
        ``tuneplug.toml:9: [models.qa] model``); ``None``: given by the caller. A
        server's "no such model" names it (:mod:`tuneplug.model_origin`)."""
        # The model's own copy: the caller's dicts and lists, changed later, are not in it.
        self.defaults = copy.deepcopy(dict(defaults or {}))
        self.declared = declared_options(provider, info) if declared is None else declared
        """The provider-specific options this model declares (``tuneplug_options``)."""
        # Validated once: the options of a call without options are these, until `defaults`
        # (a public dict) changes. A config reload or a plugin's new option defaults need
        # no check: a Model is a snapshot of both (get_model reads them anew each time).
        self._default_options = self._built_defaults()
        self._options = OptionsCache(self._build_options)
        self._chat_template: ChatTemplate | None = None

    def __repr__(self) -> str:
        return f"<Model {self.ref} kind={self.info.kind.value}>"

    @property
    def ref(self) -> str:
        """``provider/id``: pass it to :func:`get_model` to get this model back."""
        return self.info.ref

    @property
    def id(self) -> str:
        """The provider's id of this model."""
        return self.info.id

    @property
    def name(self) -> str:
        """The model's display name."""
        return self.info.name

    @property
    def revision(self) -> str:
        """Changes whenever this model's weights may have: ``<updated_at>+<steps>``.

        ``updated_at`` is what the provider said when the model was resolved (it
        covers training by other processes before then, where the provider reports
        it); ``steps`` counts the fine-tuning steps this process applied since.
        Caches keyed on a model (LangChain's) include it.
        """
        stamp = self.info.updated_at or ""
        return f"{stamp}+{training_steps(self.ref)}"

    # -- options -------------------------------------------------------------------

    def _build_options(self, values: Mapping[str, Any]) -> CompletionOptions:
        return build_options(values, self.provider.name, self.declared)

    def _built_defaults(self) -> tuple[dict[str, Any], CompletionOptions]:
        # A deep copy of what they were built from, so a list changed in place is seen too;
        # handed out: the options must not share `defaults`' dicts (changed later).
        return copy.deepcopy(self.defaults), handed_out(self._build_options(self.defaults))

    def options(self, **overrides: Any) -> CompletionOptions:
        """The options a call with ``overrides`` would use (validated, no I/O)."""
        if overrides:
            return self._options.get({**self.defaults, **overrides})
        built_from, options = self._default_options
        if self.defaults != built_from:  # changed since (`model.defaults["stop"] = ...`)
            self._default_options = self._built_defaults()
            options = self._default_options[1]
        return handed_out(options)

    def _prepare(self, prompt: str, overrides: dict[str, Any]) -> CompletionOptions:
        self.provider.require(Capability.COMPLETE, "complete")
        if not isinstance(prompt, str) or not prompt:
            raise InvalidRequestError(
                "prompt must be a non-empty string", provider=self.provider.name
            )
        if not prompt.isascii():
            check_text(prompt, "the prompt")
        return self.options(**overrides)

    # -- completion ----------------------------------------------------------------

    def complete(self, prompt: str, **options: Any) -> Completion:
        """Complete ``prompt``; keyword options override the model's defaults."""
        opts = self._prepare(prompt, options)
        try:
            return calls.complete(self.provider, self.info, prompt, opts, None)
        except NotFoundError as exc:
            if (found := located(exc, self.origin)) is None:
                raise
            raise found from None

    async def acomplete(self, prompt: str, **options: Any) -> Completion:
        """Async :meth:`complete`: native when the provider has it, else in a worker thread."""
        opts = self._prepare(prompt, options)
        try:
            return await calls.acomplete(self.provider, self.info, prompt, opts, None)
        except NotFoundError as exc:
            if (found := located(exc, self.origin)) is None:
                raise
            raise found from None

    def stream(self, prompt: str, **options: Any) -> Iterator[StreamChunk]:
        """Yield the completion in chunks (validated before the first chunk is requested)."""
        opts = self._prepare(prompt, options)
        chunks = calls.stream(self.provider, self.info, prompt, opts, None)
        return chunks if self.origin is None else located_stream(chunks, self.origin)

    def astream(self, prompt: str, **options: Any) -> AsyncIterator[StreamChunk]:
        """Async :meth:`stream`: native when the provider has it, else driven from a thread."""
        opts = self._prepare(prompt, options)
        chunks = calls.astream(self.provider, self.info, prompt, opts, None)
        return chunks if self.origin is None else located_astream(chunks, self.origin)

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What this model can do: its provider's capabilities, narrowed by the model."""
        return self.info.capabilities

    def _training_template(self) -> ChatTemplate:
        # The template the provider says this model was trained with, else the default:
        # the same one chat renders with, so a model trains on what it is asked.
        return self.chat_template
