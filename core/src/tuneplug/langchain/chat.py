"""``TuneplugChat``: a LangChain chat model over any tuneplug (completion) model.

Messages go to ``Model.chat``: a provider that speaks chat natively gets them as
messages; any other gets them rendered through the model's chat template (the one
the provider supplies, else ``default``), the reply cut where the model starts
another turn. An explicit ``chat_template`` renders them here instead, for any
provider. The caller's ``stop`` sequences apply either way.

What it does not do, it declares rather than fakes: there is no tool calling
(``bind_tools`` is LangChain's ``NotImplementedError``), so no structured output
or JSON mode either, and messages carry text only (an image, audio or file
block, or a tool message, is an ``InvalidRequestError``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import field_validator

from tuneplug.chat_templates import ChatTemplate, Role, template
from tuneplug.errors import InvalidRequestError
from tuneplug.langchain._common import TuneplugFields, usage_info

if TYPE_CHECKING:
    from tuneplug.models import Model
    from tuneplug.types import Completion, Message, StreamChunk, Usage


__all__ = ["TuneplugChat"]

_ROLES: Mapping[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
}


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        else:
            raise InvalidRequestError(
                f"TuneplugChat takes text only; got a content block of type {block.get('type')!r}"
            )
    return "".join(parts)


def _role(message: BaseMessage) -> Role:
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, HumanMessage):
        return "user"
    if isinstance(message, AIMessage):
        if message.tool_calls:
            raise InvalidRequestError("TuneplugChat has no tool calling; got an AI tool call")
        return "assistant"
    if isinstance(message, ChatMessage) and message.role in _ROLES:
        return _ROLES[message.role]
    raise InvalidRequestError(
        f"TuneplugChat cannot render a message of type {message.type!r} (no tool calling; "
        f"roles: system, user, assistant)"
    )


def _usage_metadata(usage: Usage | None) -> UsageMetadata | None:
    counts = usage_info(usage)
    if counts is None:
        return None
    return UsageMetadata(
        input_tokens=counts["prompt_tokens"],
        output_tokens=counts["completion_tokens"],
        total_tokens=counts["total_tokens"],
    )


class TuneplugChat(TuneplugFields, BaseChatModel):
    """A LangChain chat model for any tuneplug model: ``TuneplugChat(model="mock/tiny")``.

    The constructor is :class:`~tuneplug.langchain.TuneplugLLM`'s plus
    ``chat_template`` (a :class:`ChatTemplate` or the name of a shipped one:
    ``default``, ``qa``, ``chatml``). Replies carry ``usage_metadata`` when the
    provider reports token counts and ``response_metadata`` with ``model_name``
    (the resolved ``provider/id``) and ``finish_reason``.
    """

    chat_template: ChatTemplate | str | None = None
    """How messages become a prompt; ``None``: the provider's template, else ``default``."""

    @field_validator("chat_template")
    @classmethod
    def _known_template(cls, value: ChatTemplate | str | None) -> ChatTemplate | str | None:
        if isinstance(value, str):
            template(value)  # an unknown name fails here, not at the first call
        return value

    @property
    def _llm_type(self) -> str:
        return "tuneplug-chat"

    @property
    def _identifying_params(self) -> Mapping[str, Any]:
        identity = dict(self._binding().identity())
        if self.chat_template is not None:
            identity["chat_template"] = template(self.chat_template)
        return identity

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return self._ls_base("chat", stop, kwargs)

    # -- prompt ----------------------------------------------------------------------

    def _prepare(
        self, messages: Sequence[BaseMessage], stop: list[str] | None, kwargs: Mapping[str, Any]
    ) -> tuple[Model, list[Message] | str, dict[str, Any]]:
        """The model, what to send (messages, or a prompt rendered here) and the options."""
        from tuneplug.types import Message

        model, options = self._binding().call(stop, kwargs)
        turns = [(_role(m), _text(m)) for m in messages]
        if self.chat_template is None:
            # The model's own way: native chat, else its template (Model.chat decides).
            return model, [Message(role=r, content=t) for r, t in turns], options
        chat = template(self.chat_template)
        # The caller's stops first, then where the template's next turn would begin.
        options["stop"] = (*options.get("stop", ()), *chat.stop)
        return model, chat.render(turns), options

    def _template_for(self, model: Model) -> ChatTemplate:
        """The template messages are rendered with: the explicit one, else the model's own
        (used by ``Model.chat`` when the provider has no native chat)."""
        if self.chat_template is not None:
            return template(self.chat_template)
        return model.chat_template

    @staticmethod
    def _complete(
        model: Model, request: list[Message] | str, options: dict[str, Any]
    ) -> Completion:
        if isinstance(request, str):
            return model.complete(request, **options)
        return model.chat(request, **options)

    @staticmethod
    async def _acomplete(
        model: Model, request: list[Message] | str, options: dict[str, Any]
    ) -> Completion:
        if isinstance(request, str):
            return await model.acomplete(request, **options)
        return await model.achat(request, **options)

    @staticmethod
    def _stream_of(
        model: Model, request: list[Message] | str, options: dict[str, Any]
    ) -> Iterator[StreamChunk]:
        if isinstance(request, str):
            return model.stream(request, **options)
        return model.stream_chat(request, **options)

    @staticmethod
    def _astream_of(
        model: Model, request: list[Message] | str, options: dict[str, Any]
    ) -> AsyncIterator[StreamChunk]:
        if isinstance(request, str):
            return model.astream(request, **options)
        return model.astream_chat(request, **options)

    @staticmethod
    def _metadata(model: Model, finish_reason: str) -> dict[str, Any]:
        return {"model_name": model.ref, "finish_reason": finish_reason}

    # -- sync ------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        model, request, options = self._prepare(messages, stop, kwargs)
        done = self._complete(model, request, options)
        return self._result(model, done.text, done.finish_reason, done.usage)

    def _result(self, model: Model, text: str, finish_reason: str, usage: Usage) -> ChatResult:
        message = AIMessage(
            content=text,
            response_metadata=self._metadata(model, finish_reason),
            usage_metadata=_usage_metadata(usage),
        )
        output: dict[str, Any] = {"model_name": model.ref}
        counts = usage_info(usage)
        if counts is not None:
            output["token_usage"] = counts
        info = {"finish_reason": finish_reason}
        generation = ChatGeneration(message=message, generation_info=info)
        return ChatResult(generations=[generation], llm_output=output)

    def _chunk(self, model: Model, piece: StreamChunk) -> ChatGenerationChunk:
        # BaseChatModel reports each chunk to on_llm_new_token itself.
        if piece.finish_reason is None:
            return ChatGenerationChunk(message=AIMessageChunk(content=piece.text))
        message = AIMessageChunk(
            content=piece.text,
            chunk_position="last",
            response_metadata=self._metadata(model, piece.finish_reason),
            usage_metadata=_usage_metadata(piece.usage),
        )
        return ChatGenerationChunk(
            message=message, generation_info={"finish_reason": piece.finish_reason}
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        model, request, options = self._prepare(messages, stop, kwargs)
        for piece in self._stream_of(model, request, options):
            yield self._chunk(model, piece)

    # -- async -----------------------------------------------------------------------

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        model, request, options = self._prepare(messages, stop, kwargs)
        done = await self._acomplete(model, request, options)
        return self._result(model, done.text, done.finish_reason, done.usage)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        model, request, options = self._prepare(messages, stop, kwargs)
        async for piece in self._astream_of(model, request, options):
            yield self._chunk(model, piece)
