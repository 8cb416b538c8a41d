"""Adapter weights and optimizer state between memory and a stored version (PEFT layout).

``adapter_config.json`` and ``adapter_model.safetensors`` are written as PEFT writes
them (``LoraConfig.save_pretrained`` and ``get_peft_model_state_dict``), so
``PeftModel.from_pretrained(base, path)`` loads a version without tuneplug. The AdamW
state goes beside them in ``optimizer.safetensors`` (its tensors as ``<param>.<name>``,
its parameter groups as JSON metadata: no pickle, and several times faster than
``torch.save`` for the many small tensors of a LoRA optimizer), and
``training_state.json`` holds the step count and the last idempotency keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuneplug_transformers.deprecations import quiet_peft
from tuneplug_transformers.store import STATE_FILE, AdapterMeta

if TYPE_CHECKING:
    from tuneplug_transformers.runtime import Base

__all__ = [
    "KEYS_KEPT",
    "adapter_parameters",
    "load_version",
    "make_optimizer",
    "write_version",
]

OPTIMIZER_FILE = "optimizer.safetensors"
WEIGHTS_FILE = "adapter_model.safetensors"
CONFIG_FILE = "adapter_config.json"
_CONFIGS: dict[str, bytes] = {}
"""``adapter_config.json`` of each adapter written in this process, by adapter id."""
KEYS_KEPT = 1024
"""Idempotency keys remembered per adapter: the job runner replays only the last step."""


def adapter_parameters(model: Any, adapter_id: str) -> list[Any]:
    """The adapter's own parameters, in module order (the optimizer's parameter order)."""
    marker = f".{adapter_id}."
    return [p for n, p in model.named_parameters() if marker in n]


def make_optimizer(model: Any, meta: AdapterMeta, directory: Path | None) -> Any:
    """AdamW over the adapter's parameters, with the stored state of ``directory`` if any.

    No weight decay, as transformers' Trainer defaults to for fine-tuning.
    """
    import torch

    params = adapter_parameters(model, meta.id)
    optimizer = torch.optim.AdamW(params, lr=meta.learning_rate, weight_decay=0.0)
    if directory is not None and (directory / OPTIMIZER_FILE).is_file():
        optimizer.load_state_dict(_read_optimizer(directory / OPTIMIZER_FILE))
    return optimizer


def _write_optimizer(optimizer: Any, path: Path) -> None:
    from safetensors.torch import save_file

    state = optimizer.state_dict()
    tensors = {
        f"{index}.{name}": value.detach().contiguous().cpu()
        for index, entries in state["state"].items()
        for name, value in entries.items()
    }
    save_file(tensors, str(path), metadata={"param_groups": json.dumps(state["param_groups"])})


def _read_optimizer(path: Path) -> dict[str, Any]:
    from safetensors import safe_open

    state: dict[int, dict[str, Any]] = {}
    with safe_open(str(path), framework="pt") as fh:
        groups = json.loads(fh.metadata()["param_groups"])
        for key in fh.keys():  # noqa: SIM118 (safe_open is not a mapping)
            index, name = key.split(".", 1)
            state.setdefault(int(index), {})[name] = fh.get_tensor(key)
    return {"state": state, "param_groups": groups}


def load_version(base: Base, meta: AdapterMeta, directory: Path) -> dict[str, Any]:
    """Put the weights of a stored version into ``base`` (adding the adapter if new).

    Returns the version's training state. Hold the base's lock.
    """
    from peft import LoraConfig, PeftModel, set_peft_model_state_dict
    from safetensors.torch import load_file

    model = base.loaded.model
    if not hasattr(model, "peft_config"):
        with quiet_peft():
            base.loaded.model = PeftModel.from_pretrained(
                model, str(directory), adapter_name=meta.id, is_trainable=True
            )
        base.active = meta.id
    elif meta.id not in model.peft_config:
        with quiet_peft():
            model.load_adapter(str(directory), adapter_name=meta.id, is_trainable=True)
    else:
        LoraConfig.from_pretrained(str(directory))  # a broken version fails here, loudly
        weights = load_file(directory / WEIGHTS_FILE, device=str(base.loaded.device))
        set_peft_model_state_dict(model, weights, adapter_name=meta.id)
    state: dict[str, Any] = json.loads((directory / STATE_FILE).read_text("utf-8"))
    return state


def write_version(
    base: Base, meta: AdapterMeta, optimizer: Any, training: dict[str, Any], directory: Path
) -> None:
    """Write the adapter's weights, config, optimizer state and training state."""
    from peft import get_peft_model_state_dict
    from peft.utils.constants import EMBEDDING_LAYER_NAMES
    from safetensors.torch import save_file

    model = base.loaded.model
    config = _CONFIGS.get(meta.id)
    if config is None:  # it never changes: serialise it once
        model.peft_config[meta.id].save_pretrained(str(directory))
        _CONFIGS[meta.id] = (directory / CONFIG_FILE).read_bytes()
    else:
        (directory / CONFIG_FILE).write_bytes(config)
    # PEFT's "auto" re-reads the base model's config.json (or asks the Hub) on every save
    # to detect a resized vocabulary; tuneplug never resizes it, so "auto" reduces to
    # PEFT's own rule for a list of target modules: save embeddings iff one is targeted.
    weights = get_peft_model_state_dict(
        model,
        adapter_name=meta.id,
        save_embedding_layers=any(t in EMBEDDING_LAYER_NAMES for t in meta.target_modules),
    )
    save_file(
        {k: v.detach().contiguous().cpu() for k, v in weights.items()},
        str(directory / WEIGHTS_FILE),
        metadata={"format": "pt"},
    )
    if optimizer is not None:
        _write_optimizer(optimizer, directory / OPTIMIZER_FILE)
    (directory / STATE_FILE).write_text(json.dumps(training), "utf-8")
