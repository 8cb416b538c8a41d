"""Build a tiny, randomly initialised causal LM and its tokenizer in a directory.

No weights can be downloaded on a test machine, so tests and benchmarks make a real
transformer from a config (Llama- or GPT-2-style, hidden size 64, a few layers) and
a byte-level BPE tokenizer trained on the fly with ``tokenizers``, with a ChatML
chat template. The result is an ordinary model directory: ``transformers/<dir>``
loads it, and so does ``AutoModelForCausalLM.from_pretrained``. Deterministic for a
given ``seed``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from tuneplug_transformers.progress import quiet_progress_bars

__all__ = ["CHAT_TEMPLATE", "build_tiny_model"]

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
"""ChatML, as many small chat models (SmolLM2, Qwen) write it."""

_SPECIALS = ["<|endoftext|>", "<pad>", "<|im_start|>", "<|im_end|>"]

_CORPUS = [
    "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: ",
    "Question: What is the capital of France?\n\nAnswer: Paris.",
    "Question: Who wrote Hamlet?\n\nAnswer: William Shakespeare.",
    "The Dallas Cowboys! The San Francisco 49ers. The Buffalo Bills.",
    "the quick brown fox jumps over the lazy dog, again and again.",
    "Assistant: User: System: hello, how are you today? I am fine, thank you.",
    "0123456789 ,.;:!?'\"()[]{}<>-_+=*/\\|@#$%^&~` \t\n",
]


def build_tiny_model(
    directory: str | Path,
    *,
    arch: Literal["llama", "gpt2"] = "llama",
    hidden_size: int = 64,
    layers: int = 2,
    vocab_size: int = 384,
    context: int = 256,
    seed: int = 0,
    init_range: float = 0.2,
) -> Path:
    """Write a tiny model, tokenizer and chat template to ``directory``; return it.

    Quiet: transformers' progress bar while it writes the model is not drawn (scoped to
    this call, the user's setting untouched: ``progress``).

    ``arch`` picks the architecture (and so the default LoRA targets: ``q_proj`` /
    ``v_proj`` for Llama, ``c_attn`` for GPT-2). ``context`` is the longest sequence.
    ``init_range`` is the weights' init std: ten times transformers' 0.02, so a random
    model predicts peaked (if wrong) distributions that LoRA can steer in a few steps
    instead of near-uniform ones it can barely move.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        AutoModelForCausalLM,
        GPT2Config,
        LlamaConfig,
        PreTrainedTokenizerFast,
    )

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator(_CORPUS * 4, trainer=trainer)
    tokenizer: Any = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=raw,
        eos_token="<|endoftext|>",
        pad_token="<pad>",
        model_max_length=context,
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out)
    common = {
        "vocab_size": len(tokenizer),
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    config: Any
    if arch == "llama":
        config = LlamaConfig(
            hidden_size=hidden_size,
            intermediate_size=hidden_size * 2,
            num_hidden_layers=layers,
            num_attention_heads=4,
            num_key_value_heads=4,
            max_position_embeddings=context,
            tie_word_embeddings=True,
            initializer_range=init_range,
            **common,
        )
    else:
        config = GPT2Config(
            n_embd=hidden_size,
            n_layer=layers,
            n_head=4,
            n_positions=context,
            initializer_range=init_range,
            **common,
        )
    torch.manual_seed(seed)
    model: Any = AutoModelForCausalLM.from_config(config)  # type: ignore[no-untyped-call]
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    with quiet_progress_bars():  # "Writing model shards" amid the caller's own output
        model.save_pretrained(out)
    return out
