"""Samples to token ids and loss masks, checked against the model's context first.

A sample's text is tokenised whole (exactly as a prompt is at completion time, special
tokens included), and each token counts towards the loss when any character it
covers lies in a trainable part. Tokenising parts one by one would split words the
model never sees split, and searching the ids for a response template (the old TRL
collator) breaks when tokens merge across the boundary; character offsets do neither.
Slow tokenizers without offsets fall back to tokenising part by part. The first token
never counts: nothing predicts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from tuneplug.errors import InvalidRequestError
from tuneplug.types import Sample

from tuneplug_transformers.refs import PROVIDER

__all__ = ["Encoded", "encode_samples"]


@dataclass(frozen=True)
class Encoded:
    """One sample as the model trains on it.

    Attributes:
        ids: token ids.
        mask: per token, whether it is a loss target (``mask[0]`` is always ``False``).
        weight: the sample's multiplier, the weight of its tokens in the update.
    """

    ids: list[int]
    mask: list[bool]
    weight: float

    @property
    def trainable(self) -> int:
        """How many tokens count towards the loss."""
        return sum(self.mask)


def _spans(sample: Sample) -> tuple[str, list[tuple[int, int]]]:
    if isinstance(sample.inputs, str):
        return sample.inputs, [(0, len(sample.inputs))]
    text, spans, at = [], [], 0
    for part in sample.inputs:
        if part.trainable:
            spans.append((at, at + len(part.value)))
        text.append(part.value)
        at += len(part.value)
    return "".join(text), spans


def _by_offsets(
    tokenizer: Any, text: str, spans: list[tuple[int, int]]
) -> tuple[list[int], list[bool]]:
    enc = tokenizer(text, return_offsets_mapping=True)
    marks = [0] * (len(text) + 1)
    for start, end in spans:
        marks[start] += 1
        marks[end] -= 1
    inside = list(accumulate(marks))  # > 0 where a character is trainable
    covered = [0, *accumulate(1 if n > 0 else 0 for n in inside[: len(text)])]
    mask = [covered[end] - covered[start] > 0 for start, end in enc["offset_mapping"]]
    return list(enc["input_ids"]), mask


def _by_parts(tokenizer: Any, sample: Sample) -> tuple[list[int], list[bool]]:
    parts = (
        [(sample.inputs, True)]
        if isinstance(sample.inputs, str)
        else [(p.value, p.trainable) for p in sample.inputs]
    )
    ids: list[int] = tokenizer(parts[0][0])["input_ids"]
    mask = [parts[0][1]] * len(ids)
    for value, trainable in parts[1:]:
        more = tokenizer(value, add_special_tokens=False)["input_ids"]
        ids += more
        mask += [trainable] * len(more)
    return ids, mask


def encode_samples(tokenizer: Any, samples: list[Sample], context: int) -> list[Encoded]:
    """Encode a batch; every sample is checked before anything is trained.

    Raises:
        InvalidRequestError: a sample is longer than the model's context (naming the
            sample and both lengths).
    """
    out = []
    for index, sample in enumerate(samples):
        if getattr(tokenizer, "is_fast", False):
            ids, mask = _by_offsets(tokenizer, *_spans(sample))
        else:
            ids, mask = _by_parts(tokenizer, sample)
        if len(ids) > context:
            raise InvalidRequestError(
                f"sample {index} is {len(ids)} tokens long; the model's context is {context}",
                provider=PROVIDER,
            )
        if mask:
            mask[0] = False
        out.append(Encoded(ids=ids, mask=mask, weight=sample.weight))
    return out
