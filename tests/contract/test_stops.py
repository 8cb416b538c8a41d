"""tuneplug.stops: cutting at the first stop sequence, whole and streamed, and the facade's net."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator

import pytest
from tuneplug.stops import (
    StopCutter,
    cut,
    cut_stream,
    cut_stream_async,
    held_back,
    trim_end,
    trim_stream,
)
from tuneplug.types import StreamChunk


@pytest.mark.parametrize(
    ("text", "stop", "expected"),
    [
        ("hello world", (), ("hello world", False)),
        ("hello world", ("xyz",), ("hello world", False)),
        ("hello world", ("o w", "l"), ("he", True)),  # the earliest, not the first listed
        ("hello world", ("world", "o w"), ("hell", True)),
        ("stop", ("stop",), ("", True)),
    ],
)
def test_cut(text: str, stop: tuple[str, ...], expected: tuple[str, bool]) -> None:
    assert cut(text, stop) == expected


def test_cutting_twice_changes_nothing() -> None:
    once, _ = cut("a. b. c", (".",))
    assert cut(once, (".",)) == (once, False)


def test_held_back_is_the_longest_proper_prefix_at_the_end() -> None:
    assert held_back("abc\nUs", ("\nUser:",)) == 3
    assert held_back("abc", ("\nUser:",)) == 0
    assert held_back("ab", ("abc", "b")) == 2


def _pieces(text: str, rng: random.Random) -> list[str]:
    cuts = sorted(rng.sample(range(1, len(text)), k=min(len(text) - 1, rng.randint(0, 8))))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


@pytest.mark.parametrize("seed", range(200))
def test_the_streaming_cutter_agrees_with_cut_and_never_shows_part_of_a_stop(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "ab\nU:"
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
    stop = tuple({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))) for _ in "xy"})
    cutter = StopCutter(stop)
    shown = ""
    for piece in _pieces(text, rng):
        shown += cutter.feed(piece)
        # Whatever was shown so far is a prefix of the final answer.
        assert cut(text, stop)[0].startswith(shown)
        if cutter.stopped:
            break
    shown += cutter.flush()
    assert (shown, cutter.stopped) == cut(text, stop)


def test_a_stop_split_over_chunks_is_never_shown() -> None:
    def stream() -> Iterator[StreamChunk]:
        yield StreamChunk(text="Dallas\n")
        yield StreamChunk(text="Que")
        yield StreamChunk(text="stion: next")
        raise AssertionError("the stream is not read past the stop")

    chunks = list(cut_stream(stream(), ("\nQuestion:",)))
    assert [c.text for c in chunks] == ["Dallas", ""]
    assert chunks[-1].finish_reason == "stop"


def test_held_back_text_is_released_by_the_last_chunk() -> None:
    source = [StreamChunk(text="a\nQu"), StreamChunk(text="iet", finish_reason="length")]
    chunks = list(cut_stream(iter(source), ("\nQuestion:",)))
    assert [(c.text, c.finish_reason) for c in chunks] == [("a", None), ("\nQuiet", "length")]


def test_async_streams_are_cut_and_closed() -> None:
    closed: list[bool] = []

    async def stream() -> AsyncIterator[StreamChunk]:
        try:
            yield StreamChunk(text="yes. and more")
            yield StreamChunk(text="never read", finish_reason="stop")
        finally:
            closed.append(True)

    async def run() -> list[StreamChunk]:
        return [c async for c in cut_stream_async(stream(), (".",))]

    chunks = asyncio.run(run())
    assert [(c.text, c.finish_reason) for c in chunks] == [("yes", "stop")]
    assert closed == [True]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Dallas\n\n", "Dallas"), ("Dallas\n", "Dallas"), ("Dallas", "Dallas"),
     ("a\n\nb", "a\n\nb"), ("\n\n\n", "\n"), ("", "")],
)  # fmt: skip
def test_trim_end_drops_the_turn_marker_or_its_start(text: str, expected: str) -> None:
    assert trim_end(text, "\n\n") == expected
    assert trim_end(text, "") == text


@pytest.mark.parametrize("seed", range(100))
def test_a_trimmed_stream_joins_to_the_trimmed_text(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice("ab\n") for _ in range(rng.randint(1, 20)))
    pieces = _pieces(text, rng) if len(text) > 1 else [text]
    chunks = [StreamChunk(text=p) for p in pieces[:-1]]
    chunks.append(StreamChunk(text=pieces[-1], finish_reason="stop"))
    out = list(trim_stream(iter(chunks), "\n\n"))
    assert "".join(c.text for c in out) == trim_end(text, "\n\n")
    assert out[-1].finish_reason == "stop"
    assert all(c.text for c in out[:-1])  # nothing but the last chunk is empty
