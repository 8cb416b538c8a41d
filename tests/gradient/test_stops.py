"""Gradient has no stop parameter: the client cuts the answer at the *earliest* stop.

The fake answers ``BEFORE`` ("\\nThe San Francisco 49ers won the Super Bowl in 1994.");
each stop below occurs in it, at a different place, and the cut must not depend on
the order the stops are given in, nor on the call (sync, async, stream).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import pytest
import tuneplug

from tests.gradient.fake import ADAPTER_ID, BEFORE, serve

STOPS = ("Super", "49ers", "1994")  # earliest: "49ers"
EARLIEST = BEFORE[: BEFORE.index("49ers")]


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuneplug.Model]:
    with serve(monkeypatch):
        yield tuneplug.get_model(f"gradient/{ADAPTER_ID}")


@pytest.mark.parametrize("stops", list(itertools.permutations(STOPS)))
def test_the_earliest_stop_wins_whatever_the_order(
    model: tuneplug.Model, stops: tuple[str, ...]
) -> None:
    done = model.complete("Q", stop=list(stops))
    assert (done.text, done.finish_reason) == (EARLIEST, "stop")


def test_every_call_cuts_at_the_earliest(model: tuneplug.Model) -> None:
    stops = ["1994", "Super", "49ers"]  # the earliest given last

    async def async_calls() -> tuple[str, str]:
        done = await model.acomplete("Q", stop=stops)
        streamed = "".join([c.text async for c in model.astream("Q", stop=stops)])
        return done.text, streamed

    assert asyncio.run(async_calls()) == (EARLIEST, EARLIEST)
    assert "".join(c.text for c in model.stream("Q", stop=stops)) == EARLIEST


def test_a_stop_at_the_very_start_leaves_nothing(model: tuneplug.Model) -> None:
    # find() == 0 is a match, not "absent".
    done = model.complete("Q", stop=["absent", "\nThe"])
    assert (done.text, done.finish_reason) == ("", "stop")


def test_an_absent_stop_keeps_the_answer_and_its_reason(model: tuneplug.Model) -> None:
    done = model.complete("Q", stop=["absent", "also absent"])
    assert (done.text, done.finish_reason) == (BEFORE, "length")


def test_stops_never_reach_the_wire(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(monkeypatch) as fake:
        tuneplug.get_model(f"gradient/{ADAPTER_ID}").complete("Q", stop=["49ers"])
    (request,) = [r for r in fake.requests if r.path.endswith("/complete")]
    assert "stop" not in request.json and "49ers" not in request.body.decode()
