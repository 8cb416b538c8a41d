"""tuneplug-echoes: an example third-party provider plugin for tuneplug.

Everything a provider needs is in this one module, found by tuneplug through the
entry point ``echoes = "tuneplug_echoes"`` of the ``tuneplug`` group (see
``pyproject.toml``). It implements the Completer hooks only, so it has the
``complete`` capability and fine-tuning calls fail with ``CapabilityError``
before reaching it.

Models:
    ``echoes/parrot``   answers with the prompt itself;
    ``echoes/reverse``  answers with the prompt's words in reverse order.

Options: ``max_tokens`` (counted in words; the answer is cut and
``finish_reason`` is ``"length"``), ``stop`` (cut before the first stop
sequence, ``finish_reason`` ``"stop"``) and one provider-specific option,
``repeat`` (1..3: say it that many times). Sampling options are accepted and
ignored: an echo has nothing to sample.

Settings (``ECHOES_*`` or ``[providers.echoes]`` in ``tuneplug.toml``):
``prefix``, prepended to every answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug import hookimpl
from tuneplug.errors import InvalidRequestError, NotFoundError
from tuneplug.hookspecs import ProviderContext
from tuneplug.types import (
    Capability,
    Completion,
    CompletionOptions,
    ModelInfo,
    StreamChunk,
    Usage,
)

PROVIDER = "echoes"

MODELS = {
    model.id: model
    for model in (
        ModelInfo(id="parrot", provider=PROVIDER, name="Parrot",
                  capabilities=frozenset({Capability.COMPLETE})),
        ModelInfo(id="reverse", provider=PROVIDER, name="Reverse",
                  capabilities=frozenset({Capability.COMPLETE})),
    )
}  # fmt: skip


class EchoesSettings(BaseSettings):
    """The provider's settings: ``ECHOES_PREFIX`` or ``prefix`` in ``[providers.echoes]``."""

    model_config = SettingsConfigDict(env_prefix="ECHOES_", extra="forbid")

    prefix: str = ""


def _repeat(options: CompletionOptions) -> int:
    # Provider-specific options arrive in `options.extra`; validate them before any work.
    unknown = sorted(set(options.extra) - {"repeat"})
    if unknown:
        # The provider is named once: the error's prefix says it (`echoes: ...`).
        raise InvalidRequestError(
            f"unknown option {unknown[0]!r} (supported: repeat)", provider=PROVIDER
        )
    repeat = options.extra.get("repeat", 1)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= 3:
        raise InvalidRequestError(f"repeat must be 1, 2 or 3, got {repeat!r}", provider=PROVIDER)
    return repeat


def _answer(
    ctx: ProviderContext, model: ModelInfo, prompt: str, options: CompletionOptions
) -> tuple[str, str, Usage]:
    """The answer text, its finish reason and usage; raises before anything is produced."""
    repeat = _repeat(options)
    if model.id not in MODELS:
        raise NotFoundError(f"no model {model.id!r}", provider=PROVIDER, status=404)
    settings = ctx.settings if ctx.settings is not None else EchoesSettings()
    words = prompt.split()
    if model.id == "reverse":
        words.reverse()
    words = [*settings.prefix.split(), *words * repeat]
    finish = "stop"
    if options.max_tokens is not None and len(words) > options.max_tokens:
        words, finish = words[: options.max_tokens], "length"
    text = " ".join(words)
    cuts = [i for i in (text.find(s) for s in options.stop) if i >= 0]
    if cuts:
        text, finish = text[: min(cuts)], "stop"
    usage = Usage(prompt_tokens=len(prompt.split()), completion_tokens=len(text.split()))
    return text, finish, usage


@hookimpl
def tuneplug_settings() -> type[EchoesSettings]:
    """Declare the settings model; the core fills it from env and config files."""
    return EchoesSettings


@hookimpl
def tuneplug_list_models(ctx: ProviderContext, base_only: bool) -> list[ModelInfo]:
    """Both models are base models; there are no adapters."""
    return list(MODELS.values())


# No tuneplug_resolve_model: the core finds "echoes/parrot" by searching list_models.


@hookimpl
def tuneplug_complete(
    ctx: ProviderContext, model: ModelInfo, prompt: str, options: CompletionOptions
) -> Completion:
    """Echo the prompt."""
    text, finish, usage = _answer(ctx, model, prompt, options)
    return Completion(
        text=text, finish_reason=finish, model=model.id, provider=PROVIDER, usage=usage
    )


@hookimpl
async def tuneplug_acomplete(
    ctx: ProviderContext, model: ModelInfo, prompt: str, options: CompletionOptions
) -> Completion:
    """Native async: an echo never waits, so it answers inline."""
    return tuneplug_complete(ctx, model, prompt, options)


@hookimpl
def tuneplug_stream(
    ctx: ProviderContext, model: ModelInfo, prompt: str, options: CompletionOptions
) -> Iterator[StreamChunk]:
    """One chunk per word; the last carries ``finish_reason`` and usage.

    The answer is computed (and validated) at the call, so a bad option fails
    before the first chunk; the generator only hands the pieces out.
    """
    text, finish, usage = _answer(ctx, model, prompt, options)
    pieces = re.findall(r"\S+\s*", text) or [""]

    def generate() -> Iterator[StreamChunk]:
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            yield StreamChunk(
                text=piece, finish_reason=finish if last else None, usage=usage if last else None
            )

    return generate()


# No tuneplug_astream: the core drives tuneplug_stream from a worker thread.
