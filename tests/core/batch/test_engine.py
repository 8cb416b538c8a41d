"""The batch engine (tuneplug.batch / abatch): concurrency, order, errors, laziness, 429s."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import tuneplug
from tuneplug.batching import Batch, BatchInput, SharedBackoff
from tuneplug.errors import (
    AuthenticationError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
)

from tests.core.batch.fakes import FakeModel


def run(model: Any, inputs: Any, **kwargs: Any) -> list[Any]:
    async def collect() -> list[Any]:
        return [r async for r in tuneplug.abatch(model, inputs, **kwargs)]

    return asyncio.run(collect())


def test_every_input_once_with_at_most_concurrency_in_flight() -> None:
    model = FakeModel(steps=3)
    results = run(model, [f"p{i}" for i in range(100)], concurrency=7)
    assert sorted(r.index for r in results) == list(range(100))
    assert sorted(model.sent) == sorted(f"p{i}" for i in range(100))
    assert model.max_in_flight == 7
    assert all(r.text == f"echo p{r.index}" and r.attempts == 1 for r in results)


def test_as_completed_by_default_and_in_order_on_request() -> None:
    # p0 is slow: as completed it comes last, in order it comes first.
    delays = {"p0": 40}
    done = run(FakeModel(delays=delays), [f"p{i}" for i in range(10)], concurrency=4)
    assert done[-1].index == 0
    ordered = run(
        FakeModel(delays=delays), [f"p{i}" for i in range(10)], concurrency=4, ordered=True
    )
    assert [r.index for r in ordered] == list(range(10))


def test_sync_batch_is_in_order_by_default() -> None:
    model = FakeModel(delays={"p0": 30, "p3": 20})
    results = list(tuneplug.batch(model, (f"p{i}" for i in range(20)), concurrency=5))
    assert [r.index for r in results] == list(range(20))
    assert [r.text for r in results] == [f"echo p{i}" for i in range(20)]


def test_inputs_are_read_lazily_within_the_reorder_window() -> None:
    """A slow first input: in order, no more than `window` inputs are taken past it."""
    taken = 0

    def endless() -> Iterator[str]:
        nonlocal taken
        for i in itertools.count():
            taken += 1
            yield f"p{i}"

    model = FakeModel(delays={"p0": 200})

    async def first_three() -> list[int]:
        out = []
        agen = tuneplug.abatch(model, endless(), concurrency=4, ordered=True, window=8)
        async for r in agen:
            out.append(r.index)
            if len(out) == 3:
                break
        await agen.aclose()
        return out

    assert asyncio.run(first_three()) == [0, 1, 2]
    # Taken: the window past p0 (8), then as the first three went out, three more; a
    # few more may be taken while the consumer stops, never the whole stream.
    assert 8 <= taken <= 8 + 3 + 4


def test_as_completed_reads_no_further_than_the_workers_and_queue() -> None:
    taken = 0

    def endless() -> Iterator[str]:
        nonlocal taken
        for i in itertools.count():
            taken += 1
            yield f"p{i}"

    async def first() -> None:
        agen = tuneplug.abatch(FakeModel(), endless(), concurrency=4)
        async for _ in agen:
            break
        await agen.aclose()

    asyncio.run(first())
    assert taken <= 4 + 4 + 4  # in flight + queued results + one round taken while stopping


def test_per_input_errors_are_captured_and_the_rest_finish() -> None:
    def answer(prompt: str) -> str:
        if prompt == "bad":
            raise ServerError("boom", provider="fake", status=500)
        return "ok"

    results = run(FakeModel(answer=answer), ["a", "bad", "", 42, "b"], ordered=True)
    assert [r.ok for r in results] == [True, False, False, False, True]
    assert isinstance(results[1].error, ServerError) and results[1].input.prompt == "bad"
    assert isinstance(results[2].error, InvalidRequestError)  # empty prompt: never sent
    assert isinstance(results[3].error, InvalidRequestError) and results[3].attempts == 0
    assert results[1].text is None


def test_a_fatal_error_stops_the_batch() -> None:
    def answer(prompt: str) -> str:
        raise AuthenticationError("bad key", provider="fake", status=401)

    with pytest.raises(AuthenticationError):
        run(FakeModel(answer=answer), [f"p{i}" for i in range(50)], concurrency=4)
    with pytest.raises(AuthenticationError):
        list(tuneplug.batch(FakeModel(answer=answer), ["a", "b"]))


def test_bad_arguments_fail_before_any_request() -> None:
    model = FakeModel()
    for kwargs in (
        {"concurrency": 0}, {"concurrency": True}, {"rpm": 0}, {"tpm": -1},
        {"max_attempts": 0}, {"concurrency": 8, "window": 4}, {"temperature": 9},
    ):  # fmt: skip
        with pytest.raises(InvalidRequestError):
            tuneplug.batch(model, ["a"], **kwargs)
    assert model.sent == []


def test_options_reach_every_call() -> None:
    model = FakeModel()
    run(model, ["a", "b"], max_tokens=5, temperature=0.0)
    assert model.options_seen == [{"max_tokens": 5, "temperature": 0.0}] * 2


def test_chat_inputs_and_custom_ids() -> None:
    model = FakeModel()
    inputs = [
        [{"role": "user", "content": "hi"}],
        {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}],
         "custom_id": "c1"},
        {"prompt": "plain", "custom_id": "c2"},
        [{"role": "robot", "content": "x"}],
    ]  # fmt: skip
    results = run(model, inputs, ordered=True)
    assert results[0].text == "echo user:hi"
    assert (results[1].custom_id, results[1].text) == ("c1", "echo system:s | user:q")
    assert (results[2].custom_id, results[2].text) == ("c2", "echo plain")
    assert isinstance(results[3].error, InvalidRequestError)
    assert "messages[0].role" in str(results[3].error)


def test_async_iterable_inputs() -> None:
    async def source() -> Any:
        for i in range(30):
            await asyncio.sleep(0)
            yield f"p{i}"

    results = run(FakeModel(), source(), concurrency=6, ordered=True)
    assert [r.text for r in results] == [f"echo p{i}" for i in range(30)]


def test_closing_the_sync_iterator_early_cancels_the_rest() -> None:
    model = FakeModel(steps=2)
    it = tuneplug.batch(model, (f"p{i}" for i in range(10_000)), concurrency=8)
    first = [next(it) for _ in range(5)]
    it.close()  # type: ignore[attr-defined]
    assert [r.index for r in first] == list(range(5))
    assert len(model.sent) < 100
    assert model.in_flight == 0  # cancelled, not left running


def test_on_the_mock_provider_end_to_end() -> None:
    prompts = [f"Question: What is {i}?\n\nAnswer: " for i in range(20)]
    results = list(tuneplug.batch("mock/tiny", prompts, max_tokens=6, concurrency=4))
    direct = tuneplug.get_model("mock/tiny")
    assert [r.text for r in results] == [direct.complete(p, max_tokens=6).text for p in prompts]
    assert all(r.completion is not None and r.completion.usage.completion_tokens for r in results)


# -- 429: one shared back-off ---------------------------------------------------------


class RateLimited:
    """A server that answers 429 until `limited` 429s were given, then succeeds."""

    def __init__(self, limited: int, retry_after: float | None = 0.01) -> None:
        self.limited = limited
        self.retry_after = retry_after
        self.calls = 0
        self.rejected = 0

    def __call__(self, prompt: str) -> str:
        self.calls += 1
        if self.rejected < self.limited:
            self.rejected += 1
            raise RateLimitError("slow down", provider="fake", retry_after=self.retry_after)
        return "ok"


def test_429s_pause_everyone_and_one_probe_goes_first() -> None:
    server = RateLimited(limited=30)
    model = FakeModel(answer=server, steps=2)
    # Which waiter probes after a pause is whichever timer fires first, so one input
    # may be the probe many times in a row (more often on a loaded machine): allow
    # every rejection to land on it, so the counts below are what is tested.
    results = run(model, [f"p{i}" for i in range(40)], concurrency=8, max_attempts=31)
    assert all(r.ok for r in results)
    # Every in-flight request may hit the first 429 (8); after that, each pause lets
    # one probe through, so the 30 rejections are the 8 plus 22 lone probes, and no
    # request beyond the 40 inputs + 30 rejected ones was sent.
    assert server.calls == 40 + 30 and server.rejected == 30
    assert sum(r.attempts for r in results) == 70


def test_the_probe_is_alone_while_the_gate_is_half_open() -> None:
    server = RateLimited(limited=12)
    model = FakeModel(answer=server, steps=3)
    run(model, [f"p{i}" for i in range(30)], concurrency=6)
    # A single 429 round can have up to 6 in flight; later ones are single probes.
    assert model.max_in_flight == 6
    assert server.calls == 30 + 12


def test_an_input_gives_up_after_max_attempts() -> None:
    server = RateLimited(limited=1000, retry_after=0.0)
    results = run(FakeModel(answer=server), ["a", "b"], concurrency=1, max_attempts=3)
    assert [r.attempts for r in results] == [3, 3]
    assert all(isinstance(r.error, RateLimitError) for r in results)
    assert server.calls == 6


def test_shared_backoff_delays() -> None:
    clock = [100.0]

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    backoff = SharedBackoff(base=1.0, cap=8.0, max_retry_after=30.0, clock=lambda: clock[0],
                            rng=lambda: 1.0, sleep=sleep)  # fmt: skip
    assert backoff.rate_limited(5.0, probe=False) == 5.0  # Retry-After honoured
    assert backoff.paused
    # Each probe refused is one more consecutive pause: the delay doubles.
    assert backoff.rate_limited(None, probe=True) == 2.0  # 2nd in a row: base * 2
    assert backoff.rate_limited(None, probe=True) == 4.0
    assert backoff.rate_limited(None, probe=True) == 8.0
    assert backoff.rate_limited(None, probe=True) == 8.0  # capped
    assert backoff.rate_limited(3600.0, probe=True) == 30.0  # an absurd Retry-After capped
    assert backoff.rate_limits == 6
    clock[0] += 31
    assert backoff.paused  # time is over but no probe has succeeded yet

    async def probe_then_succeed() -> list[bool]:
        first = await backoff.enter()
        second = asyncio.create_task(backoff.enter())
        await asyncio.sleep(0)
        assert not second.done()  # waits for the probe
        backoff.succeeded(first)
        return [first, await second]

    assert asyncio.run(probe_then_succeed()) == [True, False]
    assert not backoff.paused and clock[0] == 131 + 5  # its turn: rng 1.0, the whole spread


def test_the_429s_of_one_wave_are_one_pause_not_a_streak() -> None:
    # 16 requests in flight when the limit is hit all come back 429: that is one refusal
    # of the account, so the pause stays the first one's (counted, not escalated); were
    # each counted as consecutive, the 16th would pause for the cap (60 s).
    backoff = SharedBackoff(base=1.0, cap=60.0, clock=lambda: 0.0, rng=lambda: 1.0)
    assert [backoff.rate_limited(None, probe=False) for _ in range(16)] == [1.0] * 16
    assert backoff.rate_limits == 16
    assert backoff.rate_limited(None, probe=True) == 2.0  # the probe's 429: the next pause
    assert backoff.rate_limited(None, probe=False) == 2.0  # a straggler of the wave
    backoff.succeeded(probe=True)
    assert backoff.rate_limited(None, probe=False) == 1.0  # a new wave starts over


def test_a_failed_probe_passes_the_turn_on() -> None:
    backoff = SharedBackoff(clock=lambda: 0.0)
    backoff.rate_limited(0.0, probe=False)

    async def scenario() -> list[bool]:
        first = await backoff.enter()
        waiting = asyncio.create_task(backoff.enter())
        await asyncio.sleep(0)
        backoff.released(first)  # the probe failed otherwise: the next one probes
        return [first, await waiting]

    assert asyncio.run(scenario()) == [True, True]


def test_batch_input_coercion_rejects_junk() -> None:
    for junk in (None, 3, b"x", [], {"prompt": "a", "messages": []}, {"custom_id": ""},
                 {"prompt": "a", "custom_id": 7}, {"prompt": "a", "extra": 1}):  # fmt: skip
        with pytest.raises(InvalidRequestError):
            BatchInput.coerce(junk)
    assert BatchInput.coerce({"prompt": "a", "custom_id": "x"}).chars == 1


def test_the_batch_stats_count_everything() -> None:
    server = RateLimited(limited=2, retry_after=0.0)
    runner = Batch(FakeModel(answer=server), concurrency=1)

    async def go() -> None:
        async for _ in runner.results(["a b", "c"]):
            pass

    asyncio.run(go())
    s = runner.stats
    assert (s.started, s.succeeded, s.failed, s.requests, s.rate_limited) == (2, 2, 0, 4, 2)
    assert s.prompt_tokens == 3 and s.completion_tokens == 2 and s.tokens == 5
