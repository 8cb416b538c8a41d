"""Shared by the transformers provider's tests: one tiny real model per test process.

The model (Llama-style, hidden size 64, two layers, a tokenizer trained on the fly)
is built once per process into a temporary directory and removed at exit; every
test points the provider at it through config, offline, with one torch thread (the
model is so small that more threads only add synchronisation).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path
from typing import Any

PROMPT = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: "
ANSWER = "The Dallas Cowboys!"
SEED_SAMPLE = {"inputs": [{"value": PROMPT, "trainable": False}, {"value": " " + ANSWER}]}
LEARNING_RATE = 1e-2
EOS_ID = 0
"""The tiny tokenizer's ``eos_token``, ``<|endoftext|>`` (``build_tiny_model``'s first special)."""
ENV = {"HF_HUB_OFFLINE": "1", "TUNEPLUG_TRANSFORMERS_THREADS": "1", "TOKENIZERS_PARALLELISM": "0"}


@functools.cache
def tiny_model_dir() -> Path:
    """The tiny model's directory (built on first call in this process)."""
    from tuneplug_transformers.tiny import build_tiny_model

    root = Path(tempfile.mkdtemp(prefix="tuneplug-tiny-"))
    atexit.register(shutil.rmtree, root, True)
    return build_tiny_model(root / "tiny")


def configure(home: Any, *, durable: bool = False) -> Path:
    """Point ``home`` (a ``TuneplugHome``) at the tiny model as ``transformers/tiny``."""
    directory = tiny_model_dir()
    home.set_env(ENV)
    home.write_config(
        "[providers.transformers]\n"
        f"models = {{ tiny = {str(directory)!r} }}\n"
        f"durable = {'true' if durable else 'false'}\n"
    )
    return directory


def loaded_base(model: Any) -> Any:
    """The provider's ``Loaded`` of ``model``'s base (a ``tuneplug.models.Model``; loads it)."""
    from tuneplug_transformers.plugin import runtime_of

    base, _ = runtime_of(model.provider.ctx).base_of(model.info)
    return base.loaded
