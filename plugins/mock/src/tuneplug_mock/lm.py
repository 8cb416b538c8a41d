"""The ``tiny`` language model: an interpolated word n-gram model that really learns.

Probabilities come from a hierarchical Dirichlet (MacKay-Peto) smoothing of
counts at every context length ``k = 0 .. ORDER - 1``::

    P_-1(w)    = 1 / NOMINAL_VOCAB                    (unknown words keep a finite loss)
    P_k(w | h) = (c(h_k, w) + BETA * P_k-1(w | h)) / (c(h_k) + BETA)

where ``h_k`` is the last ``k`` tokens of the history and ``c`` sums the base
counts and the adapter's deltas; a context never seen is skipped. The base
counts come from :mod:`tuneplug_mock.corpus`, counted on first use (about 5 ms).

Training adds pseudo-counts for the samples' own n-grams, which moves every
context's distribution toward what the samples show: repeating a step scores a
lower loss, and a bigger update (learning rate, multiplier) a lower one still.
With ``BETA <= 1`` the longest seen context dominates, so the base model
recites its corpus and an adapter recites what it was taught as soon as its
deltas outweigh the base counts (one step at the default learning rate).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property

from tuneplug.types import Sample

from tuneplug_mock.corpus import DOCUMENTS
from tuneplug_mock.tokenizer import BOS, EOS, spans, tokenize

__all__ = [
    "BETA",
    "MAX_WEIGHT",
    "NOMINAL_VOCAB",
    "ORDER",
    "Counts",
    "NgramModel",
    "base_model",
    "prepare",
    "strength",
]

ORDER = 8
"""n-gram order: contexts of up to seven tokens, enough to see the question behind "Answer:"."""

BETA = 1.0
"""Dirichlet concentration: how much a context defers to its shorter suffix."""

NOMINAL_VOCAB = 50_000
"""Size of the uniform floor's vocabulary, as a real tokenizer's would be."""

STRENGTH_PER_LR = 20_000.0
"""Pseudo-counts one trainable token adds per unit of learning rate (see :func:`strength`)."""

MAX_WEIGHT = 1e12
"""The largest weight one adapter n-gram may hold. A step that would pass it (or make
any weight non-finite) is refused, and a stored weight outside ``[-MAX_WEIGHT,
MAX_WEIGHT]`` (written by an earlier version that had no bound) is ignored as
corrupt, so probabilities and losses stay finite whatever was trained."""

Context = tuple[str, ...]
Delta = dict[tuple[Context, str], float]


def strength(learning_rate: float, multiplier: float = 1.0) -> float:
    """The pseudo-count one trainable token adds to each of its n-grams.

    ``learning_rate * 20_000 * multiplier``: the default learning rate ``1e-4``
    adds 2 counts per occurrence, enough for one step on one sample to outweigh
    a fact the base corpus states once.
    """
    return learning_rate * STRENGTH_PER_LR * multiplier


@dataclass(frozen=True)
class Counts:
    """Immutable weighted n-gram counts: ``table[context][token]`` and ``totals[context]``.

    Never mutated once built, so a completion running in one thread can read a
    snapshot while a fine-tuning step in another builds the next one.
    """

    table: Mapping[Context, Mapping[str, float]] = field(default_factory=dict)
    totals: Mapping[Context, float] = field(default_factory=dict)

    def plus(self, delta: Mapping[tuple[Context, str], float]) -> Counts:
        """These counts with ``delta`` added (copy-on-write: only touched contexts are copied)."""
        table = dict(self.table)
        totals = dict(self.totals)
        touched: dict[Context, dict[str, float]] = {}
        for (context, token), weight in delta.items():
            inner = touched.get(context)
            if inner is None:
                inner = touched[context] = dict(table.get(context, {}))
                table[context] = inner
            inner[token] = inner.get(token, 0.0) + weight
            totals[context] = totals.get(context, 0.0) + weight
        return Counts(table, totals)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[Context, str, float]]) -> Counts:
        """Counts holding ``rows``, less any weight that is not :func:`sound`."""
        return cls().plus({(c, token): w for c, token, w in rows if sound(w)})

    def overflows(self, delta: Mapping[tuple[Context, str], float]) -> tuple[Context, str] | None:
        """The first n-gram ``delta`` would take out of bounds (see :data:`MAX_WEIGHT`)."""
        for (context, token), weight in delta.items():
            if not sound(self.table.get(context, {}).get(token, 0.0) + weight):
                return context, token
        return None


def sound(weight: float) -> bool:
    """Whether ``weight`` is finite and within ``[-MAX_WEIGHT, MAX_WEIGHT]``."""
    return -MAX_WEIGHT <= weight <= MAX_WEIGHT  # false for NaN and the infinities


class NgramModel:
    """The base counts, optionally plus one adapter's deltas, as a probability model."""

    def __init__(self, base: Counts, adapter: Counts | None = None) -> None:
        """Combine ``base`` with ``adapter`` (``None`` for the bare base model)."""
        self.base = base
        self.adapter = adapter

    def _levels(self, history: Sequence[str]) -> Iterator[tuple[float, list[Mapping[str, float]]]]:
        """``(total, [continuation maps])`` for each seen context, shortest first."""
        adapter = self.adapter
        for k in range(min(ORDER, len(history) + 1)):
            context = tuple(history[len(history) - k :]) if k else ()
            total = self.base.totals.get(context, 0.0)
            maps: list[Mapping[str, float]] = []
            found = self.base.table.get(context)
            if found is not None:
                maps.append(found)
            if adapter is not None:
                total += adapter.totals.get(context, 0.0)
                found = adapter.table.get(context)
                if found is not None:
                    maps.append(found)
            if total <= 0.0:
                # Every longer context extends this one, so none of them was seen either.
                return
            yield total, maps

    def prob(self, history: Sequence[str], token: str) -> float:
        """``P(token | history)``; ``history`` is padded with ``BOS`` to ``ORDER - 1`` tokens."""
        p = 1.0 / NOMINAL_VOCAB
        for total, maps in self._levels(history):
            count = sum(m.get(token, 0.0) for m in maps)
            p = (count + BETA * p) / (total + BETA)
        return p

    @cached_property
    def _unigram(self) -> dict[str, float]:
        """``P_0`` over every known token (the level every distribution backs off to)."""
        levels = self._levels(())
        total, maps = next(levels)
        floor = BETA / NOMINAL_VOCAB
        probs: dict[str, float] = {}
        for m in maps:
            for token, count in m.items():
                probs[token] = probs.get(token, floor) + count
        return {token: value / (total + BETA) for token, value in probs.items()}

    @cached_property
    def _unigram_top(self) -> str:
        return min(self._unigram.items(), key=lambda item: (-item[1], item[0]))[0]

    def _mixture(self, history: Sequence[str]) -> tuple[float, dict[str, float]]:
        """``(a, s)`` with ``P(w | history) = a * P_0(w) + s.get(w, 0)``; ``s`` is sparse."""
        levels = self._levels(history)
        next(levels)  # the unigram level is P_0 itself
        scale = 1.0
        sparse: dict[str, float] = {}
        for total, maps in levels:
            keep = BETA / (total + BETA)
            scale *= keep
            mixed = {token: value * keep for token, value in sparse.items()}
            for m in maps:
                for token, count in m.items():
                    mixed[token] = mixed.get(token, 0.0) + count / (total + BETA)
            sparse = mixed
        return scale, sparse

    def greedy(self, history: Sequence[str]) -> str:
        """The most likely next token (ties go to the smallest token, for determinism)."""
        scale, sparse = self._mixture(history)
        unigram = self._unigram
        top = self._unigram_top
        best, best_p = top, scale * unigram[top] + sparse.get(top, 0.0)
        for token, extra in sparse.items():
            p = scale * unigram.get(token, 0.0) + extra
            if p > best_p or (p == best_p and token < best):
                best, best_p = token, p
        return best

    def distribution(self, history: Sequence[str]) -> dict[str, float]:
        """The next-token distribution over every known token (unnormalized by the floor)."""
        scale, sparse = self._mixture(history)
        return {token: scale * p + sparse.get(token, 0.0) for token, p in self._unigram.items()}

    def generate(
        self,
        prompt: Sequence[str],
        *,
        rng: random.Random | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
    ) -> Iterator[str]:
        """Yield tokens continuing ``prompt`` until end-of-text (greedy when ``rng`` is None)."""
        history = [BOS] * (ORDER - 1) + list(prompt)
        while True:
            if rng is None:
                token = self.greedy(history)
            else:
                token = _sample(self.distribution(history), rng, temperature, top_k, top_p)
            if token == EOS:
                return
            yield token
            history.append(token)
            if len(history) > 4 * ORDER:
                del history[: -(ORDER - 1)]

    def nll(self, history: Sequence[str], token: str) -> float:
        """``-ln P(token | history)`` in nats (always finite)."""
        return -math.log(self.prob(history, token))


def _sample(
    probs: Mapping[str, float],
    rng: random.Random,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
) -> str:
    """Draw one token; candidates are ordered by probability then token, never by hash."""
    ranked = sorted(probs.items(), key=lambda item: (-item[1], item[0]))
    if top_k is not None:
        ranked = ranked[:top_k]
    if top_p is not None:
        norm = sum(p for _, p in ranked)
        kept, mass = [], 0.0
        for item in ranked:
            kept.append(item)
            mass += item[1] / norm
            if mass >= top_p:
                break
        ranked = kept
    # Tempering in log space keeps tiny probabilities from underflowing at low temperature.
    top = math.log(ranked[0][1])
    weights = [math.exp((math.log(p) - top) / temperature) for _, p in ranked]
    point = rng.random() * sum(weights)
    for (token, _), weight in zip(ranked, weights, strict=True):
        point -= weight
        if point < 0.0:
            return token
    return ranked[-1][0]


@dataclass(frozen=True)
class Prepared:
    """A sample as training sees it: padded tokens and which targets are trainable."""

    history: list[str]
    """``ORDER - 1`` BOS tokens, then the sample's tokens, then EOS."""
    targets: list[int]
    """Indices into ``history`` of the trainable tokens."""
    weight: float
    """The sample's multiplier."""


def prepare(sample: Sample) -> Prepared:
    """Tokenize ``sample``; a token is trainable when it starts inside a trainable part.

    Tokenizing the joined text (rather than each part) keeps tokens identical to
    what a prompt of the same text gives, wherever the part boundaries fall. The
    end-of-text token is trainable when the last part is.
    """
    text = sample.text
    found = spans(text)
    if isinstance(sample.inputs, str):
        flags = [True] * (len(found) + 1)
    else:
        bounds: list[tuple[int, bool]] = []
        end = 0
        for part in sample.inputs:
            end += len(part.value)
            bounds.append((end, part.trainable))
        flags = []
        index = 0
        for span in found:
            while bounds[index][0] <= span.start:
                index += 1
            flags.append(bounds[index][1])
        flags.append(sample.inputs[-1].trainable)
    pad = ORDER - 1
    history = [BOS] * pad + [s.token for s in found] + [EOS]
    targets = [pad + i for i, flag in enumerate(flags) if flag]
    return Prepared(history, targets, sample.weight)


def delta_for(prepared: Iterable[Prepared], per_token: float, max_context: int) -> Delta:
    """The count deltas of one training step: ``per_token * multiplier`` per n-gram.

    Each trainable token updates its n-grams with contexts of ``0 .. max_context``
    tokens (non-trainable tokens still appear in those contexts).
    """
    delta: Delta = {}
    longest = min(max_context, ORDER - 1)
    for item in prepared:
        weight = per_token * item.weight
        for i in item.targets:
            token = item.history[i]
            for k in range(longest + 1):
                key = (tuple(item.history[i - k : i]), token)
                delta[key] = delta.get(key, 0.0) + weight
    return delta


def loss(model: NgramModel, prepared: Iterable[Prepared]) -> tuple[int, float]:
    """``(trainable tokens, summed NLL in nats)`` of the samples under ``model``."""
    tokens, total = 0, 0.0
    for item in prepared:
        for i in item.targets:
            total += model.nll(item.history[max(0, i - ORDER + 1) : i], item.history[i])
            tokens += 1
    return tokens, total


@cache
def base_model() -> NgramModel:
    """The ``tiny`` base model, counted from the embedded corpus once per process."""
    delta: Delta = {}
    pad = [BOS] * (ORDER - 1)
    for document in DOCUMENTS:
        history = [*pad, *tokenize(document), EOS]
        for i in range(ORDER - 1, len(history)):
            token = history[i]
            for k in range(ORDER):
                key = (tuple(history[i - k : i]), token)
                delta[key] = delta.get(key, 0.0) + 1.0
    return NgramModel(Counts().plus(delta))
