"""The transformers provider's own guarantees: stops, masks, sampling, exactly-once steps,
bad input refused before any work, chat through the tokenizer's template, async."""

from __future__ import annotations

import asyncio
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError, UnknownModelError
from tuneplug.models import Model
from tuneplug.types import Message, Sample

from tests.transformers.kit import (
    ANSWER,
    EOS_ID,
    LEARNING_RATE,
    PROMPT,
    SEED_SAMPLE,
    configure,
    loaded_base,
)

torch = pytest.importorskip("torch")


@pytest.fixture
def base(tuneplug_home: Any) -> Model:
    configure(tuneplug_home)
    return tuneplug.get_model("transformers/tiny")


def _trained(base: Model) -> Model:
    adapter = base.create_adapter("seed", learning_rate=LEARNING_RATE)
    for _ in range(20):
        adapter.fine_tune([SEED_SAMPLE])
    assert adapter.complete(PROMPT, max_tokens=12).text == " " + ANSWER
    return adapter


def _call(target: Model, hook: str, **kwargs: Any) -> Any:
    return target.provider.call(hook, **kwargs)


def _adapters_dir(model: Model) -> Path:
    path: Path = model.provider.ctx.settings.adapters_path()
    return path


# -- stop sequences and streaming ------------------------------------------------------


def test_stop_sequences_cut_text_and_streams_never_show_part_of_one(base: Model) -> None:
    adapter = _trained(base)
    full = adapter.complete(PROMPT, max_tokens=12).text
    assert "Cowboys" in full
    done = adapter.complete(PROMPT, max_tokens=12, stop=["Cowboys"])
    assert done.text == full[: full.index("Cowboys")]
    assert done.finish_reason == "stop"
    chunks = list(adapter.stream(PROMPT, max_tokens=12, stop=["Cowboys"]))
    assert "".join(c.text for c in chunks) == done.text
    assert chunks[-1].finish_reason == "stop"
    assert len(chunks) > 2  # token by token, not one block
    shown = ""
    for chunk in chunks:  # at no point did the reader see the start of "Cowboys"
        shown += chunk.text
        assert not shown.endswith(("C", "Co", "Cow", "Cowb", "Cowbo", "Cowboy"))
    # A stop that never matches changes nothing; the earliest of several wins.
    assert adapter.complete(PROMPT, max_tokens=12, stop=["zzz"]).text == full
    both = adapter.complete(PROMPT, max_tokens=12, stop=["Cowboys", "Dallas"])
    assert both.text == full[: full.index("Dallas")]


def test_usage_counts_real_tokens(base: Model) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base.provider.ctx.settings.models["tiny"])
    done = base.complete(PROMPT, max_tokens=5)
    assert done.usage.prompt_tokens == len(tokenizer(PROMPT)["input_ids"])
    assert done.usage.completion_tokens == 5
    assert done.finish_reason == "length"


def test_seeded_sampling_repeats_and_top_k_1_is_greedy(base: Model) -> None:
    greedy = base.complete(PROMPT, max_tokens=10).text
    first = base.complete(PROMPT, max_tokens=10, temperature=1.5, seed=3).text
    assert base.complete(PROMPT, max_tokens=10, temperature=1.5, seed=3).text == first
    others = {base.complete(PROMPT, max_tokens=10, temperature=1.5, seed=s).text for s in range(4)}
    assert len(others | {first}) > 1
    assert base.complete(PROMPT, max_tokens=10, temperature=1.0, top_k=1, seed=9).text == greedy


def test_acomplete_and_astream_leave_the_event_loop_free(base: Model) -> None:
    async def main() -> tuple[int, str, str]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        done = await base.acomplete(PROMPT, max_tokens=24)
        streamed = "".join([c.text async for c in base.astream(PROMPT, max_tokens=24)])
        stop.set()
        await task
        return ticks, done.text, streamed

    ticks, text, streamed = asyncio.run(main())
    assert ticks > 24  # the loop kept running while tokens were made
    assert text == streamed == base.complete(PROMPT, max_tokens=24).text


# -- chat ----------------------------------------------------------------------------


def test_chat_goes_through_the_tokenizers_own_template(base: Model) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base.provider.ctx.settings.models["tiny"])
    messages = [Message(role="system", content="Be brief."), Message(role="user", content="Hi")]
    text = tokenizer.apply_chat_template(
        [m.model_dump(exclude={"weight"}) for m in messages],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert text.endswith("<|im_start|>assistant\n")
    expected_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    done = base.chat(messages, max_tokens=4)
    assert done.usage.prompt_tokens == len(expected_ids)
    assert base.provider.accepts("tuneplug_complete", "messages")


def test_chat_samples_train_in_the_layout_chat_completions_use(base: Model) -> None:
    question = "What NFL team won the Super Bowl in 1994?"
    template = _call(base, "tuneplug_chat_template", model=base.info)
    assert template.user_prefix == "<|im_start|>user\n" and template.stop == ("<|im_end|>",)
    adapter = base.create_adapter("chat", learning_rate=LEARNING_RATE)
    sample = {
        "messages": [
            {"role": "user", "content": question},
            {"role": "assistant", "content": ANSWER},
        ]
    }
    # The sample ends with the template's end of turn, where chat stops: no EOS is added.
    ids = loaded_base(base).tokenizer(f"{ANSWER}<|im_end|>\n", add_special_tokens=False)
    for _ in range(25):
        assert adapter.fine_tune([sample]).trainable_tokens == len(ids["input_ids"])
    done = adapter.chat([{"role": "user", "content": question}], max_tokens=16)
    assert done.text == ANSWER  # and it ended its turn: the end-of-turn token was trained too
    assert done.finish_reason == "stop"


# -- training --------------------------------------------------------------------------


def test_only_trainable_parts_count_and_multiplier_is_a_loss_weight(base: Model) -> None:
    from tuneplug_transformers.batches import encode_samples

    loaded = loaded_base(base)
    tokenizer, ending = loaded.tokenizer, loaded.ending
    [enc] = encode_samples(tokenizer, [Sample.model_validate(SEED_SAMPLE)], 256, ending)
    answer_ids = [*tokenizer(" " + ANSWER, add_special_tokens=False)["input_ids"], EOS_ID]
    assert enc.trainable == len(answer_ids)  # the answer and the EOS ending it
    assert enc.ids[-len(answer_ids) :] == answer_ids and all(enc.mask[-len(answer_ids) :])
    assert not any(enc.mask[: -len(answer_ids)])
    [whole] = encode_samples(tokenizer, [Sample(inputs=PROMPT + " " + ANSWER)], 256, ending)
    assert whole.trainable == len(whole.ids) - 1  # nothing predicts the first token

    weighted = [SEED_SAMPLE, {"inputs": "Question: Who wrote Hamlet?\n\nAnswer: Shakespeare."}]
    one = base.create_adapter("w1", learning_rate=LEARNING_RATE)
    three = base.create_adapter("w3", learning_rate=LEARNING_RATE)
    first = one.fine_tune(weighted)
    heavier = three.fine_tune([{**weighted[0], "multiplier": 3.0}, weighted[1]])
    # LoRA starts as the base model: the loss before the first step is the same...
    assert heavier.sum_loss == pytest.approx(first.sum_loss, rel=1e-5)
    assert heavier.trainable_tokens == first.trainable_tokens
    # ...and the weighted sample's loss falls further after the weighted step.
    seed_only = [SEED_SAMPLE]
    assert three.fine_tune(seed_only).sum_loss < one.fine_tune(seed_only).sum_loss


def test_a_seen_idempotency_key_is_answered_without_a_step(base: Model) -> None:
    adapter = base.create_adapter("once", learning_rate=LEARNING_RATE)
    batch = [Sample.model_validate(SEED_SAMPLE)]
    first = _call(
        adapter, "tuneplug_fine_tune", model=adapter.info, samples=batch, idempotency_key="j:1"
    )
    again = _call(
        adapter, "tuneplug_fine_tune", model=adapter.info, samples=batch, idempotency_key="j:1"
    )
    assert again == first
    state = json.loads(
        (_adapters_dir(adapter) / adapter.id / "current" / "training_state.json").read_text()
    )
    assert state["step"] == 1 and state["keys"] == [["j:1", first.trainable_tokens, first.sum_loss]]
    second = _call(
        adapter, "tuneplug_fine_tune", model=adapter.info, samples=batch, idempotency_key="j:2"
    )
    assert second.sum_loss < first.sum_loss


def test_adapters_are_listed_resolved_by_name_and_deleted(base: Model) -> None:
    adapter = base.create_adapter("findme", learning_rate=LEARNING_RATE)
    assert tuneplug.get_model("transformers/findme").id == adapter.id
    refs = {m.ref for m in tuneplug.list_models("transformers")}
    assert {"transformers/tiny", adapter.ref} <= refs
    adapter.delete()
    assert not (_adapters_dir(base) / adapter.id).exists()
    assert adapter.ref not in {m.ref for m in tuneplug.list_models("transformers")}


def _initial_weights(adapter: Model) -> dict[str, Any]:
    from safetensors.torch import load_file

    path = _adapters_dir(adapter) / adapter.id / "current" / "adapter_model.safetensors"
    return load_file(path)


def test_lora_options_reach_peft(base: Model) -> None:
    adapter = base.create_adapter(
        "opts", rank=4, lora_alpha=8, lora_dropout=0.1, target_modules=["q_proj", "k_proj"]
    )
    config = json.loads(
        (_adapters_dir(adapter) / adapter.id / "current" / "adapter_config.json").read_text()
    )
    assert (config["r"], config["lora_alpha"], config["lora_dropout"]) == (4, 8, 0.1)
    assert sorted(config["target_modules"]) == ["k_proj", "q_proj"]
    assert adapter.fine_tune([SEED_SAMPLE]).trainable_tokens > 0
    # init_seed: the same seed makes the same initial adapter, another seed another.
    weights = [
        _initial_weights(base.create_adapter(f"s{i}", init_seed=seed))
        for i, seed in enumerate((5, 5, 6))
    ]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert any(not torch.equal(weights[0][k], weights[2][k]) for k in weights[0])
    with pytest.raises(InvalidRequestError, match="lora_alpha"):
        base.create_adapter("bad", lora_alpha=-1)


def test_gpt2_style_models_get_their_default_target_modules(
    tuneplug_home: Any, tmp_path: Path
) -> None:
    from tuneplug_transformers.tiny import build_tiny_model

    configure(tuneplug_home)
    directory = build_tiny_model(tmp_path / "gpt2", arch="gpt2", layers=1)
    base = tuneplug.get_model(f"transformers/{directory}")
    assert base.id == str(directory)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        adapter = base.create_adapter("g", learning_rate=LEARNING_RATE)
    # GPT-2's Conv1D stores weights transposed: said so to PEFT, which otherwise
    # corrected it with a UserWarning on stderr.
    assert [str(w.message) for w in caught] == []
    meta = json.loads((_adapters_dir(base) / adapter.id / "meta.json").read_text())
    assert meta["target_modules"] == ["c_attn"]
    config = json.loads(
        (_adapters_dir(base) / adapter.id / "current" / "adapter_config.json").read_text()
    )
    assert config["fan_in_fan_out"] is True
    assert adapter.fine_tune([SEED_SAMPLE]).trainable_tokens > 0


# -- bad input: one typed error, before any work -----------------------------------------


def test_bad_adapter_arguments_are_refused_before_anything_is_written(base: Model) -> None:
    bad: list[tuple[int | None, float | None, dict[str, Any]]] = [
        (0, None, {}),
        (1000, None, {}),
        (None, 1.5, {}),
        (None, -0.1, {}),
        (None, None, {"target_modules": ["q_proj", "no_such_proj"]}),
        (None, None, {"lora_dropout": 1.0}),
        (None, None, {"lora_alpha": 0}),
        (None, None, {"no_such_option": 1}),
    ]
    for rank, lr, options in bad:
        with pytest.raises(InvalidRequestError) as refused:
            _call(
                base,
                "tuneplug_create_adapter",
                base=base.info,
                name="x",
                rank=rank,
                learning_rate=lr,
                options=options,
            )
        assert refused.value.provider == "transformers"
    assert not _adapters_dir(base).exists() or not any(_adapters_dir(base).iterdir())


def test_a_missing_target_module_is_named(base: Model) -> None:
    with pytest.raises(InvalidRequestError, match="no_such_proj"):
        _call(
            base,
            "tuneplug_create_adapter",
            base=base.info,
            name="x",
            rank=None,
            learning_rate=None,
            options={"target_modules": ["no_such_proj"]},
        )


def test_a_sample_longer_than_the_context_is_refused_before_the_step(base: Model) -> None:
    adapter = base.create_adapter("long", learning_rate=LEARNING_RATE)
    with pytest.raises(InvalidRequestError, match="context is 256"):
        adapter.fine_tune([SEED_SAMPLE, {"inputs": "again and again " * 200}])
    state = json.loads(
        (_adapters_dir(adapter) / adapter.id / "current" / "training_state.json").read_text()
    )
    assert state["step"] == 0
    with pytest.raises(InvalidRequestError, match="context is 256"):
        base.complete("again and again " * 200)


def test_unloadable_base_models_are_typed_errors_naming_them(
    tuneplug_home: Any, tmp_path: Path
) -> None:
    configure(tuneplug_home)
    with pytest.raises(UnknownModelError, match="no model directory"):
        tuneplug.get_model(f"transformers/{tmp_path}/nothing-here")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "no-such-architecture"}')
    model = tuneplug.get_model(f"transformers/{broken}")
    with pytest.raises((UnknownModelError, InvalidRequestError), match="broken"):
        model.complete("hi")
    with pytest.raises(UnknownModelError, match="HF_HUB_OFFLINE") as offline:
        tuneplug.get_model("transformers/SomeOrg/not-cached-model")
    assert "SomeOrg/not-cached-model" in str(offline.value)
