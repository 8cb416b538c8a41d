"""Loading a base model and its tokenizer onto a device (imports torch on first call).

Device ``auto`` picks CUDA, then MPS, then the CPU; dtype ``auto`` picks bfloat16 on a
GPU that supports it, float16 on other GPUs and MPS, float32 on the CPU (where half
precision is slow and lossy for training). Load failures become typed tuneplug errors
naming the model, raised before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuneplug.errors import InvalidRequestError, UnknownModelError

from tuneplug_transformers.batches import Ending
from tuneplug_transformers.chat import end_of_turn_ids
from tuneplug_transformers.device import choose_device
from tuneplug_transformers.progress import quiet_progress_bars
from tuneplug_transformers.refs import PROVIDER, BaseSource
from tuneplug_transformers.settings import TransformersSettings

if TYPE_CHECKING:
    import torch

__all__ = ["Loaded", "choose_dtype", "load_base", "load_tokenizer"]

_threads_set = False


@dataclass
class Loaded:
    """A base model in memory with what completions and training need to know about it.

    Attributes:
        source: where it came from.
        model: the ``PreTrainedModel`` (wrapped in a ``PeftModel`` once an adapter is used).
        tokenizer: its (fast, where available) tokenizer.
        device: where its weights live.
        context: the longest sequence it takes (``max_position_embeddings`` or the
            tokenizer's ``model_max_length``, whichever is smaller and known).
        eos_ids: token ids that end a generation.
        model_type: the config's ``model_type`` (``llama``, ``gpt2``...), which picks
            the default LoRA target modules.
        ending: how a training sample's tokens end (the EOS appended, and the ids that
            end a sample already: ``eos_ids`` and the chat template's end of turn).
    """

    source: BaseSource
    model: Any
    tokenizer: Any
    device: torch.device
    context: int
    eos_ids: frozenset[int]
    model_type: str
    ending: Ending


def choose_dtype(setting: str, device: torch.device) -> torch.dtype:
    """The dtype ``setting`` names; ``auto`` depends on the device (see the module doc)."""
    import torch

    if setting != "auto":
        return getattr(torch, setting)  # type: ignore[no-any-return]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.float32


def _context(model: Any, tokenizer: Any) -> int:
    limits = [getattr(model.config, "max_position_embeddings", None)]
    limits.append(getattr(model.config, "n_positions", None))
    max_len = getattr(tokenizer, "model_max_length", None)
    # Tokenizers without a limit report a huge sentinel (int(1e30)); ignore it.
    if isinstance(max_len, int) and max_len < 10_000_000:
        limits.append(max_len)
    known = [int(n) for n in limits if isinstance(n, int) and n > 0]
    return min(known) if known else 2048


def _eos_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    found: set[int] = set()
    for value in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            found.add(value)
        elif isinstance(value, list | tuple):
            found.update(v for v in value if isinstance(v, int))
    return frozenset(found)


def load_tokenizer(source: BaseSource, settings: TransformersSettings) -> Any:
    """Only the tokenizer of ``source`` (for its chat template); errors as :func:`load_base`."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(
            source.location, trust_remote_code=settings.trust_remote_code
        )
    except OSError as exc:
        raise UnknownModelError(
            f"cannot load the tokenizer of {source.id!r} from {source.location}: "
            f"{_first_line(exc)}",
            provider=PROVIDER,
        ) from None


def load_base(source: BaseSource, settings: TransformersSettings, device_from: str) -> Loaded:
    """Load ``source``'s model and tokenizer (eval mode, on the chosen device);
    ``device_from`` says where the ``device`` setting was set, for its errors.

    Raises:
        ConfigError: the ``device`` setting names one this machine lacks (before any loading).
        UnknownModelError: nothing loadable at the path or hub id (or not cached offline).
        InvalidRequestError: it loads, but is not a causal language model tuneplug can use.
    """
    global _threads_set
    import torch

    device = choose_device(settings.device, device_from)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if settings.threads is not None and not _threads_set:
        torch.set_num_threads(settings.threads)
        _threads_set = True
    dtype = choose_dtype(settings.dtype, device)
    remote = settings.trust_remote_code
    try:
        # transformers' "Loading weights" bar is noise in a library call's output (a CLI's
        # completion); a download keeps huggingface_hub's bars (see ``progress``).
        with quiet_progress_bars():
            tokenizer = AutoTokenizer.from_pretrained(source.location, trust_remote_code=remote)
            model = AutoModelForCausalLM.from_pretrained(
                source.location, dtype=dtype, trust_remote_code=remote
            )
    except OSError as exc:
        raise UnknownModelError(
            f"cannot load model {source.id!r} from {source.location}: {_first_line(exc)}",
            provider=PROVIDER,
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidRequestError(
            f"model {source.id!r} is not a causal language model transformers can load: "
            f"{_first_line(exc)}",
            provider=PROVIDER,
        ) from None
    model = _place(model, device)
    eos_ids = _eos_ids(model, tokenizer)
    return Loaded(
        source=source,
        model=model,
        tokenizer=tokenizer,
        device=device,
        context=_context(model, tokenizer),
        eos_ids=eos_ids,
        model_type=str(getattr(model.config, "model_type", "")),
        ending=_ending(tokenizer, eos_ids),
    )


def _ending(tokenizer: Any, eos_ids: frozenset[int]) -> Ending:
    # The tokenizer's EOS, as TRL appends it; a tokenizer without one borrows the
    # generation config's (the lowest id, so the choice is stable).
    eos = tokenizer.eos_token_id
    eos_id = eos if isinstance(eos, int) else min(eos_ids, default=None)
    return Ending(eos_id=eos_id, ends=eos_ids | end_of_turn_ids(tokenizer))


def _place(model: Any, device: torch.device) -> Any:
    model.to(device)
    model.eval()
    return model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
