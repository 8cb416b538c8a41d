"""What the LangChain adapters share, free of LangChain: which model, which options, which result.

A LangChain object describes *what* to call (a reference, provider settings,
default options) in a :class:`Target`; a :class:`Binding` turns that into
tuneplug models, resolved on first use and cached, plus the option keywords of
each call and the identifying parameters LangChain keys its cache on.
"""

from __future__ import annotations

import math
import threading
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, SecretStr

from tuneplug.errors import ConfigError, InvalidRequestError, TuneplugError
from tuneplug.settings_origins import SettingsArgument
from tuneplug.settings_rules import credential_field
from tuneplug.types import FineTuneResult

if typing.TYPE_CHECKING:
    from tuneplug.models import Model

__all__ = ["OPTION_NAMES", "Binding", "Target", "TrainResult", "samples_for"]

OPTION_NAMES = ("max_tokens", "temperature", "top_k", "top_p", "stop", "seed")
"""The completion options every provider takes (the rest go to the provider as extras)."""

# Keywords LangChain itself may pass down to a model call; they are not completion options.
_NOT_OPTIONS = frozenset({"stream"})


@dataclass(frozen=True)
class Target:
    """What a LangChain object asks for (compared by value: a changed field means a new binding).

    ``reference`` is ``provider/model``, an alias, or ``None`` for the configured
    default. ``settings`` override the provider's settings and may hold secrets.
    ``api_key``, ``timeout`` and ``max_retries`` are LangChain's standard
    parameters: they go to the provider's settings when it declares them
    (``api_key`` to its one secret field). ``options`` are default completion
    options without ``None`` values.
    """

    reference: str | None
    settings: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    api_key: SecretStr | None = None
    timeout: float | None = None
    max_retries: int | None = None
    owner: str = "TuneplugChat"
    """The LangChain class the arguments were given to, for errors that name one."""


class TrainResult(dict[str, float]):
    """``{"loss": sum_loss / trainable_tokens}``, the value LangChain's trainable LLMs return.

    It compares equal to that dict; the whole tuneplug result is ``.result``
    (trainable tokens and summed loss). With no trainable token the loss is NaN
    (LangChain's ``GradientLLM`` raised ``ZeroDivisionError``).
    """

    result: FineTuneResult

    def __init__(self, result: FineTuneResult) -> None:
        """Wrap one fine-tuning step's result."""
        super().__init__(loss=math.nan if result.loss is None else result.loss)
        self.result = result

    @property
    def loss(self) -> float:
        """The mean loss per trainable token (``self["loss"]``)."""
        return self["loss"]


def samples_for(
    inputs: Sequence[str], multipliers: Sequence[float] | None, provider: str | None = None
) -> list[dict[str, Any]]:
    """Samples for ``train_unsupervised``: one per input, each with its multiplier if given.

    A bare string and a multiplier count that differs from the input count are
    errors (LangChain iterated the characters, or silently dropped inputs).
    """
    if isinstance(inputs, str):
        raise InvalidRequestError(
            "inputs must be a sequence of strings, not one string", provider=provider
        )
    texts = list(inputs)
    if multipliers is None:
        return [{"inputs": text} for text in texts]
    weights = list(multipliers)
    if len(weights) != len(texts):
        raise InvalidRequestError(
            f"got {len(weights)} multipliers for {len(texts)} inputs", provider=provider
        )
    return [{"inputs": text, "multiplier": m} for text, m in zip(texts, weights, strict=True)]


class Binding:
    """Tuneplug models for one :class:`Target`, resolved on first use and cached.

    Thread-safe. Resolution may do I/O (a Gradient slug is looked up), so it
    happens at the first call, never at construction.
    """

    def __init__(self, target: Target) -> None:
        """Bind ``target``; nothing is loaded yet."""
        self.target = target
        self._lock = threading.Lock()
        self._resolving = threading.RLock()  # an override resolves the target's model too
        self._models: dict[str | None, Model] = {}
        self._identity: dict[str, Any] | None = None

    # -- models --------------------------------------------------------------------

    def model(self, override: str | None = None) -> Model:
        """The target's model, or ``override`` (a call's ``model=``), resolved once and cached.

        The target's ``settings`` apply to an override of the same provider only.
        """
        key = override
        found = self._models.get(key)
        if found is not None:
            return found
        # One resolution however many threads start at once (a batch's inputs each
        # run on their own thread): the others wait for it rather than repeat its I/O.
        with self._resolving:
            found = self._models.get(key)
            if found is not None:
                return found
            if override is None:
                model = self._load(self.target.reference, dict(self.target.settings))
            else:
                model = self._override(override)
            with self._lock:
                return self._models.setdefault(key, model)

    def resolved(self) -> Model | None:
        """The target's model if it was resolved already (no I/O)."""
        return self._models.get(None)

    def _override(self, reference: str) -> Model:
        # The target's provider settings are meant for the target's provider: a call's
        # model of another provider gets its own settings (env and config) instead.
        from tuneplug.models import get_model

        settings = dict(self.target.settings)
        if not settings:
            return self._load(reference, settings)
        probe = get_model(reference)
        if probe.provider.name != self.model().provider.name:
            return self._load(probe.ref, {}, probe.defaults)
        return self._load(probe.ref, settings, probe.defaults)

    def _load(
        self,
        reference: str | None,
        settings: dict[str, Any],
        defaults: Mapping[str, Any] | None = None,
    ) -> Model:
        from tuneplug.models import get_model

        given = f"the settings= argument of {self.target.owner}"
        model = get_model(
            reference,
            settings=SettingsArgument(settings, given=given) if settings else None,
            **(defaults or {}),
        )
        extra = self._standard_settings(model)
        if not extra:
            return model
        # A 401 or a refused connection names the argument the value came from.
        named = {
            key: f"the {key if key in ('timeout', 'max_retries') else 'api_key'}= argument "
            f"of {self.target.owner}"
            for key in extra
        }
        both = SettingsArgument({**settings, **extra}, named=named, given=given)
        # Rebuilt on the resolved reference: no second lookup, alias defaults kept.
        return get_model(model.ref, settings=both, **model.defaults)

    def _standard_settings(self, model: Model) -> dict[str, Any]:
        target = self.target
        if target.api_key is None and target.timeout is None and target.max_retries is None:
            return {}
        current = model.provider.ctx.settings
        fields = type(current).model_fields if isinstance(current, BaseModel) else {}
        extra: dict[str, Any] = {}
        # A provider without network I/O (the mock) has nothing to time out or retry.
        if target.timeout is not None and "timeout" in fields:
            extra["timeout"] = target.timeout
        if target.max_retries is not None and "max_retries" in fields:
            extra["max_retries"] = target.max_retries
        if target.api_key is not None:
            name = credential_field(type(current)) if isinstance(current, BaseModel) else None
            if name is None:
                raise ConfigError(
                    "api_key given, but this provider has no single credential setting "
                    "to put it in; pass settings={...} instead",
                    provider=model.provider.name,
                )
            extra[name] = target.api_key
        return extra

    # -- options -------------------------------------------------------------------

    def call(
        self, stop: Sequence[str] | None, kwargs: Mapping[str, Any]
    ) -> tuple[Model, dict[str, Any]]:
        """The model and option keywords of one call.

        Call keywords override the defaults; ``model=`` picks another model;
        ``stop`` (when given) replaces the default stop sequences. ``None`` values
        mean "the default" and are dropped.
        """
        options = dict(self.target.options)
        override: str | None = None
        for key, value in kwargs.items():
            if key == "model":
                if value is not None and not isinstance(value, str):
                    raise InvalidRequestError(f"model must be a string, got {value!r}")
                override = value
            elif value is not None and key not in _NOT_OPTIONS:
                options[key] = value
        if stop is not None:
            options["stop"] = (stop,) if isinstance(stop, str) else tuple(stop)
        return self.model(override), options

    # -- identity ------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        """What identifies this target's output: model, effective options, non-secret settings.

        LangChain keys its cache (and labels traces) with this, so it names the
        *resolved* model (an alias or the default resolves to ``provider/id``) and
        the options after the alias's defaults; secrets never appear. If the model
        cannot be resolved yet, the requested reference stands in (uncached): the
        call itself will raise the typed error.
        """
        if self._identity is not None:
            return self._revised(self._identity)
        try:
            model = self.model()
            options = model.options(**self.target.options)
        except TuneplugError:
            return {"model": self.target.reference, **self.target.options}
        identity: dict[str, Any] = {"model": model.ref}
        identity.update(options.model_dump(mode="json", exclude={"extra"}))
        identity["model_kwargs"] = options.extra
        identity["provider_settings"] = _public_settings(model.provider.ctx.settings)
        self._identity = identity
        return self._revised(identity)

    def _revised(self, identity: dict[str, Any]) -> dict[str, Any]:
        # Training changes what the model answers: a cached answer from before must miss.
        model = self.resolved()
        return identity if model is None else {**identity, "revision": model.revision}


def _public_settings(settings: Any) -> dict[str, Any]:
    if not isinstance(settings, BaseModel):
        return {}
    dumped = settings.model_dump(mode="json")
    return {k: v for k, v in dumped.items() if not isinstance(getattr(settings, k), SecretStr)}
