"""Creating LoRA adapters and running one exactly-once training step.

A step: encode and check the batch (before any work; each sample ends with the
tokenizer's EOS, a target when its last part is trainable, see ``batches``), take the
adapter's lock, load the committed version if another process moved it, answer a seen
idempotency key from the record, else one AdamW step on the weighted mean loss of the
trainable tokens, then commit weights, optimizer state and the key as one new version.
``sum_loss`` is the summed token loss *before* the update (unweighted, so
``loss == sum_loss / trainable_tokens`` is the model's mean token loss); the
``multiplier`` weights a sample's tokens in the update. Dropout (base or LoRA) draws
from a generator seeded by the step number, so a replayed step is the same step.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from tuneplug.errors import InvalidRequestError
from tuneplug.types import FineTuneResult, ModelInfo, Sample

from tuneplug_transformers.batches import Encoded, encode_samples
from tuneplug_transformers.deprecations import quiet_peft
from tuneplug_transformers.refs import MAX_RANK, PROVIDER
from tuneplug_transformers.runtime import Base, Runtime, adapter_info
from tuneplug_transformers.settings import AdapterOptions
from tuneplug_transformers.store import AdapterMeta, new_adapter_id
from tuneplug_transformers.weights import KEYS_KEPT, make_optimizer, write_version

__all__ = ["DEFAULT_LEARNING_RATE", "DEFAULT_RANK", "create_adapter", "fine_tune"]

DEFAULT_RANK = 8
DEFAULT_LEARNING_RATE = 1e-4


def _targets(base: Base, wanted: tuple[str, ...] | None) -> tuple[str, ...]:
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING

    model = base.loaded.model
    names = [n for n, _ in model.named_modules() if ".lora_" not in n]
    if wanted is None:
        default = TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.get(base.loaded.model_type)
        if not default:
            raise InvalidRequestError(
                f"no default LoRA target modules for model type {base.loaded.model_type!r}: "
                "pass target_modules",
                provider=PROVIDER,
            )
        wanted = tuple(default)
    leaves = {n.rsplit(".", 1)[-1] for n in names}
    missing = [t for t in wanted if t not in leaves and t not in names]
    if missing:
        known = ", ".join(sorted(leaves - {""})[:40])
        raise InvalidRequestError(
            f"target module(s) {', '.join(missing)} not in {base.loaded.source.id!r} "
            f"(its modules: {known})",
            provider=PROVIDER,
        )
    return wanted


def _transposed(base: Base, targets: tuple[str, ...]) -> bool:
    """Whether the target modules store their weight transposed (GPT-2's ``Conv1D``): PEFT's
    ``fan_in_fan_out``. Left ``False`` there, PEFT corrects it and warns on stderr."""
    from transformers.pytorch_utils import Conv1D

    return any(
        isinstance(module, Conv1D) and (name in targets or name.rsplit(".", 1)[-1] in targets)
        for name, module in base.loaded.model.named_modules()
    )


def create_adapter(
    runtime: Runtime,
    base_info: ModelInfo,
    name: str,
    rank: int | None,
    learning_rate: float | None,
    options: AdapterOptions,
) -> ModelInfo:
    """Create and store a LoRA adapter on ``base_info``; return its ``ModelInfo``.

    Raises:
        InvalidRequestError: rank outside 1..256, learning rate outside (0, 1), a
            target module the model does not have (all before anything is written).
        UnknownModelError: the base model cannot be loaded.
    """
    rank = DEFAULT_RANK if rank is None else rank
    lr = DEFAULT_LEARNING_RATE if learning_rate is None else learning_rate
    if isinstance(rank, bool) or not 1 <= rank <= MAX_RANK:
        raise InvalidRequestError(f"rank must be in 1..{MAX_RANK}, got {rank}", provider=PROVIDER)
    if not (0 < lr < 1 and math.isfinite(lr)):
        raise InvalidRequestError(f"learning_rate must be in (0, 1), got {lr}", provider=PROVIDER)
    base, _ = runtime.base_of(base_info)
    from peft import LoraConfig, get_peft_model

    meta = AdapterMeta(
        id=new_adapter_id(),
        name=name,
        base_model_id=base_info.id,
        base_location=base.loaded.source.location,
        rank=rank,
        lora_alpha=options.lora_alpha if options.lora_alpha is not None else 2.0 * rank,
        lora_dropout=options.lora_dropout,
        target_modules=_targets(base, options.target_modules),
        learning_rate=lr,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    # PEFT types alpha as int but only divides by it: keep 16.0 as 16, 24.5 as 24.5.
    alpha: Any = int(meta.lora_alpha) if meta.lora_alpha.is_integer() else meta.lora_alpha
    config = LoraConfig(
        r=meta.rank,
        lora_alpha=alpha,
        lora_dropout=meta.lora_dropout,
        target_modules=list(meta.target_modules),
        task_type="CAUSAL_LM",
        base_model_name_or_path=meta.base_location,
        fan_in_fan_out=_transposed(base, meta.target_modules),
    )
    import torch

    devices = [base.loaded.device] if base.loaded.device.type == "cuda" else []
    with base.lock:
        model = base.loaded.model
        try:
            with torch.random.fork_rng(devices=devices):
                if options.init_seed is not None:
                    torch.manual_seed(options.init_seed)
                with quiet_peft():
                    if hasattr(model, "peft_config"):
                        model.add_adapter(meta.id, config)
                    else:
                        model = get_peft_model(model, config, adapter_name=meta.id)
                        base.loaded.model = model
                        base.active = meta.id
            model.eval()
            training = {"step": 0, "trained_tokens": 0, "keys": []}
            runtime.store.create(meta, lambda d: write_version(base, meta, None, training, d))
        except BaseException:
            runtime.forget(base, meta.id)
            raise
    return adapter_info(meta)


def _loss_sums(model: Any, batch: list[Encoded], pad_id: int, device: Any) -> tuple[Any, Any]:
    """Per-sample summed token losses (tensor, with grad) and the trainable mask."""
    import torch

    width = max(len(e.ids) for e in batch)
    # Padded in Python, one tensor each: a torch.tensor + slice assignment per row cost
    # ~1 ms a step (5-8 % of a small model's step), more than the rows themselves.
    pads = [width - len(e.ids) for e in batch]
    ids = torch.tensor(
        [[*e.ids, *[pad_id] * pad] for e, pad in zip(batch, pads, strict=True)], dtype=torch.long
    )
    attention = torch.tensor(
        [[1] * len(e.ids) + [0] * pad for e, pad in zip(batch, pads, strict=True)],
        dtype=torch.long,
    )
    mask = torch.tensor(
        [[*e.mask, *[False] * pad] for e, pad in zip(batch, pads, strict=True)], dtype=torch.bool
    )
    ids, attention, mask = ids.to(device), attention.to(device), mask.to(device)
    logits = model(input_ids=ids, attention_mask=attention).logits.float()
    # Position t predicts token t + 1. The targets move left (the last position gets a
    # pad, masked out) instead of the logits being sliced: a sliced (B, T-1, V) view is
    # copied by the reshape, a whole second logits tensor (B x T x 32k-150k floats on a
    # real model) plus its gradient; transformers' own loss shifts the labels likewise.
    targets = torch.cat([ids[:, 1:], ids[:, :1].clone().fill_(pad_id)], dim=1)
    shifted = torch.cat([mask[:, 1:], torch.zeros_like(mask[:, :1])], dim=1)
    token_loss = torch.nn.functional.cross_entropy(
        logits.view(-1, logits.shape[-1]), targets.view(-1), reduction="none"
    ).view(targets.shape)
    token_loss = token_loss * shifted
    return token_loss.sum(dim=1), shifted.sum()


def _seed(torch: Any, device: Any, seed: int) -> None:
    """Seed the generator the step's dropout draws from (what ``fork_rng`` restores after).

    ``torch.manual_seed`` also queues a lazy seed for every accelerator backend, recording
    a Python stack trace each time CUDA is not initialised (about 1 ms a step on CPU); on
    CPU only the default generator is used, so seeding it alone draws the same masks.
    """
    if device.type == "cpu":
        torch.random.default_generator.manual_seed(seed)
    else:
        torch.manual_seed(seed)


def train_step(
    base: Base, adapter_id: str, optimizer: Any, batch: list[Encoded], seed: int
) -> tuple[int, float]:
    """One optimizer step on ``batch``; ``(trainable tokens, summed loss before it)``."""
    import torch

    loaded = base.loaded
    model = loaded.model
    pad_id = loaded.tokenizer.pad_token_id
    pad_id = pad_id if pad_id is not None else next(iter(loaded.eos_ids), 0)
    weights = torch.tensor([e.weight for e in batch], device=loaded.device)
    devices = [loaded.device] if loaded.device.type == "cuda" else []
    base.activate(adapter_id)
    model.train()
    try:
        with torch.random.fork_rng(devices=devices):
            _seed(torch, loaded.device, seed)
            sums, count = _loss_sums(model, batch, pad_id, loaded.device)
        tokens = int(count)
        sum_loss = float(sums.detach().sum())
        if tokens:
            ((sums * weights).sum() / tokens).backward()
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    finally:
        model.eval()
    return tokens, sum_loss


def fine_tune(
    runtime: Runtime, info: ModelInfo, samples: list[Sample], key: str | None
) -> FineTuneResult:
    """One exactly-once training step of the adapter ``info`` (see the module doc).

    ``trainable_tokens`` counts the EOS each sample with a trainable last part ends with
    (unless the sample ends with one already: ``batches``).

    Raises:
        InvalidRequestError: a sample is longer than the model's context, its EOS
            included (before any work).
        NotFoundError: the adapter does not exist.
        InvalidRequestError: the loss is not finite (nothing is committed).
    """
    base, meta = runtime.base_of(info)
    assert meta is not None
    loaded = base.loaded
    batch = encode_samples(loaded.tokenizer, samples, loaded.context, loaded.ending)
    with runtime.store.locked(meta.id), base.lock:
        state = runtime.sync_adapter(base, meta)
        for seen, tokens, loss in state.training["keys"]:
            if key is not None and seen == key:
                return FineTuneResult(trainable_tokens=tokens, sum_loss=loss)
        if state.optimizer is None:
            state.optimizer = make_optimizer(
                base.loaded.model, meta, runtime.store.adapter_dir(meta.id) / state.version
            )
        step = int(state.training["step"]) + 1
        tokens, sum_loss = train_step(base, meta.id, state.optimizer, batch, seed=step)
        if not math.isfinite(sum_loss):
            state.version = ""  # the weights moved; reload the committed ones next time
            raise InvalidRequestError(
                f"the loss is not finite ({sum_loss}); nothing was committed "
                "(lower the learning rate?)",
                provider=PROVIDER,
            )
        keys = state.training["keys"]
        if key is not None:
            keys = [*keys, [key, tokens, sum_loss]][-KEYS_KEPT:]
        training = {
            "step": step,
            "trained_tokens": int(state.training["trained_tokens"]) + tokens,
            "keys": keys,
        }
        try:
            state.version = runtime.store.commit(
                meta.id, step, lambda d: write_version(base, meta, state.optimizer, training, d)
            )
        except BaseException:
            state.version = ""  # memory is ahead of the disk: reload before the next use
            state.optimizer = None
            raise
        state.training = training
    return FineTuneResult(trainable_tokens=tokens, sum_loss=sum_loss)
