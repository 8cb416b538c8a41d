"""What the local job runner takes of a :class:`~tuneplug.jobs.types.JobSpec`, checked
before any I/O: the runner trains ``sft`` steps with an absolute learning rate, and an
adapter given as the model is trained in place (its options were fixed when it was made)."""

from __future__ import annotations

from typing import Any

from tuneplug.jobs.types import JobSpec
from tuneplug.provider import Provider
from tuneplug.speech import setting
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
    # field -> (the value as the flag's error shows it, why it is refused)
    refuse: dict[str, tuple[str, str]] = {}
    if spec.method != "sft":
        refuse["method"] = (repr(spec.method), "it trains with sft steps")
    if spec.learning_rate_multiplier is not None:
        refuse["learning_rate_multiplier"] = (
            "a multiplier",
            "the step hooks take an absolute learning_rate",
        )
    if refuse:
        # An OptionError: a spec field this backend does not take, found before any I/O.
        # The provider is named by the error's prefix, the field by `option` (or its flag).
        field, (given, why) = next(iter(refuse.items()))
        taken = "; ".join(f"{setting(k, getattr(spec, k))} ({v[1]})" for k, v in refuse.items())
        raise OptionError(
            f"the local job runner cannot take {taken}",
            option=field,
            detail=f"the local job runner cannot take {given} ({why})",
            provider=provider.name,
        )
    info = resolve(provider, name)
    if info.kind is ModelKind.ADAPTER:
        fixed = [k for k in ("rank", "learning_rate", "suffix") if getattr(spec, k) is not None]
        fixed += [k for k in adapter_options(spec)]
        if fixed:
            why = "set when it was created (start from its base model for new ones)"
            raise OptionError(
                f"{info.id} is an adapter, trained in place: {', '.join(fixed)} "
                f"{'was' if len(fixed) == 1 else 'were'} {why}",
                option=fixed[0],
                detail=f"{info.id} is an adapter, trained in place: this was {why}",
                provider=provider.name,
            )
    else:
        # What the new adapter takes, checked before any I/O (the data is read next).
        _check_lora_fields(provider, info, spec)
        base = Model(info, provider)
        base.check_adapter_args(spec.rank, spec.learning_rate)
        # An unknown `extra` lists the options `extra` takes: not the spec's own fields.
        base._adapter_options(adapter_options(spec), (), frozenset(JobSpec.model_fields))
    return info


def _check_lora_fields(provider: Provider, info: ModelInfo, spec: JobSpec) -> None:
    """Refuse ``lora_alpha`` / ``lora_dropout`` (spec fields, passed on as adapter options)
    that the provider's adapters do not declare, as such: not as an unknown ``extra``."""
    from tuneplug.options import OptionError, declared_options

    given = [k for k in ("lora_alpha", "lora_dropout") if getattr(spec, k) is not None]
    if not given:
        return
    declared = declared_options(provider, info, "create_adapter")
    model = declared.model
    if not declared.declared or (model is not None and model.model_config.get("extra") == "allow"):
        return  # undeclared or open: the provider checks them itself
    for name in given:
        if name not in declared.names:
            detail = f"not taken by this provider's adapters (they declare no {name} option)"
            raise OptionError(
                f"{setting(name)} is {detail}", option=name, detail=detail, provider=provider.name
            )


def adapter_options(spec: JobSpec) -> dict[str, Any]:
    """The provider-specific keywords of a new adapter: LoRA alpha/dropout and extras."""
    given = {"lora_alpha": spec.lora_alpha, "lora_dropout": spec.lora_dropout}
    return {**{k: v for k, v in given.items() if v is not None}, **spec.extra}
