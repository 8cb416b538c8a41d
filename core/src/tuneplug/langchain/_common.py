"""Pieces both LangChain adapters share: the binding holder, the standard fields, training."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from langchain_core.language_models import LangSmithParams
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_serializer,
)

from tuneplug.errors import InvalidRequestError
from tuneplug.invalid_values import invalid_value
from tuneplug.langchain._binding import Binding, Target, TrainResult, samples_for
from tuneplug.types import Usage

__all__ = ["Bound", "TuneplugFields", "gather", "token_usage", "usage_info"]

T = TypeVar("T")

_MASK = "**********"


def _model_from_env() -> str | None:
    # Read at construction so `init from env` is observable on the object; `None`
    # still defers to the config file's default_model, then mock/tiny, at first use.
    return os.environ.get("TUNEPLUG_MODEL") or None


class Bound(BaseModel):
    """A LangChain object that calls a tuneplug model through a :class:`Binding`.

    Subclasses say what to call in :meth:`_target`; the binding is rebuilt when
    that changes (fields of LangChain objects may be reassigned after construction).
    """

    _tp_binding: Binding | None = PrivateAttr(default=None)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise invalid_value(exc, type(self), argument=True) from None

    def _target(self) -> Target:
        raise NotImplementedError

    def _binding(self) -> Binding:
        target = self._target()
        current = self._tp_binding
        if current is None or current.target != target:
            current = self._tp_binding = Binding(target)
        return current

    def _ls_base(
        self, kind: str, stop: list[str] | None, kwargs: Mapping[str, Any]
    ) -> LangSmithParams:
        """Tracing parameters without I/O: the resolved model if known, else the reference."""
        binding = self._binding()
        override = kwargs.get("model")
        if isinstance(override, str):
            ref = override
        else:
            resolved = binding.resolved()
            ref = resolved.ref if resolved is not None else (binding.target.reference or "default")
        provider = ref.partition("/")[0] if "/" in ref else "tuneplug"
        params = LangSmithParams(ls_provider=provider, ls_model_name=ref)
        params["ls_model_type"] = "chat" if kind == "chat" else "llm"
        options = {**binding.target.options, **{k: v for k, v in kwargs.items() if v is not None}}
        temperature = options.get("temperature")
        if isinstance(temperature, int | float):
            params["ls_temperature"] = float(temperature)
        max_tokens = options.get("max_tokens")
        if isinstance(max_tokens, int):
            params["ls_max_tokens"] = max_tokens
        stops = stop if stop is not None else options.get("stop")
        if stops:
            params["ls_stop"] = list(stops)
        return params

    # -- fine-tuning ---------------------------------------------------------------

    def _train_defaults(self) -> dict[str, Any]:
        """Default keywords of ``train_unsupervised`` (GradientLLM: ``model_kwargs``)."""
        return {}

    def _training(
        self, inputs: Sequence[str], kwargs: Mapping[str, Any]
    ) -> tuple[Any, list[dict[str, Any]]]:
        params = {**self._train_defaults(), **kwargs}
        multipliers = params.pop("multipliers", None)
        if params:
            raise InvalidRequestError(
                f"unknown keyword(s) for train_unsupervised: {', '.join(sorted(params))} "
                "(supported: multipliers)"
            )
        model = self._binding().model()
        return model, samples_for(inputs, multipliers, model.provider.name)

    def train_unsupervised(self, inputs: Sequence[str], **kwargs: Any) -> TrainResult:
        """Run one fine-tuning step of this (adapter) model on ``inputs``.

        ``multipliers=[...]`` weights the inputs one by one. Returns
        ``{"loss": sum_loss / trainable_tokens}`` as LangChain's trainable LLMs
        did, with the whole tuneplug result in ``.result``. A base model or a
        provider that cannot fine-tune raises tuneplug's ``CapabilityError``
        before any request.
        """
        model, samples = self._training(inputs, kwargs)
        return TrainResult(model.fine_tune(samples))

    async def atrain_unsupervised(self, inputs: Sequence[str], **kwargs: Any) -> TrainResult:
        """Async :meth:`train_unsupervised` (native where the provider is)."""
        model, samples = self._training(inputs, kwargs)
        return TrainResult(await model.afine_tune(samples))


class TuneplugFields(Bound):
    """The constructor of ``TuneplugLLM`` and ``TuneplugChat``: a model and its options."""

    # A bad value's input is never echoed in a ValidationError: it may be a secret.
    model_config = ConfigDict(hide_input_in_errors=True)

    model: str | None = Field(default_factory=_model_from_env)
    """``provider/model`` or an alias; ``None``: ``TUNEPLUG_MODEL``, config, then ``mock/tiny``."""
    settings: dict[str, Any] | None = Field(default=None, repr=False)
    """Provider settings overriding env and config (may hold secrets: never shown or traced)."""
    api_key: SecretStr | None = Field(default=None, repr=False)
    """The provider's credential, for providers with one secret setting (Gradient's token)."""
    timeout: float | None = Field(default=None, allow_inf_nan=False)
    """Request timeout in seconds, for providers whose settings have ``timeout``."""
    max_retries: int | None = None
    """Retries of retryable failures, for providers whose settings have ``max_retries``."""
    max_tokens: int | None = None
    """Most tokens to generate (``None``: the provider's default)."""
    temperature: float | None = Field(default=None, allow_inf_nan=False)
    """Sampling temperature (``None`` or 0: greedy where the provider supports it)."""
    top_k: int | None = None
    """Top-k sampling."""
    top_p: float | None = Field(default=None, allow_inf_nan=False)
    """Nucleus sampling."""
    stop: list[str] | None = None
    """Default stop sequences (a call's ``stop`` replaces them)."""
    seed: int | None = None
    """Sampling seed, for providers that take one."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Provider-specific options (Gradient's ``guidance``, ``auto_template``), validated by it."""
    streaming: bool = False
    """Stream even ``invoke``/``generate``, so callbacks get tokens as they come."""

    @field_serializer("settings")
    def _masked_settings(self, settings: dict[str, Any] | None) -> dict[str, Any] | None:
        # Any value may be a secret (the provider's model says which, and it is not
        # loaded yet): every serialisation (model_dump, model_dump_json) masks them all.
        return None if settings is None else {key: _MASK for key in settings}

    def _target(self) -> Target:
        options: dict[str, Any] = dict(self.model_kwargs)
        for name in ("max_tokens", "temperature", "top_k", "top_p", "seed"):
            value = getattr(self, name)
            if value is not None:
                options[name] = value
        if self.stop:
            options["stop"] = tuple(self.stop)
        return Target(
            reference=self.model,
            settings=dict(self.settings or {}),
            options=options,
            api_key=self.api_key,
            timeout=self.timeout,
            max_retries=self.max_retries,
            owner=type(self).__name__,
        )


def usage_info(usage: Usage | None) -> dict[str, int] | None:
    """tuneplug usage as OpenAI-style ``token_usage`` (``None`` when the provider did not say)."""
    if usage is None or usage.prompt_tokens is None or usage.completion_tokens is None:
        return None
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
    }


def token_usage(usages: Iterable[dict[str, int] | None]) -> dict[str, int] | None:
    """The sum of several ``token_usage`` dicts; ``None`` if any is unknown."""
    total = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    for usage in usages:
        if usage is None:
            return None
        for key in total:
            total[key] += usage[key]
    return total


async def gather(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """``asyncio.gather`` that cancels the others when one fails (nothing left running)."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
