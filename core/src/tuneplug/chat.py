"""Chat requests: validating messages and choosing between native chat and a chat template.

``Model.chat`` (and ``achat``, ``stream_chat``, ``astream_chat``) call the same
completion hooks as ``Model.complete``, with pluggy's opt-in ``messages``
argument (see ``docs/plugins.md``, "The shape of the contract"):

* an implementation that names ``messages`` speaks chat natively and gets the
  conversation as :class:`~tuneplug.types.Message` objects; its ``prompt`` is
  the same conversation rendered through the model's chat template, and the
  user's stop sequences are passed unchanged;
* any other implementation never sees ``messages``: its ``prompt`` is the
  rendered conversation, opened for the assistant's reply, and the template's
  stop sequences (the model starting the next turn) join the user's, so the
  reply ends where the assistant's turn does.

The template is the one ``tuneplug_chat_template`` names for the model, else
:data:`tuneplug.chat_templates.DEFAULT`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from tuneplug import calls
from tuneplug.chat_templates import DEFAULT, ChatTemplate, template
from tuneplug.errors import InvalidRequestError, NotFoundError, PluginLoadError
from tuneplug.model_origin import located, located_astream, located_stream
from tuneplug.stops import trim_end, trim_stream, trim_stream_async
from tuneplug.text import check_text
from tuneplug.types import Capability, CompletionOptions, Message
from tuneplug.validation_words import problem

if TYPE_CHECKING:
    from tuneplug.provider import Provider
    from tuneplug.types import Completion, ModelInfo, StreamChunk

__all__ = [
    "ChatMixin",
    "ChatRequest",
    "chat_template_for",
    "coerce_messages",
    "render",
    "with_template_stops",
]

ChatRequest = tuple[str, list[Message] | None, CompletionOptions]
"""``(prompt, messages or None, options)``: the keyword arguments of one hook call."""


def coerce_messages(messages: Any, provider: str | None = None) -> list[Message]:
    """Validate a conversation: ``Message`` objects or ``{"role", "content"}`` mappings.

    Raises:
        InvalidRequestError: ``messages`` is not a non-empty list (or other
            sequence) of messages, or one of them has an unknown role, no
            content, or an unknown key; the message names the index and field.
    """
    if isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Iterable):
        raise InvalidRequestError(
            "messages must be a list of messages ({'role': ..., 'content': ...} or Message), "
            f"got {type(messages).__name__}",
            provider=provider,
        )
    found: list[Message] = []
    for index, raw in enumerate(messages):
        if isinstance(raw, Message):
            found.append(raw)
            continue
        try:
            found.append(Message.model_validate(raw))
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in err["loc"])
            where = f"messages[{index}]" + (f".{field}" if field else "")
            raise InvalidRequestError(f"{where}: {problem(err)}", provider=provider) from None
    if not found:
        raise InvalidRequestError("messages must not be empty", provider=provider)
    for index, message in enumerate(found):
        if not message.content.isascii():
            try:
                check_text(message.content, f"messages[{index}].content")
            except InvalidRequestError as exc:
                exc.provider = provider
                raise
    return found


def chat_template_for(provider: Provider, model: ModelInfo) -> ChatTemplate:
    """The chat template of ``model``: the provider's (``tuneplug_chat_template``), or ``default``.

    Raises:
        PluginLoadError: the provider names a template that does not exist.
    """
    if not provider.has("tuneplug_chat_template"):
        return DEFAULT
    supplied = provider.call("tuneplug_chat_template", model=model)
    if supplied is None:
        return DEFAULT
    try:
        return template(supplied)
    except InvalidRequestError as exc:
        raise PluginLoadError(f"tuneplug_chat_template: {exc}", provider=provider.name) from None


def render(chat: ChatTemplate, messages: list[Message]) -> str:
    """The prompt for ``messages`` in ``chat``'s layout, opened for the assistant's reply."""
    return chat.render((m.role, m.content) for m in messages)


def with_template_stops(options: CompletionOptions, chat: ChatTemplate) -> CompletionOptions:
    """``options`` whose stop sequences also end the reply where the template's next turn
    would begin (the user's come first; duplicates are dropped)."""
    extra = tuple(s for s in chat.stop if s not in options.stop)
    if not extra:
        return options
    # Both sides were validated (non-empty strings): no need to validate again.
    return options.model_copy(update={"stop": (*options.stop, *extra)})


class ChatMixin:
    """The chat methods of :class:`tuneplug.models.Model`."""

    if TYPE_CHECKING:  # provided by Model
        info: ModelInfo
        provider: Provider
        origin: str | None
        _chat_template: ChatTemplate | None

        def options(self, **overrides: Any) -> CompletionOptions: ...

    @property
    def chat_template(self) -> ChatTemplate:
        """The template a chat is rendered with for a provider without native chat
        (the provider's ``tuneplug_chat_template``, else ``default``; asked once)."""
        found = self._chat_template
        if found is None:
            found = self._chat_template = chat_template_for(self.provider, self.info)
        return found

    def _chat(self, hook: str, messages: Any, overrides: dict[str, Any]) -> ChatRequest:
        self.provider.require(Capability.COMPLETE, "chat")
        conversation = coerce_messages(messages, self.provider.name)
        opts = self.options(**overrides)
        chat = self.chat_template
        prompt = render(chat, conversation)
        if self.provider.accepts(hook, "messages"):
            return prompt, conversation, opts
        if overrides:
            return prompt, None, with_template_stops(opts, chat)
        # The common call (no overrides): the merged options are the same every time.
        merged = self.__dict__.get("_templated_defaults")
        if merged is None:
            merged = self.__dict__["_templated_defaults"] = with_template_stops(opts, chat)
        return prompt, None, merged

    def chat(self, messages: Sequence[Message | Mapping[str, Any]], **options: Any) -> Completion:
        """Answer a conversation: the assistant's next turn as a :class:`Completion`.

        ``messages`` are :class:`~tuneplug.types.Message` objects or
        ``{"role": "system" | "user" | "assistant", "content": str}`` mappings,
        oldest first (OpenAI's chat format). Options are those of :meth:`complete`.
        A provider that speaks chat natively gets the messages; any other gets
        them rendered through the model's :attr:`chat_template`, whose stop
        sequences are added to ``stop`` so the reply ends with the assistant's
        turn, and the turn's end marker (the template's ``assistant_suffix``, or
        the start of it) is not part of the reply.

        Raises:
            InvalidRequestError: (before any I/O) ``messages`` is empty or holds
                an invalid message, or an option is invalid.
        """
        prompt, conversation, opts = self._chat(calls.COMPLETE, messages, options)
        try:
            done = calls.complete(self.provider, self.info, prompt, opts, conversation)
        except NotFoundError as exc:
            if (found := located(exc, self.origin)) is None:
                raise
            raise found from None
        return done if conversation is not None else self._trim(done)

    async def achat(
        self, messages: Sequence[Message | Mapping[str, Any]], **options: Any
    ) -> Completion:
        """Async :meth:`chat`: native when the provider has it, else in a worker thread."""
        hook = calls.acomplete_hook(self.provider)
        prompt, conversation, opts = self._chat(hook, messages, options)
        try:
            done = await calls.acomplete(self.provider, self.info, prompt, opts, conversation)
        except NotFoundError as exc:
            if (found := located(exc, self.origin)) is None:
                raise
            raise found from None
        return done if conversation is not None else self._trim(done)

    def stream_chat(
        self, messages: Sequence[Message | Mapping[str, Any]], **options: Any
    ) -> Iterator[StreamChunk]:
        """:meth:`chat` in chunks; the last carries ``finish_reason`` (validated at the call)."""
        hook = calls.stream_hook(self.provider)
        prompt, conversation, opts = self._chat(hook, messages, options)
        chunks = calls.stream(self.provider, self.info, prompt, opts, conversation)
        if self.origin is not None:
            chunks = located_stream(chunks, self.origin)
        end = self.chat_template.assistant_suffix
        return chunks if conversation is not None or not end else trim_stream(chunks, end)

    def astream_chat(
        self, messages: Sequence[Message | Mapping[str, Any]], **options: Any
    ) -> AsyncIterator[StreamChunk]:
        """Async :meth:`stream_chat`: native when the provider has it, else from a thread."""
        hook = calls.astream_hook(self.provider)
        prompt, conversation, opts = self._chat(hook, messages, options)
        chunks = calls.astream(self.provider, self.info, prompt, opts, conversation)
        if self.origin is not None:
            chunks = located_astream(chunks, self.origin)
        end = self.chat_template.assistant_suffix
        return chunks if conversation is not None or not end else trim_stream_async(chunks, end)

    def _trim(self, done: Completion) -> Completion:
        # A reply through a template may end with the turn's end marker: not what was said.
        text = trim_end(done.text, self.chat_template.assistant_suffix)
        return done if text == done.text else done.model_copy(update={"text": text})
