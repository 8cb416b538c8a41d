"""Samples end with the tokenizer's EOS, so a trained adapter stops after what it was taught.

Every shape of sample: one trainable text, a prompt and an answer, several segments, a
last segment that is not trainable (no EOS: nothing teaches it), a text already ending
with the EOS or a chat sample ending with the template's end of turn (not doubled), a slow
tokenizer (parts tokenised one by one), a tokenizer without an EOS, the context limit
counting the EOS. What it is for, an adapter that stops after the answer (and the token
counts saying the EOS was trained), is checked where the training runs anyway:
``test_seed.py`` (``fine_tune``), ``test_jobs.py`` (a job), ``test_provider.py`` (chat),
``test_readme.py`` (the README's example).
"""

from __future__ import annotations

from typing import Any

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError
from tuneplug.models import Model
from tuneplug.samples import to_inputs
from tuneplug.types import ChatSample, Sample

from tests.transformers.kit import (
    ANSWER,
    EOS_ID,
    PROMPT,
    SEED_SAMPLE,
    configure,
    loaded_base,
)

pytest.importorskip("torch")

QUESTION = "What NFL team won the Super Bowl in 1994?"


@pytest.fixture
def base(tuneplug_home: Any) -> Model:
    configure(tuneplug_home)
    return tuneplug.get_model("transformers/tiny")


@pytest.fixture
def loaded(base: Model) -> Any:
    return loaded_base(base)


def _encode(loaded: Any, sample: Any, *, tokenizer: Any = None, context: int = 256) -> Any:
    from tuneplug_transformers.batches import encode_samples

    tokenizer = loaded.tokenizer if tokenizer is None else tokenizer
    [encoded] = encode_samples(tokenizer, [Sample.coerce(sample)], context, loaded.ending)
    return encoded


def _ids(loaded: Any, text: str) -> list[int]:
    return list(loaded.tokenizer(text)["input_ids"])


def _parts(*parts: tuple[str, bool]) -> dict[str, Any]:
    return {"inputs": [{"value": value, "trainable": trainable} for value, trainable in parts]}


# -- how samples end ---------------------------------------------------------------------


def test_a_trainable_ending_gets_one_trainable_eos(loaded: Any) -> None:
    assert loaded.ending.eos_id == EOS_ID == loaded.tokenizer.eos_token_id
    text = "the quick brown fox"
    plain = _encode(loaded, text)
    assert plain.ids == [*_ids(loaded, text), EOS_ID]
    assert plain.mask == [False] + [True] * (len(plain.ids) - 1)

    seed = _encode(loaded, SEED_SAMPLE)
    answer = loaded.tokenizer(" " + ANSWER, add_special_tokens=False)["input_ids"]
    assert seed.ids == [*_ids(loaded, PROMPT), *answer, EOS_ID]
    assert seed.trainable == len(answer) + 1 and seed.mask[-1]


def test_every_trainable_segment_counts_and_only_the_end_gets_the_eos(loaded: Any) -> None:
    parts = [(PROMPT, False), (" The Dallas", True), (" (a team)", False), (" Cowboys!", True)]
    encoded = _encode(loaded, _parts(*parts))
    text = "".join(value for value, _ in parts)
    assert encoded.ids == [*_ids(loaded, text), EOS_ID]
    assert encoded.ids.count(EOS_ID) == 1
    # The middle segment is context: its tokens do not count, the ones after it do.
    by_token = [
        loaded.tokenizer.decode([i]) for i, m in zip(encoded.ids, encoded.mask, strict=True) if m
    ]
    assert "".join(by_token) == " The Dallas Cowboys!<|endoftext|>"


def test_a_last_segment_that_is_not_trainable_gets_no_eos(loaded: Any) -> None:
    # Nothing teaches the model to write the context it ends with, so nothing teaches it
    # to stop after it either (an untrained EOS would be no loss target at all).
    parts = [(PROMPT, False), (" " + ANSWER, True), ("\n\nQuestion:", False)]
    encoded = _encode(loaded, _parts(*parts))
    assert encoded.ids == _ids(loaded, "".join(value for value, _ in parts))
    assert EOS_ID not in encoded.ids and not encoded.mask[-1]
    answer = loaded.tokenizer(" " + ANSWER, add_special_tokens=False)["input_ids"]
    assert encoded.trainable == len(answer)


def test_an_eos_already_ending_the_text_is_not_doubled(loaded: Any) -> None:
    for text in (" " + ANSWER + "<|endoftext|>", " " + ANSWER + "<|endoftext|>\n"):
        encoded = _encode(loaded, _parts((PROMPT, False), (text, True)))
        assert encoded.ids == _ids(loaded, PROMPT + text)
        assert encoded.ids.count(EOS_ID) == 1, text
    # Blank text after the answer is no ending: the EOS follows it.
    blank = _encode(loaded, _parts((PROMPT, False), (" " + ANSWER + "\n", True)))
    assert blank.ids == [*_ids(loaded, PROMPT + " " + ANSWER + "\n"), EOS_ID]


def test_a_chat_sample_ends_at_the_templates_end_of_turn(base: Model, loaded: Any) -> None:
    template = base.provider.call("tuneplug_chat_template", model=base.info)
    chat = ChatSample.model_validate(
        {
            "messages": [
                {"role": "user", "content": QUESTION},
                {"role": "assistant", "content": ANSWER},
            ]
        }
    )
    sample = to_inputs(chat, template)
    assert sample.text.endswith(ANSWER + "<|im_end|>\n")
    encoded = _encode(loaded, sample)
    # <|im_end|> is where chat completions stop: it ends the sample, no EOS is added.
    assert encoded.ids == _ids(loaded, sample.text)
    assert EOS_ID not in encoded.ids
    end_of_turn = loaded.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert end_of_turn in loaded.ending.ends
    assert encoded.ids[-2] == end_of_turn and encoded.mask[-2] and encoded.mask[-1]
    # Without a template the chat sample is tuneplug's default layout, which has no
    # end-of-turn token: the EOS ends the assistant's reply.
    fallback = to_inputs(chat, None)
    assert _encode(loaded, fallback).ids == [*_ids(loaded, fallback.text), EOS_ID]
    # A last assistant turn left out of the loss (weight 0, as OpenAI's files write it)
    # ends with an untrained end of turn, and nothing is added after it in either layout.
    messages = [m.model_dump() for m in chat.messages]
    untrained = ChatSample.model_validate(
        {"messages": [*messages, {"role": "user", "content": "And 1995?"},
                      {"role": "assistant", "content": "San Francisco.", "weight": 0}]}
    )  # fmt: skip
    for layout in (template, None):
        sample = to_inputs(untrained, layout)
        encoded = _encode(loaded, sample)
        assert encoded.ids == _ids(loaded, sample.text) and not encoded.mask[-1]
        assert encoded.ids.count(EOS_ID) == 0


class _Slow:
    """The tiny tokenizer as a slow one (no offsets): samples are tokenised part by part."""

    is_fast = False

    def __init__(self, fast: Any) -> None:
        self._fast = fast

    def __call__(self, text: str, **kwargs: Any) -> Any:
        return self._fast(text, **kwargs)

    def decode(self, ids: list[int]) -> str:
        return str(self._fast.decode(ids))


def test_a_slow_tokenizer_ends_samples_alike(loaded: Any) -> None:
    slow = _Slow(loaded.tokenizer)
    seed = _encode(loaded, SEED_SAMPLE, tokenizer=slow)
    answer = loaded.tokenizer(" " + ANSWER, add_special_tokens=False)["input_ids"]
    assert seed.ids[-len(answer) - 1 :] == [*answer, EOS_ID]
    assert seed.trainable == len(answer) + 1
    ended = _encode(
        loaded, _parts((PROMPT, False), (" " + ANSWER + "<|endoftext|>", True)), tokenizer=slow
    )
    assert ended.ids.count(EOS_ID) == 1
    context = _encode(
        loaded, _parts((PROMPT, False), (" " + ANSWER, True), ("\n", False)), tokenizer=slow
    )
    assert EOS_ID not in context.ids


def test_a_tokenizer_without_an_eos_ends_samples_with_nothing(loaded: Any) -> None:
    from tuneplug_transformers.batches import Ending, encode_samples

    [encoded] = encode_samples(
        loaded.tokenizer, [Sample.coerce(SEED_SAMPLE)], 256, Ending(eos_id=None, ends=frozenset())
    )
    assert encoded.ids == _ids(loaded, PROMPT + " " + ANSWER)


def test_the_eos_counts_towards_the_context(loaded: Any) -> None:
    text = " " + ANSWER
    room = len(_ids(loaded, PROMPT + text))  # exactly the context without the EOS
    with pytest.raises(InvalidRequestError, match=r"sample 0 is \d+ tokens long with the end-of"):
        _encode(loaded, _parts((PROMPT, False), (text, True)), context=room)
    assert (
        len(_encode(loaded, _parts((PROMPT, False), (text, True)), context=room + 1).ids)
        == room + 1
    )
    # Ending with context (no EOS), the same text fits.
    assert (
        len(
            _encode(
                loaded,
                _parts(
                    (PROMPT + text, False),
                ),
                context=room,
            ).ids
        )
        == room
    )
