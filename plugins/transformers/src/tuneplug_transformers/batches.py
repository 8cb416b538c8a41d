"""Samples to token ids and loss masks, checked against the model's context first.

A sample's text is tokenised whole (exactly as a prompt is at completion time, special
tokens included), and each token counts towards the loss when any character it
covers lies in a trainable part. Tokenising parts one by one would split words the
model never sees split, and searching the ids for a response template (the old TRL
collator) breaks when tokens merge across the boundary; character offsets do neither.
Slow tokenizers without offsets fall back to tokenising part by part. The first token
never counts: nothing predicts it.

A sample then ends with the tokenizer's end-of-sequence token, a loss target when the
sample's last part is trainable, so the model learns to stop after what it was taught
to write (as TRL's ``SFTTrainer`` appends ``eos_token`` to every non-conversational
completion or text, and hosted fine-tuning ends each example likewise). It is not
doubled: a sample whose last non-blank token already ends a generation (the EOS written
into the text, or a chat template's end-of-turn token such as ChatML's ``<|im_end|>``,
where chat completions stop) gets none. A sample whose last part is not trainable gets
none either: an EOS that is no loss target teaches nothing (OpenAI likewise leaves a
weight-0 final assistant turn, end-of-turn included, out of the loss).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from tuneplug.errors import InvalidRequestError
from tuneplug.types import Sample

from tuneplug_transformers.refs import PROVIDER

__all__ = ["Encoded", "Ending", "encode_samples"]


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


@dataclass(frozen=True)
class Ending:
    """How a sample's token sequence ends (see the module doc).

    Attributes:
        eos_id: the token appended (``None``: a tokenizer without one; nothing appended).
        ends: token ids after which nothing is appended, because a generation stops
            there already (the model's EOS ids and its chat template's end-of-turn ids).
    """

    eos_id: int | None
    ends: frozenset[int]

    def missing(self, tokenizer: Any, ids: list[int]) -> int | None:
        """The EOS to append to ``ids``, or ``None`` if they end already (an ``ends`` id
        before their trailing blank tokens: a ChatML turn ends ``<|im_end|>`` then a
        newline) or there is no EOS to append."""
        for token in reversed(ids):
            if token in self.ends:
                return None
            if str(tokenizer.decode([token])).strip():
                break
        return self.eos_id


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


def _last_part_trainable(sample: Sample) -> bool:
    return isinstance(sample.inputs, str) or sample.inputs[-1].trainable


def encode_samples(
    tokenizer: Any, samples: list[Sample], context: int, ending: Ending
) -> list[Encoded]:
    """Encode a batch, each sample ended per ``ending``; every sample is checked before
    anything is trained.

    Raises:
        InvalidRequestError: a sample is longer than the model's context, its EOS
            included (naming the sample and both lengths).
    """
    out = []
    for index, sample in enumerate(samples):
        if getattr(tokenizer, "is_fast", False):
            ids, mask = _by_offsets(tokenizer, *_spans(sample))
        else:
            ids, mask = _by_parts(tokenizer, sample)
        eos = ending.missing(tokenizer, ids) if _last_part_trainable(sample) else None
        if eos is not None:
            ids.append(eos)
            mask.append(True)
        if len(ids) > context:
            with_eos = " with the end-of-sequence token ending it" if eos is not None else ""
            raise InvalidRequestError(
                f"sample {index} is {len(ids)} tokens long{with_eos}; "
                f"the model's context is {context}",
                provider=PROVIDER,
            )
        if mask:
            mask[0] = False
        out.append(Encoded(ids=ids, mask=mask, weight=sample.weight))
    return out
