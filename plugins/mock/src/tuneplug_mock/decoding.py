"""From model tokens to completions: stop sequences, ``max_tokens`` and stream chunks.

Both models produce a lazy sequence of text *pieces*, one per generated token.
:func:`chunks` turns pieces into stream chunks and :func:`collect` joins those
chunks into a completion, so a streamed completion always joins to exactly the
text ``complete`` returns.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator

from tuneplug.stops import StopCutter
from tuneplug.types import Completion, CompletionOptions, StreamChunk, Usage

from tuneplug_mock.lm import NgramModel
from tuneplug_mock.tokenizer import Detokenizer, spans, tokenize

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_SEED",
    "chunks",
    "collect",
    "echo_pieces",
    "lm_pieces",
]

DEFAULT_MAX_TOKENS = 64
"""Tokens generated when ``max_tokens`` is not given."""

DEFAULT_SEED = 1994
"""Sampling seed when ``seed`` is not given: sampling is reproducible by default."""


def lm_pieces(
    model: NgramModel, prompt: str, options: CompletionOptions
) -> tuple[int, Iterator[str]]:
    """``(prompt tokens, pieces)`` of ``model`` continuing ``prompt``.

    Greedy when ``temperature`` is unset or 0; otherwise sampled with
    ``random.Random(seed)``, honouring ``top_k`` and ``top_p``.
    """
    prompt_tokens = tokenize(prompt)
    # A prompt ending in whitespace (the notebook's "Answer: ") takes the answer as is;
    # otherwise the first piece brings its own space.
    detok = Detokenizer(prompt_tokens, glued=not prompt or prompt[-1].isspace())
    rng = None
    if options.temperature:
        rng = random.Random(DEFAULT_SEED if options.seed is None else options.seed)
    tokens = model.generate(
        prompt_tokens,
        rng=rng,
        temperature=options.temperature or 1.0,
        top_k=options.top_k,
        top_p=options.top_p,
    )
    return len(prompt_tokens), (detok.piece(token) for token in tokens)


def echo_pieces(prompt: str) -> tuple[int, Iterator[str]]:
    """``(prompt tokens, pieces)`` echoing ``prompt`` verbatim, one piece per token.

    Each piece carries the raw whitespace before its token, and the last piece
    the prompt's trailing whitespace, so the pieces join to the prompt exactly.
    """
    found = spans(prompt)

    def pieces() -> Iterator[str]:
        if not found:
            yield prompt
            return
        start = 0
        for span in found[:-1]:
            yield prompt[start : span.end]
            start = span.end
        yield prompt[start:]

    return len(found), pieces()


def chunks(
    pieces: Iterable[str], *, prompt_tokens: int, options: CompletionOptions
) -> Iterator[StreamChunk]:
    """One chunk per generated token; the last carries ``finish_reason`` and usage.

    Text that could be the start of a stop sequence is held back until it is
    known not to be one (:class:`tuneplug.stops.StopCutter`), so no chunk ever
    shows part of a stop sequence. Finish reasons: ``"stop"`` at end-of-text or
    a stop sequence (the text ends before it), ``"length"`` after ``max_tokens``
    tokens.
    """
    cutter = StopCutter(options.stop)
    limit = options.max_tokens or DEFAULT_MAX_TOKENS
    count = 0
    reason = "stop"
    # One chunk of lookahead, so the last token's text rides on the final chunk.
    pending: str | None = None
    for piece in pieces:
        count += 1
        shown = cutter.feed(piece)
        if shown:
            if pending is not None:
                yield StreamChunk(text=pending)
            pending = shown
        if cutter.stopped:
            break
        if count >= limit:
            reason = "length"
            break
    held = cutter.flush()  # what may have begun a stop sequence that never came
    if held:
        if pending is not None:
            yield StreamChunk(text=pending)
        pending = held
    yield StreamChunk(
        text=pending or "",
        finish_reason=reason,
        usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=count),
    )


def collect(stream: Iterable[StreamChunk], *, model: str, provider: str) -> Completion:
    """Join ``stream`` into one completion."""
    parts: list[str] = []
    last: StreamChunk | None = None
    for last in stream:
        parts.append(last.text)
    assert last is not None and last.finish_reason is not None  # chunks() always ends so
    return Completion(
        text="".join(parts),
        finish_reason=last.finish_reason,
        model=model,
        provider=provider,
        usage=last.usage or Usage(),
    )
