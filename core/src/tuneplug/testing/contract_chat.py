"""The chat and declared-options tests every contract suite runs (:mod:`tuneplug.testing.contract`).

A provider passes them unchanged whether it speaks chat natively (its completion
hooks name ``messages``) or not (the core renders the messages through its chat
template): that is the point of the opt-in ``messages`` argument.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from tuneplug.errors import InvalidRequestError
from tuneplug.models import Model
from tuneplug.options import COMMON_OPTIONS, option_rows
from tuneplug.stops import trim_end
from tuneplug.testing.guard import no_network
from tuneplug.types import Capability, Completion, StreamChunk

__all__ = ["ChatTests"]

BAD_CONVERSATIONS: tuple[Any, ...] = (
    [],
    [{"role": "robot", "content": "hi"}],
    [{"role": "user"}],
    "What NFL team won the Super Bowl in 1994?",
)


def _drain(chunks: AsyncIterator[StreamChunk]) -> list[StreamChunk]:
    async def run() -> list[StreamChunk]:
        return [chunk async for chunk in chunks]

    return asyncio.run(run())


class ChatTests:
    """``chat`` / ``achat`` / ``stream_chat`` / ``astream_chat`` and the options a model lists.

    A mixin of the suites: the configuration and helpers are
    :class:`~tuneplug.testing.contract_complete.ProviderContract`'s.

    Optional class attribute:
        chat_messages: the conversation every chat test sends
            [a user asking the seed question].
    """

    chat_messages: ClassVar[list[dict[str, str]]] = [
        {"role": "user", "content": "What NFL team won the Super Bowl in 1994?"}
    ]

    if TYPE_CHECKING:  # provided by ProviderContract
        provider: ClassVar[str]
        prompt: ClassVar[str]
        max_tokens: ClassVar[int]
        deterministic: ClassVar[bool]
        unknown_option: ClassVar[str | None]
        provider_options: ClassVar[dict[str, Any]]

        def check_completion(self, done: Completion, model: Model) -> None: ...

        def check_chunks(self, chunks: list[StreamChunk]) -> str: ...

    def _chat(self, model: Model) -> Completion:
        return model.chat(self.chat_messages, max_tokens=self.max_tokens)

    def test_chat(self, model: Model) -> None:
        self.check_completion(self._chat(model), model)

    def test_achat(self, model: Model) -> None:
        done = asyncio.run(model.achat(self.chat_messages, max_tokens=self.max_tokens))
        self.check_completion(done, model)
        if self.deterministic:
            assert done.text == self._chat(model).text

    def test_stream_chat(self, model: Model) -> None:
        chunks = list(model.stream_chat(self.chat_messages, max_tokens=self.max_tokens))
        text = self.check_chunks(chunks)
        if self.deterministic:
            assert text == self._chat(model).text

    def test_astream_chat(self, model: Model) -> None:
        chunks = _drain(model.astream_chat(self.chat_messages, max_tokens=self.max_tokens))
        text = self.check_chunks(chunks)
        if self.deterministic:
            assert text == self._chat(model).text

    def test_chat_is_native_or_goes_through_the_template(self, model: Model) -> None:
        native = model.provider.accepts("tuneplug_complete", "messages")
        assert (Capability.CHAT in model.provider.capabilities) == native
        if native or not self.deterministic:
            self.check_completion(self._chat(model), model)
            return
        # Without native chat, a chat is exactly a completion of the rendered prompt,
        # ended where the template's next turn would begin, without the turn's end marker.
        chat = model.chat_template
        prompt = chat.render((m["role"], m["content"]) for m in self.chat_messages)  # type: ignore[misc]
        expected = model.complete(prompt, max_tokens=self.max_tokens, stop=list(chat.stop))
        assert self._chat(model).text == trim_end(expected.text, chat.assistant_suffix)

    def test_chat_messages_are_validated_before_io(self, model: Model) -> None:
        for bad in BAD_CONVERSATIONS:
            with no_network(), pytest.raises(InvalidRequestError) as refused:
                model.chat(bad)
            assert refused.value.provider == self.provider, bad
            with no_network(), pytest.raises(InvalidRequestError):
                model.stream_chat(bad)

    def test_options_are_listed(self, model: Model) -> None:
        with no_network():
            rows = option_rows(model)
        names = {row["name"] for row in rows if row["purpose"] == "complete"}
        assert set(COMMON_OPTIONS) <= names
        if model.declared.declared:
            # What the suite passes as valid provider options must be declared.
            assert set(self.provider_options) <= names
            if self.unknown_option is not None:
                with no_network(), pytest.raises(InvalidRequestError) as refused:
                    model.complete(self.prompt, **{self.unknown_option: 1})
                assert "valid options: " + ", ".join(COMMON_OPTIONS) in str(refused.value)
