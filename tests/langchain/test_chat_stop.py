"""``TuneplugChat`` honours the user's stop sequences on every path, on top of the template's.

The echo model answers with the prompt it was given, so where the reply ends shows
which stops were applied: the user's (per call or the constructor's) and the chat
template's, which end the reply where the model would start another turn.
"""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.messages import HumanMessage
from tuneplug.langchain import ChatTemplate, TuneplugChat

NO_STOPS = ChatTemplate(name="default-without-stops")  # renders "User: ...\n\nAssistant: "
SAY = "one two three four"


def test_a_calls_stop_cuts_the_reply() -> None:
    chat = TuneplugChat(model="mock/echo", chat_template=NO_STOPS)
    assert chat.invoke(SAY).content == f"User: {SAY}\n\nAssistant: "  # nothing cut without it
    reply = chat.invoke(SAY, stop=["three"])
    assert reply.content == "User: one two "
    assert reply.response_metadata["finish_reason"] == "stop"


def test_the_constructors_stop_applies_and_a_calls_stop_replaces_it() -> None:
    chat = TuneplugChat(model="mock/echo", chat_template=NO_STOPS, stop=["two"])
    assert chat.invoke(SAY).content == "User: one "
    assert chat.invoke(SAY, stop=["four"]).content == "User: one two three "


def test_the_users_stop_adds_to_the_templates() -> None:
    # The default template stops at the next turn; the user's stop still applies first.
    chat = TuneplugChat(model="mock/echo")
    assert chat.invoke([HumanMessage(SAY)], stop=["three"]).content == "User: one two "


def test_stream_and_async_honour_the_stop() -> None:
    chat = TuneplugChat(model="mock/echo", chat_template=NO_STOPS)
    streamed = "".join(str(c.content) for c in chat.stream(SAY, stop=["three"]))

    async def both() -> tuple[str, str]:
        reply = await chat.ainvoke(SAY, stop=["three"])
        pieces = [str(c.content) async for c in chat.astream(SAY, stop=["three"])]
        return str(reply.content), "".join(pieces)

    assert (streamed, *asyncio.run(both())) == ("User: one two ",) * 3


@pytest.mark.parametrize("stop", [["three", "two"], ["two", "three"]])
def test_the_earliest_of_several_stops_wins(stop: list[str]) -> None:
    chat = TuneplugChat(model="mock/echo", chat_template=NO_STOPS)
    assert chat.invoke(SAY, stop=stop).content == "User: one "
