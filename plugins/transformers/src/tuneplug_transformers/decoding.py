"""Token-by-token generation with a KV cache, sampling, stop sequences and streamed text.

Our own loop rather than ``model.generate``: it yields each token as it is made (no
streamer thread to leak when a consumer walks away), takes the model's lock per
forward pass (so streams of several adapters interleave on one base), and stops on
text. Sampling uses transformers' own logits processors, so ``temperature``,
``top_k``, ``top_p`` and ``repetition_penalty`` mean what they mean in ``generate``.
Greedy unless ``temperature > 0``; ``seed`` seeds a private generator.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

__all__ = ["Decoded", "Request", "TextAssembler", "generate_tokens"]

Forward = Callable[[Any, Any], tuple[Any, Any]]
"""``forward(input_ids, past) -> (last logits (1, vocab), past)``: one locked model call."""


@dataclass(frozen=True)
class Request:
    """One generation: prompt ids and the decoding settings."""

    ids: list[int]
    max_new: int
    eos_ids: frozenset[int]
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None
    repetition_penalty: float | None = None

    @property
    def sampling(self) -> bool:
        """Whether tokens are sampled (``temperature > 0``) rather than picked greedily."""
        return bool(self.temperature)


def _processors(req: Request) -> list[Any]:
    from transformers.generation.logits_process import (
        RepetitionPenaltyLogitsProcessor,
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    found: list[Any] = []
    if req.repetition_penalty is not None and req.repetition_penalty != 1.0:
        found.append(RepetitionPenaltyLogitsProcessor(req.repetition_penalty))
    if req.sampling:
        assert req.temperature is not None
        found.append(TemperatureLogitsWarper(req.temperature))
        if req.top_k is not None:
            found.append(TopKLogitsWarper(req.top_k))
        if req.top_p is not None and req.top_p < 1.0:
            found.append(TopPLogitsWarper(req.top_p))
    return found


def generate_tokens(forward: Forward, req: Request, device: Any) -> Generator[int, None, None]:
    """Yield new token ids until an end-of-sequence id (yielded too) or ``max_new``."""
    import torch

    processors = _processors(req)
    generator = None
    if req.sampling:
        generator = torch.Generator(device=device)
        if req.seed is None:
            generator.seed()
        else:
            generator.manual_seed(req.seed)
    seen = torch.tensor([req.ids], device=device)
    logits, past = forward(seen, None)
    for produced in range(req.max_new):
        scores = logits.float()
        for proc in processors:
            scores = proc(seen, scores)
        if req.sampling:
            probs = torch.softmax(scores, dim=-1)
            token = int(torch.multinomial(probs, 1, generator=generator)[0, 0])
        else:
            token = int(scores.argmax(dim=-1)[0])
        yield token
        if token in req.eos_ids or produced + 1 == req.max_new:
            return
        step = torch.tensor([[token]], device=device)
        if processors:
            seen = torch.cat([seen, step], dim=1)
        logits, past = forward(step, past)


@dataclass
class Decoded:
    """Text made so far: what may be shown, and whether a stop sequence ended it."""

    delta: str
    stopped: bool


class TextAssembler:
    """Turns generated ids into text, cut before the first stop sequence.

    What it releases is always a prefix of the final text: a trailing partial UTF-8
    character, or a tail that could still become a stop sequence, is held back.
    """

    def __init__(self, tokenizer: Any, stops: tuple[str, ...]) -> None:
        self._tokenizer = tokenizer
        self._stops = stops
        self._longest = max((len(s) for s in stops), default=0)
        self.ids: list[int] = []
        self.emitted = ""
        self.text = ""
        self._searched = 0

    def decode(self) -> str:
        """The text of every id so far (special tokens left out)."""
        return str(self._tokenizer.decode(self.ids, skip_special_tokens=True))

    def push(self, token: int) -> Decoded:
        """Add ``token``; return the newly releasable text and whether a stop hit."""
        self.ids.append(token)
        full = self.decode()
        if self._stops:
            start = max(0, self._searched - self._longest)
            hits = [i for i in (full.find(s, start) for s in self._stops) if i >= 0]
            self._searched = len(full)
            if hits:
                self.text = full[: min(hits)]
                return Decoded(self._release(self.text), True)
        self.text = full
        safe = full.rstrip("\ufffd")
        hold = 0
        for stop in self._stops:
            for k in range(min(len(stop) - 1, len(safe)), 0, -1):
                if safe.endswith(stop[:k]):
                    hold = max(hold, k)
                    break
        return Decoded(self._release(safe[: len(safe) - hold]), False)

    def finish(self) -> str:
        """Release the rest of the text (the generation ended without a stop)."""
        return self._release(self.text)

    def _release(self, upto: str) -> str:
        if len(upto) <= len(self.emitted) or not upto.startswith(self.emitted):
            return ""
        delta, self.emitted = upto[len(self.emitted) :], upto
        return delta
