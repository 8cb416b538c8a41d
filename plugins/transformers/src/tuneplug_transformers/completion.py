"""Completions and chat: prompt to ids, the decoding loop, text and usage.

Chat goes through the tokenizer's own chat template (``apply_chat_template``), as the
model was trained with it, including its special tokens; a tokenizer without one gets
tuneplug's ``default`` User/Assistant layout, whose stop sequences end the reply.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from pydantic import ValidationError
from tuneplug.chat_templates import DEFAULT
from tuneplug.errors import InvalidRequestError
from tuneplug.types import (
    Completion,
    CompletionOptions,
    Message,
    ModelInfo,
    ModelKind,
    StreamChunk,
    Usage,
)
from tuneplug.validation_words import problem

from tuneplug_transformers.chat import end_of_turn_ids
from tuneplug_transformers.decoding import Request, TextAssembler, generate_tokens
from tuneplug_transformers.deprecations import kv_cache_name
from tuneplug_transformers.refs import PROVIDER
from tuneplug_transformers.runtime import Base, Runtime
from tuneplug_transformers.settings import CompletionExtras

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "Prepared",
    "check_extras",
    "collect",
    "prepare",
    "stream_chunks",
]

DEFAULT_MAX_TOKENS = 256


class Prepared:
    """A checked generation request bound to its model (made before any generation)."""

    def __init__(
        self, runtime: Runtime, info: ModelInfo, base: Base, req: Request, stops: tuple[str, ...]
    ) -> None:
        self.runtime = runtime
        self.info = info
        self.base = base
        self.req = req
        self.stops = stops
        self.adapter = info.id if info.kind is ModelKind.ADAPTER else None

    def forward(self, ids: Any, past: Any) -> tuple[Any, Any]:
        """One model call under the base's lock, with this model's adapter active."""
        import torch

        base = self.base
        with base.lock:
            # prepare() loaded the adapter's committed version; a step another thread
            # commits mid-generation takes effect from the next token.
            base.activate(self.adapter)
            model = base.loaded.model
            # The transformers model inside PEFT's wrapper: its LoRA layers run the active
            # adapter already, and the wrapper's per-call bookkeeping is pure overhead here.
            inner = model.get_base_model() if hasattr(model, "peft_config") else model
            # The KV cache by the name this transformers takes (`cache` since 5.24): the old
            # name prints a deprecation notice on every command.
            name = kv_cache_name(inner)
            with torch.inference_mode():
                out = inner(input_ids=ids, use_cache=True, logits_to_keep=1, **{name: past})
        return out.logits[:, -1, :], getattr(out, name)


def check_extras(extra: dict[str, Any]) -> CompletionExtras:
    """Validate provider-specific options (the core does too, when it validates extras)."""
    try:
        return CompletionExtras.model_validate(dict(extra))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        known = ", ".join(CompletionExtras.model_fields)
        raise InvalidRequestError(
            f"invalid option {field}: {problem(err)} (provider options: {known})",
            provider=PROVIDER,
        ) from None


def _chat_prompt(
    tokenizer: Any, messages: list[Message]
) -> tuple[list[int], tuple[str, ...], frozenset[int]]:
    """Prompt ids, stop sequences and extra end ids (the template's end-of-turn token)."""
    if getattr(tokenizer, "chat_template", None):
        turns = [{"role": m.role, "content": m.content} for m in messages]
        text = tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
        ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        # A special end-of-turn token is dropped from decoded text: stop on its id.
        return ids, (), end_of_turn_ids(tokenizer)
    text = DEFAULT.render((m.role, m.content) for m in messages)
    return list(tokenizer(text)["input_ids"]), DEFAULT.stop, frozenset()


def prepare(
    runtime: Runtime,
    info: ModelInfo,
    prompt: str,
    options: CompletionOptions,
    messages: list[Message] | None,
) -> Prepared:
    """Check the options, load the model, tokenise: every error before generating.

    Raises:
        InvalidRequestError: a bad provider option, or a prompt that fills the context.
        UnknownModelError, NotFoundError: the model cannot be loaded or is gone.
    """
    extras = check_extras(options.extra) if options.extra else None
    base, meta = runtime.base_of(info)
    if meta is not None:
        with base.lock:
            runtime.sync_adapter(base, meta)
    tokenizer = base.loaded.tokenizer
    if messages is not None:
        ids, chat_stops, chat_ends = _chat_prompt(tokenizer, messages)
    else:
        ids, chat_stops, chat_ends = list(tokenizer(prompt)["input_ids"]), (), frozenset()
    room = base.loaded.context - len(ids)
    if room < 1:
        raise InvalidRequestError(
            f"the prompt is {len(ids)} tokens; the model's context is {base.loaded.context}",
            provider=PROVIDER,
        )
    req = Request(
        ids=ids,
        max_new=min(options.max_tokens or DEFAULT_MAX_TOKENS, room),
        eos_ids=base.loaded.eos_ids | chat_ends,
        temperature=options.temperature,
        top_k=options.top_k,
        top_p=options.top_p,
        seed=options.seed,
        repetition_penalty=extras.repetition_penalty if extras else None,
    )
    return Prepared(runtime, info, base, req, tuple(options.stop) + chat_stops)


def _finish(prep: Prepared, last: int | None, count: int, stopped: bool) -> str:
    if stopped or (last is not None and last in prep.req.eos_ids):
        return "stop"
    return "length" if count >= prep.req.max_new else "stop"


def collect(prep: Prepared) -> Completion:
    """Run ``prep`` to the end and return the whole completion."""
    tokens = generate_tokens(prep.forward, prep.req, prep.base.loaded.device)
    asm = TextAssembler(prep.base.loaded.tokenizer, prep.stops)
    stopped, last, count = False, None, 0
    for last in tokens:
        count += 1
        if prep.stops and asm.push(last).stopped:
            stopped = True
            break
        if not prep.stops:
            asm.ids.append(last)
    tokens.close()
    text = asm.text if prep.stops else asm.decode()
    return Completion(
        text=text,
        finish_reason=_finish(prep, last, count, stopped),
        model=prep.info.id,
        provider=PROVIDER,
        usage=Usage(prompt_tokens=len(prep.req.ids), completion_tokens=count),
    )


def stream_chunks(prep: Prepared) -> Generator[StreamChunk, None, None]:
    """Yield text as tokens are made; the last chunk carries ``finish_reason`` and usage."""
    tokens = generate_tokens(prep.forward, prep.req, prep.base.loaded.device)
    asm = TextAssembler(prep.base.loaded.tokenizer, prep.stops)
    stopped, last, count = False, None, 0
    try:
        for last in tokens:
            count += 1
            step = asm.push(last)
            if step.stopped:
                stopped = True
                tail = step.delta
                break
            if step.delta:
                yield StreamChunk(text=step.delta)
        else:
            tail = asm.finish()
    finally:
        tokens.close()
    yield StreamChunk(
        text=tail,
        finish_reason=_finish(prep, last, count, stopped),
        usage=Usage(prompt_tokens=len(prep.req.ids), completion_tokens=count),
    )
