"""What the local job runner takes of a :class:`~tuneplug.jobs.types.JobSpec`, checked
before any I/O: the runner trains ``sft`` steps with an absolute learning rate, and an
adapter given as the model is trained in place (its options were fixed when it was made)."""

from __future__ import annotations

from typing import Any

from tuneplug.jobs.types import JobSpec
from tuneplug.provider import Provider
from tuneplug.types import ModelInfo, ModelKind

__all__ = ["adapter_options", "check_spec"]


def check_spec(provider: Provider, spec: JobSpec) -> ModelInfo:
    """The model ``spec`` trains, once the local runner can take every field of it.

    Raises:
        OptionError: a field the local runner cannot take (``method`` other than ``sft``,
            ``learning_rate_multiplier``), adapter options given for an adapter trained in
            place, or an adapter option the provider does not declare.
        UnknownModelError: the provider has no such model.
    """
    from tuneplug.models import Model, resolve
    from tuneplug.options import OptionError

    name = spec.model.removeprefix(f"{provider.name}/")
    refuse: dict[str, str] = {}
    if spec.method != "sft":
        refuse["method"] = f"method {spec.method!r} (the local runner trains with sft steps)"
    if spec.learning_rate_multiplier is not None:
        refuse["learning_rate_multiplier"] = (
            "learning_rate_multiplier (the step hooks take an absolute learning_rate)"
        )
    if refuse:
        # An OptionError: a spec field this backend does not take, found before any I/O.
        error = OptionError(
            f"the local job runner of {provider.name!r} cannot take: " + "; ".join(refuse.values()),
            provider=provider.name,
        )
        error.option = next(iter(refuse))
        raise error
    info = resolve(provider, name)
    if info.kind is ModelKind.ADAPTER:
        fixed = [k for k in ("rank", "learning_rate", "suffix") if getattr(spec, k) is not None]
        fixed += [k for k in adapter_options(spec)]
        if fixed:
            error = OptionError(
                f"{info.id} is an adapter, trained in place: {', '.join(fixed)} "
                "were set when it was created (start from its base model for new ones)",
                provider=provider.name,
            )
            error.option = fixed[0]
            raise error
    else:
        # Checked against the provider's declared adapter options before any I/O.
        Model(info, provider)._adapter_options(adapter_options(spec))
    return info


def adapter_options(spec: JobSpec) -> dict[str, Any]:
    """The provider-specific keywords of a new adapter: LoRA alpha/dropout and extras."""
    given = {"lora_alpha": spec.lora_alpha, "lora_dropout": spec.lora_dropout}
    return {**{k: v for k, v in given.items() if v is not None}, **spec.extra}
